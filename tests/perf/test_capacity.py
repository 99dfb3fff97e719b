"""The capacity an SLO allows (perf/capacity.py): the SLO grammar, the bracketing + bisection search
on a known latency curve, its noise rule, and real searches against a loopback server whose TTFT
grows with the requests in flight."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest

from pytest_llmeval.errors import ConfigError
from pytest_llmeval.perf.capacity import make_search, parse_slo, search
from pytest_llmeval.perf.metrics import LatencyStats, PerfResult
from pytest_llmeval.testing import FakeOpenAIServer


def test_slo_clauses_parse_with_units_and_statistics() -> None:
    ttft, tpot, errors = parse_slo("p99_ttft<=2s, tpot<=50ms,error_rate<=1%")
    assert (ttft.metric, ttft.stat, ttft.limit) == ("ttft", "p99", 2.0)
    assert (tpot.metric, tpot.stat, tpot.limit) == ("tpot", "mean", 0.05)  # no statistic: the mean
    assert (errors.metric, errors.limit) == ("error_rate", 0.01)
    assert [c.label for c in parse_slo("p90_latency<3")] == ["p90_latency<=3s"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("p99_ttfb<=2s", "unknown metric 'ttfb'"),
        ("p42_ttft<=2s", "unknown statistic 'p42'"),
        ("ttft>=2s", "is not [STAT_]METRIC<=VALUE"),
        ("ttft<=0s", "positive number"),
        ("error_rate<=2ms", "error_rate is a fraction"),
        ("error_rate<=150%", "at most 1 \\(100%\\)"),
        ("error_rate<=1.5", "at most 1 \\(100%\\)"),
        ("", "at least one constraint"),
    ],
)
def test_a_bad_slo_is_one_error_naming_the_form(text: str, names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace("[", r"\[").replace("<", "<")):
        parse_slo(text)


def level(p90_ttft: float, failed: int = 0) -> PerfResult:
    return PerfResult(ok=20 - failed, failed=failed, number=20, ttft=LatencyStats(count=20, p90=p90_ttft))


def known_curve(base: float, per_request: float, noise: Callable[[], float] = lambda: 0.0):
    """TTFT = base + k x concurrency, as the loopback server's delay_per_in_flight_s gives it."""
    measured: list[float] = []

    def measure(value: float, number: int, repeats: int) -> list[PerfResult]:
        measured.append(value)
        return [level(base + per_request * value + noise()) for _ in range(repeats)]

    return measure, measured


def test_the_search_brackets_by_doubling_then_bisects_to_the_knee() -> None:
    measure, measured = known_curve(0.02, 0.02)  # p90 TTFT <= 0.21 s holds up to 9.5 in flight
    result = search(make_search("p90_ttft<=210ms", parallel=(1, 256)), measure)
    assert result.max_concurrency == 9 and result.first_failing == 10 and result.bracketed
    assert measured == [1, 2, 4, 8, 16, 12, 10, 9]
    assert [lv.phase for lv in result.levels] == ["bracket"] * 5 + ["bisect"] * 3
    assert "max concurrency 9 meets p90_ttft<=210ms (majority of 3 repeat(s)); 10 does not" in result.describe()


def test_a_limit_that_still_passes_is_reported_as_a_lower_bound_and_a_failing_start_as_zero() -> None:
    measure, _ = known_curve(0.01, 0.0)
    high = search(make_search("p90_ttft<=1s", parallel=(1, 8)), measure)
    assert high.max_concurrency == 8 and not high.bracketed and "at least" in high.describe()
    measure, measured = known_curve(5.0, 0.0)
    none = search(make_search("p90_ttft<=1s", parallel=(1, 8)), measure)
    assert none.max_concurrency == 0 and measured == [1] and "already fails" in none.describe()


def test_failed_requests_fail_a_repeat_unless_an_error_rate_is_allowed() -> None:
    def measure(value: float, number: int, repeats: int) -> list[PerfResult]:
        return [level(0.01, failed=1 if value > 3 else 0) for _ in range(repeats)]

    assert search(make_search("p90_ttft<=1s", parallel=(1, 64)), measure).max_concurrency == 3
    assert search(make_search("p90_ttft<=1s,error_rate<=10%", parallel=(1, 64)), measure).max_concurrency == 64


def test_the_majority_rule_absorbs_one_disturbed_repeat_and_all_does_not() -> None:
    # one repeat in three is disturbed by +1 s (a neighbour's burst): the majority still sees the knee
    rounds = iter([0.0, 1.0, 0.0] * 100)
    measure, _ = known_curve(0.02, 0.02, noise=lambda: next(rounds))
    assert search(make_search("p90_ttft<=210ms", parallel=(1, 256)), measure).max_concurrency == 9
    rounds = iter([0.0, 1.0, 0.0] * 100)
    measure, _ = known_curve(0.02, 0.02, noise=lambda: next(rounds))
    assert search(make_search("p90_ttft<=210ms", parallel=(1, 256), rule="all"), measure).max_concurrency == 0


