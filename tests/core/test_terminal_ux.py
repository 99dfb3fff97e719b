"""What a user sees in the terminal: pytest runs in a subprocess against the loopback server and the
tests read its screen. The live progress line needs a real terminal, so those runs get a pty."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_llmeval.report.terminal import Progress, scope_line
from tests.conftest import GSM8K_RULES, write_jsonl

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(pytester: pytest.Pytester, base_url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--llm-model", "fake-model", "--llm-base-url", base_url, "-p", "no:randomly", *args
    )


def run_in_terminal(
    pytester: pytest.Pytester, base_url: str, *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> tuple[int, str]:
    """pytest in a pseudo-terminal, as a user at a shell runs it: (exit status, screen text)."""
    master, slave = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "BUILD_NUMBER", "PYTEST_ADDOPTS")}
    environ.update(env or {}, COLUMNS="120")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--llm-model",
        "fake-model",
        "--llm-base-url",
        base_url,
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        *args,
    ]
    process = subprocess.Popen(
        command, cwd=pytester.path, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=environ
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return process.wait(), ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def last_line(text: str) -> str:
    return [line for line in text.replace("\r\n", "\n").splitlines() if line.strip()][-1]


@pytest.fixture
def gsm8k_args(gsm8k_file: Path) -> tuple[str, ...]:
    return ("-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}")


# -- item 1: counts in the header, scope, progress ----------------------------------------------


def test_header_counts_the_samples_and_names_the_scope(pytester, model_server, gsm8k_args):
    result = run(pytester, model_server.base_url, *gsm8k_args, "--llm-concurrency", "5")
    result.stdout.fnmatch_lines(["collected 4 items", "llmeval: 4 samples from gsm8k (main), 5 requests in flight"])
    result.assert_outcomes(passed=3, failed=1)


def test_keyword_deselection_counts_are_not_negative(pytester, model_server, gsm8k_args):
    result = run(pytester, model_server.base_url, *gsm8k_args, "-k", "0002")
    result.stdout.fnmatch_lines(
        ["collected 4 items / 3 deselected / 1 selected", "llmeval: 1 sample from gsm8k (main), 16 requests in flight"]
    )
    assert "-3 selected" not in result.stdout.str()


SELECTION_NOTE = (
    "selection: gsm8k: {ran} of 4 samples ran, {deselected} deselected (-k, -m, --lf or --deselect); "
    "its metrics describe these samples, not the benchmark"
)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_keyword_deselection_is_said_beside_the_metrics(pytester, model_server, gsm8k_args, workers):
    results = pytester.path / "results.json"
    result = run(
        pytester, model_server.base_url, *gsm8k_args, *workers, "-k", "0000 or 0002", "--llm-results", str(results)
    )
    result.stdout.fnmatch_lines(["*llmeval results*", SELECTION_NOTE.format(ran=2, deselected=2)])
    saved = json.loads(results.read_text())
    assert saved["samples_deselected"] == {"gsm8k": 2} and saved["complete"] is True
    assert saved["benchmarks"]["gsm8k"]["count"] == 2


def test_last_failed_rerun_says_its_metrics_cover_the_failures_only(pytester, model_server, gsm8k_args):
    pytester.makeini("[pytest]\n")
    first = run(pytester, model_server.base_url, *gsm8k_args, "-p", "cacheprovider")
    first.assert_outcomes(passed=3, failed=1)
    assert "selection:" not in first.stdout.str()
    again = run(pytester, model_server.base_url, *gsm8k_args, "-p", "cacheprovider", "--lf")
    again.assert_outcomes(failed=1, deselected=3)
    again.stdout.fnmatch_lines([SELECTION_NOTE.format(ran=1, deselected=3)])


def test_scope_lists_each_benchmark(pytester, model_server, gsm8k_file, iquiz_dir):
    result = run(
        pytester,
        model_server.base_url,
        "-m",
        "gsm8k or iquiz",
        "--llm-dataset",
        f"gsm8k={gsm8k_file}",
        "--llm-dataset",
        f"iquiz={iquiz_dir}",
    )
    result.stdout.fnmatch_lines(
        ["collected 8 items", "llmeval: 8 samples from gsm8k 4, iquiz 4, 16 requests in flight"]
    )


def test_live_progress_line_in_a_terminal(pytester, model_server, gsm8k_args):
    status, screen = run_in_terminal(pytester, model_server.base_url, *gsm8k_args)
    assert status == 1
    assert "llmeval 4/4 [100%]  sent 4  cached 0  wrong 1" in screen
    assert "gsm8k/main .." not in screen and "gsm8k/main ...F" not in screen  # no dots beside the live line
    # a second run is answered by the cache (in the rootdir's .pytest_cache): the line says so
    pytester.makeini("[pytest]\n")
    run_in_terminal(pytester, model_server.base_url, *gsm8k_args, "-p", "cacheprovider")
    status, screen = run_in_terminal(pytester, model_server.base_url, *gsm8k_args, "-p", "cacheprovider")
    assert "llmeval 4/4 [100%]  sent 0  cached 4  wrong 1" in screen


@pytest.mark.parametrize(
    ("args", "env"), [(("-q",), {}), ((), {"CI": "true"}), (("-v",), {})], ids=["quiet", "ci", "verbose"]
)
def test_no_live_line_under_quiet_ci_or_verbose(pytester, model_server, gsm8k_args, args, env):
    status, screen = run_in_terminal(pytester, model_server.base_url, *gsm8k_args, *args, env=env)
    assert status == 1
    assert "llmeval 4/4" not in screen
    assert "4 samples from gsm8k" in screen or args == ("-q",)  # the scope line stays, except under -q


def test_no_live_line_when_output_is_not_a_terminal(pytester, model_server, gsm8k_args):
    result = run(pytester, model_server.base_url, *gsm8k_args)
    assert "llmeval 4/4" not in result.stdout.str()
    result.stdout.fnmatch_lines(["gsm8k/main ...F*"])  # pytest's own dots


def test_xdist_controller_shows_scope_and_workers_stay_quiet(pytester, model_server, gsm8k_args):
    status, screen = run_in_terminal(
        pytester, model_server.base_url, *gsm8k_args, "-p", "xdist", "-n", "2", "--llm-concurrency", "3"
    )
    assert status == 1
    assert "llmeval: 4 samples from gsm8k (main), 6 requests in flight" in screen
    assert screen.count("llmeval: 4 samples") == 1  # once, from the controller
    assert "llmeval 4/4 [100%]  sent 4  cached 0  wrong 1" in screen
    assert "gsm8k/main::0003: wrong answer: expected '33', extracted '47'" in screen  # no "[gw0] linux" line


def test_progress_line_counts_rate_and_eta():
    progress = Progress(total=200, started=100.0)
    assert progress.line(now=100.0) == "llmeval 0/200 [  0%]  sent 0  cached 0  ETA -"
    for index in range(50):
        progress.add(cached=index < 10, passed=index % 5 != 0, error=index == 49, now=110.0)
    # 50 done in 10 s: 5.0/s, 150 left: 30 s
    assert progress.line(now=110.0) == "llmeval 50/200 [ 25%]  sent 40  cached 10  wrong 10  errors 1  5.0/s  ETA 0:30"


def test_scope_line_shortens_long_lists():
    counts = {"mmlu": {f"s{i}": 2 for i in range(6)}}
    assert scope_line(counts, 16) == "llmeval: 12 samples from mmlu (s0, s1, s2, s3, +2 more), 16 requests in flight"


# -- item 2: a wrong URL stops the run before the flood ---------------------------------------


def test_base_url_without_v1_stops_at_the_probe_with_the_fix(pytester, model_server, gsm8k_args):
    root = model_server.base_url.removesuffix("/v1")
    result = run(pytester, root, *gsm8k_args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert f"GET {root}/models answered 404 Not Found; did you mean --llm-base-url {root}/v1?" in output
    assert model_server.stats()["chat_requests"] == 0


def test_404_on_the_first_chat_request_stops_the_run(pytester, model_server, gsm8k_args):
    wrong = model_server.base_url.removesuffix("/v1") + "/v2"  # has a version, so /models 404 is tolerated
    result = run(pytester, wrong, *gsm8k_args, "--llm-concurrency", "1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert f"POST {wrong}/chat/completions answered 404 Not Found" in output
    assert "check --llm-base-url" in output
    assert output.count("answered 404") == 1  # one message, not one per sample
    assert "4 failed" not in output and "error" not in last_line(result.stdout.str()).replace("errors", "")


@pytest.mark.parametrize(("status", "reason"), [(405, "Method Not Allowed"), (501, "Unsupported method ('POST')")])
def test_a_url_that_takes_no_post_stops_the_run_at_the_first_chat_request(pytester, gsm8k_args, status, reason):
    """A web page or static file server at the base URL (`python -m http.server` answers POST with 501,
    nginx with 405): every sample errored with the same HTML page; now it is a wrong URL, as a 404 is."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    posts: list[str] = []

    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_error(404)

        def do_POST(self) -> None:
            posts.append(self.path)
            self.send_error(status, reason)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        result = run(pytester, base, *gsm8k_args, "--llm-concurrency", "1")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert f"ERROR: llmeval: POST {base}/chat/completions answered {status} {reason}; " in result.stderr.str()
    assert "no OpenAI-compatible chat route is there: check --llm-base-url" in output
    assert len(posts) < 4 and "llmeval results" not in output  # not one request per sample


