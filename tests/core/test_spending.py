"""Tokens and cost per benchmark and run, and the spending budget, against the loopback test server
whose usage is known: prompt tokens = words of the prompt, completion = words of reasoning + reply."""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.spend import load_prices, request_bound
from pytest_llmeval.testing._responder import chat_prompt
from tests.conftest import GSM8K_RULES, write_jsonl
from tests.core.test_evaluation import chat_requests, run

REASONING = "let me add the numbers"  # 5 words of reasoning in every answer


def words(text: str) -> int:
    return len(text.split())


def reply_of(question: str) -> str:
    return next(rule["reply"] for rule in GSM8K_RULES if rule["contains"] in question)


@pytest.fixture
def usage_server(start_server):
    return start_server(rules=GSM8K_RULES, reasoning=REASONING, reasoning_tokens_in_usage=True, keep_chat_bodies=100)


def test_tokens_per_benchmark_and_run_match_the_server_usage(pytester, usage_server, gsm8k_file, tmp_path):
    results = tmp_path / "r.json"
    args = ("-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}", "--llm-results", str(results))
    result = run(pytester, usage_server, *args)
    result.assert_outcomes(passed=3, failed=1)
    bodies = usage_server.stats()["chat_bodies"]
    assert len(bodies) == 4
    prompt = sum(chat_prompt(body["messages"]).prompt_tokens for body in bodies)
    completion = sum(words(REASONING) + words(reply_of(body["messages"][-1]["content"])) for body in bodies)
    usage = json.loads(results.read_text())["usage"]
    expected = {"requests": 4, "prompt_tokens": prompt, "completion_tokens": completion, "reasoning_tokens": 20}
    for name, value in expected.items():
        assert usage["run"][name] == value, name
        assert usage["benchmarks"]["gsm8k"][name] == value, name
        assert usage["benchmarks"]["gsm8k"]["subsets"]["main"][name] == value, name
        assert usage["models"]["fake-model"][name] == value, name
    assert usage["run"]["cost_usd"] is None  # no price table: no cost, not a zero
    result.stdout.fnmatch_lines(
        ["*tokens*requests*prompt*completion*reasoning*", f"run *4*{prompt:,}*{completion:,}*20*"]
    )


def test_price_table_turns_tokens_into_cost_and_cached_answers_cost_nothing(
    pytester, usage_server, gsm8k_file, tmp_path
):
    prices = tmp_path / "prices.yaml"
    prices.write_text("fake-model: {input: 2.0, output: 8.0, reasoning: 20.0}\nother: {input: 1, output: 1}\n")
    results = tmp_path / "r.json"
    args = ("-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}", "--llm-prices", str(prices))
    result = run(pytester, usage_server, *args, "--llm-results", str(results))
    run_usage = json.loads(results.read_text())["usage"]["run"]
    expected = (
        run_usage["prompt_tokens"] * 2.0
        + (run_usage["completion_tokens"] - run_usage["reasoning_tokens"]) * 8.0
        + run_usage["reasoning_tokens"] * 20.0
    ) / 1e6
    assert run_usage["cost_usd"] == pytest.approx(expected)
    result.stdout.fnmatch_lines(["*cost USD*", f"run *{expected:.6f}"])

    page = tmp_path / "again.html"
    again = run(pytester, usage_server, *args, "--llm-results", str(results), f"--html={page}")  # every answer cached
    assert chat_requests(usage_server) == 4
    cached = json.loads(results.read_text())["usage"]["run"]
    assert cached["requests"] == 0 and cached["cached_requests"] == 4
    assert cached["cost_usd"] == 0.0
    assert cached["cached_prompt_tokens"] == run_usage["prompt_tokens"]
    again.stdout.fnmatch_lines(["cached: 4 answers, * tokens, no cost (answered from the cache)"])
    html = page.read_text()  # as in the terminal: the cached line, and no table without a row
    assert "cached: 4 answers" in html and 'id="llmeval-usage"' not in html