def test_a_rate_search_finds_the_rate_within_its_resolution() -> None:
    rng = random.Random(1)

    def measure(value: float, number: int, repeats: int) -> list[PerfResult]:
        # an open loop: latency explodes past 7.3 requests/s
        return [level(0.1 if value <= 7.3 else 3.0 + rng.random()) for _ in range(repeats)]

    result = search(make_search("p90_ttft<=1s", rate=(0.5, 100)), measure)
    assert 7.3 * 0.9 <= result.max_rate <= 7.3
    with pytest.raises(AttributeError, match="max_rate"):
        _ = result.max_concurrency


def test_search_arguments_are_checked() -> None:
    with pytest.raises(ConfigError, match="not both"):
        make_search("ttft<=1s", parallel=(1, 8), rate=(1, 8))
    with pytest.raises(ConfigError, match="0 < START <= LIMIT"):
        make_search("ttft<=1s", parallel=(8, 1))
    with pytest.raises(ConfigError, match="rule must be one of majority, all"):
        make_search("ttft<=1s", rule="median")


KNEE_BASE = 0.1
KNEE_PER_REQUEST = 0.1  # the server's TTFT: 100 ms + 100 ms per request in flight
KNEE = 5  # p90 TTFT <= 680 ms holds up to 5 in flight (600 ms: 80 ms for a loaded machine's lateness)


@pytest.mark.xdist_group("timing")
def test_llm_capacity_finds_the_known_knee_of_a_loopback_server(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(ttft_s=KNEE_BASE, delay_per_in_flight_s=KNEE_PER_REQUEST, output_tokens=4)
    pytester.makepyfile(
        test_capacity=f"""
        def test_capacity(llm_capacity):
            capacity = llm_capacity("p90_ttft<=680ms", parallel=(1, 64), number=8, prompt_tokens=8,
                                    output_tokens=4, isolation="thread")
            print("FOUND", capacity.max_concurrency, [lv.value for lv in capacity.levels])
            assert {KNEE - 1} <= capacity.max_concurrency <= {KNEE + 1}  # the knee, within one step
            assert capacity.bracketed and capacity.first_failing == capacity.max_concurrency + 1
        """
    )
    results = pytester.path / "out.json"
    result = pytester.runpytest_subprocess(
        "--llm-model", "fake-model", "--llm-base-url", server.base_url, "--llm-results", str(results), "-s"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*llmeval capacity*", "*max concurrency * meets p90_ttft<=680ms*"])
    perf = json.loads(results.read_text())["extra"]["perf"]
    (search_result,) = perf["capacity"]
    assert search_result["test"].endswith("test_capacity.py::test_capacity")
    assert len(perf["runs"]) == 3 * len(search_result["levels"])  # every repeat of every level is a perf level


def test_perf_slo_option_runs_a_capacity_search_item(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(output_tokens=4)
    results = pytester.path / "out.json"
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "fake-model",
        "--llm-base-url",
        server.base_url,
        "--llm-perf-slo",
        "p99_latency<=5s",
        "--llm-perf",
        "parallel=1,4",
        "repeats=1",
        "prompt_tokens=8",
        "output_tokens=4",
        "--llm-results",
        str(results),
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*llmeval capacity*", "*max concurrency 4 meets p99_latency<=5s*at least that*"])
    (search_result,) = json.loads(results.read_text())["extra"]["perf"]["capacity"]
    assert [lv["value"] for lv in search_result["levels"]] == [1, 2, 4]
    assert search_result["test"] == "llmeval-perf::capacity"


@pytest.mark.parametrize(
    ("slo", "word", "message"),
    [
        ("p99_ttft<=1s", "stream=false", "*p99_ttft<=1s needs a streamed workload*"),
        ("tpot<=50ms", "output_tokens=1", "*TPOT needs at least two output tokens*"),
        ("p99_ttfb<=1s", "output_tokens=8", "*unknown metric 'ttfb'*"),
    ],
)
def test_an_slo_the_workload_cannot_measure_is_a_usage_error_before_any_request(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer], slo: str, word: str, message: str
) -> None:
    server = start_server()
    result = pytester.runpytest_subprocess(
        "--llm-model", "fake-model", "--llm-base-url", server.base_url, "--llm-perf-slo", slo, "--llm-perf", word
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert server.stats()["chat_requests"] == 0


def test_the_html_report_shows_the_answer_and_every_measured_level() -> None:
    from pytest_llmeval.report.html import render_overview
    from pytest_llmeval.results import RunResult

    measure, _ = known_curve(0.02, 0.02)
    result = search(make_search("p90_ttft<=210ms", parallel=(1, 64)), measure)
    result.test = "tests/perf/test_x.py::test_<capacity>"
    runs = [{"test": result.test, **level(0.05).model_dump(mode="json"), "parallel": 1}]
    extra = {"perf": {"runs": runs, "capacity": [result.model_dump(mode="json")]}}
    html = render_overview(RunResult(model="m", base_url=None, started="s", duration_s=1.0, extra=extra))
    assert "Capacity search: test_x.py::test_&lt;capacity&gt;" in html  # escaped, like every test id
    assert "max concurrency 9 meets p90_ttft&lt;=210ms" in html
    table = html.split('class="lle-table lle-capacity"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + len(result.levels)
    assert table.count('class="lle-fail-text">fail</td>') == 3  # 10, 12 and 16 miss the SLO
    assert ">200.0</td>" in table  # level 9: 20 ms + 9 x 20 ms, in ms
