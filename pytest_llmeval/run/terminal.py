"""The terminal summary of an evaluation run (pytest-xdist's `TerminalDistReporter` counterpart).

`TerminalSummary` condenses wrong answers and endpoint errors of samples into two short sections
(instead of one block each in pytest's FAILURES/ERRORS), writes the "llmeval results" section from
the run's `RunOutcome`, and, when a gate decided the exit status, the verdict as the very last line
(after pytest's own "N failed, M passed").
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from ..benchmarks.registry import all_benchmarks
from ..collection.wiring import collection_section
from ..efficiency.aggregate import EfficiencyResult, table_lines
from ..report.terminal import (
    SampleProblem,
    condensed_lines,
    count_samples,
    deselection_lines,
    no_selection_lines,
    requests_line,
    score_lines,
    verdict_line,
)
from ..results import RunResult
from ..spend.text import usage_lines
from .outcome import RunOutcome, perf_ran
from .scope import Evaluation


def incomplete_line(result: RunResult) -> str:
    """The banner of a run that did not finish: it is not passed, whatever its scores say."""
    why = "interrupted" if result.interrupted else (result.stopped_by or "samples without a result")
    done = result.samples_scored + result.samples_errored
    planned = "?" if result.samples_planned is None else f"{result.samples_planned:,}"
    errors = f"{result.samples_errored:,} errors"
    return f"INCOMPLETE RUN ({why}): {done:,} of {planned} samples finished ({errors}); the run is not passed"


def failure_text(report: pytest.TestReport) -> str:
    """A sample's failure message without the `[gw0] linux -- Python ...` line xdist puts first."""
    lines = report.longreprtext.splitlines()
    if lines and lines[0].startswith("[gw") and " -- Python " in lines[0]:
        lines = lines[1:]
    return "\n".join(lines)


def _interned(strings: dict[str, str], text: str) -> str:
    return strings.setdefault(text, text)


class TerminalSummary:
    def __init__(self, evaluation: Evaluation, outcome: RunOutcome) -> None:
        self.evaluation = evaluation
        self.config = evaluation.config
        self.outcome = outcome
        self.totals: dict[str, int] = {}  # {benchmark: samples planned}
        self.problems: dict[str, list[SampleProblem]] = {"wrong": [], "error": []}

    def pytest_llmeval_plan(self, nodeids: list[str], workers: int) -> None:
        counts = count_samples(nodeids, self.evaluation.is_sample)
        self.totals = {bench: sum(subsets.values()) for bench, subsets in counts.items()}

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int) -> Any:
        # Wrong answers and endpoint errors of samples are condensed below; pytest's final counts
        # still include them (the reports are put back before pytest writes its stats line).
        taken = self.take_sample_reports(terminalreporter.stats)
        try:
            return (yield)
        finally:
            for key, reports in taken.items():
                terminalreporter.stats.setdefault(key, []).extend(reports)
            self.write_summary(terminalreporter, exitstatus)

    def take_sample_reports(self, stats: dict[str, list[Any]]) -> dict[str, list[Any]]:
        taken: dict[str, list[Any]] = {}
        is_sample = self.evaluation.is_sample
        for key, kind in (("failed", "wrong"), ("error", "error")):
            reports = stats.get(key, [])
            ours = [r for r in reports if isinstance(r, pytest.TestReport) and is_sample(r.nodeid)]
            if ours:
                stats[key] = [r for r in reports if not (isinstance(r, pytest.TestReport) and is_sample(r.nodeid))]
                taken[key] = ours
                benchmarks: dict[str, str] = {}  # one string per benchmark name, not one per sample
                self.problems[kind] = [
                    SampleProblem(
                        _interned(benchmarks, r.nodeid.partition("/")[0]),
                        r.nodeid,
                        functools.partial(failure_text, r),
                    )
                    for r in ours
                ]
        return taken

    def show_failures(self) -> int | None:
        """How many wrong answers (and errors) per benchmark the summary shows; None for all."""
        return self.evaluation.settings.failures_shown(self.config.get_verbosity())

    def write_summary(self, terminalreporter: Any, exitstatus: int = pytest.ExitCode.OK) -> None:
        terminalreporter.ensure_newline()
        for kind, title in (("wrong", "wrong answers"), ("error", "endpoint errors")):
            if self.problems[kind]:
                terminalreporter.section(f"llmeval {title}", sep="-", red=True)
                noun = "answered wrong" if kind == "wrong" else "errored"
                for line in condensed_lines(noun, self.problems[kind], self.totals, self.show_failures()):
                    terminalreporter.write_line(line)
        result = self.outcome.result
        if result is not None and (result.benchmarks or result.thresholds or not result.complete):
            self.write_results(terminalreporter, result)
        elif (
            not self.evaluation.selection
            and not perf_ran(self.config)
            and not self.evaluation.settings.perf_words  # a --llm-perf sweep that failed: its error says why
            and self.evaluation.collection is None
            and exitstatus != pytest.ExitCode.USAGE_ERROR  # the error says what to fix, not -m
        ):
            terminalreporter.section("llmeval")
            for line in no_selection_lines(all_benchmarks()):
                terminalreporter.write_line(line)
        for (
            line
        ) in self.outcome.output_problems:  # outputs not where asked: the summary's last lines say where they are
            terminalreporter.write_line(line, red=True, bold=True)

    def write_results(self, terminalreporter: Any, result: RunResult) -> None:
        terminalreporter.section("llmeval results")
        if not result.complete:
            terminalreporter.write_line(incomplete_line(result), red=True, bold=True)
        for line in score_lines(result):
            terminalreporter.write_line(line)
        for line in deselection_lines(result):
            terminalreporter.write_line(line, yellow=True)
        for line in collection_section(result.collection):
            terminalreporter.write_line(line)
        thinking = EfficiencyResult.model_validate(result.thinking) if result.thinking is not None else None
        if thinking is not None and thinking.benchmarks:
            terminalreporter.section("llmeval reasoning efficiency")
            for line in table_lines(thinking):
                terminalreporter.write_line(line)
        errors = sum(bench.errors for bench in result.benchmarks.values())
        requests = result.requests
        terminalreporter.write_line(
            requests_line(requests.sent + requests.failed, requests.cached, requests.failed, requests.not_sent)
        )
        for line in usage_lines(result.usage):
            terminalreporter.write_line(line)
        offline_note = self.evaluation.runtime.offline_note
        if offline_note and not requests.sent and not errors:
            terminalreporter.write_line(offline_note, yellow=True)
        if self.outcome.results_written is not None:
            terminalreporter.write_line(f"results written to {self.outcome.results_written}")

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # The verdict comes after pytest's own "N failed, M passed" line: it is the last line.
        verdict, status = self.outcome.verdict, self.outcome.exit_status
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        if verdict is None or status is None or terminal is None:
            return  # no gate decided (or interrupted, or a usage error)
        line = verdict_line(verdict.passed, verdict.reasons, status, undecided=verdict.undecided)
        terminal.write_sep("=", line, green=verdict.passed, red=not verdict.passed, bold=True)
