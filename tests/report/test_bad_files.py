"""Hostile or broken run files given back to us: a baseline samples JSONL with one 1 GB line (read
whole, it took 6.4 GB) or bytes that are not UTF-8 (which crashed the error handler itself), and
every kind of bad input to the report rebuild CLI. Each is one clear error naming the file (and the
line), exit non-zero, never a traceback.

The commands run as a user runs them, in a child process under RLIMIT_AS 1 GiB, so a reader that
goes back to reading whole lines fails here instead of eating the machine. The 1 GB line is a sparse
file: it costs no disk."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.bounded import run_bounded

ROOT = Path(__file__).resolve().parents[2]
RESULTS = {"model": "m", "base_url": None, "started": "2026-12-01T00:00:00+00:00", "duration_s": 1.0}


def bounded_run(args: list[str], cwd: Path) -> tuple[int, str, float]:
    """(exit status, output, peak RSS in MB) of `python ARGS` in a child bounded to 1 GiB."""
    return run_bounded([sys.executable, *args], cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


def bounded_compare(old: Path, cwd: Path) -> tuple[int, str, float]:
    """`pytest --llm-compare OLD` (nothing selected, the endpoint a dead port) in a bounded child."""
    return bounded_run(
        [
            "-m",
            "pytest",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "--llm-model",
            "m",
            "--llm-base-url",
            "http://127.0.0.1:9/v1",
            "--llm-compare",
            str(old),
        ],
        cwd,
    )


def one_gigabyte_line(path: Path) -> Path:
    with path.open("wb") as handle:
        handle.write(b'{"nodeid": "')
        handle.truncate(2**30)  # sparse: a 1 GiB line of NUL bytes, no newline
    return path


def baseline(tmp_path: Path, samples: str) -> Path:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**RESULTS, "samples_path": samples}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("make_samples", "message"),
    [
        (one_gigabyte_line, "line 1 is longer than 67,108,864 bytes"),
        (lambda path: path.write_bytes(b'{"nodeid": "caf\xe9"}\n') and path, "line 1 is not UTF-8 text"),
    ],
    ids=["one-gigabyte-line", "latin-1"],
)
def test_compare_with_a_hostile_baseline_samples_file_is_one_usage_error(tmp_path, make_samples, message):
    samples = tmp_path / "old.jsonl"
    make_samples(samples)
    old = baseline(tmp_path, "old.jsonl")
    status, out, peak_mb = bounded_compare(old, tmp_path)
    assert status == pytest.ExitCode.USAGE_ERROR, out[-3000:]
    assert f"the samples file {samples} named by {old} is damaged: {message}" in out, out[-3000:]
    assert "Traceback" not in out
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"


def _results(path: Path) -> None:
    path.write_text(json.dumps(RESULTS), encoding="utf-8")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "missing.json: no such file; pass the results JSON written with --llm-results PATH"),
        ({"missing.json": "{not json"}, "missing.json is not valid JSON"),
        (
            {"missing.json": '{"samples": []}'},
            "missing.json is not a pytest-llmbench results JSON (model: Field required)",
        ),
        ({"missing.json": b'{"model": "caf\xe9"}'}, "missing.json is not UTF-8 text (byte 14)"),
        ({"missing.json/": ""}, "missing.json is a folder; pass the results JSON"),
    ],
    ids=["missing", "bad-json", "wrong-schema", "latin-1", "folder"],
)
def test_rebuild_cli_bad_results_file_is_one_clear_error(tmp_path, files, message):
    for name, content in files.items():
        path = tmp_path / name
        if name.endswith("/"):
            path.mkdir()
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    status, out, _ = bounded_run(["-m", "pytest_llmeval.report", "missing.json", "-o", "r.html"], tmp_path)
    assert status == 2 and "Traceback" not in out, out[-3000:]
    assert out.startswith("error: ") and len(out.splitlines()) == 1 and message in out, out


@pytest.mark.parametrize(
    ("make_samples", "message"),
    [
        (one_gigabyte_line, "s.jsonl:1: the line is longer than 67,108,864 bytes"),
        (lambda path: path.write_bytes(b'\n{"nodeid": "caf\xe9"}\n'), "s.jsonl:2: the line is not UTF-8 text"),
        (lambda path: path.write_text('{"nodeid": "x"}\n'), "s.jsonl:1: not a sample record"),
        (lambda path: path.mkdir(), "s.jsonl is a folder; pass the file written with --llm-samples PATH"),
    ],
    ids=["one-gigabyte-line", "latin-1", "wrong-schema", "folder"],
)
def test_rebuild_cli_bad_samples_file_is_one_clear_error(tmp_path, make_samples, message):
    _results(tmp_path / "r.json")
    make_samples(tmp_path / "s.jsonl")
    status, out, peak_mb = bounded_run(["-m", "pytest_llmeval.report", "r.json", "s.jsonl", "-o", "r.html"], tmp_path)
    assert status == 2 and "Traceback" not in out, out[-3000:]
    assert out.startswith("error: ") and len(out.splitlines()) == 1 and message in out, out
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"


def test_rebuild_cli_output_folder_is_one_clear_error(tmp_path):
    _results(tmp_path / "r.json")
    (tmp_path / "out").mkdir()
    status, out, _ = bounded_run(["-m", "pytest_llmeval.report", "r.json", "-o", "out"], tmp_path)
    assert status == 2 and "Traceback" not in out, out[-3000:]
    assert out.startswith("error: -o out is a folder; pass the page to write"), out


def test_compare_with_a_one_gigabyte_results_file_is_one_usage_error(tmp_path):
    old = one_gigabyte_line(tmp_path / "old.json")
    status, out, peak_mb = bounded_compare(old, tmp_path)
    assert status == pytest.ExitCode.USAGE_ERROR, out[-3000:]
    assert f"--llm-compare {old} is larger than 268,435,456 bytes" in out and "Traceback" not in out
    assert peak_mb < 600, f"peak RSS {peak_mb:.0f} MB"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda path: path.mkdir(), "{name} is a folder"),
        (lambda path: None, "{name}: no such file"),
        (lambda path: path.write_bytes(b'{"model": "caf\xe9"}'), "{name} is not UTF-8 text (byte 14)"),
    ],
    ids=["folder", "missing", "latin-1"],
)
def test_a_bad_file_reads_the_same_for_rebuild_compare_and_collection_schema(tmp_path, make, words):
    """One bounded reader (pytest_llmeval.files) for the results JSON of the rebuild CLI and of
    --llm-compare, and for a collection schema: the same problem, the same words after the name.
    (--llm-compare used to call a folder "no such file" and Latin-1 bytes "not valid JSON".)"""
    from pytest_llmeval.collection.schema import load_schema
    from pytest_llmeval.errors import CollectionError, ConfigError, RebuildError
    from pytest_llmeval.report.__main__ import read_results
    from pytest_llmeval.report.compare import load_baseline

    path = tmp_path / "f.json"
    make(path)
    for read, error, prefix in (
        (read_results, RebuildError, ""),
        (load_baseline, ConfigError, "--llm-compare "),
        (load_schema, CollectionError, "collection schema "),
    ):
        name = repr(str(path)) if read is load_schema else str(path)
        with pytest.raises(error) as caught:
            read(path)
        assert str(caught.value).startswith(prefix + words.format(name=name)), str(caught.value)


def test_a_collection_schema_over_its_bound_names_the_bound(tmp_path):
    from pytest_llmeval.collection.schema import MAX_SCHEMA_BYTES, load_schema
    from pytest_llmeval.errors import CollectionError

    path = tmp_path / "big.yaml"
    path.write_bytes(b" " * (MAX_SCHEMA_BYTES + 1))
    with pytest.raises(
        CollectionError, match=r"big.yaml' is larger than 1,048,576 bytes; a collection schema is a small"
    ):
        load_schema(path)