def many_rows(count: int) -> list[dict[str, str]]:
    return [
        {"question": f"Tom has {i} apples and buys 3 more. How many apples?", "answer": "#### 5"} for i in range(count)
    ]


def test_budget_sends_no_request_past_it_and_leaves_the_run_incomplete(pytester, usage_server, tmp_path):
    data = write_jsonl(tmp_path / "data" / "gsm8k.jsonl", many_rows(12))
    common = ("-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-gen", "max_tokens=40", "--llm-concurrency", "1")
    # a first run, in a cache of its own, learns every request's body and usage
    run(pytester, usage_server, *common, "--llm-cache-dir", str(tmp_path / "learn"))
    bodies = usage_server.stats()["chat_bodies"]
    assert len(bodies) == 12
    used = [chat_prompt(b["messages"]).prompt_tokens + words(REASONING) + words(reply_of("apples")) for b in bodies]
    budget = sum(used[:5]) + request_bound(bodies[5]).tokens - 1  # the 6th request's bound just does not fit
    assert sum(used[:5]) + request_bound(bodies[4]).tokens <= budget + used[4]  # the 5th fits
    usage_server.reset()

    results = tmp_path / "r.json"
    result = run(pytester, usage_server, *common, "--llm-max-tokens-budget", str(budget), "--llm-results", str(results))
    assert chat_requests(usage_server) == 5  # exactly the requests that fit, none past the budget
    result.assert_outcomes(passed=5, skipped=7)  # the rest unrun: neither wrong answers nor passed
    assert result.ret == 1
    data_out = json.loads(results.read_text())
    assert data_out["passed"] is False and data_out["complete"] is False
    assert "--llm-max-tokens-budget" in data_out["stopped_by"]
    spent = data_out["usage"]["budget"]
    assert spent["spent_tokens"] == sum(used[:5]) <= budget
    assert spent["samples_unsent"] == 7
    result.stdout.fnmatch_lines(
        [
            "*INCOMPLETE RUN (--llm-max-tokens-budget*reached*7 samples not sent)*",
            f"budget: stopped sending*spent {sum(used[:5]):,} tokens*7 samples not sent",
            "*llmeval: FAIL: the run is incomplete*",
        ]
    )


def test_cost_budget_stops_by_price(pytester, usage_server, tmp_path):
    data = write_jsonl(tmp_path / "data" / "gsm8k.jsonl", many_rows(6))
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"*": {"input": 1000.0, "output": 1000.0}}))  # 0.001 USD a token
    args = ("-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-gen", "max_tokens=40", "--llm-concurrency", "1")
    report = tmp_path / "report.html"
    result = run(
        pytester, usage_server, *args, "--llm-prices", str(prices), "--llm-max-cost", "0.28", f"--html={report}"
    )
    sent = chat_requests(usage_server)
    assert 0 < sent < 6
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*budget: stopped sending (--llm-max-cost 0.28 USD reached*USD spent*"])
    page = report.read_text()  # the HTML report: the tokens table with cost, the budget line, INCOMPLETE
    assert 'id="llmeval-usage"' in page and "cost USD" in page
    assert "budget: stopped sending (--llm-max-cost 0.28 USD reached" in page
    assert "INCOMPLETE" in page


def test_budget_under_xdist_splits_it_between_workers(pytester, usage_server, tmp_path):
    data = write_jsonl(tmp_path / "data" / "gsm8k.jsonl", many_rows(12))
    args = ("-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-gen", "max_tokens=40", "-n", "2")
    result = run(pytester, usage_server, *args, "--llm-max-tokens-budget", "600", "--llm-results", "r.json")
    sent = chat_requests(usage_server)
    data_out = json.loads((pytester.path / "r.json").read_text())
    assert 0 < sent < 12 and data_out["complete"] is False
    assert data_out["usage"]["budget"]["spent_tokens"] <= 600
    assert data_out["usage"]["budget"]["samples_unsent"] == 12 - sent
    assert result.ret == 1


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("fake-model: {input: 1}\n", "p.yaml", "fake-model.output: missing"),
        ("fake-model: {input: -1, output: 1}\n", "p.yaml", "fake-model.input: Input should be greater than or equal"),
        ("fake-model: {input: 1, output: 2, cached: 1}\n", "p.yaml", "fake-model.cached: unknown key"),
        ("fake-model: [1, 2]\n", "p.yaml", "fake-model: expected input/output prices"),
        ("{not json", "p.json", "p.json is not valid JSON"),
        ('["a"]', "p.json", "must map model names to prices"),
        ("a = 1", "p.ini", "unknown format .ini"),
        ('{"m": {"input": 1e308, "output": 1}}', "p.json", "m.input: at most 1,000,000 USD per million tokens"),
        ('{"m": {"input": 1, "output": Infinity}}', "p.json", "m.output: must be a finite number"),
    ],
)
def test_a_bad_price_table_is_one_clear_usage_error(pytester, usage_server, gsm8k_file, text, name, message):
    (pytester.path / name).write_text(text)
    result = run(pytester, usage_server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}", "--llm-prices", name)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--llm-prices: *{message}*"])  # given on the command line: named so
    assert "Traceback" not in result.stderr.str()
    assert chat_requests(usage_server) == 0


