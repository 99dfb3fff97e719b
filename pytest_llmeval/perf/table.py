"""The terminal report of a perf run, in the spirit of EvalScope's summary: one throughput row per
level, then latency statistics per level (latency in s; TTFT, TPOT and ITL in ms), then notes
(token source, errors with the first error's text, approximations)."""

from __future__ import annotations

from collections.abc import Sequence

from ..terminal_text import printable
from ..texttable import format_table
from .metrics import LatencyStats, PerfResult

_STATS = ("mean", "p50", "p90", "p95", "p99", "max")


def _num(value: float | None, scale: float = 1.0, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value * scale:,.{digits}f}"


def _stat_row(level: str, name: str, stats: LatencyStats, scale: float, digits: int) -> list[str]:
    return [level, name, *(_num(getattr(stats, s), scale, digits) for s in _STATS), str(stats.count)]


def _level(result: PerfResult) -> str:
    return str(result.parallel) if result.parallel is not None else "-"


def perf_lines(results: Sequence[PerfResult], title: str | None = None) -> list[str]:
    """Lines of the report for the levels of one run (in the order given)."""
    if not results:
        return []
    lines = [title] if title else []
    with_goodput = any(r.goodput is not None for r in results)
    shaped = any(r.api != "chat" for r in results)  # embeddings / rerank: batch, input length, inputs/s
    header = ["Conc.", "Rate", "Num", "OK", "Fail", "Dur (s)", "RPS", "In tok/s", "Out tok/s", "Total tok/s"]
    if shaped:
        header = [*header[:2], "Batch", "In len", *header[2:7], "Inputs/s", "In tok/s"]
    if with_goodput:
        header.append("Goodput")
    rows = []
    for r in results:
        row = [
            _level(r),
            f"{r.rate:g}" if r.rate is not None else "-",
            str(r.number),
            str(r.ok),
            str(r.failed),
            _num(r.duration_s),
            _num(r.request_throughput),
            _num(r.input_throughput, digits=1),
            _num(r.output_throughput, digits=1),
            _num(r.total_throughput, digits=1),
        ]
        if shaped:
            shape = [str(r.batch_size or 1), str(r.input_length) if r.input_length else "-"]
            row = [*row[:2], *shape, *row[2:7], _num(r.inputs_throughput, digits=1), row[7]]
        if with_goodput:
            row.append(f"{r.goodput.ratio:.1%}" if r.goodput is not None else "-")
        rows.append(row)
    lines += format_table(header, rows)
    lines.append("")
    stat_rows = []
    for r in results:
        level = f"{_level(r)}" + (f" @{r.rate:g}/s" if r.rate is not None else "")
        if r.api != "chat":
            level += f" b{r.batch_size or 1}" + (f" n{r.input_length}" if r.input_length else "")
        stat_rows.append(_stat_row(level, "Latency (s)", r.latency, 1.0, 3))
        if r.stream:
            stat_rows.append(_stat_row("", "TTFT (ms)", r.ttft, 1000.0, 2))
            stat_rows.append(_stat_row("", "TPOT (ms)", r.tpot, 1000.0, 2))
            stat_rows.append(_stat_row("", "ITL (ms)", r.itl, 1000.0, 2))
    lines += format_table(["Conc.", "Metric", *_STATS, "count"], stat_rows)
    lines += replica_lines(results)
    lines += note_lines(results)
    return lines


def replica_lines(results: Sequence[PerfResult]) -> list[str]:
    """Each replica's share of each level, when the load was spread over replicas (perf/replicas.py)."""
    rows = []
    for r in results:
        level = f"{_level(r)}" + (f" @{r.rate:g}/s" if r.rate is not None else "")
        for part in r.replicas:
            rows.append(
                [
                    level,
                    part.url,
                    str(part.number),
                    str(part.ok),
                    str(part.failed),
                    _num(part.request_throughput),
                    _num(part.output_throughput, digits=1),
                    _num(part.latency.mean, digits=3),
                    _num(part.latency.p99, digits=3),
                    _num(part.ttft.p50, 1000.0),
                ]
            )
            level = ""
    if not rows:
        return []
    header = [
        "Conc.",
        "Replica",
        "Num",
        "OK",
        "Fail",
        "RPS",
        "Out tok/s",
        "Lat mean (s)",
        "Lat p99 (s)",
        "TTFT p50 (ms)",
    ]
    return ["", *format_table(header, rows)]


def note_lines(results: Sequence[PerfResult]) -> list[str]:
    notes: list[str] = []
    sources = sorted({r.token_source for r in results if r.ok})
    if sources:
        notes.append(f"token counts: {', '.join(sources)}")
    for r in results:
        if r.failed:
            kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(r.errors.items()))
            # the server's own words: its control characters shown, never obeyed by the terminal
            notes.append(f"{r.label}: {r.failed} failed ({kinds}); first error: {printable(r.first_error or '')}")
        if r.send_lag_max_s is not None and r.send_lag_max_s > 0.005:
            notes.append(f"{r.label}: arrivals left up to {r.send_lag_max_s * 1000:.1f} ms late (client saturated?)")
        for note in r.notes:
            if f"{note}" not in notes:
                notes.append(note)
    return [f"note: {n}" for n in notes]
