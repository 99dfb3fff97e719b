"""Rebuild the HTML report from a run's files, or put several runs side by side, without re-running::

    python -m pytest_llmeval.report results.json samples.jsonl -o report.html
    python -m pytest_llmeval.report a.json a.jsonl b.json b.jsonl c.json -o compare.html
    python -m pytest_llmeval.report merge shard-*/results.json -o results.json   # run/merge.py

`results.json` is the `--llm-results` file, `samples.jsonl` the `--llm-samples` file (optional:
without it the page has the overview only). A file ending in `.jsonl` is a samples file and belongs
to the results file before it. With one results file the sections are the ones the pytest run put
into its pytest-html report, byte for byte; with several, the page shows their scores and
per-sample verdicts side by side (`side_by_side.py`). The page around them is our own,
self-contained, and forbids loading anything (Content-Security-Policy).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..arena.report import pair_row, render_arena
from ..errors import RebuildError
from ..files import FileProblem, check_file
from ..results import RunResult, SampleRecord
from .html import render_compare, render_page
from .sample_table import SampleTable
from .samples import MAX_LINE_BYTES, read_run_result
from .samples import read_records as read_sample_records
from .side_by_side import LoadedRun, label_runs


def read_results(path: Path) -> RunResult:
    try:
        return read_run_result(path)
    except FileProblem as problem:
        raise RebuildError(f"{problem.after(path)}; pass the results JSON written with --llm-results PATH") from None


def read_records(path: Path) -> Iterator[SampleRecord]:
    """The records of a samples JSONL, read streaming with a bound on each line (`report.samples`)."""
    fix = "pass the file written with --llm-samples PATH"
    try:
        check_file(path)
    except FileProblem as problem:
        raise RebuildError(f"{problem.after(path)}; {fix}") from None
    yield from read_sample_records(path, fix)


def build(results: Path, samples: Path | None, output: Path) -> tuple[int, int]:
    """Write the report; return (number of samples, bytes written)."""
    result = read_results(results)
    table = SampleTable()
    arena = result.extra.get("arena") if isinstance(result.extra.get("arena"), dict) else None
    pairs: list[dict[str, object]] = []  # an arena run's pairs, for its section as the run drew it
    if samples is not None:
        for record in read_records(samples):
            table.add(record)
            if arena is not None and record.benchmark == "arena":
                pairs.append(pair_row(record))
    sections = [render_arena(arena, pairs)] if arena is not None else []
    page = render_page(result, table, sections).encode("utf-8")
    write_page(output, page)
    return len(table), len(page)


def write_page(output: Path, page: bytes) -> None:
    """Write the page; a folder or an unwritable place is a RebuildError naming `-o`."""
    if output.is_dir():
        raise RebuildError(f"-o {output} is a folder; pass the page to write, e.g. -o {output / 'report.html'}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(page)
    except OSError as exc:
        raise RebuildError(f"cannot write -o {output}: {exc.strerror or exc}") from None


def is_samples_file(path: Path) -> bool:
    """A samples JSONL: named `*.jsonl`, or its first line is a sample record (has a `nodeid`)."""
    if path.suffix.lower() == ".jsonl":
        return True
    try:
        with path.open("rb") as handle:
            first = handle.readline(MAX_LINE_BYTES)
        return isinstance(value := json.loads(first), dict) and "nodeid" in value
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return False


def pair_files(paths: Sequence[Path]) -> list[tuple[Path, Path | None]]:
    """(results, samples or None) per run: a samples file belongs to the results file before it."""
    runs: list[tuple[Path, Path | None]] = []
    for path in paths:
        if is_samples_file(path):
            if not runs:
                raise RebuildError(
                    f"{path}: a samples JSONL must follow the results JSON of its run (a.json a.jsonl b.json ...)"
                )
            if runs[-1][1] is not None:
                raise RebuildError(
                    f"{path}: {runs[-1][0]} already has the samples file {runs[-1][1]}; give one JSONL per results JSON"
                )
            runs[-1] = (runs[-1][0], path)
        else:
            runs.append((path, None))
    if not runs:
        raise RebuildError("no results JSON given; pass the file written with --llm-results PATH")
    return runs


def build_compare(pairs: Sequence[tuple[Path, Path | None]], output: Path) -> tuple[int, int]:
    """Write the side-by-side page of several runs; return (number of runs, bytes written)."""
    runs = [
        LoadedRun(results, read_results(results), list(read_records(samples)) if samples else None)
        for results, samples in pairs
    ]
    label_runs(runs)
    page = render_compare(runs).encode("utf-8")
    write_page(output, page)
    return len(runs), len(page)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["merge"]:  # the shards of a --llm-shard run (run/merge.py)
        from ..run.merge import main as merge_main

        return merge_main(arguments[1:])
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmeval.report",
        description="Build the pytest-llmbench HTML report from a results JSON and, optionally, a samples JSONL; "
        "with several results JSONs, a page comparing the runs side by side.",
    )
    parser.add_argument(
        "files",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="results JSON (--llm-results) of each run, each followed by its samples JSONL "
        "(--llm-samples) if you have it",
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("report.html"), help="where to write the page (default: report.html)"
    )
    args = parser.parse_args(arguments)
    try:
        pairs = pair_files(args.files)
        if len(pairs) == 1:
            count, size = build(pairs[0][0], pairs[0][1], args.output)
            print(f"wrote {args.output} ({count} samples, {size / 1024:.0f} KiB)")
        else:
            count, size = build_compare(pairs, args.output)
            print(f"wrote {args.output} ({count} runs side by side, {size / 1024:.0f} KiB)")
    except RebuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
