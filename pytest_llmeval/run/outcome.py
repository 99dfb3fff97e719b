"""What the aggregating process learned by the end of a run, read by the terminal summary.

The controller fills `RunOutcome` (the result, the verdict when a gate decided), feature plugins add
the outputs that did not land where asked; `TerminalSummary` only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..gating.budget import Verdict
from ..results import RunResult


@dataclass
class RunOutcome:
    result: RunResult | None = None
    verdict: Verdict | None = None  # set when a gate (threshold, or a plugin's vote) decided the exit status
    exit_status: int | None = None  # the session's exit status the verdict is printed with
    samples_planned: int | None = None  # sample items this run set out to run (after deselection)
    other_failures: int = 0  # failed tests that are not samples
    results_written: Path | None = None  # where the results JSON went (a fallback when its path failed)
    output_problems: list[str] = field(default_factory=list)  # outputs not written where asked


def perf_ran(config: pytest.Config) -> bool:
    """True when the perf plugin measured something this run (it then has a summary of its own)."""
    perf = config.pluginmanager.get_plugin("llmeval-perf-report")
    return bool(perf is not None and perf.runs)
