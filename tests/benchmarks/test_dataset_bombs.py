"""A dataset file that inflates to gigabytes (a 3 MB `.jsonl.gz` or `.json.gz` from a hub, all one line)
is one error naming the file and line, in bounded memory: the line was read whole before any check, and
the run died of MemoryError (INTERNALERROR) or took the machine's memory. Real runs in a child bounded
to 1 GiB of address space; the bombs are made by the test."""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import pytest

from tests.bounded import run_bounded

ROOT = Path(__file__).resolve().parents[2]


def bomb(path: Path, mib: int, head: bytes, tail: bytes) -> Path:
    """`head`, `mib` MiB of spaces and `tail`, gzip-compressed (about 1 KB per inflated MiB)."""
    block = b" " * 2**20
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(head)
        for _ in range(mib):
            f.write(block)
        f.write(tail)
    return path


@pytest.mark.parametrize("name", ["gsm8k.jsonl.gz", "gsm8k.json.gz"])
def test_a_compressed_file_that_inflates_to_gigabytes_is_one_error_in_bounded_memory(tmp_path, name):
    row_end = b'", "answer": "#### 5"}'
    head = b'{"question": "' if name.endswith("jsonl.gz") else b'[{"question": "'
    data = bomb(tmp_path / name, 1200, head, row_end + (b"\n" if name.endswith("jsonl.gz") else b"]"))
    assert data.stat().st_size < 8 * 2**20
    status, out, peak_mb = run_bounded(
        [
            sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider",
            "--llm-model", "m", "--llm-base-url", "http://127.0.0.1:9/v1", "-m", "gsm8k",
            "--llm-dataset", f"gsm8k={data}",
        ],
        tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert "INTERNALERROR" not in out and "MemoryError" not in out, out[-3000:]
    assert status == 2, out[-3000:]  # one collection error, nothing sent
    assert name in out and ("longer than 64 MiB" in out or "larger than 256 MiB" in out), out[-3000:]
    assert peak_mb < 900


def test_a_csv_cell_over_128_kib_is_a_row_not_an_internal_error(pytester):
    """Python's csv module refuses a cell over 128 KiB with csv.Error, which ended the run as an
    INTERNALERROR: a long text is a row like any other (up to the line limit)."""
    data = pytester.path / "gsm8k.csv"
    data.write_text('question,answer\n"' + "How many? " * 20_000 + '",#### 5\nhi,#### 5\n', encoding="utf-8")
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "--llm-model", "m", "--llm-base-url", "http://127.0.0.1:9/v1",
        "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--co", "-q",
    )  # fmt: skip
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and result.ret == 0, output[-3000:]
    assert "2 tests collected" in output


@pytest.mark.parametrize("name", ["gsm8k.jsonl.gz", "gsm8k.json.gz"])
def test_a_damaged_gzip_file_is_one_error_naming_it(pytester, name):
    """Bytes flipped inside a .gz (a broken download) make zlib raise zlib.error, not OSError: it ended
    the run as an INTERNALERROR."""
    rows = [
        {"question": f"What is {i} plus {i * 7 % 13}? " + "word " * (i % 17), "answer": "#### 5"} for i in range(3000)
    ]
    text = "\n".join(json.dumps(r) for r in rows) if "jsonl" in name else json.dumps(rows)
    damaged = bytearray(gzip.compress(text.encode(), compresslevel=9))
    for i in range(400, 460):
        damaged[i] ^= 0x5A
    data = pytester.path / name
    data.write_bytes(bytes(damaged))
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "--llm-model", "m", "--llm-base-url", "http://127.0.0.1:9/v1",
        "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--co", "-q",
    )  # fmt: skip
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and result.ret == pytest.ExitCode.INTERRUPTED, output[-3000:]
    assert f"{name}: the compressed file is damaged" in output, output[-3000:]
