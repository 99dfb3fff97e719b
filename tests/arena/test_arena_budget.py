"""Spending budgets with an arena, and the judge's tokens of pairs that ended in an error, against
loopback servers playing the contestants and a scripted judge."""

from __future__ import annotations

import json

import pytest

from .scripted import arena_args, write_prompts
from .test_arena_run import start_arena

URL = "http://127.0.0.1:9/v1"  # never contacted: the options are refused first


def test_a_token_budget_admits_whole_pairs_and_leaves_the_rest_unsent(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    results = pytester.path / "results.json"
    budget = 6000  # a few pairs' answers and judgements, far from all 24
    result = pytester.runpytest_subprocess(
        *arena_args(servers, prompts, "--llm-results", str(results), "--llm-no-cache"),
        "--llm-gen",
        "max_tokens=16",
        "--llm-arena-judge",
        f"judge={servers['judge'].base_url},max_tokens=64",
        "--llm-concurrency",
        "1",
        "--llm-max-tokens-budget",
        str(budget),
        "-rs",
    )
    data = json.loads(results.read_text())
    outcomes = result.parseoutcomes()
    judged = outcomes.get("passed", 0) + outcomes.get("failed", 0)
    assert 0 < judged < 24 and outcomes.get("skipped", 0) == 24 - judged and "errors" not in outcomes
    # an incomplete run never passes, and says why
    assert result.ret == 1 and data["passed"] is False and data["complete"] is False
    assert "--llm-max-tokens-budget 6,000 reached" in data["stopped_by"]
    result.stdout.fnmatch_lines(["*not sent: --llm-max-tokens-budget 6,000 reached*"])
    # every admitted pair was judged in both orders: the budget never paid for answers left unjudged
    assert servers["judge"].stats()["chat_requests"] == 2 * judged
    usage = data["usage"]
    spent = usage["run"]["prompt_tokens"] + usage["run"]["completion_tokens"]
    assert 0 < spent <= budget
    assert usage["budget"]["spent_tokens"] == spent and usage["budget"]["samples_unsent"] == 24 - judged
    assert usage["models"]["judge"]["requests"] == servers["judge"].stats()["chat_requests"]


def test_a_cost_budget_prices_each_model_by_its_own_price(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    prices = pytester.path / "prices.json"
    per_model = {"base": 1.0, "alpha": 2.0, "beta": 3.0, "judge": 50.0}  # USD per million, input = output
    prices.write_text(json.dumps({m: {"input": p, "output": p} for m, p in per_model.items()}))
    results = pytester.path / "results.json"
    max_cost = 0.2
    result = pytester.runpytest_subprocess(
        *arena_args(servers, prompts, "--llm-results", str(results), "--llm-no-cache"),
        "--llm-gen",
        "max_tokens=16",
        "--llm-arena-judge",
        f"judge={servers['judge'].base_url},max_tokens=64",
        "--llm-concurrency",
        "1",
        "--llm-prices",
        str(prices),
        "--llm-max-cost",
        str(max_cost),
    )
    data = json.loads(results.read_text())
    assert result.ret == 1 and data["passed"] is False and "--llm-max-cost 0.2 USD reached" in data["stopped_by"]
    models = data["usage"]["models"]
    assert {"base", "alpha", "judge"} <= set(models)
    for model, tally in models.items():
        price = per_model[model]
        expected = (tally["prompt_tokens"] + tally["completion_tokens"]) * price / 1e6
        assert tally["cost_usd"] == pytest.approx(expected)
    total = sum(tally["cost_usd"] for tally in models.values())
    assert 0 < total <= max_cost
    assert data["usage"]["budget"]["spent_cost"] == pytest.approx(total)


def test_a_budget_needs_every_arena_request_bounded_and_priced(pytester):
    args = ["--llm-arena-model", f"a={URL}", "--llm-arena-model", f"b={URL}", "--llm-arena-judge", f"j={URL}"]
    result = pytester.runpytest_subprocess(*args, "--llm-max-tokens-budget", "1000")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "arena model 'a' has no max_tokens" in result.stderr.str()
    result = pytester.runpytest_subprocess(*args, "--llm-gen", "max_tokens=8", "--llm-max-tokens-budget", "1000")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "the arena judge 'j' has no max_tokens; add max_tokens=N to its spec" in result.stderr.str()
    args[-1] += ",max_tokens=64"
    prices = pytester.path / "prices.json"
    prices.write_text(json.dumps({"a": {"input": 1, "output": 1}, "b": {"input": 1, "output": 1}}))
    result = pytester.runpytest_subprocess(
        *args, "--llm-gen", "max_tokens=8", "--llm-prices", str(prices), "--llm-max-cost", "1"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "the arena judge 'j' (model 'j')" in err and "has no entry for 'j'" in err


def test_two_workers_share_the_budget_and_stay_within_it(pytester, start_server):
    servers = start_arena(start_server)
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        *arena_args(servers, write_prompts(pytester.path), "--llm-results", str(results), "--llm-no-cache"),
        "--llm-gen",
        "max_tokens=16",
        "--llm-arena-judge",
        f"judge={servers['judge'].base_url},max_tokens=64",
        "--llm-max-tokens-budget",
        "6000",
        "-n",
        "2",
    )
    data = json.loads(results.read_text())
    usage = data["usage"]
    assert result.ret == 1 and data["passed"] is False
    assert usage["run"]["prompt_tokens"] + usage["run"]["completion_tokens"] <= 6000


def test_an_unparseable_verdicts_tokens_are_counted(pytester, start_server):
    servers = start_arena(start_server)
    servers["judge"] = start_server(fixed_reply="Both answers are fine.", model="judge")
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        *arena_args(servers, write_prompts(pytester.path, count=2), "-m", "alpha", "--llm-no-cache"),
        "--llm-results",
        str(results),
    )
    result.assert_outcomes(errors=2)
    data = json.loads(results.read_text())
    judge = data["usage"]["models"]["judge"]
    assert judge["requests"] == servers["judge"].stats()["chat_requests"] == 8  # asked, then asked again
    assert judge["prompt_tokens"] > 0 and judge["completion_tokens"] > 0
    # the answers of the errored pairs were sent and are counted too
    assert data["usage"]["models"]["alpha"]["requests"] == 2 and data["usage"]["models"]["base"]["requests"] == 2
    assert data["extra"]["arena"]["judge_tokens"]["prompt"] == judge["prompt_tokens"]


def test_the_other_orders_reply_counts_when_one_order_fails(pytester, start_server):
    servers = start_arena(start_server)
    # the judge answers the candidate-first order and fails (HTTP 500) whenever the baseline is shown first
    servers["judge"] = start_server(
        fixed_reply="A is better.\n[[A>B]]",
        fail_rules=[{"contains": "base-says-00\n<|The End of Assistant A's Answer|>", "status": 500}],
        model="judge",
    )
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        *arena_args(servers, write_prompts(pytester.path, count=1), "-m", "alpha", "--llm-no-cache"),
        "--llm-results",
        str(results),
        "--llm-retries",
        "0",
    )
    result.assert_outcomes(errors=1)
    judge = json.loads(results.read_text())["usage"]["models"]["judge"]
    assert judge["requests"] == 1 and judge["prompt_tokens"] > 0  # the order that answered
