"""Truncated outputs, `n` a server ignores, and `--llm-repeats`, end to end against the loopback
server (issue 12 item 4, issue 14 items 5 and 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval.benchmarks import get_benchmark
from pytest_llmeval.scoring.response import score_generations, truncated_verdict
from pytest_llmeval.scoring.verdict import Score
from tests.conftest import GSM8K_RULES
from tests.runs import dataset, llm_args


def run(pytester: pytest.Pytester, server, *args: str):
    results, samples = pytester.path / "results.json", pytester.path / "samples.jsonl"
    outcome = pytester.runpytest_subprocess(
        *llm_args(server.base_url),
        "--llm-results",
        str(results),
        "--llm-samples",
        str(samples),
        *args,
    )
    lines = [json.loads(line) for line in samples.read_text().splitlines()] if samples.exists() else []
    data = json.loads(results.read_text()) if results.exists() else None
    return outcome, data, {line["id"]: line for line in lines}


# -- truncation ------------------------------------------------------------------------------------


def test_truncated_output_without_explicit_cue_is_no_answer(pytester, model_server, gsm8k_file):
    # "12 * 3 = 36, so the final answer is 36" (10 tokens) cut at 9 ends "... so the final answer is":
    # its last number (36) would pass by luck. The other replies fit in 9 tokens.
    outcome, data, samples = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), "--llm-gen", "max_tokens=9")
    pages = samples["0002"]
    assert pages["finish_reason"] == "length" and pages["truncated"] == 1
    assert pages["passed"] is False and pages["extracted"] is None
    assert "truncated at max_tokens" in pages["explanation"] and "'36'" in pages["explanation"]
    apples = samples["0000"]  # "2 + 3 = 5. The answer is \\boxed{5}." is 9 tokens: complete
    assert apples["finish_reason"] == "stop" and apples["truncated"] == 0 and apples["passed"] is True
    gsm = data["benchmarks"]["gsm8k"]
    assert gsm["truncated"] == sum(1 for s in samples.values() if s["truncated"]) == 1
    assert gsm["subsets"]["main"]["truncated"] == gsm["truncated"]
    text = outcome.stdout.str()
    assert "truncated: gsm8k: 1 of 4 outputs stopped at max_tokens" in text
    # the fix is said once per run (the summary), never again under each truncated sample
    assert text.count("max_tokens=N") == 1, text
    outcome.stdout.fnmatch_lines(["*why:      output truncated at max_tokens*"])


def test_truncated_output_with_an_explicit_cue_keeps_its_verdict(pytester, start_server, gsm8k_file):
    server = start_server(
        rules=[{"contains": "apples", "reply": "The answer is \\boxed{5}. Let me also check that"}, *GSM8K_RULES[1:]]
    )
    _, data, samples = run(
        pytester,
        server,
        *dataset("gsm8k", gsm8k_file),
        "--llm-gen",
        "max_tokens=6",
        "-k",
        "0000",
    )
    assert samples["0000"]["finish_reason"] == "length" and samples["0000"]["passed"] is True
    assert data["benchmarks"]["gsm8k"]["truncated"] == 1


def test_untruncated_run_counts_zero_and_prints_no_truncation_line(pytester, model_server, gsm8k_file):
    outcome, data, samples = run(pytester, model_server, *dataset("gsm8k", gsm8k_file))
    assert data["benchmarks"]["gsm8k"]["truncated"] == 0
    assert all(s["finish_reason"] == "stop" and s["truncated"] == 0 for s in samples.values())
    assert "truncated:" not in outcome.stdout.str()


def test_failure_text_shows_the_end_of_a_long_output(pytester, start_server, gsm8k_file):
    filler = " ".join(f"step{i} checks a detail." for i in range(60))
    server = start_server(
        rules=[
            {"contains": "bus", "reply": f"Opening words. {filler} So the taken seats are \\boxed{{47}}."},
            *GSM8K_RULES[:3],
        ]
    )
    outcome, _, _ = run(pytester, server, *dataset("gsm8k", gsm8k_file), "-k", "0003")
    text = outcome.stdout.str()
    assert "wrong answer: expected '33', extracted '47'" in text
    output_line = next(line for line in text.splitlines() if line.strip().startswith("output:"))
    assert "\\boxed{47}" in output_line and "Opening words" not in output_line and "…" in output_line


# -- wording per kind (unit level: each kind's headline) --------------------------------------------


def test_failure_headline_in_each_kind_s_own_terms():
    gsm8k = get_benchmark("gsm8k")()
    assert gsm8k.failure_headline("33", "47", None) == "wrong answer: expected '33', extracted '47'"
    ifeval = get_benchmark("ifeval")()
    line = ifeval.failure_headline(
        ["punctuation:no_comma", "length_constraints:number_words"], None, "not followed (strict): punctuation:no_comma"
    )
    assert line == "instructions not followed: 1 of 2 (strict): punctuation:no_comma"
    lcb = get_benchmark("live_code_bench")()
    assert lcb.failure_headline("", "3/10 tests passed", "test 4/10 failed").startswith("test cases failed: 3/10")
    humaneval = get_benchmark("humaneval")()
    assert (
        humaneval.failure_headline("", None, "failed: AssertionError") == "test cases failed (failed: AssertionError)"
    )
    judged = type("Judged", (type(gsm8k),), {"name": "judged_probe", "needs_judge": True})()
    assert (
        judged.failure_headline("Paris", None, "judge: wrong city")
        == "judge verdict: INCORRECT (reference answer 'Paris')"
    )
    for bench in (ifeval, lcb, humaneval, judged):
        assert "extracted None" not in bench.failure_headline("x", None, "why")


def test_truncated_verdict_rules():
    fallback = Score(passed=True, metrics={"acc": 1.0, "acc_algebra": 1.0}, extracted="8", explicit=False)
    verdict = truncated_verdict(fallback)
    assert verdict.passed is False and verdict.extracted is None
    assert verdict.metrics == {"acc": 0.0, "acc_algebra": 0.0}
    explicit = Score(passed=True, metrics={"acc": 1.0}, extracted="8")
    assert truncated_verdict(explicit) is explicit
    gsm8k = get_benchmark("gsm8k")()
    sample = gsm8k.record_to_sample({"question": "q", "answer": "#### 36"}, 0, "main")
    cut = "12 * 3 = 36, so the final answer"
    assert score_generations(gsm8k, sample, [cut]).passed is True  # complete output: the last number counts
    assert score_generations(gsm8k, sample, [cut], ["length"]).passed is False
    two = score_generations(gsm8k, sample, [cut, "\\boxed{36}"], ["length", "length"])
    assert two.metrics["acc"] == 0.5 and two.metrics["pass_at_2"] == 1.0


# -- n a server ignores, and --llm-repeats ----------------------------------------------------------


def test_n_ignored_by_the_server_is_an_error_naming_the_fix(pytester, start_server, gsm8k_file):
    server = start_server(rules=GSM8K_RULES, ignore_n=True)
    outcome, data, samples = run(pytester, server, *dataset("gsm8k", gsm8k_file), "--llm-gen", "n=4")
    assert outcome.ret != 0
    assert outcome.parseoutcomes().get("errors") == 4 and "passed" not in outcome.parseoutcomes()
    assert all(s["error_kind"] == "missing_choices" for s in samples.values())
    assert "asked for n=4 generations, the server returned 1" in samples["0000"]["error"]
    assert "--llm-repeats 4" in samples["0000"]["error"]
    assert data["benchmarks"]["gsm8k"]["errors"] == 4 and data["benchmarks"]["gsm8k"]["count"] == 0
    outcome.stdout.fnmatch_lines(["*use --llm-repeats 4 instead of --llm-gen n=4*"])


def test_n_honoured_by_the_server_still_scores(pytester, model_server, gsm8k_file):
    _, data, samples = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), "--llm-gen", "n=2")
    assert data["benchmarks"]["gsm8k"]["errors"] == 0
    assert all(len(s["outputs"]) == 2 for s in samples.values())


def test_repeats_send_k_requests_per_sample_and_feed_pass_at_k(pytester, start_server, gsm8k_file):
    server = start_server(rules=GSM8K_RULES, ignore_n=True)
    args = [*dataset("gsm8k", gsm8k_file), "--llm-repeats", "4"]
    outcome, data, samples = run(pytester, server, *args)
    assert server.stats()["chat_requests"] == 16  # 4 samples x 4 repeats, none merged as duplicates
    assert all(len(s["outputs"]) == 4 and s["error"] is None for s in samples.values())
    metrics = data["benchmarks"]["gsm8k"]["metrics"]
    assert metrics["pass_at_1"] == pytest.approx(0.75) and metrics["pass_at_4"] == pytest.approx(0.75)
    assert {"pass_at_2", "acc"} <= set(metrics)
    outcome.assert_outcomes(passed=3, failed=1)
    # Each repeat is its own cache entry: a second run sends nothing and scores the same.
    _, again, samples_again = run(pytester, server, *args)
    assert server.stats()["chat_requests"] == 16
    assert all(s["cached"] for s in samples_again.values()) and again["benchmarks"] == data["benchmarks"]


def test_repeats_is_a_usage_error_below_one(pytester, model_server, gsm8k_file):
    outcome, _, _ = run(pytester, model_server, *dataset("gsm8k", gsm8k_file), "--llm-repeats", "0")
    assert outcome.ret == pytest.ExitCode.USAGE_ERROR
    assert "repeats" in outcome.stderr.str() + outcome.stdout.str()


def test_repeat_index_is_in_the_cache_key_but_never_on_the_wire(tmp_path: Path):
    """A real loopback HTTP server records the bodies it receives."""
    import http.server
    import threading

    from pytest_llmeval.endpoint.cache import REPEAT_FIELD, ResponseCache, request_key
    from pytest_llmeval.endpoint.dispatcher import Dispatcher
    from pytest_llmeval.settings import EndpointSettings

    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            reply = json.dumps(
                {"choices": [{"message": {"content": f"answer {len(received)}"}, "finish_reason": "stop"}]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    settings = EndpointSettings(model="m", base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1", retries=0)
    dispatcher = Dispatcher(settings, ResponseCache(tmp_path / "cache"))
    try:
        base = {"model": "m", "messages": [{"role": "user", "content": "q"}]}
        bodies = [base, {**base, REPEAT_FIELD: 1}, {**base, REPEAT_FIELD: 2}]
        assert len({request_key(body) for body in bodies}) == 3
        texts = [dispatcher.call(body).text for body in bodies]
        assert len(set(texts)) == 3 and len(received) == 3
        assert all(REPEAT_FIELD not in body for body in received) and all(body == base for body in received)
        assert dispatcher.call(bodies[2]).text == texts[2] and len(received) == 3  # cached per repeat
    finally:
        dispatcher.close()
        httpd.shutdown()
        httpd.server_close()


def test_repeats_count_every_request_sent_and_every_answer_from_the_cache(pytester, start_server, gsm8k_file):
    server = start_server(rules=GSM8K_RULES, ignore_n=True)
    base = [*dataset("gsm8k", gsm8k_file)]
    first, data, _ = run(pytester, server, *base, "--llm-repeats", "2")
    assert server.stats()["chat_requests"] == 8
    first.stdout.fnmatch_lines(["requests: 8 sent, 0 answers from the cache"])
    assert data["requests"]["sent"] == 8 and data["requests"]["cached"] == 0
    # Two more repeats per sample: repeats 0 and 1 come from the cache, 2 and 3 are sent.
    second, data, samples = run(pytester, server, *base, "--llm-repeats", "4")
    assert server.stats()["chat_requests"] == 16
    second.stdout.fnmatch_lines(["requests: 8 sent, 8 answers from the cache"])
    assert data["requests"]["sent"] == 8 and data["requests"]["cached"] == 8
    assert all(s["requests"] == 4 and s["requests_cached"] == 2 and not s["cached"] for s in samples.values())
