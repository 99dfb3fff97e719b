"""Plain-text tables for the terminal: one function, shared by every part that prints one (the score
table and comparison in `report/`, the collection tables in `collection/`, the perf table in `perf/`).

A neutral module (it imports only `terminal_text`, which imports nothing of ours), so those packages
do not import each other for it. Cells may hold untrusted names (a collection's groups and tags, a
dataset's subsets): each is made inert (`terminal_text.printable`, and a newline or tab as `\\n`,
`\\t`, which would break the row).
"""

from __future__ import annotations

from collections.abc import Sequence

from .terminal_text import printable


def _cell(value: object) -> str:
    return printable(str(value)).replace("\n", "\\n").replace("\t", "\\t")


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The header, a line of dashes and one line per row; columns left-aligned to their widest
    cell, two spaces apart, trailing blanks stripped."""
    header = [_cell(cell) for cell in header]
    rows = [[_cell(cell) for cell in row] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]
