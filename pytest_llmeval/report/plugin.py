"""Reporting hooks of an evaluation run: HTML report sections, JUnit properties, old-vs-new comparison.

Registered next to the run plugins (`run/`) when --llm-model is given. What it does:

- `--html` (pytest-html): the overview (run facts, scores, thresholds, deltas, charts, perf) goes
  into the summary's prefix, the filterable per-sample table into its postfix, and pytest-html's
  own results table gets a "sample" column linking each item to its row.
- `--junitxml`: per-item scores as properties (see `report/junit.py`).
- `--llm-compare OLD.json` adds `result.extra["compare"]` and a terminal section;
  `--llm-max-drop X` fails the run when any metric dropped more than X (see `report/compare.py`).
  With --llm-max-drop the gates decide the exit status, as with --llm-threshold: wrong answers
  alone no longer fail the run.

Per-sample texts are taken from `pytest_llmeval_sample_record` (full records, on the process that
aggregates) rather than from the reports: the run controller drops `report.llmeval` once it has
consumed it, and under xdist the full texts should not travel twice. Records are only kept when an
HTML report is being written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..errors import ConfigError
from ..results import RunResult, SampleRecord
from ..settings import RunSettings
from .compare import Comparison, baseline_samples, compare_results, comparison_lines, load_baseline
from .junit import PREFIX, junit_properties, suite_properties
from .sample_table import CELL_CHARS, SampleTable, row_anchor
from .text import as_text, shorten

RECORD_ATTR = "llmeval"  # the attribute the run plugins set on reports


def record_payload(report: Any) -> dict[str, Any] | None:
    """A sample report's record as JSON: the runner's `SampleRecord` in the process that ran it,
    already JSON on a report an xdist worker sent; None on other reports."""
    payload = getattr(report, RECORD_ATTR, None)
    if isinstance(payload, SampleRecord):
        return payload.model_dump(mode="json")
    return payload if isinstance(payload, dict) else None


try:  # pytest's own junitxml plugin object, to add suite-level properties
    from _pytest.junitxml import xml_key

    junit_xml_key: pytest.StashKey[Any] | None = xml_key
except ImportError:  # pragma: no cover - a pytest without it: no suite properties
    junit_xml_key = None


class JUnitProperties:
    """Per-item scores as JUnit properties (`--junitxml`), on every process that runs items (the
    report carries them to the controller's XML)."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        # Outermost wrapper: the runner's wrapper has set the record when we resume.
        report = yield
        payload = record_payload(report)
        if payload is not None:
            props = junit_properties(payload)
            # A rerun (pytest-rerunfailures) must not pile up a second set.
            item.user_properties[:] = [p for p in item.user_properties if not str(p[0]).startswith(PREFIX)]
            item.user_properties.extend(props)
            report.user_properties.extend(props)
        return report


class ReportPlugin:
    """The report side of a run, registered only where the records are aggregated (the only process
    or the xdist controller): HTML sections, the comparison and its gate, suite properties."""

    def __init__(self, config: pytest.Config, settings: RunSettings) -> None:
        self.config = config
        self.settings = settings
        self.compare_path: Path | None = settings.compare.path
        self.max_drop: float | None = settings.compare.max_drop
        self.significance: float | None = settings.compare.significance
        self.baseline: RunResult | None = None
        self.baseline_samples_path: Path | None = None
        self.old_samples: dict[str, dict[str, dict[str, float]]] = {}
        self.new_samples: dict[str, dict[str, dict[str, float]]] = {}  # kept only when comparing
        if self.compare_path is not None:
            try:
                self.baseline = load_baseline(self.compare_path)  # before any request is sent
                self.baseline_samples_path, self.old_samples = baseline_samples(self.compare_path, self.baseline)
            except ConfigError as exc:
                raise pytest.UsageError(str(exc)) from None
        self.html_enabled = bool(config.getoption("htmlpath", None))
        self.table: SampleTable | None = SampleTable() if self.html_enabled else None
        if self.table is not None:
            self.table.media = _run_media_store(config)
        self.comparison: Comparison | None = None
        self.result: RunResult | None = None

    # -- aggregation side --------------------------------------------------------------------

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        if self.table is not None:
            self.table.add(record)
        if self.baseline is not None and record.error is None:
            self.new_samples.setdefault(record.benchmark, {})[f"{record.subset}/{record.id}"] = record.metrics

    def _compare(self, result: RunResult) -> Comparison | None:
        if self.baseline is not None and self.comparison is None:
            self.comparison = compare_results(
                self.baseline,
                result,
                max_drop=self.max_drop,
                old_path=str(self.compare_path),
                significance=self.significance,
                old_samples=self.old_samples,
                new_samples=self.new_samples,
                old_samples_path=str(self.baseline_samples_path) if self.baseline_samples_path else None,
            )
        return self.comparison

    def pytest_llmeval_gate(self, result: RunResult, config: pytest.Config) -> bool | None:
        comparison = self._compare(result)
        if comparison is None or self.max_drop is None:
            return None
        return comparison.passed

    def pytest_llmeval_results(self, result: RunResult, config: pytest.Config) -> None:
        self.result = result
        comparison = self._compare(result)
        if comparison is not None:
            result.extra["compare"] = comparison.model_dump(mode="json")
        xml = self.config.stash.get(junit_xml_key, None) if junit_xml_key is not None else None
        if xml is not None:  # --junitxml: aggregated scores with their error bars as suite properties
            for name, value in suite_properties(result):
                xml.add_global_property(name, value)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.comparison is None:
            return
        terminalreporter.section("llmeval compare")
        for line in comparison_lines(self.comparison):
            terminalreporter.write_line(line, red=line.startswith("FAIL"), green=line.startswith("PASS"))

    # -- pytest-html -------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"LLM evaluation: {self.settings.endpoint.model}"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        # the HTML code (and the perf models it draws) is imported by pytest-html's hooks only
        from .html import render_overview, render_samples

        if self.result is None:
            return
        prefix.append(render_overview(self.result))
        postfix.append(render_samples(self.table or SampleTable()))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        from .html import render

        cells.append(render("pytest_html.html.j2", part="header"))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        from .html import render

        payload = record_payload(report)
        if payload is None:
            cells.append(render("pytest_html.html.j2", part="empty"))
            return
        if payload.get("error") is not None:
            text = f"error: {payload.get('error_kind') or 'error'}"
        else:
            extracted, target = as_text(payload.get("extracted")), as_text(payload.get("target"))
            text = (
                f"{shorten(extracted, CELL_CHARS // 2) or '(nothing extracted)'} vs {shorten(target, CELL_CHARS // 2)}"
            )
        cells.append(render("pytest_html.html.j2", part="cell", text=text, anchor=row_anchor(report.nodeid)))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        """A sample's row in pytest-html's table stays one line: its failure text (the same
        "expected ..., extracted ..." for every wrong answer, 27,000 px of table for 200 samples) is
        left out; the row's *sample* cell links to our sample table, which carries the full texts."""
        if getattr(report, RECORD_ATTR, None) is None or report.when != "call" or self.table is None:
            return
        data[:] = []


def _run_media_store(config: pytest.Config) -> Any:
    """The evaluation's media store (thumbnails of the samples' images), None when it has none."""
    evaluation = config.pluginmanager.get_plugin("llmeval-evaluation")
    return evaluation.media_store() if evaluation is not None and hasattr(evaluation, "media_store") else None
