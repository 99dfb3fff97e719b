"""End-to-end: pytest runs benchmark samples as items against a real loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runs import chat_requests, dataset, run, run_first_sample


def test_one_item_per_sample_with_readable_ids(pytester, model_server, gsm8k_file):
    result = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), "-v")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*gsm8k/main::0000 PASSED*", "*gsm8k/main::0003 FAILED*"])


def test_wrong_answer_fails_with_short_message(pytester, model_server, gsm8k_file):
    result = run(pytester, model_server, *dataset("gsm8k", gsm8k_file))
    result.stdout.fnmatch_lines(["*wrong answer: expected '33', extracted '47'*", "*question: A bus has 40 seats*"])
    assert "Traceback" not in result.stdout.str()


def test_results_json_and_samples_jsonl(pytester, model_server, gsm8k_file, tmp_path: Path):
    results, samples = tmp_path / "results.json", tmp_path / "samples.jsonl"
    run(
        pytester,
        model_server,
        *dataset("gsm8k", gsm8k_file),
        "--llm-results",
        str(results),
        "--llm-samples",
        str(samples),
    )
    data = json.loads(results.read_text())
    assert data["model"] == "fake-model"
    assert data["base_url"] == model_server.base_url
    gsm = data["benchmarks"]["gsm8k"]
    assert gsm["count"] == 4 and gsm["errors"] == 0
    assert gsm["metrics"]["acc"] == pytest.approx(0.75)
    assert gsm["subsets"]["main"]["metrics"]["acc"] == pytest.approx(0.75)
    assert data["passed"] is True and data["thresholds"] == []
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(lines) == 4
    by_id = {line["id"]: line for line in lines}
    assert by_id["0001"]["extracted"] in ("1000", "1,000") and by_id["0001"]["target"] == "1000"
    assert by_id["0003"]["passed"] is False and by_id["0003"]["extracted"] == "47"
    assert by_id["0000"]["messages"][0]["content"].startswith("Tom has 2 apples")
    assert by_id["0000"]["usage"]["completion_tokens"] > 0
    assert by_id["0000"]["latency_s"] > 0


@pytest.mark.parametrize(
    ("threshold", "exit_code"),
    [("gsm8k.acc>=0.7", 0), ("gsm8k.acc>=0.8", 1), ("gsm8k.main.acc>0.5", 0), ("gsm8k.acc<0.5", 1)],
)
def test_thresholds_decide_exit_status(pytester, model_server, gsm8k_file, threshold, exit_code):
    result = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), "--llm-threshold", threshold)
    assert result.ret == exit_code
    result.stdout.fnmatch_lines([f"{'PASS' if exit_code == 0 else 'FAIL'}  {threshold}  (actual 0.7500)"])


def test_without_thresholds_wrong_answers_fail_the_run(pytester, model_server, gsm8k_file):
    result = run(pytester, model_server, *dataset("gsm8k", gsm8k_file))
    assert result.ret == 1


@pytest.mark.parametrize(
    ("threshold", "message"),
    [
        ("gsm8k.acc=>0.8", "bad --llm-threshold 'gsm8k.acc=>0.8'"),
        ("gsm8k.accuracy>=0.8", "gsm8k has no metric 'accuracy'"),
        ("nosuch.acc>=0.8", "unknown benchmark 'nosuch'"),
        ("iquiz.acc>=0.8", "gates 'iquiz', which this run does not select"),
        # one answer per sample reports no pass_at_K: the gate failed only after the whole run
        ("gsm8k.pass_at_4>=0.5", "pass_at_4 needs several answers per sample, and this run asks for one: add "),
    ],
)
def test_bad_threshold_is_a_usage_error_before_any_request(pytester, model_server, gsm8k_file, threshold, message):
    result = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), "--llm-threshold", threshold)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert chat_requests(model_server) == 0


@pytest.mark.parametrize(
    ("gen", "threshold", "message"),
    [
        ("n=4", "gsm8k.pass_at_3>=0.5", "with 4 answers per sample (n x --llm-repeats) the run reports pass_at_1, "),
        ("n=4", "gsm8k.pass_at_8>=0.5", "pass_at_2, pass_at_4; for pass_at_8 ask for n=8"),
        ("n=4", "gsm8k.pass_at_4>=0.5", None),
    ],
)
def test_a_pass_at_k_gate_needs_k_among_the_reported_ones(pytester, model_server, gsm8k_file, gen, threshold, message):
    args = ("--llm-gen", gen, "--llm-threshold", threshold, "--collect-only")
    result = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), *args)
    assert result.ret == (pytest.ExitCode.USAGE_ERROR if message else pytest.ExitCode.OK)
    assert message is None or message in result.stderr.str()


def test_mark_expression_loads_only_selected_subsets(pytester, model_server, iquiz_dir, tmp_path):
    # only EQ has a data file: loading IQ would be a collection error
    result = run(
        pytester, model_server, "-m", "iquiz and EQ", "--llm-dataset", f"iquiz.EQ={iquiz_dir / 'EQ.jsonl'}", "-v"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*iquiz/EQ::0000 PASSED*"])


def test_subsets_from_folder_and_per_subset_metrics(pytester, model_server, iquiz_dir, tmp_path):
    results = tmp_path / "r.json"
    result = run(
        pytester,
        model_server,
        *dataset("iquiz", iquiz_dir),
        "--llm-results",
        str(results),
        "--strict-markers",
    )
    result.assert_outcomes(passed=3, failed=1)
    data = json.loads(results.read_text())["benchmarks"]["iquiz"]
    assert data["subsets"]["IQ"]["metrics"]["acc"] == pytest.approx(0.5)
    assert data["subsets"]["EQ"]["metrics"]["acc"] == pytest.approx(1.0)
    assert data["metrics"]["acc"] == pytest.approx(0.75)


def test_keyword_selection_by_sample_id(pytester, model_server, gsm8k_file):
    result = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), "-k", "0002")
    result.assert_outcomes(passed=1)
    assert chat_requests(model_server) == 1


def test_last_failed_reruns_only_the_wrong_sample(pytester, model_server, gsm8k_file):
    pytester.makeini("[pytest]\n")
    args = (*dataset("gsm8k", gsm8k_file), "-p", "cacheprovider")
    run(pytester, model_server, *args)
    result = run(pytester, model_server, *args, "--lf", "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*gsm8k/main::0003 FAILED*"])


def test_new_first_runs_new_samples_first(pytester, model_server, gsm8k_file):
    """`--nf` orders by each test file's modification time: a sample has no file (pytest raised
    FileNotFoundError, an INTERNALERROR): new samples first, then the others, each in file order."""
    pytester.makeini("[pytest]\n")
    args = ("-p", "cacheprovider", "--nf", "-v", *dataset("gsm8k", gsm8k_file))
    run(pytester, model_server, *args, "--llm-limit", "2").assert_outcomes(passed=2)
    again = run(pytester, model_server, *args)
    again.assert_outcomes(passed=3, failed=1)
    order = [line.split()[0] for line in again.stdout.lines if " PASSED" in line or " FAILED" in line]
    assert order == ["gsm8k/main::0002", "gsm8k/main::0003", "gsm8k/main::0000", "gsm8k/main::0001"], order
    assert "INTERNALERROR" not in again.stdout.str() + again.stderr.str()


@pytest.mark.parametrize("command", ["--fixtures", "--fixtures-per-test", "--collect-only"])
def test_pytests_listing_commands_run_no_evaluation(pytester, model_server, gsm8k_file, command):
    """pytest's listing commands collect the samples but run none: no results table (it said
    "INCOMPLETE RUN ... 0 of 4 samples finished" after --fixtures), no request, exit 0."""
    result = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), command)
    assert result.ret == 0
    out = result.stdout.str() + result.stderr.str()
    assert "llmeval results" not in out and "INCOMPLETE" not in out and "INTERNALERROR" not in out
    assert chat_requests(model_server) == 0


def test_limit_takes_first_samples(pytester, model_server, gsm8k_file):
    result = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), "--llm-limit", "2")
    result.assert_outcomes(passed=2)


def test_without_mark_selection_no_benchmark_is_loaded_and_names_are_listed(pytester, model_server):
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = run(pytester, model_server)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*no benchmark selected*", "*available:*gsm8k*iquiz*"])
    assert chat_requests(model_server) == 0


def test_without_llm_model_the_plugin_changes_nothing(pytester):
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess("-m", "gsm8k or not gsm8k")
    result.assert_outcomes(passed=1)


def test_llm_list_prints_benchmarks(pytester):
    result = pytester.runpytest_subprocess("--llm-list")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "gsm8k  [[]math, reasoning]*",
            "    subsets (1): main",
            "    metrics (1): acc",
            "iquiz  *",
            "    subsets (2): IQ, EQ",
        ]
    )


def test_thinking_is_removed_before_scoring(pytester, start_server, gsm8k_file, tmp_path):
    server = start_server(
        rules=[{"contains": "apples", "reply": "The answer is \\boxed{5}"}], think="Let me think. It could be 99."
    )
    samples = tmp_path / "s.jsonl"
    result = run_first_sample(pytester, server, gsm8k_file, samples)
    result.assert_outcomes(passed=1)
    line = json.loads(samples.read_text())
    assert "99" in line["reasoning"] and "<think>" not in line["output"]


def test_streaming_records_time_to_first_token(pytester, start_server, gsm8k_file, tmp_path):
    from tests.conftest import GSM8K_RULES

    server = start_server(rules=GSM8K_RULES, ttft_s=0.05, itl_s=0.001)
    samples = tmp_path / "s.jsonl"
    result = run(
        pytester,
        server,
        *dataset("gsm8k", gsm8k_file),
        "--llm-stream",
        "--llm-samples",
        str(samples),
    )
    result.assert_outcomes(passed=3, failed=1)
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert all(0.04 < line["ttft_s"] < 1.0 for line in lines)
    assert all(line["usage"]["completion_tokens"] > 0 for line in lines)


def test_generation_parameters_reach_the_request(pytester, start_server, gsm8k_file, tmp_path):
    server = start_server(output_tokens=4)
    samples = tmp_path / "s.jsonl"
    run(
        pytester,
        server,
        *dataset("gsm8k", gsm8k_file),
        "--llm-limit",
        "1",
        "--llm-gen",
        "max_tokens=2",
        "--llm-gen",
        "temperature=0",
        "--llm-samples",
        str(samples),
    )
    line = json.loads(samples.read_text())
    assert line["usage"]["completion_tokens"] == 2  # max_tokens truncated the echo reply


def test_n_generations_average_and_majority(pytester, start_server, gsm8k_file, tmp_path):
    from tests.conftest import GSM8K_RULES

    server = start_server(rules=GSM8K_RULES)
    samples = tmp_path / "s.jsonl"
    result = run(
        pytester,
        server,
        *dataset("gsm8k", gsm8k_file),
        "--llm-gen",
        "n=3",
        "--llm-samples",
        str(samples),
    )
    result.assert_outcomes(passed=3, failed=1)
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert all(len(line["outputs"]) == 3 for line in lines)
    # the fake server gives every generation the same text: all pass or all fail
    assert {line["id"]: line["metrics"]["pass_at_3"] for line in lines} == {
        "0000": 1.0,
        "0001": 1.0,
        "0002": 1.0,
        "0003": 0.0,
    }
    assert set(lines[0]["metrics"]) == {"acc", "pass_at_1", "pass_at_2", "pass_at_3"}


def test_builtin_smoke_benchmark_needs_no_download(pytester, start_server, tmp_path):
    server = start_server(
        rules=[
            {"contains": "Anna has 3 apples", "reply": "3 + 4 = 7. \\boxed{7}"},
            {"contains": "capital of France", "reply": "Paris.\nAnswer: A"},
        ]
    )
    results = tmp_path / "r.json"
    result = run(pytester, server, "-m", "smoke", "--llm-results", str(results))
    result.assert_outcomes(passed=2, failed=18)
    data = json.loads(results.read_text())["benchmarks"]["smoke"]
    assert {name: group["count"] for name, group in data["subsets"].items()} == {"math": 10, "mcq": 10}
    assert data["metrics"]["acc"] == pytest.approx(0.1)


def test_subject_group_is_a_mark(pytester):
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", "http://127.0.0.1:9/v1", "-m", "ceval and stem", "--markers"
    )
    result.stdout.fnmatch_lines(["*@pytest.mark.stem: llmeval benchmark tag*"])
    from pytest_llmeval.benchmarks import get_benchmark
    from pytest_llmeval.engine.selection import select

    ceval = get_benchmark("ceval")
    chosen = select("ceval and stem", {"ceval": ceval}, {"ceval": list(ceval.subsets)})
    assert chosen["ceval"] and all(ceval.subset_tags(s) == ("stem",) for s in chosen["ceval"])
    assert "law" not in chosen["ceval"]


def test_pass_at_k_from_mixed_generations():
    from pytest_llmeval.benchmarks import get_benchmark
    from pytest_llmeval.scoring.response import pass_k_values, score_generations

    gsm8k = get_benchmark("gsm8k")()
    sample = gsm8k.record_to_sample({"question": "q", "answer": "#### 5"}, 0, "main")
    score = score_generations(gsm8k, sample, ["\\boxed{5}", "\\boxed{4}", "\\boxed{5}", "\\boxed{3}"])
    assert score.metrics["acc"] == 0.5 and score.metrics["pass_at_1"] == 0.5
    assert score.metrics["pass_at_2"] == pytest.approx(1 - 1 / 6)  # 1 - C(2,2)/C(4,2)
    assert score.metrics["pass_at_4"] == 1.0
    assert score.passed is False  # 2 of 4 is a tie: no majority
    assert pass_k_values(1) == [1] and pass_k_values(8) == [1, 2, 4, 8] and pass_k_values(5) == [1, 2, 4, 5]