def test_404_on_the_first_chat_request_stops_xdist_workers(pytester, model_server, gsm8k_args):
    wrong = model_server.base_url.removesuffix("/v1") + "/v2"
    result = run(pytester, wrong, *gsm8k_args, "-p", "xdist", "-n", "2", "--llm-concurrency", "1")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret not in (pytest.ExitCode.OK, pytest.ExitCode.INTERNAL_ERROR)
    assert "INTERNALERROR" not in output
    assert f"POST {wrong}/chat/completions answered 404 Not Found" in output
    assert result.parseoutcomes().get("errors", 0) <= 2  # at most one sample per worker, not all four


# -- item 3: the cache never hides what happened ----------------------------------------------


def test_summary_counts_requests_sent_and_answers_from_the_cache(pytester, start_server, gsm8k_args):
    pytester.makeini("[pytest]\n")
    server = start_server(rules=GSM8K_RULES)
    args = (*gsm8k_args, "-p", "cacheprovider")
    run(pytester, server.base_url, *args).stdout.fnmatch_lines(["requests: 4 sent, 0 answers from the cache"])
    second = run(pytester, server.base_url, *args)
    second.stdout.fnmatch_lines(["requests: 0 sent, 4 answers from the cache"])
    assert "unreachable" not in second.stdout.str()
    url = server.base_url
    server.stop()
    offline = run(pytester, url, *args)
    offline.assert_outcomes(passed=3, failed=1)
    offline.stdout.fnmatch_lines(
        [
            "requests: 0 sent, 4 answers from the cache",
            "every answer came from the cache: the endpoint is unreachable (cannot reach*",
        ]
    )


