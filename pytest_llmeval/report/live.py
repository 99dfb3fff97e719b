"""The live progress line of an evaluation run, written through pytest's terminal reporter.

On an interactive terminal at normal verbosity, sample items print no `.`/`F` of their own; one
line is rewritten in place instead (`TerminalReporter.rewrite`, as pytest's own "collecting ..."
line is): `llmeval 37/200 [ 18%]  sent 30  cached 7  wrong 4  2.4/s  ETA 1:10`. It stays off
under `-q` and `-v` (pytest's own per-item lines), when output is not a terminal or the `CI`
(or `BUILD_NUMBER`) environment variable is set, as pytest's own CI detection does, and on xdist
workers (which print nothing; the controller shows the line).
"""

from __future__ import annotations

import os
import time
from typing import Any

from .terminal import Progress

REFRESH_S = 0.2  # at most five rewrites a second: a 100k-sample run must not spend its time printing


def live_wanted(terminal: Any, verbosity: int, environ: dict[str, str] | None = None) -> bool:
    """Whether the rewritten line may be used: a tty, verbosity 0, not CI."""
    env = os.environ if environ is None else environ
    if terminal is None or verbosity != 0 or env.get("CI") or env.get("BUILD_NUMBER"):
        return False
    isatty = getattr(terminal, "isatty", False)
    return bool(isatty() if callable(isatty) else isatty)


class LiveProgress:
    """Owns the progress line: `update` after each sample, `pause` before other output, `finish`
    at the end. Writes only when `enabled`."""

    def __init__(self, terminal: Any, progress: Progress, enabled: bool) -> None:
        self.terminal = terminal
        self.progress = progress
        self.enabled = enabled
        self._on_line = False
        self._last_write = 0.0

    def starting(self, path: Any) -> None:
        """Before a sample item starts: pytest would print the item's path (`gsm8k/main `) on a new
        line; telling the reporter it is already there keeps the progress line in one place."""
        if not self.enabled:
            return
        if not self._on_line:
            self.terminal.ensure_newline()
        self.terminal.currentfspath = path

    def update(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        last = self.progress.done >= self.progress.total
        if not last and self._on_line and now - self._last_write < REFRESH_S:
            return
        self._last_write = now
        self.terminal.rewrite(self.progress.line(now), erase=True, bold=True)
        self.terminal.flush()
        self._on_line = True
        if last:
            self.pause()

    def pause(self) -> None:
        """End the line so that whatever pytest prints next starts on a fresh one."""
        if self._on_line:
            self.terminal.rewrite(self.progress.line(), erase=True, bold=True)
            self.terminal.write("\n")
            self.terminal.currentfspath = None  # pytest's own line state: the next path starts anew
            self._on_line = False

    finish = pause
