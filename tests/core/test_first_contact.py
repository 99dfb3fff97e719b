"""What a new user meets in the first hour (issue 32): `pytest --help`, the README's and the guides'
commands, a local file of some subsets, the Quickstart run inside the checkout, `--collect-only`, a
wrong base URL, the labels of the score table and the verdict, and the truncation advice. Every run
is a real pytest process against the loopback server."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks import data
from tests.conftest import GSM8K_RULES, write_jsonl

ROOT = Path(__file__).parents[2]
DOC_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def pytest_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m pytest ARGS` as a user types it (no PYTEST_ADDOPTS of the suite running this)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run(pytester: pytest.Pytester, base_url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--llm-model", "fake-model", "--llm-base-url", base_url, "-p", "no:randomly", *args
    )


# -- item 1: `pytest --help` and every documented command -------------------------------------------


def test_pytest_help_works_with_the_plugin_installed(tmp_path):
    result = pytest_process("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    text = " ".join(result.stdout.split())  # argparse wraps the help texts
    assert "--llm-threshold-mode" in text and "95% interval" in text


def test_llm_list_runs_in_a_fresh_process(tmp_path):
    result = pytest_process("--llm-list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "smoke" in result.stdout and "aime2025_i" in result.stdout and "Traceback" not in result.stderr


def documented_commands() -> list[tuple[str, str]]:
    """(page, command) for each `pytest ...` line of a fenced block in README.md and docs/*.md,
    continuation lines joined and shell comments dropped."""
    found = []
    for page in DOC_PAGES:
        for block in re.findall(r"```[a-z]*\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip().removeprefix("$ ")
                if re.match(r"(python -m )?pytest(\s|$)", line):
                    found.append((page.name, line))
    return found


DOCUMENTED = documented_commands()


def named_paths(words: list[str]) -> list[str]:
    """The files a command names (`suite.jsonl`, `data/gsm8k.jsonl`, `./qwen-tokenizer`). A usage
    error naming one this empty folder lacks is the folder's fault, not the command's; any other
    usage error (an unknown option, a bad value) is a documentation bug."""
    values = [w.partition("=")[2] or w for w in words if not w.startswith("-")]
    return [v.removeprefix("./") for v in values if re.search(r"\.(jsonl?|csv|parquet|html)$|/", v) and "://" not in v]


def test_the_docs_show_commands_to_check():
    assert len(DOCUMENTED) >= 15 and any(page == "README.md" for page, _ in DOCUMENTED)


@pytest.mark.parametrize(("page", "command"), DOCUMENTED, ids=[f"{p}:{c[:60]}" for p, c in DOCUMENTED])
def test_every_documented_command_parses(page, command, tmp_path):
    """Each command runs with `--collect-only` in an empty folder with the hubs out of reach: it
    must start, parse every option and fail (if at all) only on what this folder lacks."""
    words = [w for w in shlex.split(command, comments=True) if w != "..."]
    words = words[3:] if words[:3] == ["python", "-m", "pytest"] else words[1:]
    words = ["http://127.0.0.1:9/v1" if w == "URL" else w for w in words]
    offline = {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "MODELSCOPE_DOMAIN": "127.0.0.1:9",
        "OPENAI_BASE_URL": "",
    }
    # a key= the command names by its variable (`--llm-arena-model new=URL,key=NEW_API_KEY`): the user exported it
    offline.update(dict.fromkeys(re.findall(r"\bkey=([A-Z_][A-Z0-9_]*)", command), "sk-docs-example"))
    result = pytest_process(*words, "--collect-only", "-q", "-p", "no:cacheprovider", cwd=tmp_path, env=offline)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    assert "unrecognized arguments" not in output and "error: argument" not in output, output
    assert "INCOMPLETE RUN" not in output and "llmeval results" not in output, output  # a dry run is quiet
    if result.returncode == pytest.ExitCode.USAGE_ERROR:
        missing = [p for p in named_paths(words) if not (tmp_path / p).exists() and p in result.stderr]
        assert missing, f"{page}: {command}\n{result.stderr}"
    else:
        assert result.returncode in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
            pytest.ExitCode.INTERRUPTED,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ), output


# -- item 2: a local file of some subsets runs those subsets ----------------------------------------

MMLU_PRO_RULES = [
    {"contains": "stack-based", "reply": "Answer: B"},
    {"contains": "binary search", "reply": "Answer: A"},
    {"contains": "adverts", "reply": "Answer: A"},
]


def test_a_file_of_some_subsets_runs_them_and_names_the_others_in_one_line(pytester, start_server, tmp_path):
    server = start_server(rules=MMLU_PRO_RULES)
    physics_like = [row for row in data.MMLU_PRO_ROWS if row["category"] == "computer science"]
    path = write_jsonl(tmp_path / "cs.jsonl", physics_like)
    result = run(pytester, server.base_url, "-m", "mmlu_pro", "--llm-dataset", f"mmlu_pro={path}")
    output = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "yielded no samples" not in output and "error" not in result.parseoutcomes()
    lines = [line for line in output.splitlines() if "have no rows" in line]
    assert len(lines) == 1, output
    assert "13 of 14 selected subsets have no rows in" in lines[0] and "biology" in lines[0] and "physics" in lines[0]
    assert "computer_science" not in lines[0].partition("run:")[2]


def test_a_file_by_subset_field_of_some_levels_runs_them(pytester, start_server, tmp_path):
    server = start_server(rules=[{"contains": "513^2", "reply": "\\boxed{26000}"}])
    path = write_jsonl(tmp_path / "math500.jsonl", data.MATH500_ROWS)  # levels 2 and 3 only
    result = run(pytester, server.base_url, "-m", "math_500", "--llm-dataset", f"math_500={path}")
    result.assert_outcomes(passed=1, failed=3)
    lines = [line for line in (result.stdout.str() + result.stderr.str()).splitlines() if "have no rows" in line]
    assert len(lines) == 1 and "3 of 5 selected subsets" in lines[0] and "level1, level4, level5" in lines[0]


def test_a_file_with_no_row_of_any_selected_subset_is_still_an_error(pytester, start_server, tmp_path):
    server = start_server(rules=MMLU_PRO_RULES)
    path = write_jsonl(tmp_path / "cs.jsonl", data.MMLU_PRO_ROWS)
    result = run(pytester, server.base_url, "-m", "biology or physics", "--llm-dataset", f"mmlu_pro={path}")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection errors: nothing runs, nothing passes
    output = result.stdout.str()
    assert output.count("yielded no samples") >= 2 and "have no rows" not in output


def test_rows_without_the_subset_field_are_still_an_error(pytester, start_server, tmp_path):
    server = start_server(rules=MMLU_PRO_RULES)
    rows = [{k: v for k, v in row.items() if k != "category"} for row in data.MMLU_PRO_ROWS]
    path = write_jsonl(tmp_path / "nofield.jsonl", rows)
    result = run(pytester, server.base_url, "-m", "mmlu_pro", "--llm-dataset", f"mmlu_pro={path}")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "has no 'category' field" in result.stdout.str()


# -- item 7: numbers labelled right -------------------------------------------------------------------


def test_count_of_a_breakdown_metric_is_the_samples_it_covers(pytester, start_server, tmp_path):
    server = start_server(
        rules=[
            {"contains": "polar coordinates", "reply": "\\boxed{(3, \\frac{\\pi}{2})}"},
            {"contains": "513^2", "reply": "\\boxed{26000}"},
            {"contains": "sqrt{8}", "reply": "\\boxed{4}"},
        ]
    )
    path = write_jsonl(tmp_path / "math500.jsonl", data.MATH500_ROWS)
    result = run(pytester, server.base_url, "-m", "level2", "--llm-dataset", f"math_500={path}")
    rows = {line.split()[3]: line.split() for line in result.stdout.lines if line.startswith("fake-model  math_500")}
    assert rows["acc"][-2] == "3"  # count, errors are the last two columns
    assert rows["acc_precalculus"][-2] == "1" and rows["acc_algebra"][-2] == "1"


def test_ci_mode_says_undecided_when_the_interval_straddles_the_threshold(pytester, model_server, gsm8k_file):
    result = run(
        pytester,
        model_server.base_url,
        "-m",
        "gsm8k",
        "--llm-dataset",
        f"gsm8k={gsm8k_file}",
        "--llm-threshold",
        "gsm8k.acc>=0.5",
        "--llm-threshold-mode",
        "ci",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # undecided fails the run
    last = [line for line in result.stdout.lines if line.strip()][-1]
    assert "llmeval: UNDECIDED: gsm8k.acc>=0.5 (actual 0.7500, 95% CI [" in last, last


def test_ci_mode_still_says_fail_when_the_interval_is_below(pytester, model_server, gsm8k_file):
    result = run(
        pytester,
        model_server.base_url,
        "-m",
        "gsm8k",
        "--llm-dataset",
        f"gsm8k={gsm8k_file}",
        "--llm-threshold",
        "gsm8k.acc>=0.99",
        "--llm-threshold-mode",
        "ci",
    )
    last = [line for line in result.stdout.lines if line.strip()][-1]
    assert "llmeval: FAIL: gsm8k.acc>=0.99" in last, last


# -- item 11: the truncation advice once per run -------------------------------------------------------


def test_the_truncation_fix_is_said_once_per_run(pytester, start_server, gsm8k_file):
    long = "Let me think about this step by step before I answer the question"
    server = start_server(rules=[{"contains": word, "reply": long} for word in ("apples", "pens", "pages", "bus")])
    result = run(
        pytester, server.base_url, "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}", "--llm-gen", "max_tokens=4"
    )
    output = result.stdout.str()
    result.assert_outcomes(failed=4)
    assert output.count("max_tokens=N") == 1, output
    assert "truncated: gsm8k: 4 of 4 outputs stopped at max_tokens" in output


# -- item 3: the Quickstart inside a project shows only the benchmark ----------------------------------

PROJECT_TEST = """
import pytest

def test_plain():
    assert True

@pytest.mark.slow
def test_asks_the_model(llm):
    assert "5" in llm.chat("2 + 3 apples").text
"""


@pytest.fixture
def project(pytester):
    """A project with testpaths and tests of its own, the Quickstart typed at its root."""
    pytester.makeini("[pytest]\ntestpaths = tests\nmarkers =\n    slow: a slow test\n")
    tests = pytester.mkdir("tests")
    (tests / "test_own.py").write_text(PROJECT_TEST)
    (tests / "test_broken.py").write_text("raise RuntimeError('a test file that must not be imported')\n")
    return pytester


def test_the_quickstart_inside_a_project_collects_only_the_samples(project, model_server, gsm8k_file):
    result = run(project, model_server.base_url, "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}")
    output = result.stdout.str()
    assert "collected 4 items" in output and "deselected" not in output, output
    assert "must not be imported" not in output
    result.assert_outcomes(passed=3, failed=1)


def test_a_path_or_a_plain_mark_still_collects_the_projects_tests(project, model_server, gsm8k_file):
    (project.path / "tests" / "test_broken.py").unlink()
    with_path = run(project, model_server.base_url, "tests", "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}")
    with_path.stdout.fnmatch_lines(["collected 6 items / 2 deselected / 4 selected"])
    own = run(project, model_server.base_url, "-m", "gsm8k or slow", "--llm-dataset", f"gsm8k={gsm8k_file}")
    own.assert_outcomes(passed=4, failed=1, deselected=1)  # the llm fixture test runs beside the samples
    plain = run(project, model_server.base_url)  # no -m: the project's tests, with the llm fixture
    plain.assert_outcomes(passed=2)


def test_a_collection_run_counts_its_items_in_the_header(project, model_server, gsm8k_file, tmp_path):
    rows = [json.loads(line) for line in gsm8k_file.read_text().splitlines()]
    suite = write_jsonl(
        tmp_path / "suite.jsonl",
        [
            {
                "index": i,
                "prompt": {
                    "id": f"g{i}",
                    "subset": "main",
                    "input": row["question"],
                    "target": row["answer"].split("####")[-1].strip(),
                    "choices": None,
                    "metadata": {},
                },
                "tags": ["en"],
                "categories": ["Suite", "Math"],
                "task_type": "math",
                "weight": 0.25,
                "dataset_name": "gsm8k",
                "subset_name": "main",
            }
            for i, row in enumerate(rows)
        ],
    )
    result = run(project, model_server.base_url, f"--llm-collection={suite}")  # one word: see rootdir_guard.py
    output = result.stdout.str()
    assert "collected 4 items" in output and "must not be imported" not in output, output


# -- item 5: --collect-only is free and quiet; a cached run starts no server ----------------------------


def counting_serve_command(tmp_path: Path, starts: Path) -> str:
    """An --llm-serve command that notes each start in `starts`, then runs the loopback server."""
    config = tmp_path / "server.json"
    config.write_text(json.dumps({"rules": GSM8K_RULES}))
    serve = f"{sys.executable} -m pytest_llmeval.testing.server --port {{port}} --model {{model}} --config {config}"
    return f"sh -c 'echo started >> {starts}; exec {serve}'"


def test_collect_only_starts_no_server_and_prints_no_result(pytester, gsm8k_file, tmp_path):
    starts = tmp_path / "starts.txt"
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "served-model",
        "--llm-serve",
        counting_serve_command(tmp_path, starts),
        "-m",
        "gsm8k",
        "--llm-dataset",
        f"gsm8k={gsm8k_file}",
        "--collect-only",
    )
    assert result.ret == pytest.ExitCode.OK
    output = result.stdout.str()
    assert "4 tests collected" in output or "collected 4 items" in output
    assert "INCOMPLETE" not in output and "llmeval results" not in output and "requests:" not in output
    assert not starts.exists()


@pytest.mark.parametrize(
    "addopts",
    ["", "--dist loadgroup"],  # a --dist mode in the ini file (as this project's own) without -n distributes nothing
    ids=["no-ini", "dist-in-addopts"],
)
def test_a_run_whose_every_answer_is_cached_starts_no_server(pytester, gsm8k_file, tmp_path, addopts):
    if addopts:
        pytester.makeini(f"[pytest]\naddopts = {addopts}\n")
    starts = tmp_path / "starts.txt"
    args = (
        "--llm-model",
        "served-model",
        "--llm-serve",
        counting_serve_command(tmp_path, starts),
        "-m",
        "gsm8k",
        "--llm-dataset",
        f"gsm8k={gsm8k_file}",
    )
    first = pytester.runpytest_subprocess(*args)
    first.assert_outcomes(passed=3, failed=1)
    second = pytester.runpytest_subprocess(*args)
    second.assert_outcomes(passed=3, failed=1)
    assert starts.read_text().splitlines() == ["started"]  # only the first run started it
    output = second.stdout.str()
    assert "every answer is in the cache; served-model is not served" in output
    assert "4 answers from the cache" in output and "unreachable" not in output


# -- item 6: a wrong base URL shows its fix first ---------------------------------------------------------


def test_ollama_style_api_path_suggests_the_url_that_answers(pytester, model_server, gsm8k_file):
    root = model_server.base_url.removesuffix("/v1")
    result = run(pytester, f"{root}/api", "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert f"did you mean --llm-base-url {root}/v1?" in result.stderr.str()
    assert f"{root}/api/v1" not in output
    assert "INCOMPLETE" not in output and "llmeval results" not in output and "_pytest.outcomes.Exit" not in output
    assert model_server.stats()["chat_requests"] == 0


def test_a_404_on_the_first_chat_request_is_a_plain_usage_error(pytester, model_server, gsm8k_file):
    wrong = model_server.base_url.removesuffix("/v1") + "/v2"  # has a version, so /models 404 is tolerated
    result = run(pytester, wrong, "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}", "--llm-concurrency", "1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert f"ERROR: llmeval: POST {wrong}/chat/completions answered 404 Not Found" in result.stderr.str()
    assert "_pytest.outcomes.Exit" not in output and "INCOMPLETE" not in output and "llmeval results" not in output


# -- item 10: two commands from the checkout's root, nothing to activate -------------------------------


def script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A root script as a newcomer runs it, with this environment standing for the one install.sh
    made (VIRTUAL_ENV), so that nothing is installed here."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    environ["VIRTUAL_ENV"] = sys.prefix
    return subprocess.run(
        [f"./{name}", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def test_quickstart_script_runs_the_main_job(tmp_path):
    result = script(
        "quickstart.sh", "--collect-only", "-q", "-p", "no:cacheprovider", f"--llm-cache-dir={tmp_path}", cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 tests collected" in result.stdout and "smoke/math::" in result.stdout
    assert "setting up" not in result.stdout  # the environment is complete: nothing installed


def test_run_tests_script_runs_the_suite_with_two_workers():
    result = script(
        "run-tests.sh",
        "tests/core/test_docs.py::test_architecture_page_names_every_package",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created: 2/2 workers" in result.stdout and "1 passed" in result.stdout


def test_the_readme_and_ci_use_the_two_commands():
    blocks = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", (ROOT / "README.md").read_text(), re.S))
    assert "./quickstart.sh" in blocks and "./run-tests.sh" in blocks
    assert ". .venv/bin/activate" not in blocks  # no activation step to miss
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if not line.strip().startswith("#")]
    assert "./run-tests.sh" in ci and not any(line.startswith("python -m pytest") for line in ci)


# -- item 9: offline errors that help once ------------------------------------------------------------


def test_collection_build_reports_every_leaf_it_cannot_load_in_one_run(tmp_path):
    bad = tmp_path / "gsm8k.jsonl"
    bad.write_text('{"question": "1 + 1?", "answer": "#### 2"}\n{not json\n')
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "name": "Suite",
                "children": [
                    {"name": "Math", "children": [{"name": "gsm8k"}, {"name": "aime25"}]},
                    {"name": "Chinese", "children": [{"name": "iquiz"}]},
                ],
            }
        )
    )
    offline = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "MODELSCOPE_OFFLINE": "1",
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "MODELSCOPE_DOMAIN": "127.0.0.1:9",
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_llmeval.collection",
            "build",
            str(schema),
            "-n",
            "5",
            "-o",
            str(tmp_path / "out.jsonl"),
            "--llm-dataset",
            f"gsm8k={bad}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=offline,
        timeout=300,
    )
    error = run.stderr
    assert run.returncode != 0 and "Traceback" not in error
    assert "3 of the schema's datasets cannot be loaded" in error, error
    lines = {line.strip().split(" ")[0]: line for line in error.splitlines() if line.startswith("  ")}
    assert {"gsm8k", "aime25", "iquiz"} <= set(lines), error
    assert "malformed JSON" in lines["gsm8k"]
    assert "aime25.aime2025_i=PATH" in lines["aime25"] and "AIME2025-I=PATH" not in error
    assert "ModelScope hub" in lines["iquiz"] and "Hugging Face" not in lines["iquiz"]