# -- item 4: condensed wrong answers, then the table, then the verdict --------------------------


@pytest.fixture
def ten_wrong(tmp_path: Path) -> tuple[str, ...]:
    rows = [{"question": f"Question {i}: how many apples?", "answer": f"#### {i}"} for i in range(10)]
    return ("-m", "gsm8k", "--llm-dataset", f"gsm8k={write_jsonl(tmp_path / 'ten.jsonl', rows)}")


def test_wrong_answers_are_condensed_before_the_score_table(pytester, start_server, ten_wrong):
    server = start_server(fixed_reply="\\boxed{99}")
    result = run(pytester, server.base_url, *ten_wrong)
    result.assert_outcomes(failed=10)  # pytest's own counts are unchanged
    text = result.stdout.str()
    assert "= FAILURES =" not in text and "FAILED gsm8k/main" not in text
    result.stdout.fnmatch_lines(
        [
            "*llmeval wrong answers*",
            "gsm8k: 10 of 10 samples answered wrong",
            "  gsm8k/main::0000: wrong answer: expected '0', extracted '99'",
            "*question: Question 0*",
            "*",
            "*",
            "  gsm8k/main::0002: *",
            "*",
            "*",
            "  ... 7 more (-v or --llm-show-failures N shows more)",
            "*llmeval results*",
        ]
    )
    assert text.count("wrong answer: expected") == 3
    assert last_line(text).startswith("=") and "10 failed" in last_line(text)  # no gate: pytest's line is last


