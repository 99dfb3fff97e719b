"""End-to-end: where options come from (ini, command line, environment, `.env`) and the options
that change which samples run and what is scored (shuffle/seed, keep-thinking, stream with n > 1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_llmeval.testing import FakeOpenAIServer
from tests.conftest import GSM8K_ROWS, GSM8K_RULES, write_jsonl
from tests.runs import NO_RANDOMLY, dataset, llm_args, read_jsonl, run, run_first_sample

# gsm8k rows 0-2 are answered right, row 3 wrong (see tests/conftest.py)


def ini(*lines: str) -> str:
    return "\n".join(["[pytest]", *lines]) + "\n"


def run_endpoint_from_environment(pytester: pytest.Pytester, data: Path, *args: str) -> pytest.RunResult:
    """A gsm8k run that names the model but no base URL: the endpoint comes from the ini file,
    the environment or `.env`."""
    return pytester.runpytest_subprocess(*NO_RANDOMLY, "--llm-model", "fake-model", *dataset("gsm8k", data), *args)


def sample_ids(path: Path) -> list[str]:
    return sorted(line["id"] for line in read_jsonl(path))


@pytest.fixture
def gsm8k_server(start_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return start_server(rules=GSM8K_RULES)


def test_every_option_can_come_from_the_ini_file(pytester, gsm8k_server, gsm8k_file, tmp_path):
    results = tmp_path / "results.json"
    pytester.makeini(
        ini(
            "llm_model = ini-model",
            f"llm_base_url = {gsm8k_server.base_url}",
            "llm_dataset =",
            f"    gsm8k={gsm8k_file}",
            "llm_threshold =",
            "    gsm8k.acc>=0.9",
            "    gsm8k.main.acc>0.5",
            "llm_gen =",
            "    temperature=0",
            "    max_tokens=64",
            '    stop=["\\n\\n\\n"]',
            "llm_limit = 3",
            f"llm_results = {results}",
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-m", "gsm8k")
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.OK
    assert gsm8k_server.stats()["chat_requests"] == 3
    data = json.loads(results.read_text())
    assert data["model"] == "ini-model"
    assert data["base_url"] == gsm8k_server.base_url
    assert data["generation"] == {"temperature": 0, "max_tokens": 64, "stop": ["\n\n\n"]}
    assert data["benchmarks"]["gsm8k"]["count"] == 3
    assert data["benchmarks"]["gsm8k"]["metrics"]["acc"] == pytest.approx(1.0)
    assert data["thresholds"] == [
        {"expression": "gsm8k.acc>=0.9", "value": pytest.approx(1.0), "passed": True},
        {"expression": "gsm8k.main.acc>0.5", "value": pytest.approx(1.0), "passed": True},
    ]
    assert data["passed"] is True


def test_ini_threshold_fails_the_run(pytester, gsm8k_server, gsm8k_file):
    pytester.makeini(
        ini(
            "llm_model = fake-model",
            f"llm_base_url = {gsm8k_server.base_url}",
            f"llm_dataset = gsm8k={gsm8k_file}",
            "llm_threshold = gsm8k.acc>=0.8",
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-m", "gsm8k")
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*FAIL  gsm8k.acc>=0.8  (actual 0.7500)*"])


def test_a_path_value_written_apart_that_would_lose_the_ini_file_is_one_usage_error(
    pytester, gsm8k_server, gsm8k_file, tmp_path
):
    # pytest picks its rootdir (and ini file) before plugins' options are known: `--llm-compare PATH`
    # with PATH outside the project then counts PATH as a test path and the ini file is not read
    pytester.makeini(ini("llm_model = fake-model", f"llm_base_url = {gsm8k_server.base_url}"))
    previous = tmp_path / "previous.json"  # outside the project (pytester.path)
    args = ("-p", "no:randomly", *dataset("gsm8k", gsm8k_file))
    first = pytester.runpytest_subprocess(*args, f"--llm-results={previous}")
    first.assert_outcomes(passed=3, failed=1)

    apart = pytester.runpytest_subprocess(*args, "--llm-compare", str(previous))
    assert apart.ret == pytest.ExitCode.USAGE_ERROR
    err = apart.stderr.str()
    assert f"--llm-compare {previous}: pytest took this path for a test path" in err
    assert f"pytest read no ini file instead of {pytester.path}" in err and f"--llm-compare={previous}" in err
    assert "Traceback" not in err

    joined = pytester.runpytest_subprocess(*args, f"--llm-compare={previous}")
    joined.assert_outcomes(passed=3, failed=1)
    inside = pytester.path / "previous.json"  # a path inside the project moves nothing
    inside.write_bytes(previous.read_bytes())
    pytester.runpytest_subprocess(*args, "--llm-compare", str(inside)).assert_outcomes(passed=3, failed=1)


def test_an_output_the_xdist_controller_makes_is_no_test_path_for_its_workers(
    pytester, gsm8k_server, gsm8k_file, tmp_path
):
    # `--llm-cache-dir DIR` apart, DIR outside the project and absent: the controller chose its rootdir
    # before it made DIR, but its workers parse the same command line after, when DIR exists; they lost
    # the ini file (its llm_model) and crashed at start-up
    pytester.makeini(ini("llm_model = fake-model", f"llm_base_url = {gsm8k_server.base_url}"))
    cache = tmp_path / "elsewhere" / "cache"
    args = ("-p", "no:randomly", "-p", "xdist", "-n", "2", *dataset("gsm8k", gsm8k_file))
    result = pytester.runpytest_subprocess(*args, "--llm-cache-dir", str(cache), "--llm-results", "r.json")
    output = result.stdout.str() + result.stderr.str()
    assert "node down" not in output and "took this path for a test path" not in output, output
    result.assert_outcomes(passed=3, failed=1)
    assert cache.is_dir()


def test_command_line_beats_the_ini_file(pytester, gsm8k_server, gsm8k_file, tmp_path):
    ini_results, cli_results = tmp_path / "ini.json", tmp_path / "cli.json"
    pytester.makeini(
        ini(
            "llm_model = ini-model",
            f"llm_base_url = {gsm8k_server.base_url}",
            f"llm_dataset = gsm8k={gsm8k_file}",
            "llm_limit = 3",
            "llm_gen = temperature=0.5",
            "llm_threshold = gsm8k.acc>=0.99",
            f"llm_results = {ini_results}",
        )
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:randomly",
        "-m",
        "gsm8k",
        "--llm-model",
        "cli-model",
        "--llm-limit",
        "1",
        "--llm-gen",
        "temperature=0",
        "--llm-threshold",
        "gsm8k.acc>=0.5",
        "--llm-results",
        str(cli_results),
    )
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    assert not ini_results.exists()
    data = json.loads(cli_results.read_text())
    assert data["model"] == "cli-model"
    assert data["generation"] == {"temperature": 0}
    assert data["benchmarks"]["gsm8k"]["count"] == 1
    # a repeatable option given on the command line replaces the ini list, it does not extend it
    assert [t["expression"] for t in data["thresholds"]] == ["gsm8k.acc>=0.5"]


def test_endpoint_and_key_from_the_environment(pytester, start_server, gsm8k_file, tmp_path, monkeypatch):
    server = start_server(rules=GSM8K_RULES, require_api_key="sk-env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key")
    pytester.makeini(ini())
    results = tmp_path / "r.json"
    result = run_endpoint_from_environment(pytester, gsm8k_file, "--llm-results", str(results))
    result.assert_outcomes(passed=3, failed=1)
    data = json.loads(results.read_text())
    assert data["base_url"] == server.base_url
    assert "sk-env-key" not in results.read_text()
    assert "sk-env-key" not in result.stdout.str() + result.stderr.str()


def test_without_the_key_the_server_rejects_the_run(pytester, start_server, gsm8k_file, monkeypatch):
    server = start_server(rules=GSM8K_RULES, require_api_key="sk-env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    pytester.makeini(ini())
    result = run_endpoint_from_environment(pytester, gsm8k_file)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "authentication failed" in result.stdout.str() + result.stderr.str()


def test_dotenv_supplies_missing_values(pytester, start_server, gsm8k_file, monkeypatch):
    server = start_server(rules=GSM8K_RULES, require_api_key="sk-dotenv")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    pytester.makeini(ini())
    (pytester.path / ".env").write_text(
        f'# endpoint for local runs\nOPENAI_BASE_URL={server.base_url}\nexport OPENAI_API_KEY="sk-dotenv"\n',
        encoding="utf-8",
    )
    result = run_endpoint_from_environment(pytester, gsm8k_file)
    result.assert_outcomes(passed=3, failed=1)


def test_real_environment_beats_dotenv(pytester, start_server, gsm8k_file, monkeypatch):
    server = start_server(rules=GSM8K_RULES, require_api_key="sk-real")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real")
    pytester.makeini(ini())
    # both .env values are wrong: a dead port and a rejected key
    (pytester.path / ".env").write_text(
        "OPENAI_BASE_URL=http://127.0.0.1:9/v1\nOPENAI_API_KEY=sk-stale\n", encoding="utf-8"
    )
    result = run_endpoint_from_environment(pytester, gsm8k_file)
    result.assert_outcomes(passed=3, failed=1)
    assert server.stats()["chat_requests"] == 4


def test_ini_beats_environment(pytester, start_server, gsm8k_file, monkeypatch):
    server = start_server(rules=GSM8K_RULES)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    pytester.makeini(ini(f"llm_base_url = {server.base_url}"))
    result = run_endpoint_from_environment(pytester, gsm8k_file)
    result.assert_outcomes(passed=3, failed=1)


# --- shuffle, seed, limit ---------------------------------------------------------------------

SHUFFLE_ROWS = [{"question": f"Row {i}: what is {i} + 1?", "answer": f"#### {i + 1}"} for i in range(50)]


@pytest.fixture
def fifty_rows(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "data" / "fifty.jsonl", SHUFFLE_ROWS)


def run_selection(
    pytester: pytest.Pytester, server: FakeOpenAIServer, data: Path, samples: Path, *args: str
) -> list[str]:
    result = run(pytester, server, *dataset("gsm8k", data), "--llm-limit", "5", "--llm-samples", str(samples), *args)
    result.assert_outcomes(failed=5)  # the server never gives a right answer
    return sample_ids(samples)


def test_shuffle_seed_decides_the_selection(pytester, start_server, fifty_rows, tmp_path):
    server = start_server(fixed_reply="\\boxed{-1}")
    pytester.makeini(ini())
    first = run_selection(pytester, server, fifty_rows, tmp_path / "a.jsonl", "--llm-shuffle", "--llm-seed", "1")
    again = run_selection(pytester, server, fifty_rows, tmp_path / "b.jsonl", "--llm-shuffle", "--llm-seed", "1")
    other = run_selection(pytester, server, fifty_rows, tmp_path / "c.jsonl", "--llm-shuffle", "--llm-seed", "2")
    plain = run_selection(pytester, server, fifty_rows, tmp_path / "d.jsonl")
    assert len(first) == 5 and len(set(first)) == 5
    assert first == again
    assert other != first
    assert plain == ["0000", "0001", "0002", "0003", "0004"]
    assert first != plain and other != plain
    # sample ids are positions in the file, so a shuffled selection still names the original rows
    by_id = {line["id"]: line for line in read_jsonl(tmp_path / "a.jsonl")}
    for sample_id, line in by_id.items():
        assert line["messages"][-1]["content"].startswith(f"Row {int(sample_id)}:")


def test_shuffle_default_seed_is_stable(pytester, start_server, fifty_rows, tmp_path):
    server = start_server(fixed_reply="\\boxed{-1}")
    pytester.makeini(ini())
    default = run_selection(pytester, server, fifty_rows, tmp_path / "a.jsonl", "--llm-shuffle")
    explicit = run_selection(pytester, server, fifty_rows, tmp_path / "b.jsonl", "--llm-shuffle", "--llm-seed", "42")
    assert default == explicit


# --- thinking ---------------------------------------------------------------------------------


def test_keep_thinking_scores_the_raw_output(pytester, start_server, gsm8k_file, tmp_path):
    server = start_server(
        rules=[{"contains": "apples", "reply": "2 + 3 = 5. The answer is \\boxed{5}"}],
        think="Let me think. It is 99 apples, or maybe not.",
    )
    pytester.makeini(ini())
    args = llm_args(server.base_url, *dataset("gsm8k", gsm8k_file), "--llm-limit", "1")
    stripped, raw = tmp_path / "stripped.jsonl", tmp_path / "raw.jsonl"

    result = pytester.runpytest_subprocess(*args, "--llm-samples", str(stripped))
    result.assert_outcomes(passed=1)
    line = read_jsonl(stripped)[0]
    assert "<think>" not in line["output"] and "99" not in line["output"]
    assert "It is 99" in line["reasoning"]
    assert line["extracted"] == "5"

    # second run answers from the cache: the cached response must still hold the think block
    result = pytester.runpytest_subprocess(*args, "--llm-samples", str(raw), "--llm-keep-thinking")
    result.assert_outcomes(passed=1)
    line = read_jsonl(raw)[0]
    assert "<think>" in line["output"] and "It is 99" in line["output"]
    assert line["output"].rstrip().endswith("\\boxed{5}")
    assert line["extracted"] == "5"
    assert line["cached"] is True and server.stats()["chat_requests"] == 1


def test_keep_thinking_without_cache(pytester, start_server, gsm8k_file, tmp_path):
    server = start_server(rules=[{"contains": "apples", "reply": "The answer is \\boxed{5}"}], think="It is 99.")
    pytester.makeini(ini())
    samples = tmp_path / "s.jsonl"
    result = run_first_sample(pytester, server, gsm8k_file, samples, "--llm-keep-thinking", "--llm-no-cache")
    result.assert_outcomes(passed=1)
    assert "<think>" in read_jsonl(samples)[0]["output"]


# --- streaming with several generations -------------------------------------------------------


def test_stream_with_two_generations(pytester, gsm8k_server, gsm8k_file, tmp_path):
    pytester.makeini(ini())
    samples, results = tmp_path / "s.jsonl", tmp_path / "r.json"
    result = run(
        pytester,
        gsm8k_server,
        *dataset("gsm8k", gsm8k_file),
        "--llm-stream",
        "--llm-gen",
        "n=2",
        "--llm-samples",
        str(samples),
        "--llm-results",
        str(results),
    )
    result.assert_outcomes(passed=3, failed=1)
    lines = {line["id"]: line for line in read_jsonl(samples)}
    assert len(lines) == len(GSM8K_ROWS)
    for line in lines.values():
        assert len(line["outputs"]) == 2
        assert line["outputs"][0] == line["outputs"][1] == line["output"]
        assert line["ttft_s"] is not None
        assert line["usage"]["completion_tokens"] > 0
    assert "\\boxed{5}" in lines["0000"]["outputs"][1]
    assert lines["0003"]["metrics"]["pass_at_2"] == 0.0 and lines["0000"]["metrics"]["pass_at_2"] == 1.0
    data = json.loads(results.read_text())
    assert data["generation"] == {"n": 2}
    assert data["benchmarks"]["gsm8k"]["metrics"]["acc"] == pytest.approx(0.75)
    assert gsm8k_server.stats()["chat_requests"] == 4  # one streamed request per sample, not one per generation


# --- flags and environment-only settings ------------------------------------------------------


def test_flags_from_the_ini_file_match_the_command_line(pytester, start_server, fifty_rows, tmp_path):
    server = start_server(fixed_reply="\\boxed{-1}", think="hmm")
    from_ini, from_cli = tmp_path / "ini.jsonl", tmp_path / "cli.jsonl"
    pytester.makeini(
        ini(
            "llm_model = fake-model",
            f"llm_base_url = {server.base_url}",
            f"llm_dataset = gsm8k={fifty_rows}",
            "llm_limit = 5",
            "llm_shuffle = true",
            "llm_seed = 7",
            "llm_stream = true",
            "llm_keep_thinking = true",
            "llm_no_cache = true",
            f"llm_samples = {from_ini}",
        )
    )
    pytester.runpytest_subprocess("-p", "no:randomly", "-m", "gsm8k").assert_outcomes(failed=5)
    lines = read_jsonl(from_ini)
    assert all(line["ttft_s"] is not None for line in lines)  # streamed
    assert all("<think>" in line["output"] for line in lines)  # thinking kept
    assert server.stats()["chat_requests"] == 5  # no cache: nothing written for a second run to reuse
    pytester.makeini(ini())
    ids = run_selection(pytester, server, fifty_rows, from_cli, "--llm-shuffle", "--llm-seed", "7")
    assert sample_ids(from_ini) == ids
    assert ids != ["0000", "0001", "0002", "0003", "0004"]
    assert server.stats()["chat_requests"] == 10


def test_shuffled_selection_is_the_same_under_xdist(pytester, start_server, fifty_rows, tmp_path):
    server = start_server(fixed_reply="\\boxed{-1}")
    pytester.makeini(ini())
    single = run_selection(pytester, server, fifty_rows, tmp_path / "a.jsonl", "--llm-shuffle", "--llm-seed", "3")
    workers = run_selection(
        pytester, server, fifty_rows, tmp_path / "b.jsonl", "--llm-shuffle", "--llm-seed", "3", "-p", "xdist", "-n", "2"
    )
    assert workers == single


def test_model_from_the_environment_enables_the_plugin(pytester, gsm8k_server, gsm8k_file, tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", gsm8k_server.base_url)
    pytester.makeini(ini())
    results = tmp_path / "r.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", *dataset("gsm8k", gsm8k_file), "--llm-results", str(results)
    )
    result.assert_outcomes(passed=3, failed=1)
    assert json.loads(results.read_text())["model"] == "env-model"


def test_relative_dataset_and_results_paths_in_the_ini_file(pytester, gsm8k_server):
    write_jsonl(pytester.path / "data" / "gsm8k.jsonl", GSM8K_ROWS)
    pytester.makeini(
        ini(
            "llm_model = fake-model",
            f"llm_base_url = {gsm8k_server.base_url}",
            "llm_dataset = gsm8k=data/gsm8k.jsonl",
            "llm_results = out/results.json",
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-m", "gsm8k")
    result.assert_outcomes(passed=3, failed=1)
    assert json.loads((pytester.path / "out" / "results.json").read_text())["benchmarks"]["gsm8k"]["count"] == 4


def test_streamed_thinking_is_removed_too(pytester, start_server, gsm8k_file, tmp_path):
    server = start_server(
        rules=[{"contains": "apples", "reply": "The answer is \\boxed{5}", "reasoning": "server side 7"}],
        think="It is 99.",
    )
    pytester.makeini(ini())
    samples = tmp_path / "s.jsonl"
    result = run_first_sample(pytester, server, gsm8k_file, samples, "--llm-stream")
    result.assert_outcomes(passed=1)
    line = read_jsonl(samples)[0]
    assert "<think>" not in line["output"] and line["ttft_s"] is not None
    assert "It is 99" in line["reasoning"] and "server side 7" in line["reasoning"]
