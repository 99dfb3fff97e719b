"""Plain-text tables for the terminal: one function, shared by every part that prints one (the score
table and comparison in `report/`, the collection tables in `collection/`, the perf table in `perf/`).

A neutral module (it imports nothing of ours), so those packages do not import each other for it.
"""

from __future__ import annotations

from collections.abc import Sequence


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The header, a line of dashes and one line per row; columns left-aligned to their widest
    cell, two spaces apart, trailing blanks stripped."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]
