"""Regressions from a new user's first arena runs: usage errors, counts, spend, single-candidate rows."""

from __future__ import annotations

import json

import pytest

from .scripted import arena_args, judge_rules, model_rules, write_prompts
from .test_arena_run import start_arena

URL = "http://127.0.0.1:9/v1"  # never contacted: the options are refused first


def test_a_negative_bootstrap_is_one_usage_error_naming_the_option(pytester):
    args = ["--llm-arena-model", f"a={URL}", "--llm-arena-model", f"b={URL}", "--llm-arena-judge", f"j={URL}"]
    result = pytester.runpytest_subprocess(*args, "--llm-arena-bootstrap", "-5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--llm-arena-bootstrap" in err and "-5" in err and "INTERNALERROR" not in err + result.stdout.str()


def test_yaml_errors_name_the_file_and_key(pytester):
    config = pytester.path / "arena.yaml"
    config.write_text(f"models: [a={URL}, b={URL}]\njudge: j={URL}\nbootstrap: -5\n")
    result = pytester.runpytest_subprocess("--llm-arena-config", str(config))
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "arena.yaml" in err and "`bootstrap`" in err and "('bootstrap',)" not in err
    config.write_text(f"models: a={URL}\njudge: j={URL}\n")
    result = pytester.runpytest_subprocess("--llm-arena-config", str(config))
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "`models` must be a list" in result.stderr.str()


def test_requests_and_tokens_count_what_the_servers_got_per_model(pytester, start_server):
    servers = start_arena(start_server)
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        *arena_args(servers, write_prompts(pytester.path), "--llm-results", str(results))
    )
    sent = sum(server.stats()["chat_requests"] for server in servers.values())
    usage = json.loads(results.read_text())["usage"]
    assert usage["run"]["requests"] + usage["run"]["cached_requests"] == sent
    assert usage["models"]["base"]["requests"] == servers["base"].stats()["chat_requests"]
    assert usage["models"]["judge"]["requests"] == servers["judge"].stats()["chat_requests"]
    assert usage["models"]["judge"]["prompt_tokens"] > 0
    result.stdout.fnmatch_lines(["*model judge*"])


def test_arena_errors_point_at_the_arena_options_and_never_echo_a_key(pytester, start_server):
    base = start_server(rules=model_rules("base"), model="base")
    alpha = start_server(rules=model_rules("alpha"), model="alpha")
    judge = start_server(rules=judge_rules({}), model="judge-id", require_api_key="sk-right")
    prompts = write_prompts(pytester.path)
    args = ["--llm-arena-model", f"base={base.base_url}", "--llm-arena-model", f"alpha={alpha.base_url}"]
    args += ["--llm-arena-prompts", str(prompts)]
    result = pytester.runpytest_subprocess(*args, "--llm-arena-judge", f"referee={judge.base_url},model=judge-id")
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "the arena judge 'referee'" in err and "key=ENV" in err and "--llm-api-key" not in err
    result = pytester.runpytest_subprocess(
        *args, "--llm-arena-judge", f"referee={judge.base_url},model=judge-id,key=sk-LITERAL999"
    )
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "expected the NAME of an environment variable" in err and "LITERAL999" not in err + result.stdout.str()


def test_one_candidate_has_the_same_rows_and_gates_on_elo_and_lc_winrate(pytester, start_server):
    servers = start_arena(start_server)
    del servers["beta"]
    results = pytester.path / "results.json"
    gates = [
        "--llm-threshold",
        "arena.alpha.elo>=900",
        "--llm-threshold",
        "arena.alpha.lc_winrate>=0.1",
        "--llm-threshold-mode",
        "ci",
    ]
    result = pytester.runpytest_subprocess(
        *arena_args(servers, write_prompts(pytester.path), "--llm-results", str(results), *gates)
    )
    assert result.ret != pytest.ExitCode.USAGE_ERROR, result.stderr.str()
    arena = json.loads(results.read_text())["benchmarks"]["arena"]
    assert {"winrate", "lc_winrate", "elo"} <= set(arena["subsets"]["alpha"]["metrics"])
    assert {"winrate", "lc_winrate", "elo"} <= set(arena["metrics"])  # the one candidate's row is the benchmark's
    assert "no confidence interval" not in result.stdout.str()  # ci mode reads their bootstrap intervals
    result.stdout.fnmatch_lines(["*elo*"])
