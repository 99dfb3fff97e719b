"""One verdict, one "what is still uncached": the exit status, the results JSON and the printed
verdict line come from the same decision; the xdist controller's cache check asks for every answer
a worker will need."""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.gating.budget import PLUGIN_GATE_REASON, decide
from pytest_llmeval.results import BenchmarkResult, RunResult, ThresholdOutcome
from tests.conftest import GSM8K_RULES
from tests.runs import chat_requests, dataset, llm_args, run


def _last_line(result: pytest.RunResult) -> str:
    return [line for line in result.stdout.lines if line.strip()][-1]


def _baseline(results_path, path, acc: float):
    data = json.loads(results_path.read_text())
    data["benchmarks"]["gsm8k"]["metrics"]["acc"] = acc
    path.write_text(json.dumps(data))
    return path


def test_undecided_threshold_with_a_failed_regression_gate_says_fail_and_names_both(
    pytester, model_server, gsm8k_file, tmp_path
):
    args = dataset("gsm8k", gsm8k_file)
    first = tmp_path / "first.json"
    run(pytester, model_server, *args, "--llm-results", str(first))  # acc 0.75
    old = _baseline(first, tmp_path / "old.json", acc=1.0)
    results = tmp_path / "r.json"
    result = run(
        pytester,
        model_server,
        *args,
        "--llm-threshold",
        "gsm8k.acc>=0.5",
        "--llm-threshold-mode",
        "ci",
        "--llm-compare",
        str(old),
        "--llm-max-drop",
        "0.02",
        "--llm-results",
        str(results),
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert json.loads(results.read_text())["passed"] is False
    last = _last_line(result)
    # the regression gate failed: more samples would not make the run pass, so it is no "UNDECIDED"
    assert last.startswith("=") and "llmeval: FAIL: gsm8k.acc>=0.5 (actual 0.7500, 95% CI [" in last, last
    assert PLUGIN_GATE_REASON in last and "(exit status 1)" in last, last
    assert chat_requests(model_server) == 4  # the second and third run came from the cache


def test_failed_threshold_and_failed_regression_gate_are_both_reasons(pytester, model_server, gsm8k_file, tmp_path):
    args = dataset("gsm8k", gsm8k_file)
    first = tmp_path / "first.json"
    run(pytester, model_server, *args, "--llm-results", str(first))
    old = _baseline(first, tmp_path / "old.json", acc=1.0)
    result = run(
        pytester,
        model_server,
        *args,
        "--llm-threshold",
        "gsm8k.acc>=0.99",
        "--llm-compare",
        str(old),
        "--llm-max-drop",
        "0.02",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    last = _last_line(result)
    assert "llmeval: FAIL: gsm8k.acc>=0.99 (actual 0.7500); " + PLUGIN_GATE_REASON + " (exit status 1)" in last, last


def _result(errors: int = 0, complete: bool = True, *outcomes: ThresholdOutcome) -> RunResult:
    return RunResult(
        model="m",
        base_url=None,
        started="now",
        duration_s=1.0,
        complete=complete,
        benchmarks={"b": BenchmarkResult(count=10, errors=errors, metrics={"acc": 0.5})},
        thresholds=list(outcomes),
    )


def _outcome(status: str, passed: bool) -> ThresholdOutcome:
    return ThresholdOutcome(expression="b.acc>=0.5", value=0.5, passed=passed, status=status)


@pytest.mark.parametrize(
    ("result", "other", "votes", "passed", "undecided", "reasons"),
    [
        (_result(), 0, [None], True, False, []),
        (
            _result(0, True, _outcome("undecided", False)),
            0,
            [],
            False,
            True,
            ["b.acc>=0.5 (actual 0.5000)"],
        ),
        (
            _result(0, True, _outcome("undecided", False)),
            0,
            [False],
            False,
            False,
            ["b.acc>=0.5 (actual 0.5000)", PLUGIN_GATE_REASON],
        ),
        (
            _result(0, True, _outcome("undecided", False)),
            1,
            [],
            False,
            False,
            ["b.acc>=0.5 (actual 0.5000)", "1 other test failed"],
        ),
        (
            _result(3, False),
            0,
            [True],
            False,
            False,
            ["the run is incomplete", "3 endpoint errors (--llm-max-errors 2)"],
        ),
        (_result(), 0, [False, None, False], False, False, [PLUGIN_GATE_REASON]),
    ],
)
def test_verdict_passes_exactly_when_it_gives_no_reason(result, other, votes, passed, undecided, reasons):
    verdict = decide(result, max_errors=2, other_failures=other, votes=votes)
    assert (verdict.passed, verdict.undecided, verdict.reasons) == (
        passed,
        undecided,
        reasons,
    )


def _cached_then_stopped(pytester, start_server, gsm8k_file, *first: str):
    server = start_server(rules=GSM8K_RULES)
    base = (
        *llm_args(server.base_url),
        *dataset("gsm8k", gsm8k_file),
        "-n",
        "2",
    )
    pytester.runpytest_subprocess(*base, *first).assert_outcomes(passed=3, failed=1)
    server.stop()
    return base


def test_controller_counts_every_repeat_when_it_checks_the_cache(pytester, start_server, gsm8k_file):
    # only the first of two repeats is cached: the endpoint is needed, so its error is one usage error
    base = _cached_then_stopped(pytester, start_server, gsm8k_file)
    result = pytester.runpytest_subprocess(*base, "--llm-repeats", "2")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert output.count("cannot reach") == 1 and "gsm8k/main::" not in output  # no item ran


def test_controller_still_rescores_from_a_full_cache_with_repeats(pytester, start_server, gsm8k_file):
    base = _cached_then_stopped(pytester, start_server, gsm8k_file, "--llm-repeats", "2")
    result = pytester.runpytest_subprocess(*base, "--llm-repeats", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()  # one wrong answer, no usage error
    assert "cannot reach" not in result.stdout.str() + result.stderr.str()


def test_controller_names_a_dataset_it_cannot_read_for_the_cache_check(pytester, start_server, gsm8k_file, tmp_path):
    base = _cached_then_stopped(pytester, start_server, gsm8k_file)
    gsm8k_file.write_text("{ not json\n")
    result = pytester.runpytest_subprocess(*base)
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "cannot reach" in output and "the answers in the cache could not be checked" in output, output
