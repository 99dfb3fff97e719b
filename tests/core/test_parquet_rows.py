"""Parquet rows come back from a JSON copy after the first read (benchmarks/parquet_rows.py): the same
rows of the same types, no pyarrow import, and never a copy that is cut short or of a type JSON
cannot hold."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pytest_llmeval.benchmarks.parquet_rows import CACHE_ENV, parquet_rows
from pytest_llmeval.errors import DatasetError
from tests.conftest import FakeOpenAIServer, FakeServerConfig

TEXT = pa.table(
    {
        "question": ["What is 1 + 1?", "Ünïcode — 中文 \u2028 line", ""],
        "answer": ["#### 2", "#### 3", None],
        "id": pa.array([1, 2**40, -3], pa.int64()),
        "score": pa.array([0.1, 1e-300, float("inf")], pa.float64()),
        "ratio": pa.array([0.5, 0.25, None], pa.float32()),
        "ok": [True, False, None],
        "choices": [["a", "b"], [], None],
        "meta": [{"level": 1, "tags": ["x"]}, {"level": None, "tags": []}, None],
        "subject": pa.array(["math", "math", "art"]).dictionary_encode(),
    }
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "rows"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def write(path: Path, table: pa.Table) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def types(rows: list[dict]) -> list[dict]:
    return [{key: type(value).__name__ for key, value in row.items()} for row in rows]


def test_a_text_file_is_read_back_from_its_copy_equal_in_values_and_types(tmp_path: Path, cache: Path) -> None:
    path = write(tmp_path / "test.parquet", TEXT)
    expected = TEXT.to_pylist()
    first = list(parquet_rows(path))
    assert list(cache.glob("*.jsonl")) and not list(cache.glob("*.part"))
    second = list(parquet_rows(path))
    assert first == expected and types(first) == types(expected)
    assert second == expected and types(second) == types(expected)
    # the same bytes under another name (a fresh hub snapshot, a bench's temporary folder) hit the copy
    other = write(tmp_path / "elsewhere" / "x.parquet", TEXT)
    assert list(parquet_rows(other)) == expected and len(list(cache.glob("*.jsonl"))) == 1


def test_a_second_run_imports_no_pyarrow(tmp_path: Path, cache: Path) -> None:
    path = write(tmp_path / "test.parquet", TEXT)
    probe = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from pytest_llmeval.benchmarks.parquet_rows import parquet_rows
        rows = list(parquet_rows(Path({str(path)!r})))
        print(len(rows), "pyarrow" in sys.modules)
        """
    )
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True) for _ in "ab"]
    assert [run.stdout.split() for run in runs] == [["3", "True"], ["3", "False"]]


def test_types_json_cannot_hold_are_read_with_pyarrow_every_time(tmp_path: Path, cache: Path) -> None:
    for name, table in {
        "image": pa.table({"image": [{"bytes": b"\x89PNG", "path": "a.png"}], "q": ["which?"]}),
        "date": pa.table({"day": pa.array([0], pa.date32())}),
        "map": pa.table({"m": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64()))}),
        "half": pa.table({"h": pa.array([1.5], pa.float16())}),
    }.items():
        path = write(tmp_path / f"{name}.parquet", table)
        assert list(parquet_rows(path)) == table.to_pylist()
        assert list(parquet_rows(path)) == table.to_pylist()  # remembered: not hashed again
    assert not list(cache.glob("*.jsonl")) and not list(cache.glob("*.part"))
    assert len(list((cache / "not-copied").iterdir())) == 4


def test_a_copy_cut_short_is_never_read_and_is_rewritten(tmp_path: Path, cache: Path) -> None:
    path = write(tmp_path / "test.parquet", TEXT)
    list(parquet_rows(path))
    (copy,) = cache.glob("*.jsonl")
    lines = copy.read_bytes().splitlines(keepends=True)
    copy.write_bytes(b"".join(lines[:-2]))  # a killed writer: the last row and the count are gone
    assert list(parquet_rows(path)) == TEXT.to_pylist()
    assert copy.read_bytes().splitlines(keepends=True) == lines


def test_a_damaged_copy_is_one_error_naming_it(tmp_path: Path, cache: Path) -> None:
    path = write(tmp_path / "test.parquet", TEXT)
    list(parquet_rows(path))
    (copy,) = cache.glob("*.jsonl")
    lines = copy.read_bytes().splitlines(keepends=True)
    lines[2] = b"{not json\n"
    copy.write_bytes(b"".join(lines))
    with pytest.raises(DatasetError, match="damaged; delete") as caught:
        list(parquet_rows(path))
    assert str(copy) in str(caught.value)


