"""The files a run writes (`--llm-results`, `--llm-samples`): checked when pytest starts, and never
lost to a failed write at the end.

* `check_output_paths`: one usage error, before any request, when two outputs name the same file
  (`--llm-results X --llm-samples X` would overwrite the samples with the results), when a path is a
  folder, lies under a file, or its folder cannot be written (probed by creating and removing a file).
* `write_text_or_fallback`: writes a whole file (through a temporary file beside it, so a failed write
  never leaves half a file at the path); when that fails (a full disk, a folder removed during the
  run), the same text goes to a fallback file in the temporary folder, else in the working
  directory, and the caller is told where, so the terminal can name it.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import ConfigError


def fallback_paths(stem: str, suffix: str) -> Iterator[Path]:
    """Where an output goes when its own path cannot be written: the temporary folder, then the
    working directory (a unique name in each, so parallel runs never share one)."""
    name = f"llmeval-{stem}-{os.getpid()}-{secrets.token_hex(3)}{suffix}"
    yield Path(tempfile.gettempdir()) / name
    yield Path.cwd() / name


def write_text_or_fallback(path: Path, text: str, stem: str) -> tuple[Path | None, str | None]:
    """Write `text` to `path`; returns (where it was written, the problem with `path` or None).
    Where is None when no fallback could be written either."""
    try:
        write_atomically(path, text)
        return path, None
    except OSError as exc:
        problem = f"cannot write {path} ({exc.strerror or exc})"
    for candidate in fallback_paths(stem, path.suffix or ".json"):
        try:
            write_atomically(candidate, text)
            return candidate, problem
        except OSError:
            continue
    return None, problem


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it: never half a file (OSError on failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.part")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            handle.write(text)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def check_output_paths(outputs: Mapping[str, Path | None]) -> None:
    """ConfigError when two outputs (`{"--llm-results": path, ...}`) are the same file, or one cannot
    be written; see the module docstring."""
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        key = path.expanduser().resolve()
        for other_key, other in seen.items():
            if key == other_key or same_file(key, other_key):
                raise ConfigError(
                    f"{other} and {option} name the same file ({path}): the second would overwrite "
                    "the first; give each its own path"
                )
        seen[key] = option
        _check_writable(option, path.expanduser())


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one existing file (also through a symlink or a hard link)."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def _check_writable(option: str, path: Path) -> None:
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; pass a file path, e.g. {path / 'results.json'}")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".llmeval-probe-"):
            pass
        if path.exists():
            with path.open("a", encoding="utf-8"):  # appending writes nothing: the file is kept as it is
                pass
    except OSError as exc:
        raise ConfigError(
            f"{option} {path}: cannot write there ({exc.strerror or exc}); pass a path in a writable folder"
        ) from None
