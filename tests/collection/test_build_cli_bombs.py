"""The collection build CLI against hostile schema files: a YAML "billion laughs" (which expanded to
5.6 GB), a schema that contains itself, 400 levels of nesting, bytes that are not UTF-8, a folder as
`-o`, a `subset_list` naming no subset. Each is one clear error (exit status 4), never a traceback.

The CLI runs as a user runs it, in a child process under RLIMIT_AS 1 GiB, so an expansion that
comes back fails here instead of eating the machine; its peak RSS is read with wait4."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.bounded import run_bounded

ROOT = Path(__file__).resolve().parents[2]

LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi", strict=False)
)


def build(schema: Path, *args: str, cwd: Path) -> tuple[int, str, float]:
    """(exit status, stderr + stdout, peak RSS in MB) of the build CLI in a child bounded to 1 GiB."""
    command = [sys.executable, "-m", "pytest_llmeval.collection", "build", str(schema), "-n", "5", *args]
    return run_bounded(command, cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


def deep_json(levels: int) -> dict[str, object]:
    node: dict[str, object] = {"name": "gsm8k"}
    for level in range(levels):
        node = {"name": f"g{level}", "children": [node]}
    return node


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "laughs.yaml",
            LAUGHS + "name: x\nchildren: [{name: gsm8k, tags: *i}]\n",
            "YAML aliases (*name) are not allowed",
        ),
        ("self.yaml", "&top {name: x, children: [*top]}\n", "YAML aliases (*name) are not allowed"),
        ("deep.json", json.dumps(deep_json(400)), "nests deeper than 64 levels"),
        ("deep.yaml", json.dumps(deep_json(400)), "nests deeper than 64 levels"),  # JSON is YAML too
        ("deeper.json", "[" * 200_000 + "]" * 200_000, "nests deeper than 64 levels"),
        ("latin1.yaml", "name: caf\xe9\nchildren: [{name: gsm8k}]\n".encode("latin-1"), "not UTF-8 text"),
    ],
    ids=["billion-laughs", "recursive", "deep-json", "deep-yaml", "deeper-than-the-stack", "latin-1"],
)
def test_hostile_schema_is_one_clear_error(tmp_path, name, content, message):
    schema = tmp_path / name
    schema.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    status, out, peak_mb = build(schema, "-o", str(tmp_path / "out.jsonl"), cwd=tmp_path)
    assert status == 4, out[-3000:]
    assert message in out and str(schema) in out
    assert "Traceback" not in out and len(out.splitlines()) == 1, out[-3000:]
    assert peak_mb < 300, f"peak RSS {peak_mb:.0f} MB"


def test_output_folder_is_one_clear_error(tmp_path, gsm8k_file):
    schema = tmp_path / "s.yaml"
    schema.write_text("name: x\nchildren: [{name: gsm8k}]\n", encoding="utf-8")
    status, out, _ = build(schema, "-o", str(tmp_path), "--llm-dataset", f"gsm8k={gsm8k_file}", cwd=tmp_path)
    assert status == 4 and "Traceback" not in out, out[-3000:]
    assert f"-o {tmp_path} is a folder" in out and "collection.jsonl" in out


def test_subset_list_is_checked_as_the_plugin_checks_it(tmp_path, gsm8k_file):
    schema = tmp_path / "s.yaml"
    schema.write_text("name: x\nchildren: [{name: gsm8k, args: {subset_list: mian}}]\n", encoding="utf-8")
    out_file = tmp_path / "out.jsonl"
    status, out, _ = build(schema, "-o", str(out_file), "--llm-dataset", f"gsm8k={gsm8k_file}", cwd=tmp_path)
    assert status == 4, out[-3000:]
    assert "gsm8k.subset_list names 'mian', which is no subset of gsm8k; did you mean 'main'?" in out
    assert not out_file.exists()
