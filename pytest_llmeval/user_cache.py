"""The plugin's folders in the user's cache, one rule for every kind of file kept there.

`$XDG_CACHE_HOME/pytest-llmbench/<kind>` when `XDG_CACHE_HOME` is an absolute path (the XDG Base
Directory spec says a relative one is ignored), else `~/.cache/pytest-llmbench/<kind>`. Kinds:
`models` (assembled GGUF files, `endpoint/local_models.py`), `rows` (parquet rows copied as JSON
lines, `benchmarks/parquet_rows.py`).
"""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir(kind: str) -> Path:
    """The folder of `kind` (not created here). Raises RuntimeError when no home folder can be found
    and `XDG_CACHE_HOME` names none."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "pytest-llmbench" / kind
