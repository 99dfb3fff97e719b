"""Arena runs end to end against loopback servers playing two candidates, a baseline and a judge."""

from __future__ import annotations

import json

import pytest

from .scripted import arena_args, judge_rules, model_rules, write_prompts

# alpha wins prompts 0-7, ties 8-9, loses 10-11; beta loses 0-5, wins 6-11
PREFER = {
    **{("alpha", i): "cand" if i < 8 else "tie" if i < 10 else "base" for i in range(12)},
    **{("beta", i): "base" if i < 6 else "cand" for i in range(12)},
}


def start_arena(start_server, biased=False):
    return {
        "base": start_server(rules=model_rules("base"), model="base"),
        "alpha": start_server(rules=model_rules("alpha"), model="alpha"),
        "beta": start_server(rules=model_rules("beta"), model="beta"),
        "judge": start_server(rules=judge_rules(PREFER, biased=biased), model="judge"),
    }


def test_arena_counts_wins_ties_losses_per_candidate(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(*arena_args(servers, prompts, "--llm-results", str(results)))
    result.assert_outcomes(passed=10 + 6, failed=2 + 6)
    data = json.loads(results.read_text())
    alpha = data["extra"]["arena"]["candidates"]["alpha"]
    assert (alpha["win"], alpha["tie"], alpha["loss"]) == (8, 2, 2)
    assert alpha["winrate"] == pytest.approx(9 / 12)
    assert data["benchmarks"]["arena"]["subsets"]["beta"]["metrics"]["winrate"] == pytest.approx(0.5)
    result.stdout.fnmatch_lines(["*arena vs base*", "*alpha*8/2/2*75.0*"])
