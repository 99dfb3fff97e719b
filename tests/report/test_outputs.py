"""The run's files under attack: a disk that fills up during the run (a real 64 KB tmpfs, else
/dev/full), a --llm-results path that cannot be written, and --llm-results/--llm-samples naming one
file. The run always finishes, and its results are somewhere the last lines name."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runs import llm_args

CONFTEST = """
from pytest_llmeval import file_benchmark, register_benchmark

register_benchmark(file_benchmark("quiz", "quiz.jsonl", kind="qa"))
"""
# every answer is right and 3 KB long: 40 records are far more than 64 KB
RULES = [{"contains": "question", "reply": "Let me think. " + "step " * 600 + "Answer: yes"}]


def quiz(pytester: pytest.Pytester, count: int) -> None:
    pytester.makeconftest(CONFTEST)
    rows = [{"id": f"q{i}", "question": f"question {i}", "answer": "yes"} for i in range(count)]
    (pytester.path / "quiz.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def run(pytester: pytest.Pytester, server, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="m"),
        "-m",
        "quiz",
        "-q",
        "--llm-no-cache",
        *args,
    )


def mount_tmpfs(folder: Path, options: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, check=False
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A real 64 KB filesystem (tmpfs; needs root), or None when none can be mounted here."""
    folder = tmp_path / "small"
    mounted = mount_tmpfs(folder, "size=64k")
    yield folder if mounted else None
    if mounted:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_neither_ends_the_run_nor_loses_its_samples_and_results(
    pytester, start_server, small_disk, monkeypatch
):
    quiz(pytester, 40)
    fallback_dir = pytester.path / "tmp"
    fallback_dir.mkdir()
    monkeypatch.setenv("TMPDIR", str(fallback_dir))  # where the run's fallback files go
    if small_disk is not None:
        samples, results = small_disk / "samples.jsonl", small_disk / "results.json"
    elif Path("/dev/full").exists():  # no mount here: a device on which every write fails with ENOSPC
        samples, results = Path("/dev/full"), pytester.path / "results.json"
    else:
        pytest.skip("neither a tmpfs can be mounted nor /dev/full exists: no way to fill a disk here")
    outcome = run(pytester, start_server(rules=RULES), "--llm-samples", str(samples), "--llm-results", str(results))
    outcome.assert_outcomes(passed=40)
    text = outcome.stdout.str() + outcome.stderr.str()
    assert "INTERNALERROR" not in text and "Traceback" not in text
    (moved,) = fallback_dir.glob("llmeval-samples-*.jsonl")
    outcome.stdout.fnmatch_lines(
        [
            f"--llm-samples: writing {samples} failed after * records (No space left on device); "
            f"all 40 records are in {moved}"
        ]
    )
    records = [json.loads(line) for line in moved.read_text().splitlines()]
    assert sorted(r["id"] for r in records) == sorted(f"q{i}" for i in range(40))
    if small_disk is not None:  # what stayed on the full disk is whole records only
        kept = samples.read_text().splitlines()
        assert all(json.loads(line)["id"] for line in kept) and len(kept) < 40
        (written,) = fallback_dir.glob("llmeval-results-*.json")
        outcome.stdout.fnmatch_lines(
            [
                f"--llm-results: cannot write {results} (No space left on device); "
                f"the results are written to {written} instead"
            ]
        )
        assert outcome.stdout.lines[-1].startswith("--llm-results: ") or "--llm-results: " in outcome.stdout.lines[-2]
    else:
        written = results
    data = json.loads(written.read_text())
    assert data["benchmarks"]["quiz"]["count"] == 40 and data["samples_path"] == str(moved)


@pytest.mark.parametrize("where", ["folder", "under_a_file", "read_only"])
def test_an_unwritable_results_path_is_one_usage_error_before_any_request(pytester, start_server, where, tmp_path):
    quiz(pytester, 3)
    server = start_server(rules=RULES)
    if where == "folder":
        target = pytester.path / "out"
        target.mkdir()
    elif where == "under_a_file":
        (pytester.path / "notes.txt").write_text("x")
        target = pytester.path / "notes.txt" / "results.json"
    else:
        folder = tmp_path / "ro"
        if not mount_tmpfs(folder, "ro,size=16k"):
            pytest.skip("cannot mount a read-only tmpfs here (needs root)")
        target = folder / "results.json"
    try:
        outcome = run(pytester, server, "--llm-results", str(target))
    finally:
        if where == "read_only":
            subprocess.run(["umount", str(tmp_path / "ro")], check=False)
    assert outcome.ret == 4
    assert "Traceback" not in outcome.stderr.str() and "gate" not in outcome.stdout.str()
    outcome.stderr.fnmatch_lines([f"ERROR: --llm-results {target}*"])
    assert server.stats()["chat_requests"] == 0


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink"])
def test_results_and_samples_on_one_file_is_one_usage_error(pytester, start_server, spelling):
    quiz(pytester, 3)
    server = start_server(rules=RULES)
    (pytester.path / "sub").mkdir()
    samples = "out.json"
    results = {"same": "out.json", "dotted": "sub/../out.json", "symlink": "link.json"}[spelling]
    if spelling == "symlink":
        os.symlink(pytester.path / "out.json", pytester.path / "link.json")
    outcome = run(pytester, server, "--llm-results", results, "--llm-samples", samples)
    assert outcome.ret == 4
    outcome.stderr.fnmatch_lines(["ERROR: --llm-results and --llm-samples name the same file*give each its own path"])
    assert server.stats()["chat_requests"] == 0
