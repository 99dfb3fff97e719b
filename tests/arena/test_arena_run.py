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


def figures(path):
    return json.loads(path.read_text())["extra"]["arena"]


def test_a_position_biased_judge_gives_ties_marked_inconsistent(pytester, start_server):
    servers = start_arena(start_server, biased=True)
    prompts = write_prompts(pytester.path)
    results = pytester.path / "results.json"
    pytester.runpytest_subprocess(*arena_args(servers, prompts, "--llm-results", str(results))).assert_outcomes(
        passed=24
    )
    alpha = figures(results)["candidates"]["alpha"]
    assert (alpha["tie"], alpha["inconsistent"], alpha["winrate"], alpha["elo"]) == (12, 12, 0.5, pytest.approx(1000))


def test_rerun_asks_nothing_and_gives_the_same_figures(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    first, second = pytester.path / "r1.json", pytester.path / "r2.json"
    pytester.runpytest_subprocess(*arena_args(servers, prompts, "--llm-results", str(first)))
    asked = {name: server.stats()["chat_requests"] for name, server in servers.items()}
    # each answer once per model (the baseline's shared by both candidates), two verdicts per pair
    assert asked == {"base": 12, "alpha": 12, "beta": 12, "judge": 48}
    pytester.runpytest_subprocess(*arena_args(servers, prompts, "--llm-results", str(second)))
    assert {name: server.stats()["chat_requests"] for name, server in servers.items()} == asked
    assert figures(first)["candidates"] == figures(second)["candidates"]


def test_two_workers_give_exactly_the_single_process_figures(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    single, dist = pytester.path / "single.json", pytester.path / "dist.json"
    pytester.runpytest_subprocess(*arena_args(servers, prompts, "--llm-results", str(single), "--llm-no-cache"))
    result = pytester.runpytest_subprocess(
        *arena_args(servers, prompts, "--llm-results", str(dist), "--llm-no-cache"), "-n", "2"
    )
    result.assert_outcomes(passed=16, failed=8)
    assert figures(single) == figures(dist)


def test_marks_select_one_candidate(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    result = pytester.runpytest_subprocess(*arena_args(servers, prompts, "-m", "beta"))
    result.assert_outcomes(passed=6, failed=6)


def test_win_rate_gate_in_point_and_ci_mode(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    gates = ("--llm-threshold", "arena.alpha.winrate>=0.5", "--llm-threshold", "arena.beta.winrate>=0.6")
    result = pytester.runpytest_subprocess(*arena_args(servers, prompts, *gates))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*arena.beta.winrate>=0.6*"])
    results = pytester.path / "ci.json"
    result = pytester.runpytest_subprocess(
        *arena_args(
            servers,
            prompts,
            "--llm-threshold",
            "arena.alpha.winrate>=0.5",
            "--llm-threshold-mode",
            "ci",
            "--llm-results",
            str(results),
        )
    )
    (outcome,) = json.loads(results.read_text())["thresholds"]
    low, high = figures(results)["candidates"]["alpha"]["winrate_ci"]
    assert (outcome["ci_low"], outcome["ci_high"]) == (low, high)  # the gate reads the bootstrap interval
    assert outcome["status"] == ("pass" if low >= 0.5 else "undecided")


def test_a_judge_that_is_a_contestant_is_refused_unless_flagged(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    args = [a.replace(f"judge={servers['judge'].base_url}", "alpha") for a in arena_args(servers, prompts)]
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--llm-arena-self-judge" in result.stderr.str()
    result = pytester.runpytest_subprocess(*args, "--llm-arena-self-judge")
    assert result.ret != pytest.ExitCode.USAGE_ERROR


def test_an_unparseable_verdict_is_asked_again_once_then_is_the_pairs_error(pytester, start_server):
    servers = start_arena(start_server)
    servers["judge"] = start_server(fixed_reply="Both answers are fine.", model="judge")
    prompts = write_prompts(pytester.path, count=2)
    result = pytester.runpytest_subprocess(*arena_args(servers, prompts, "-m", "alpha", "--llm-no-cache"))
    result.assert_outcomes(errors=2)  # never a silent tie
    result.stdout.fnmatch_lines(["*gave no verdict label*also when asked again*"])
    assert servers["judge"].stats()["chat_requests"] == 2 * 2 * 2  # pairs x orders x (ask + ask again)


def test_a_verdict_given_when_asked_again_counts_and_is_cached(pytester, start_server):
    servers = start_arena(start_server)
    servers["judge"] = start_server(
        rules=[{"contains": "Reply with the label alone", "reply": "[[A=B]]"}],
        default_reply="Hard to say.",
        model="judge",
    )
    prompts = write_prompts(pytester.path, count=2)
    samples = pytester.path / "s.jsonl"
    args = arena_args(servers, prompts, "-m", "alpha", "--llm-samples", str(samples))
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=2)
    record = json.loads(samples.read_text().splitlines()[0])
    verdict = record["arena"]["verdicts"]["candidate_first"]
    assert verdict["reasked"] is True and "Hard to say." in verdict["rationale"]
    assert servers["judge"].stats()["chat_requests"] == 8
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=2)
    assert servers["judge"].stats()["chat_requests"] == 8  # the second ask came from the cache too


def test_html_report_shows_both_answers_escaped_with_filters(pytester, start_server):
    hostile = "<script>alert(1)</script>"
    servers = start_arena(start_server)
    servers["alpha"] = start_server(fixed_reply=f"alpha-says {hostile}", model="alpha")
    servers["judge"] = start_server(fixed_reply=f"I like <b>{hostile}</b>\n[[A>B]]", model="judge")
    prompts = write_prompts(pytester.path, count=3)
    report = pytester.path / "report.html"
    pytester.runpytest_subprocess(*arena_args(servers, prompts, "-m", "alpha", f"--html={report}"))
    page = report.read_text()
    assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="llmeval-arena"' in page and "base (baseline)" in page and "base-says-00" in page
    assert 'id="lla-f-inconsistent"' in page and "swap-inconsistent (3)" in page  # the judge always prefers A


def test_compare_two_arena_runs(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    old = pytester.path / "old.json"
    pytester.runpytest_subprocess(*arena_args(servers, prompts, "--llm-results", str(old)))
    result = pytester.runpytest_subprocess(*arena_args(servers, prompts, "--llm-compare", str(old)))
    result.stdout.fnmatch_lines(["*llmeval compare*", "*arena*alpha*winrate*"])


def test_early_stop_leaves_decided_pairs_unjudged(pytester, start_server):
    servers = start_arena(start_server, biased=True)  # every pair a tie: win rate 0.5
    prompts = pytester.path / "many.jsonl"
    prompts.write_text("".join(json.dumps({"id": i, "prompt": f"prompt {i}"}) + "\n" for i in range(200)))
    gate = ("--llm-threshold", "arena.alpha.winrate<0.99", "--llm-early-stop", "--llm-concurrency", "2")
    result = pytester.runpytest_subprocess(*arena_args(servers, prompts, "-m", "alpha", *gate))
    skipped = result.parseoutcomes().get("skipped", 0)
    assert result.ret == pytest.ExitCode.OK and skipped > 0  # pairs past the prefetch window are left out
    assert servers["judge"].stats()["chat_requests"] <= 2 * (200 - skipped)  # none for a skipped pair


def test_an_arena_without_a_judge_is_a_usage_error(pytester, start_server):
    servers = start_arena(start_server)
    prompts = write_prompts(pytester.path)
    args = arena_args(servers, prompts)
    at = args.index("--llm-arena-judge")
    del args[at : at + 2]
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "the arena has no judge" in result.stderr.str()
    result = pytester.runpytest_subprocess(
        *args, "--llm-judge-model", "alpha", "--llm-judge-base-url", servers["alpha"].base_url
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "--llm-arena-self-judge" in result.stderr.str()
