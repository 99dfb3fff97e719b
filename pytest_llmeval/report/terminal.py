"""What an evaluation run shows in the terminal: the scope line after collection, the live
progress line, the condensed wrong answers, the score table, the request counts, the verdict line,
and `--llm-list`.

Everything here is text in, lines out (no pytest objects), so the hooks in `run/` stay thin
and the lines are easy to test and extend: the score table is a list of `ScoreColumn`s over the rows of
`report/scores.py`.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..benchmarks.base import Benchmark
from ..results import RunResult
from ..terminal_text import printable
from ..texttable import format_table
from .scores import ScoreRow, format_score, score_rows


@dataclass(frozen=True)
class ScoreColumn:
    """A column of the score table: its header and how a row fills it. Append to SCORE_COLUMNS
    (or pass `columns=`) to add one, e.g. an error bar or a truncation count."""

    header: str
    cell: Callable[[ScoreRow], str]


SCORE_COLUMNS: list[ScoreColumn] = [
    ScoreColumn("model", lambda r: r.model),
    ScoreColumn("benchmark", lambda r: r.benchmark),
    ScoreColumn("subset", lambda r: r.subset_label),
    ScoreColumn("metric", lambda r: r.metric_label),
    ScoreColumn("score", lambda r: format_score(r.value)),
    ScoreColumn("se [95% CI]", lambda r: r.interval or "-"),
    ScoreColumn("count", lambda r: str(r.count)),
    ScoreColumn("errors", lambda r: str(r.errors)),
]


def score_lines(result: RunResult, columns: Sequence[ScoreColumn] | None = None) -> list[str]:
    columns = SCORE_COLUMNS if columns is None else columns
    rows = [[column.cell(row) for column in columns] for row in score_rows(result)]
    lines = format_table([column.header for column in columns], rows)
    lines.extend(truncation_lines(result))
    if result.thresholds:
        lines.append("")
        for outcome in result.thresholds:
            value = "missing" if outcome.value is None else f"{outcome.value:.4f}"
            word = {"undecided": "UNDECIDED"}.get(outcome.status or "", "PASS" if outcome.passed else "FAIL")
            why = f"; {outcome.reason}" if outcome.reason else ""
            lines.append(f"{word}  {outcome.expression}  (actual {value}{why})")
    skipped = result.requests.skipped_early_stop
    if skipped:
        total = skipped + sum(bench.count + bench.errors for bench in result.benchmarks.values())
        lines.append(
            f"early stop: {skipped} of {total} samples not requested ({skipped / total:.0%} of the requests saved)"
        )
    return lines


def truncation_notes(result: RunResult) -> list[str]:
    """Per benchmark with outputs cut off at max_tokens (finish_reason `length`): how many, and the
    fix; none when nothing was truncated. Shared by the terminal summary and the HTML report."""
    return [
        f"{name}: {bench.truncated} of {bench.count} outputs stopped at max_tokens "
        "(finish_reason 'length'); raise it with --llm-gen max_tokens=N"
        for name, bench in result.benchmarks.items()
        if bench.truncated
    ]


def selection_notes(result: RunResult) -> list[str]:
    """Per benchmark some of whose samples -k, -m, --lf or --deselect removed: how many ran, since
    its metrics describe those samples, not the benchmark; none when nothing was deselected."""
    notes = []
    for name, deselected in result.samples_deselected.items():
        bench = result.benchmarks.get(name)
        ran = bench.count + bench.errors if bench is not None else 0
        notes.append(
            f"{name}: {ran} of {ran + deselected} samples ran, {deselected} deselected "
            "(-k, -m, --lf or --deselect); its metrics describe these samples, not the benchmark"
        )
    return notes


def truncation_lines(result: RunResult) -> list[str]:
    return [f"truncated: {note}" for note in truncation_notes(result)]


def deselection_lines(result: RunResult) -> list[str]:
    return [f"selection: {note}" for note in selection_notes(result)]


def benchmark_list_lines(benchmarks: Mapping[str, type[Benchmark]], width: int = 100) -> list[str]:
    """`--llm-list`: one block per benchmark; long subset lists wrap instead of widening a table."""
    lines: list[str] = []
    for name, cls in benchmarks.items():
        tags = f"  [{', '.join(cls.tags)}]" if cls.tags else ""
        lines.append(f"{name}{tags}  {cls.description}".rstrip())
        for label, values in (("subsets", list(cls.subsets)), ("metrics", cls.metric_names())):
            text = f"{label} ({len(values)}): " + ", ".join(values)
            lines.extend(textwrap.wrap(text, width, initial_indent="    ", subsequent_indent="        "))
    lines.append("")
    lines.append("select with -m: a benchmark name, a subset or a tag, e.g. -m gsm8k, -m 'iquiz and EQ'")
    return lines


def no_selection_lines(benchmarks: Mapping[str, type[Benchmark]]) -> list[str]:
    names = ", ".join(benchmarks)
    return [
        "no benchmark selected: -m selects benchmarks by name, subset or tag, e.g. -m gsm8k or -m 'iquiz and EQ'",
        f"available: {names} (pytest --llm-list shows subsets and metrics)",
    ]


# -- scope and progress ------------------------------------------------------------------------


def count_samples(nodeids: Iterable[str], is_sample: Callable[[str], bool]) -> dict[str, dict[str, int]]:
    """{benchmark: {subset: samples}} from sample node ids `BENCH/SUBSET::ID`, in first-seen order."""
    counts: dict[str, dict[str, int]] = {}
    for nodeid in nodeids:
        if is_sample(nodeid):
            bench, _, subset = nodeid.partition("::")[0].partition("/")
            subsets = counts.setdefault(bench, {})
            subsets[subset] = subsets.get(subset, 0) + 1
    return counts


def scope_line(counts: Mapping[str, Mapping[str, int]], in_flight: int, max_parts: int = 4) -> str:
    """`200 samples from gsm8k (main), 16 requests in flight`; several benchmarks are listed with
    their own counts, long lists end in `+N more`."""
    total = sum(sum(subsets.values()) for subsets in counts.values())
    noun = "sample" if total == 1 else "samples"
    if len(counts) == 1:
        ((bench, subsets),) = counts.items()
        names = ", ".join(list(subsets)[:max_parts]) + (
            f", +{len(subsets) - max_parts} more" if len(subsets) > max_parts else ""
        )
        source = f"{bench} ({names})"
    else:
        parts = [f"{bench} {sum(subsets.values())}" for bench, subsets in counts.items()]
        source = ", ".join(parts[:max_parts]) + (f", +{len(parts) - max_parts} more" if len(parts) > max_parts else "")
    return f"llmeval: {total} {noun} from {source}, {in_flight} request{'' if in_flight == 1 else 's'} in flight"


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass
class Progress:
    """Counts of a running evaluation: `done` of `total` samples, how many answers were sent to
    the endpoint and how many came from the cache, wrong answers and errors.

    `rate` is answers per second since the first sample finished; `eta_s` the remaining samples at
    that rate (None until two samples are done).
    """

    total: int
    done: int = 0
    sent: int = 0
    cached: int = 0
    wrong: int = 0
    errors: int = 0
    started: float = field(default_factory=time.monotonic)
    first_done: float | None = None

    def add(self, *, cached: bool, passed: bool | None, error: bool, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.done += 1
        if self.first_done is None:
            self.first_done = now
        if cached:
            self.cached += 1
        else:
            self.sent += 1
        if error:
            self.errors += 1
        elif passed is False:
            self.wrong += 1

    def rate(self, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        elapsed = now - self.started
        return self.done / elapsed if self.done >= 2 and elapsed > 0 else None

    def line(self, now: float | None = None) -> str:
        """`llmeval 37/200 [ 18%]  sent 30  cached 7  wrong 4  2.4/s  ETA 1:10`."""
        percent = self.done * 100 // self.total if self.total else 100
        parts = [f"llmeval {self.done}/{self.total} [{percent:3d}%]", f"sent {self.sent}", f"cached {self.cached}"]
        if self.wrong:
            parts.append(f"wrong {self.wrong}")
        if self.errors:
            parts.append(f"errors {self.errors}")
        rate = self.rate(now)
        if rate is not None:
            parts.append(f"{rate:.1f}/s")
            if self.done < self.total:
                parts.append(f"ETA {_clock((self.total - self.done) / rate)}")
        elif self.done < self.total:
            parts.append("ETA -")
        return "  ".join(parts)


# -- after the run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleProblem:
    """A wrong answer or an error of one sample, as the terminal shows it. `text` may be a
    function that makes it: only the shown ones are made (a 100k-sample run fails 100k times)."""

    benchmark: str
    nodeid: str
    text: str | Callable[[], str]

    def message(self) -> str:
        return self.text() if callable(self.text) else self.text


def condensed_lines(
    title: str, problems: Sequence[SampleProblem], totals: Mapping[str, int], show: int | None
) -> list[str]:
    """Per benchmark: how many of its samples had the problem, then the first `show` of them
    (all when `show` is None), and a note on how to see the rest."""
    lines: list[str] = []
    by_bench: dict[str, list[SampleProblem]] = {}
    for problem in problems:
        by_bench.setdefault(problem.benchmark, []).append(problem)
    for bench, group in by_bench.items():
        total = totals.get(bench)
        of = f" of {total}" if total else ""
        lines.append(f"{bench}: {len(group)}{of} samples {title}")
        shown = group if show is None else group[:show]
        for problem in shown:
            text = printable(problem.message()).strip().splitlines() or [""]
            lines.append(f"  {problem.nodeid}: {text[0]}")
            lines.extend(f"  {line}" for line in text[1:])
        hidden = len(group) - len(shown)
        if hidden:
            lines.append(f"  ... {hidden} more (-v or --llm-show-failures N shows more)")
    return lines


def requests_line(sent: int, cached: int, failed: int, not_sent: int = 0) -> str:
    """`requests: 180 sent (3 failed), 20 answers from the cache`, and `; 2 samples not sent (bad
    input)` when samples failed before any request could be made of them."""
    failures = f" ({failed} failed)" if failed else ""
    line = f"requests: {sent} sent{failures}, {cached} answer{'' if cached == 1 else 's'} from the cache"
    if not_sent:
        line += f"; {not_sent} sample{'' if not_sent == 1 else 's'} not sent (bad input)"
    return line


def verdict_line(passed: bool, reasons: Sequence[str], exit_status: int, undecided: bool = False) -> str:
    """The run's last line when a gate decides: `llmeval: PASS (exit status 0)`,
    `llmeval: FAIL: gsm8k.acc>=0.8 (actual 0.7500) (exit status 1)`, or, when the only failures are
    thresholds whose interval straddles the value (`--llm-threshold-mode ci`), `llmeval: UNDECIDED:
    ...` (the run still fails: more samples would decide)."""
    if passed:
        return f"llmeval: PASS, every gate holds (exit status {exit_status})"
    word = "UNDECIDED" if undecided else "FAIL"
    return f"llmeval: {word}: {'; '.join(reasons) or 'a gate failed'} (exit status {exit_status})"