def test_a_price_table_from_the_ini_is_named_so(pytester, usage_server, gsm8k_file):
    (pytester.path / "p.json").write_text('{"m": {"input": 1e308, "output": 1}}')
    pytester.makeini("[pytest]\nllm_prices = p.json\n")
    result = run(pytester, usage_server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini llm_prices (--llm-prices): *p.json*at most*"])


def test_missing_price_table_file_names_the_file(tmp_path):
    from pytest_llmeval.errors import ConfigError

    with pytest.raises(ConfigError, match=r"nope.yaml: no such file"):
        load_prices(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--llm-max-tokens-budget", "100"), "--llm-max-tokens-budget needs a bound on every answer*max_tokens=N"),
        (("--llm-max-cost", "1", "--llm-gen", "max_tokens=5"), "--llm-max-cost needs the price of 'fake-model'*"),
        (("--llm-max-tokens-budget", "0", "--llm-gen", "max_tokens=5"), "*--llm-max-tokens-budget*1 or more*"),
    ],
)
def test_a_budget_that_cannot_be_kept_is_a_usage_error(pytester, usage_server, gsm8k_file, extra, message):
    result = run(pytester, usage_server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}", *extra)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert chat_requests(usage_server) == 0


def body(prompt: str, max_tokens: int = 10, n: int = 1) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens, "n": n}


def test_the_bound_is_prompt_bytes_plus_max_tokens_times_n():
    messages = json.dumps([{"role": "user", "content": "héllo"}], ensure_ascii=False, separators=(",", ":"))
    bound = request_bound(body("héllo", max_tokens=7, n=3))
    assert bound is not None
    assert (bound.prompt_tokens, bound.completion_tokens) == (len(messages.encode()), 21)
    assert request_bound({"messages": []}) is None  # no max_tokens: no bound


def test_requests_in_flight_hold_their_bound_and_a_refusal_is_final():
    from pytest_llmeval.endpoint.models import Usage
    from pytest_llmeval.spend import BudgetReached, SpendingLimit

    one = request_bound(body("x")).tokens
    limit = SpendingLimit(max_tokens=2 * one + 5)
    first, second = limit.reserve(body("x")), limit.reserve(body("x"))  # two in flight: both bounds held
    with pytest.raises(BudgetReached, match="--llm-max-tokens-budget"):
        limit.reserve(body("x"))  # would fit after the answers, not while they are in flight
    limit.settle(first, Usage(prompt_tokens=1, completion_tokens=1))
    limit.settle(second, None)  # failed: releases, counts nothing
    assert limit.spent_tokens == 2
    with pytest.raises(BudgetReached):
        limit.reserve(body("x"))  # once refused, the run sends nothing more
    assert (limit.sent, limit.refused) == (2, 2)


