"""What the terminal keeps of a sample's report once the record stream consumed its record.

pytest's terminal reporter holds every report until the end of the run (for its final counts and
summaries), so a 100,000-sample run holds 100,000 of them. As pytest made it, a report costs about
0.6 KB with its own `__dict__`; as pytest-xdist's controller unserialized it, about 2 KB: a node id
parsed again, the worker's fields (`item_index`, `worker_id`, `testrun_uid`, `$report_type`), and
every string a copy of its own.

`KeptReport` is a real `pytest.TestReport` holding what readers of the terminal's reports use (the
node id, location, phase, outcome, failure text, duration, times, sections and user properties) in
slots, about 0.15 KB, and serializes like one (`_to_json`). What it leaves out: the keywords
(pytest copies the item's marks into a dict per report, and every reader of them ran at
`pytest_runtest_logreport`), the record (the stream has it; `llmeval` is None) and xdist's worker
fields. Measured per report with tracemalloc, strings shared: 145 bytes
against 580 for a `TestReport`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

_EMPTY: tuple[()] = ()


class KeptReport(pytest.TestReport):
    __slots__ = (
        "duration",
        "location",
        "longrepr",
        "nodeid",
        "outcome",
        "sections",
        "start",
        "stop",
        "user_properties",
        "when",
    )
    keywords = MappingProxyType({})
    llmeval = None  # the record's attribute (`run.runner.RECORD_ATTR`): consumed, as on a slimmed report

    def __init__(self, report: pytest.TestReport, paths: dict[str, str]) -> None:
        """`report`'s fields; `paths`: one string per location path (a subset's, shared by its samples)."""
        self.nodeid = report.nodeid
        path, line, domain = report.location
        self.location = (paths.setdefault(path, path), line, domain)
        self.when = report.when
        self.outcome = report.outcome
        self.longrepr = report.longrepr
        self.duration = report.duration
        self.start = report.start
        self.stop = report.stop
        self.sections = report.sections or _EMPTY  # type: ignore[assignment]
        self.user_properties = report.user_properties or _EMPTY  # type: ignore[assignment]

    def _to_json(self) -> dict[str, Any]:
        """pytest serializes a report from its `__dict__` (`pytest_report_to_serializable`, xdist,
        pytest-reportlog): a `KeptReport`'s fields are slots, so a `TestReport` of them does it."""
        report = pytest.TestReport(
            self.nodeid,
            self.location,
            {},
            self.outcome,
            self.longrepr,
            self.when,
            self.sections,
            self.duration,
            self.start,
            self.stop,
            self.user_properties,
        )
        return report._to_json()

    @property  # pytest >= 9.2 declares `_id` an attribute
    def _id(self) -> Any:  # type: ignore[override,unused-ignore]
        """pytest >= 9.2 reads a parsed node id for `id` and `fspath`; made on demand."""
        from _pytest.nodeid import NodeId  # type: ignore[import-not-found,unused-ignore]

        return NodeId.parse(self.nodeid)


def filed_last(stats: dict[str, list[Any]], report: pytest.TestReport) -> list[Any] | None:
    """The terminal's list of reports (`TerminalReporter.stats`) whose last one is `report`: where
    `pytest_runtest_logreport` just filed it. None when another plugin filed one after it."""
    for kept in stats.values():
        if kept and kept[-1] is report:
            return kept
    return None


def keep_compact(report: pytest.TestReport, stats: dict[str, list[Any]], paths: dict[str, str]) -> None:
    """Replace `report` in the terminal's `stats` by its `KeptReport`; nothing changes when it is
    not the last one the terminal filed or it carries more than a `KeptReport` holds (an xfail's
    reason)."""
    kept = None if hasattr(report, "wasxfail") else filed_last(stats, report)
    if kept is not None:
        kept[-1] = KeptReport(report, paths)
