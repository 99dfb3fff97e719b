"""Whole-plugin runs in a pytest subprocess: the marker + `perf` fixture, `llm_perf`, the
`--llm-perf` CLI sweep, results JSON, usage errors, xdist."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_llmeval.testing import FakeOpenAIServer


def _args(server: FakeOpenAIServer, *extra: str) -> list[str]:
    return ["--llm-model", "fake-model", "--llm-base-url", server.base_url, "-p", "no:cacheprovider", *extra]


@pytest.fixture
def perf_pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    return pytester


def test_marker_and_perf_fixture(perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(ttft_s=0.02, itl_s=0.002, output_tokens=8)
    perf_pytester.makepyfile(
        test_slo="""
        import pytest

        @pytest.mark.perf(parallel=[1, 4], number=[4, 12], prompt_tokens=32, output_tokens=8,
                          extra_body={"ignore_eos": True})
        def test_serving_slo(perf):
            r = perf.result(parallel=4)
            assert r.ok == 12 and r.output_tokens == 96
            assert r.ttft.p99 < 0.5 and r.output_throughput > 10
            assert [x.parallel for x in perf.results] == [1, 4]

        @pytest.mark.perf(parallel=2, number=4, prompt_tokens=8)
        def test_too_strict(perf):
            assert perf.result().ttft.p50 < 0.001, "TTFT budget exceeded"
        """
    )
    result = perf_pytester.runpytest_subprocess(*_args(server, "--llm-results", "out.json"))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*llmeval perf*",
            "*test_slo.py::test_serving_slo (fake-model)*",
            "Conc.*Rate*Num*OK*Fail*RPS*Out tok/s*",
            "*TTFT (ms)*",
            "*TTFT budget exceeded*",
        ]
    )
    assert server.stats()["chat_requests"] == 4 + 12 + 4


def test_llm_perf_fixture_and_results_json(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(ttft_s=0.01, itl_s=0.001, output_tokens=4)
    perf_pytester.makepyfile(
        test_fixture="""
        import pytest

        pytestmark = pytest.mark.smoke  # selected by -m smoke next to the smoke samples

        def test_one_level(llm_perf):
            r = llm_perf.run(parallel=3, number=9, prompt_tokens=16, output_tokens=4)
            assert r.parallel == 3 and r.ok == 9 and r.token_source == "usage"
            assert r.request_throughput > 1
        """
    )
    # one smoke sample makes the core write the results JSON (it writes only when benchmarks ran)
    # the test file's path: with no path, `-m smoke` collects the samples only (docs/options.md)
    result = perf_pytester.runpytest_subprocess(
        *_args(server, "test_fixture.py", "-m", "smoke", "--llm-limit", "1", "--llm-results", "out.json")
    )
    result.assert_outcomes(passed=1, failed=2)  # the fake model gets both smoke samples wrong
    result.stdout.fnmatch_lines(["*llmeval perf*", "*test_fixture.py::test_one_level (fake-model)*"])
    data = json.loads((perf_pytester.path / "out.json").read_text())
    runs = data["extra"]["perf"]["runs"]
    assert [(r["test"], r["parallel"], r["ok"]) for r in runs] == [("test_fixture.py::test_one_level", 3, 9)]
    assert set(runs[0]["ttft"]) >= {"mean", "std", "min", "p50", "p90", "p95", "p99", "max"}


def test_cli_sweep_without_a_test(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(ttft_s=0.01, itl_s=0.001, output_tokens=5)
    result = perf_pytester.runpytest_subprocess(
        *_args(
            server,
            "--llm-perf",
            "parallel=1,2",
            "number=2,6",
            "dataset=random",
            "prompt_tokens=8",
            "output_tokens=5",
            'extra_body={"ignore_eos": true}',
            "-v",
        )
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*llmeval-perf::sweep PASSED*",
            "*llmeval perf*",
            "Conc.*Rate*Num*OK*Fail*",
            "1 *-*2*2*0*",
            "2 *-*6*6*0*",
            "*ITL (ms)*",
            "note: token counts: usage",
            "note: no tokenizer given*approximate*",
        ]
    )
    assert server.stats()["chat_requests"] == 8


def test_cli_sweep_reports_a_dead_server_at_once(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(fail_first_n=100_000, fail_status=502)
    result = perf_pytester.runpytest_subprocess(
        *_args(server, "--llm-perf", "parallel=1,4", "number=50,200", "prompt_tokens=4")
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*all * requests failed (http_502: *); first error: HTTP 502: injected failure*"])
    assert server.stats()["chat_requests"] <= 10


def test_a_failed_cli_sweep_is_not_followed_by_a_hint_to_select_benchmarks(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    # a sweep whose file has no `question` failed with that error, then the summary said
    # "no benchmark selected: -m selects benchmarks ..." as if -m had been forgotten
    server = start_server()
    (perf_pytester.path / "qa.jsonl").write_text('{"q": "hi"}\n')
    result = perf_pytester.runpytest_subprocess(
        *_args(server, "--llm-perf", "parallel=1", "number=2", "dataset=openqa", "dataset_path=qa.jsonl")
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*qa.jsonl:1: openqa lines need a 'question' string*"])
    assert "no benchmark selected" not in result.stdout.str()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--llm-perf", "parallel=0"], "*parallel must be 1 or more*"),
        (["--llm-perf", "parallel=8", "number=4"], "*number (4) is smaller than parallel (8)*"),
        (["--llm-perf", "exact_lengths=true"], "*exact_lengths=True needs a tokenizer*"),
        (["--llm-perf", "dataset=nosuchset"], "*unknown dataset 'nosuchset'*"),
        (["--llm-tokenizer", "missing/tokenizer.json", "--llm-perf", "parallel=1"], "*--llm-tokenizer*does not exist*"),
    ],
)
def test_cli_usage_errors_send_nothing(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer], args: list[str], message: str
) -> None:
    server = start_server()
    result = perf_pytester.runpytest_subprocess(*_args(server, *args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert server.stats()["total_requests"] == 0


def test_bad_marker_is_a_usage_error_at_collection(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server()
    perf_pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.perf(parallel=[1, 8], number=[8, 4])
        def test_bad(perf):
            pass

        def test_plain(llm_perf):
            pass
        """
    )
    result = perf_pytester.runpytest_subprocess(*_args(server))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_bad.py::test_bad: perf: number (4) is smaller than parallel (8)*"])
    assert server.stats()["total_requests"] == 0