@pytest.mark.parametrize(
    ("args", "shown"), [(("--llm-show-failures", "5"), 5), (("-v",), 10), (("--llm-show-failures", "0"), 0)]
)
def test_more_wrong_answers_on_request(pytester, start_server, ten_wrong, args, shown):
    server = start_server(fixed_reply="\\boxed{99}")
    result = run(pytester, server.base_url, *ten_wrong, *args)
    assert result.stdout.str().count("wrong answer: expected") == shown
    result.stdout.fnmatch_lines(["gsm8k: 10 of 10 samples answered wrong"])


@pytest.mark.parametrize(
    ("threshold", "status", "verdict"),
    [
        ("gsm8k.acc>=0.7", 0, "llmeval: PASS, every gate holds (exit status 0)"),
        ("gsm8k.acc>=0.8", 1, "llmeval: FAIL: gsm8k.acc>=0.8 (actual 0.7500) (exit status 1)"),
    ],
)
def test_verdict_is_the_last_line_and_agrees_with_the_exit_status(
    pytester, model_server, gsm8k_args, threshold, status, verdict
):
    result = run(pytester, model_server.base_url, *gsm8k_args, "--llm-threshold", threshold)
    assert result.ret == status
    assert verdict in last_line(result.stdout.str())
    result.assert_outcomes(passed=3, failed=1)
    lines = result.stdout.lines
    order = [
        next(i for i, line in enumerate(lines) if marker in line)
        for marker in ("llmeval wrong answers", "llmeval results", "requests: 4 sent", "1 failed, 3 passed", verdict)
    ]
    assert order == sorted(order)


def test_verdict_names_endpoint_errors_over_the_budget(pytester, start_server, gsm8k_args):
    server = start_server(
        rules=GSM8K_RULES, fail_rules=[{"contains": "pens", "status": 400}, {"contains": "bus", "status": 400}]
    )
    result = run(pytester, server.base_url, *gsm8k_args, "--llm-threshold", "gsm8k.acc>=0.0", "--llm-retries", "0")
    assert result.ret == 1
    line = last_line(result.stdout.str())
    assert "llmeval: FAIL:" in line and "endpoint errors (--llm-max-errors 0)" in line
    assert "2 endpoint errors (--llm-max-errors 0)" in line
    result.stdout.fnmatch_lines(
        [
            "*llmeval endpoint errors*",
            "gsm8k: 2 of 4 samples errored",
            "requests: 4 sent (2 failed), 0 answers from the cache",
        ]
    )


# -- item 10: small things in the first five minutes ----------------------------------------


@pytest.mark.parametrize(
    ("threshold", "hint"),
    [
        ("gsm8k.acc>=80", "did you mean 'gsm8k.acc>=0.8'?"),
        ("gsm8k.main.acc>92.5", "did you mean 'gsm8k.main.acc>0.925'?"),
        ("gsm8k.acc>=150", "not a percentage"),
    ],
)
def test_percentage_threshold_on_a_fraction_is_a_usage_error(pytester, model_server, gsm8k_args, threshold, hint):
    result = run(pytester, model_server.base_url, *gsm8k_args, "--llm-threshold", threshold)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "is a fraction between 0 and 1" in result.stderr.str() and hint in result.stderr.str()
    assert model_server.stats()["chat_requests"] == 0


