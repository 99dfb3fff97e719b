"""One-line notices for the terminal (a damaged cache moved aside, subsets a file has no rows for).

`Notices.notify` writes at once on pytest's thread between tests; from another thread (the
dispatcher's), or while a test runs (its output is captured), the notice is kept and written after
that test, or at the end, on pytest's thread.
Without a terminal reporter notices go to stderr. (An xdist worker writes its notices to stderr:
`run/worker.print_notice`.)
"""

from __future__ import annotations

import sys
import threading

import pytest


class Notices:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.pending: list[str] = []
        self.in_test = False  # between a test's logstart and logfinish

    def notify(self, message: str) -> None:
        if threading.current_thread() is threading.main_thread() and not self.in_test:
            self.write(message)
        else:
            self.pending.append(message)

    def write(self, message: str) -> None:
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            print(message, file=sys.stderr, flush=True)
            return
        terminal.ensure_newline()
        terminal.write_line(message, yellow=True)

    def flush(self) -> None:
        while self.pending:
            self.write(self.pending.pop(0))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.in_test = True

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.in_test = False
        self.flush()  # once a test, not after each of its three reports

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.flush()