def test_exact_prompt_lengths_with_tokenizer(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer], wordlevel_tokenizer: Path
) -> None:
    # the fake server counts whitespace words, which is exactly what a word-level tokenizer counts
    server = start_server(output_tokens=3)
    perf_pytester.makepyfile(
        test_exact="""
        import pytest

        @pytest.mark.perf(parallel=2, number=6, prompt_tokens=40, prefix_length=10, exact_lengths=True)
        def test_lengths(perf):
            r = perf.result(parallel=2)
            assert r.input_tokens == 6 * 50, r.input_tokens
            assert not any("approximate" in n for n in r.notes)
        """
    )
    result = perf_pytester.runpytest_subprocess(*_args(server, "--llm-tokenizer", str(wordlevel_tokenizer.parent)))
    result.assert_outcomes(passed=1)


def test_without_model_perf_tests_skip(perf_pytester: pytest.Pytester) -> None:
    perf_pytester.makepyfile(
        test_skip="""
        import pytest

        @pytest.mark.perf(parallel=1)
        def test_a(perf):
            pass

        def test_b(llm_perf):
            pass
        """
    )
    result = perf_pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*no --llm-model given*"])


def test_under_xdist_results_reach_the_controller(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(ttft_s=0.01, output_tokens=3)
    perf_pytester.makepyfile(
        test_x="""
        import pytest

        pytestmark = pytest.mark.smoke  # selected by -m smoke next to the smoke samples

        @pytest.mark.perf(parallel=2, number=4, prompt_tokens=4)
        def test_first(perf):
            assert perf.result().ok == 4

        @pytest.mark.perf(parallel=3, number=6, prompt_tokens=4)
        def test_second(perf):
            assert perf.result().ok == 6
        """
    )
    result = perf_pytester.runpytest_subprocess(
        *_args(server, "test_x.py", "-n", "2", "-m", "smoke", "--llm-limit", "1", "--llm-results", "out.json")
    )
    result.stdout.fnmatch_lines(["*llmeval perf*", "*test_x.py::test_first*", "*test_x.py::test_second*"])
    runs = json.loads((perf_pytester.path / "out.json").read_text())["extra"]["perf"]["runs"]
    assert sorted((r["test"], r["ok"]) for r in runs) == [("test_x.py::test_first", 4), ("test_x.py::test_second", 6)]
    assert server.stats()["max_in_flight"] <= 3  # perf tests ran one after another on one worker


def test_cli_open_loop_with_benchmark_prompts(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(rules=[{"contains": "apples", "reply": "seven"}], output_tokens=2)
    result = perf_pytester.runpytest_subprocess(
        *_args(
            server,
            "--llm-perf",
            "dataset=smoke",
            "subset=math",
            "rate=40",
            "number=6",
            "arrival=constant",
            "stream=false",
        )
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(["Conc.*Rate*", "- *40 *6 *6 *0*", "- @40/s *Latency (s)*"])
    assert "TTFT" not in result.stdout.str()  # not streamed: latency only
    assert server.stats()["chat_requests"] == 6


def test_a_bad_marker_argument_is_one_usage_error_without_the_select_benchmarks_hint(
    perf_pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    # the usage error came after "no benchmark selected: -m selects benchmarks ...", as if -m were the fault
    server = start_server()
    perf_pytester.makepyfile(
        """
        import pytest

        @pytest.mark.perf(parallel=1, number=2, datset="random")
        def test_load(perf):
            pass
        """
    )
    result = perf_pytester.runpytest_subprocess(*_args(server))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*perf: unknown argument 'datset'*"])
    assert "no benchmark selected" not in result.stdout.str()
    assert server.stats()["total_requests"] == 0