def test_threshold_scale_applies_only_to_fractions():
    from pytest_llmeval.benchmarks import get_benchmark
    from pytest_llmeval.benchmarks.base import Benchmark
    from pytest_llmeval.errors import ThresholdError
    from pytest_llmeval.gating.thresholds import check_rule, parse_threshold

    class Words(Benchmark):
        name = "words_bench"
        metrics = ("acc", "words")

    check_rule(parse_threshold("words_bench.words<60"), {"words_bench": Words}, None)  # a count, not a fraction
    with pytest.raises(ThresholdError):
        check_rule(parse_threshold("words_bench.acc>=60"), {"words_bench": Words}, None)
    ifeval = get_benchmark("ifeval")
    with pytest.raises(ThresholdError, match=r"prompt_level_strict>=0.7"):
        check_rule(parse_threshold("ifeval.prompt_level_strict>=70"), {"ifeval": ifeval}, None)


def test_no_asyncio_loop_scope_warning_and_a_users_value_is_kept(pytester, model_server, gsm8k_args):
    result = run(pytester, model_server.base_url, *gsm8k_args, "--llm-limit", "1")
    assert "asyncio_default_fixture_loop_scope" not in result.stderr.str()
    assert "PytestDeprecationWarning" not in result.stdout.str() + result.stderr.str()
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = module\n")
    result = run(pytester, model_server.base_url, *gsm8k_args, "--llm-limit", "1")
    result.stdout.fnmatch_lines(["asyncio: *asyncio_default_fixture_loop_scope=module*"])


# -- conftest_examples: run as the README says ------------------------------------------------


def test_custom_benchmarks_example_from_its_folder_inside_a_project(pytester, start_server, tmp_path, monkeypatch):
    """`cd conftest_examples/custom_benchmarks` inside a project whose pyproject configures pytest:
    the docstring's command works there and the ids carry no `../../`."""
    import shutil

    monkeypatch.delenv("PYTEST_ADDOPTS")  # pytest finds the rootdir itself here, as for a user

    from tests.core.test_examples import CUSTOM_RULES, EXAMPLES

    pytester.makepyprojecttoml("[tool.pytest.ini_options]\ntestpaths = ['tests']\n")
    folder = pytester.path / "conftest_examples" / "custom_benchmarks"
    shutil.copytree(EXAMPLES / "custom_benchmarks", folder)
    docstring = (folder / "conftest.py").read_text().split('"""')[1]
    command = next(line.split()[1:] for line in docstring.splitlines() if "-m policy" in line)
    server = start_server(rules=CUSTOM_RULES)
    command = [part.strip('"') for part in command]
    command[command.index("MODEL")] = "fake-model"
    command[command.index("URL")] = server.base_url
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-v", *command],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "policy/default::p1 PASSED" in done.stdout
    assert "../" not in done.stdout
    assert done.returncode == 1  # policy.acc is 0.5 < 0.9: the docstring's gate fails, as it should
    assert "llmeval: FAIL: policy.acc>=0.9 (actual 0.5000)" in last_line(done.stdout)


@pytest.mark.parametrize(
    ("output", "gold", "passed"),
    [
        ("The capital of France is Paris.", "Paris", True),
        ("It is Paris", "Paris", True),
        ("Answer: the Paris", "Paris", True),
        ("I think it is Lyon, not Paris.", "Paris", False),
        ("Paris is lovely, but the capital is Lyon.", "Paris", False),
        ("The answer is 1,000", "1000", True),
        ("The capital of Australia is Sydney.", "Canberra", False),
    ],
)
def test_generic_qa_rule(output, gold, passed):
    from pytest_llmeval.benchmarks.custom import match_short_answer

    assert match_short_answer(output, gold)[1] is passed