def test_an_answer_without_usage_counts_its_whole_bound():
    from pytest_llmeval.endpoint.models import Usage
    from pytest_llmeval.spend import SpendingLimit

    limit = SpendingLimit(max_tokens=10_000)
    held = limit.reserve(body("x"))
    limit.settle(held, Usage())
    assert limit.spent_tokens == held.tokens


def test_cost_prices_reasoning_apart_and_bounds_at_the_dearer_price():
    from pytest_llmeval.spend import ModelPrice, SpendingLimit

    price = ModelPrice(input=1.0, output=2.0, reasoning=5.0)
    assert price.cost(1_000_000, 3_000_000, 1_000_000) == pytest.approx(1.0 + 2 * 2.0 + 5.0)
    limit = SpendingLimit(max_cost=1.0, price=price)
    held = limit.reserve(body("x", max_tokens=100))
    assert held.cost == pytest.approx((request_bound(body("x")).prompt_tokens * 1.0 + 100 * 5.0) / 1e6)


def test_tally_per_benchmark_subset_group_and_model_with_repeats_partly_cached():
    from pytest_llmeval.endpoint.models import Usage
    from pytest_llmeval.results import SampleRecord
    from pytest_llmeval.spend import PriceTable, SpendCollector

    def record(bench: str, subset: str, usage: Usage, **fields) -> SampleRecord:
        return SampleRecord(
            nodeid=f"{bench}/{subset}::0", benchmark=bench, subset=subset, id="0", usage=usage, **fields
        )

    prices = PriceTable.model_validate({"m": {"input": 1_000_000, "output": 1_000_000}})  # 1 USD a token
    groups = {"a": "math", "b": "code"}
    collector = SpendCollector("m", prices, group_of=lambda r: groups[r.benchmark])
    collector.add(record("a", "x", Usage(prompt_tokens=10, completion_tokens=6, reasoning_tokens=2)))
    # --llm-repeats 4, one of the four answered from the cache: a quarter of the tokens are free
    collector.add(
        record("b", "y", Usage(prompt_tokens=40, completion_tokens=20), requests=4, requests_cached=1, cached=False)
    )
    collector.add(record("b", "y", Usage(prompt_tokens=5, completion_tokens=5), cached=True))
    summary = collector.build()
    assert summary.benchmarks["a"].subsets["x"].reasoning_tokens == 2
    b = summary.benchmarks["b"]
    assert (b.requests, b.cached_requests) == (3, 2)
    assert (b.prompt_tokens, b.completion_tokens) == (30, 15)
    assert (b.cached_prompt_tokens, b.cached_completion_tokens) == (15, 10)
    assert b.cost_usd == pytest.approx(45.0)  # cached tokens cost nothing
    assert summary.groups["math"].cost_usd == pytest.approx(16.0)
    assert summary.models["m"].total_tokens == summary.run.total_tokens == 61
    assert summary.run.cost_usd == pytest.approx(61.0)


def test_the_stop_message_says_what_was_settled_and_what_is_in_flight():
    from pytest_llmeval.spend import BudgetReached, ModelPrice, SpendingLimit

    one = request_bound(body("x", max_tokens=100))
    price = ModelPrice(input=1.0, output=2.0)
    cost = (one.prompt_tokens * 1.0 + one.completion_tokens * 2.0) / 1e6
    limit = SpendingLimit(max_cost=cost * 1.5, price=price)
    limit.reserve(body("x", max_tokens=100))  # in flight, nothing settled yet
    with pytest.raises(BudgetReached, match=r"0\.000000 USD spent \(settled\) plus up to .* held by 1 request"):
        limit.reserve(body("x", max_tokens=100))