def test_a_reader_that_stops_early_still_leaves_a_whole_copy(tmp_path: Path, cache: Path) -> None:
    """Few-shot examples read the first rows of a train split only: the rest is copied as the reader
    lets go, so that the next run reads the copy (without pyarrow) instead of the parquet file."""
    big = pa.table({"question": [f"question {i}" for i in range(3000)], "answer": [f"#### {i}" for i in range(3000)]})
    path = write(tmp_path / "train.parquet", big)
    rows = parquet_rows(path)
    assert [next(rows) for _ in range(4)] == big.slice(0, 4).to_pylist()
    rows.close()
    (copy,) = cache.glob("*.jsonl")
    assert not list(cache.glob("*.part"))
    assert json.loads(copy.read_bytes().splitlines()[-1]) == ["end", 3000]
    path.write_bytes(b"PAR1 not read again")  # same name, other bytes: a new copy would be needed
    rows = parquet_rows(write(tmp_path / "again.parquet", big))
    assert [next(rows) for _ in range(2)] == big.slice(0, 2).to_pylist()
    rows.close()
    assert list(cache.glob("*.jsonl")) == [copy]


def test_a_large_file_read_in_part_is_not_copied(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over `MAX_WHOLE_COPY_BYTES` a file is copied as its rows pass: a reader that asked for a few
    rows does not wait for all of them, and leaves no copy."""
    from pytest_llmeval.benchmarks import parquet_rows as module

    path = write(tmp_path / "test.parquet", TEXT)
    monkeypatch.setattr(module, "MAX_WHOLE_COPY_BYTES", path.stat().st_size - 1)
    rows = parquet_rows(path)
    assert next(rows) == TEXT.to_pylist()[0]
    rows.close()
    assert not list(cache.glob("*.jsonl")) and not list(cache.glob("*.part"))
    assert list(parquet_rows(path)) == TEXT.to_pylist()  # read whole: copied
    assert len(list(cache.glob("*.jsonl"))) == 1


@pytest.mark.parametrize("whole", [True, False])
def test_a_file_whose_copy_is_too_large_is_remembered(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, whole: bool
) -> None:
    """Repetitive text compresses far in parquet: a copy past `MAX_COPY_BYTES` is dropped, and the
    file is not read whole and written again on every run."""
    from pytest_llmeval.benchmarks import parquet_rows as module

    path = write(tmp_path / "test.parquet", TEXT)
    monkeypatch.setattr(module, "MAX_COPY_BYTES", 200)
    monkeypatch.setattr(module, "MAX_WHOLE_COPY_BYTES", 2**30 if whole else 0)
    assert list(parquet_rows(path)) == TEXT.to_pylist()
    assert not list(cache.glob("*.jsonl")) and not list(cache.glob("*.part"))

    def refuse(path: Path) -> bytes:
        raise AssertionError("read whole again")

    monkeypatch.setattr(module, "_small_content", refuse)
    assert list(parquet_rows(path)) == TEXT.to_pylist()


def test_a_damaged_part_fails_the_reader_that_reaches_it(tmp_path: Path, cache: Path) -> None:
    """A page that does not decode, in the third of three row groups: the first rows are read, the
    whole file is one DatasetError naming it, and no copy is made."""
    table = pa.table({"question": [f"question number {i} " * 5 for i in range(6000)]})
    path = tmp_path / "train.parquet"
    pq.write_table(table, path, row_group_size=2000, compression="snappy")
    column = pq.ParquetFile(path).metadata.row_group(2).column(0)
    start = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    for at in range(start + 40, start + column.total_compressed_size - 40, 7):
        data[at] ^= 0x5A
    path.write_bytes(bytes(data))
    rows = parquet_rows(path)
    assert [next(rows) for _ in range(3)] == table.slice(0, 3).to_pylist()
    rows.close()
    with pytest.raises(DatasetError, match="cannot be read") as caught:
        list(parquet_rows(path))
    assert str(path) in str(caught.value)
    assert not list(cache.glob("*.jsonl")) and not list(cache.glob("*.part"))


def test_ctrl_c_during_the_first_copy_stops_the_reader(tmp_path: Path, cache: Path) -> None:
    """The whole copy is made inside the reader's call: Ctrl-C (SIGINT) mid-copy stops the program
    at once and leaves no partial copy, even for a reader that asked for two rows only."""
    path = write(tmp_path / "bomb.parquet", pa.table({"question": ["x" * 1000] * 300_000}))
    program = textwrap.dedent(
        f"""
        from itertools import islice
        from pathlib import Path
        from pytest_llmeval.benchmarks.parquet_rows import parquet_rows
        print(len(list(islice(parquet_rows(Path({str(path)!r})), 2))), "DONE", flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", program],
        env={**os.environ, CACHE_ENV: str(cache)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        parts = list(cache.glob("*.part"))
        if parts and parts[0].stat().st_size > 1_000_000:
            break
        time.sleep(0.01)
    assert child.poll() is None, "the copy ended before it could be interrupted"
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode != 0 and "DONE" not in out
    assert "KeyboardInterrupt" in err
    assert not list(cache.glob("*.part")) and not list(cache.glob("*.jsonl"))


def test_copies_off_or_unwritable_still_give_the_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "test.parquet", TEXT)
    monkeypatch.setenv(CACHE_ENV, "")
    assert list(parquet_rows(path)) == TEXT.to_pylist()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocked / "rows"))
    assert list(parquet_rows(path)) == TEXT.to_pylist()
    assert blocked.read_text() == "not a folder"


