"""Reading a small file a user names (a results JSON, a collection schema) whole, with a size bound.

`read_bounded(path, max_bytes)` reads at most `max_bytes + 1` bytes, so a file of gigabytes costs
`max_bytes` of memory, and raises `FileProblem` for a folder, a missing file, one that cannot be
read, or one larger than the bound; `decode_utf8(raw)` raises it for bytes that are not UTF-8.
A `FileProblem` says what is wrong in words that follow the file's name (`problem.after(name)`:
`results.json is a folder`, `results.json: no such file`, `x.yaml is not UTF-8 text (byte 14)`);
each caller turns it into its own error with its own fix, so the same problem reads the same way
wherever a file is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

ProblemKind = Literal["folder", "missing", "unreadable", "too_large", "not_utf8", "invalid"]  # invalid: the content


class FileProblem(Exception):
    """Why a file could not be read: `kind`, and `text` (the words after the file's name)."""

    def __init__(self, kind: ProblemKind, text: str) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text

    def after(self, name: object) -> str:
        """`name` followed by the problem: `x is a folder`, `x: no such file`, `x: cannot be read (...)`."""
        joint = ": " if self.kind in ("missing", "unreadable") else " "
        return f"{name}{joint}{self.text}"


def check_file(path: Path) -> None:
    """FileProblem when `path` is a folder or no file (before a reader opens it)."""
    if path.is_dir():
        raise FileProblem("folder", "is a folder")
    if not path.is_file():
        raise FileProblem("missing", "no such file")


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; FileProblem when it is a folder, missing, unreadable or over `max_bytes`."""
    check_file(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FileProblem("unreadable", f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise FileProblem("too_large", f"is larger than {max_bytes:,} bytes")
    return raw


def decode_utf8(raw: bytes) -> str:
    """`raw` as text; FileProblem naming the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem("not_utf8", f"is not UTF-8 text (byte {exc.start})") from None
