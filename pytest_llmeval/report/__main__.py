"""Rebuild the HTML report from a run's files, without re-running anything::

    python -m pytest_llmeval.report results.json samples.jsonl -o report.html

`results.json` is the `--llm-results` file, `samples.jsonl` the `--llm-samples` file (optional:
without it the page has the overview only). The sections are the ones the pytest run put into its
pytest-html report, byte for byte; the page around them is our own, self-contained, and forbids
loading anything (Content-Security-Policy).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError

from .html import render_page
from ..results import RunResult, SampleRecord
from .sample_table import SampleTable


class RebuildError(Exception):
    """A problem with the input files: the message names the file, the line and the fix."""


def read_results(path: Path) -> RunResult:
    if not path.is_file():
        raise RebuildError(f"{path}: no such file; pass the results JSON written with --llm-results PATH")
    try:
        return RunResult.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RebuildError(
            f"{path} is not a pytest-llmeval results JSON ({where + ': ' if where else ''}{first['msg']}); "
            "pass the file written with --llm-results PATH"
        ) from None


def read_records(path: Path) -> Iterator[SampleRecord]:
    if not path.is_file():
        raise RebuildError(f"{path}: no such file; pass the samples JSONL written with --llm-samples PATH")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield SampleRecord.model_validate_json(line)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise RebuildError(
                    f"{path}:{number}: not a sample record ({first['msg']}); pass the file written with --llm-samples PATH"
                ) from None


def build(results: Path, samples: Path | None, output: Path) -> tuple[int, int]:
    """Write the report; return (number of samples, bytes written)."""
    result = read_results(results)
    table = SampleTable()
    if samples is not None:
        for record in read_records(samples):
            table.add(record)
    page = render_page(result, table).encode("utf-8")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(page)
    return len(table), len(page)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmeval.report",
        description="Build the pytest-llmeval HTML report from a results JSON and, optionally, a samples JSONL.",
    )
    parser.add_argument("results", type=Path, help="the --llm-results JSON of the run")
    parser.add_argument("samples", type=Path, nargs="?", help="the --llm-samples JSONL of the run (per-sample rows)")
    parser.add_argument("-o", "--output", type=Path, default=Path("report.html"), help="where to write the page (default: report.html)")
    args = parser.parse_args(argv)
    try:
        count, size = build(args.results, args.samples, args.output)
    except RebuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({count} samples, {size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