def test_a_broken_parquet_file_is_one_dataset_error(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "test.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DatasetError, match="not a readable parquet file"):
        list(parquet_rows(path))


@pytest.mark.parametrize("shots", [0, 1])
def test_an_evaluation_read_twice_from_parquet_gives_the_same_result(
    pytester: pytest.Pytester, cache: Path, shots: int
) -> None:
    """A GSM8K folder in its release layout, run twice: the second run reads the copies (no pyarrow
    in the process) and scores every sample the same; with a few-shot example too, of which the
    train split's first row only is read."""
    rows = [{"question": f"What is {i} + 1?", "answer": f"#### {i + 1}"} for i in range(6)]
    folder = pytester.path / "gsm8k"
    write(folder / "main" / "test-00000-of-00001.parquet", pa.Table.from_pylist(rows))
    write(folder / "main" / "train-00000-of-00001.parquet", pa.Table.from_pylist(rows[:2]))
    pytester.makeconftest(
        "import sys\ndef pytest_sessionfinish(session):\n    print('\\nPYARROW', 'pyarrow' in sys.modules)\n"
    )
    outcomes = []
    with FakeOpenAIServer(FakeServerConfig(fixed_reply="#### 3")) as server:
        for _ in range(2):
            result = pytester.runpytest_subprocess(
                "-s",
                "-p",
                "no:cacheprovider",
                *("--llm-model", "fake-model", "--llm-base-url", server.base_url, "--llm-no-cache"),
                *("-m", "gsm8k", "--llm-dataset", f"gsm8k={folder}"),
                *("--llm-bench-arg", f"gsm8k.few_shot_num={shots}"),
                "--llm-results",
                str(pytester.path / "results.json"),
            )
            outcomes.append((result.parseoutcomes(), json.loads((pytester.path / "results.json").read_text())))
            said = [line for line in result.stdout.lines if line.startswith("PYARROW")]
            assert said == [f"PYARROW {len(outcomes) == 1}"], result.stdout.str()[-2000:]
    (first, first_json), (second, second_json) = outcomes
    assert first == second == {"failed": 5, "passed": 1}
    assert first_json["benchmarks"] == second_json["benchmarks"]


def test_the_bytes_hashed_are_the_bytes_parsed(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file replaced while it is read (a re-download, a `cp` over it) never leaves its new rows
    under the old content's name: the copy is made from the bytes that were hashed."""
    from pytest_llmeval.benchmarks import parquet_rows as module

    old = pa.table({"answer": ["OLD-1", "OLD-2"]})
    new = pa.table({"answer": ["NEW-1", "NEW-2"]})
    path = write(tmp_path / "test.parquet", old)
    replacement = write(tmp_path / "new.parquet", new)
    read = module._small_content

    def read_then_replace(target: Path) -> bytes | None:
        content = read(target)
        os.replace(replacement, target)  # the file changes after its bytes were read
        return content

    monkeypatch.setattr(module, "_small_content", read_then_replace)
    assert list(parquet_rows(path)) == old.to_pylist()
    monkeypatch.setattr(module, "_small_content", read)
    assert list(parquet_rows(path)) == new.to_pylist()  # the file as it is now
    again = write(tmp_path / "again.parquet", old)
    assert list(parquet_rows(again)) == old.to_pylist()  # the old bytes' copy holds the old rows


def test_a_copy_past_its_size_bound_is_dropped(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Repetitive text compresses far in parquet (a 0.16 MB file made a 100 MB copy): past
    MAX_COPY_BYTES nothing is kept, and the rows are read whole all the same."""
    from pytest_llmeval.benchmarks import parquet_rows as module

    table = pa.table({"context": ["x" * 2048] * 200})
    path = write(tmp_path / "test.parquet", table)
    monkeypatch.setattr(module, "MAX_COPY_BYTES", 100_000)
    assert list(parquet_rows(path)) == table.to_pylist()
    assert not list(cache.glob("*.jsonl")) and not list(cache.glob("*.part"))


def test_partial_copies_a_killed_run_left_are_removed_a_day_later(tmp_path: Path, cache: Path) -> None:
    cache.mkdir(parents=True)
    old, fresh = cache / "a.part", cache / "b.part"
    for part in (old, fresh):
        part.write_bytes(b'"llmeval-rows/1"\n{"q": 1}\n')
    two_days_ago = time.time() - 2 * 86_400
    os.utime(old, (two_days_ago, two_days_ago))
    list(parquet_rows(write(tmp_path / "test.parquet", TEXT)))
    assert not old.exists() and fresh.exists()


def test_the_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_llmeval.benchmarks.parquet_rows import cache_dir

    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "pytest-llmbench" / "rows"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/xdg")  # the XDG spec: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "pytest-llmbench" / "rows"
    monkeypatch.setenv(CACHE_ENV, "  ")
    assert cache_dir() is None
