"""The capacity an SLO allows: the highest concurrency (or request rate) whose measured latencies
meet user constraints such as ``p99_ttft<=2s,tpot<=50ms``.

The question EvalScope's ``--sla-auto-tune`` and vLLM's ``vllm bench sweep`` answer, asked as a
search rather than a fixed grid:

1. **Bracketing.** Measure ``start`` (default 1), then double (1, 2, 4, 8 ...) while the level
   passes, up to ``limit``. The last passing value and the first failing one bracket the answer.
   A ``limit`` that still passes is the answer, marked not bracketed (the capacity is at least that).
   A ``start`` that already fails gives 0 (no load level meets the SLO).
2. **Bisection** between them until they are ``resolution`` apart (1 request in flight for a
   concurrency search; for a rate search 10% of the passing rate, at least 0.01 req/s): the answer
   is the last passing value. In all, about ``2 * log2(answer)`` levels.

Every level is measured ``repeats`` times (default 3; each repeat a perf level of its own, with
its own prompts). **Noise:** a level passes when the SLO holds in a *majority* of its repeats (the
median repeat passes: one disturbed repeat, a GC pause or a neighbour's burst on a shared machine,
neither fails a good level nor passes a bad one), or, with ``rule="all"``, in every repeat (the
conservative reading: the SLO held every time it was measured). Levels are assumed monotone (a
higher load is never faster); the search trusts that and measures each value once.

A constraint is ``[STAT_]METRIC<=VALUE[UNIT]``: METRIC ``ttft``, ``tpot``, ``itl`` or ``latency``
(the definitions of `perf/metrics.py`), STAT ``mean`` (when omitted, as SageMaker's concurrency
search), ``p50``, ``p90``, ``p95``, ``p99`` or ``max``; UNIT ``s`` (default) or ``ms``. Also
``error_rate<=X`` (a fraction, or ``X%``) on the share of failed requests; without it, a repeat with
any failed request fails (errors are not a latency that meets an SLO). ``<`` is accepted for ``<=``.

Requests per repeat: ``number`` when given, else ``max(MIN_REQUESTS, 5 x level)`` for a concurrency
(every slot is reused about five times, as EvalScope's pairing) and ``max(MIN_REQUESTS, 5 s x rate)``
for a rate.

`search` is the pure algorithm (it is given a function that measures one value); `run_search`
binds it to the perf runner.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import ConfigError
from .metrics import PerfResult

METRICS = ("ttft", "tpot", "itl", "latency")
STATS = ("mean", "p50", "p90", "p95", "p99", "max")
RULES = ("majority", "all")
MIN_REQUESTS = 20
REQUESTS_PER_SLOT = 5
RATE_SECONDS = 5.0  # a rate level sends about this many seconds of arrivals
SEARCH_KEYS = ("repeats", "rule", "resolution")  # --llm-perf words that belong to the search

_CLAUSE = re.compile(r"^\s*(?P<name>[a-z0-9_]+)\s*(?P<op><=|<)\s*(?P<value>[0-9.eE+-]+)\s*(?P<unit>ms|s|%)?\s*$")


class SloConstraint(BaseModel):
    """One constraint: `stat` of `metric` at most `limit` (seconds; a fraction for error_rate)."""

    metric: Literal["ttft", "tpot", "itl", "latency", "error_rate"]
    stat: Literal["mean", "p50", "p90", "p95", "p99", "max"] = "mean"
    limit: float

    @property
    def label(self) -> str:
        if self.metric == "error_rate":
            return f"error_rate<={self.limit:g}"
        value = f"{self.limit * 1000:g}ms" if self.limit < 1 else f"{self.limit:g}s"
        return f"{self.stat}_{self.metric}<={value}"

    def observed(self, result: PerfResult) -> float | None:
        """The measured figure this constraint looks at (None when the level has none, e.g. TTFT
        of a level whose requests all failed)."""
        if self.metric == "error_rate":
            total = result.ok + result.failed
            return result.failed / total if total else 1.0
        value = getattr(getattr(result, self.metric), self.stat)
        return float(value) if value is not None else None

    def holds(self, result: PerfResult) -> bool:
        value = self.observed(result)
        return value is not None and value <= self.limit


def parse_slo(text: str) -> list[SloConstraint]:
    """``"p99_ttft<=2s,tpot<=50ms"`` -> constraints. Raises ConfigError naming the clause."""
    constraints: list[SloConstraint] = []
    form = "[STAT_]METRIC<=VALUE[s|ms] such as p99_ttft<=2s,tpot<=50ms"
    for clause in (c for c in text.split(",") if c.strip()):
        match = _CLAUSE.match(clause.lower())
        if match is None:
            raise ConfigError(f"SLO clause {clause.strip()!r} is not {form} (or error_rate<=0.01)")
        name, unit = match["name"], match["unit"]
        try:
            value = float(match["value"])
        except ValueError:
            raise ConfigError(f"SLO clause {clause.strip()!r}: {match['value']!r} is not a number") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and name != "error_rate"):
            raise ConfigError(f"SLO clause {clause.strip()!r}: the limit must be a positive number")
        if name == "error_rate":
            if unit in ("s", "ms"):
                raise ConfigError(f"SLO clause {clause.strip()!r}: error_rate is a fraction (0.01) or a percent (1%)")
            rate = value / 100 if unit == "%" else value
            if rate > 1:  # a share of requests: above 100% it bounds nothing (always met)
                raise ConfigError(
                    f"SLO clause {clause.strip()!r}: error_rate is a share of requests, at most 1 (100%); "
                    "e.g. error_rate<=0.01 or error_rate<=1%"
                )
            constraints.append(SloConstraint(metric="error_rate", limit=rate))
            continue
        stat, _, metric = name.rpartition("_")
        stat = stat or "mean"
        if metric not in METRICS or stat not in STATS:
            unknown = f"metric {metric!r}" if metric not in METRICS else f"statistic {stat!r}"
            raise ConfigError(
                f"SLO clause {clause.strip()!r}: unknown {unknown}; "
                f"metrics {', '.join(METRICS)}, statistics {', '.join(STATS)} (e.g. p99_ttft<=2s)"
            )
        if unit == "%":
            raise ConfigError(f"SLO clause {clause.strip()!r}: a time takes s or ms, not %")
        constraints.append(
            SloConstraint(metric=metric, stat=stat, limit=value / 1000 if unit == "ms" else value)  # type: ignore[arg-type]
        )
    if not constraints:
        raise ConfigError(f"an SLO needs at least one constraint: {form}")
    return constraints


class ProbedLevel(BaseModel):
    """One value the search measured: did it pass, how many repeats passed, what each constraint saw
    (one figure per repeat, in seconds or as a fraction; None where the repeat had none)."""

    value: float
    passed: bool
    repeats: int
    repeats_passed: int
    observed: dict[str, list[float | None]] = Field(default_factory=dict)
    phase: Literal["bracket", "bisect"] = "bracket"

    def median(self, label: str) -> float | None:
        values = [v for v in self.observed.get(label, []) if v is not None]
        return statistics.median(values) if values else None


class CapacityResult(BaseModel):
    """The answer of a search, with every level it measured (in the order measured).

    `max_concurrency` (concurrency search) or `max_rate` (rate search) is the highest value that
    passed; 0 when even the first value failed. `bracketed` is False when `limit` still passed
    (the real capacity may be higher)."""

    slo: str
    variable: Literal["parallel", "rate"]
    rule: Literal["majority", "all"]
    repeats: int
    limit: float
    resolution: float
    value: float = 0.0
    first_failing: float | None = None
    bracketed: bool = True
    levels: list[ProbedLevel] = Field(default_factory=list)
    test: str = ""  # the node id of the test that ran it (set by the perf plugin)

    @property
    def max_concurrency(self) -> int:
        if self.variable != "parallel":
            raise AttributeError("this was a rate search: use .max_rate")
        return int(self.value)

    @property
    def max_rate(self) -> float:
        if self.variable != "rate":
            raise AttributeError("this was a concurrency search: use .max_concurrency")
        return self.value

    def describe(self) -> str:
        """One line: the answer and what bounds it."""
        noun = "concurrency" if self.variable == "parallel" else "request rate"
        unit = "" if self.variable == "parallel" else " req/s"
        how = f"{self.rule} of {self.repeats} repeat(s)"
        if self.value == 0:
            first = self.levels[0].value if self.levels else 0
            return f"no {noun} meets {self.slo} ({how}): the first level, {first:g}{unit}, already fails"
        if not self.bracketed:
            return f"max {noun} {self.value:g}{unit} meets {self.slo} ({how}); the search limit, so at least that"
        return f"max {noun} {self.value:g}{unit} meets {self.slo} ({how}); {self.first_failing:g}{unit} does not"


class CapacitySearch(BaseModel):
    """What to search: the constraints, the variable and its range, repeats, the pass rule."""

    slo: list[SloConstraint]
    slo_text: str
    variable: Literal["parallel", "rate"] = "parallel"
    start: float = 1
    limit: float = 256
    repeats: int = Field(default=3, ge=1, le=20)
    rule: Literal["majority", "all"] = "majority"
    resolution: float | None = Field(default=None, gt=0)
    number: int | None = Field(default=None, ge=1)

    def step(self, passing: float) -> float:
        if self.resolution is not None:
            return self.resolution
        return 1.0 if self.variable == "parallel" else max(0.1 * passing, 0.01)

    def requests(self, value: float) -> int:
        if self.number is not None:
            return max(self.number, int(value)) if self.variable == "parallel" else self.number
        per = REQUESTS_PER_SLOT * value if self.variable == "parallel" else RATE_SECONDS * value
        return max(MIN_REQUESTS, math.ceil(per))

    def judge(self, value: float, results: Sequence[PerfResult], phase: Literal["bracket", "bisect"]) -> ProbedLevel:
        """The verdict on one value from its repeats (a missing repeat counts as failed)."""
        implicit_errors = not any(c.metric == "error_rate" for c in self.slo)
        observed: dict[str, list[float | None]] = {c.label: [c.observed(r) for r in results] for c in self.slo}
        passed = sum(
            1 for r in results if all(c.holds(r) for c in self.slo) and not (implicit_errors and (r.failed or not r.ok))
        )
        needed = self.repeats if self.rule == "all" else self.repeats // 2 + 1
        return ProbedLevel(
            value=value,
            passed=passed >= needed,
            repeats=self.repeats,
            repeats_passed=passed,
            observed=observed,
            phase=phase,
        )


Measure = Callable[[float, int, int], list[PerfResult]]  # (value, requests per repeat, repeats) -> results


def search(spec: CapacitySearch, measure: Measure) -> CapacityResult:
    """Bracket by doubling from `spec.start`, then bisect to `spec.step` (module docstring)."""
    integer = spec.variable == "parallel"
    result = CapacityResult(
        slo=spec.slo_text,
        variable=spec.variable,
        rule=spec.rule,
        repeats=spec.repeats,
        limit=spec.limit,
        resolution=spec.step(spec.start),
    )

    def probe(value: float, phase: Literal["bracket", "bisect"]) -> bool:
        value = float(int(value)) if integer else round(value, 6)
        level = spec.judge(value, measure(value, spec.requests(value), spec.repeats), phase)
        result.levels.append(level)
        return level.passed

    passing: float | None = None
    failing: float | None = None
    value = spec.start
    while True:
        if probe(value, "bracket"):
            passing = value
            if value >= spec.limit:
                result.bracketed = False
                break
            value = min(value * 2, spec.limit)
        else:
            failing = value
            break
    if passing is None:
        result.first_failing = failing
        result.value = 0.0
        return result
    if failing is not None:
        while failing - passing > spec.step(passing) + 1e-9:
            middle = (passing + failing) / 2
            if integer:
                middle = float(int(middle))
                if middle <= passing:
                    break
            if probe(middle, "bisect"):
                passing = middle
            else:
                failing = middle
    result.value = passing
    result.first_failing = failing
    return result


def make_search(
    slo: str,
    *,
    parallel: Any = None,
    rate: Any = None,
    repeats: int = 3,
    rule: str = "majority",
    resolution: float | None = None,
    number: int | None = None,
) -> CapacitySearch:
    """A CapacitySearch from user arguments: `parallel=(start, limit)` (default (1, 256)) or
    `rate=(start, limit)` in requests/s. Raises ConfigError."""
    constraints = parse_slo(slo)
    if parallel is not None and rate is not None:
        raise ConfigError("capacity search: give parallel=(START, LIMIT) or rate=(START, LIMIT), not both")
    variable = "rate" if rate is not None else "parallel"
    bounds = _bounds(rate if rate is not None else parallel, variable)
    if rule not in RULES:
        raise ConfigError(f"capacity search: rule must be one of {', '.join(RULES)}, got {rule!r}")
    if not isinstance(repeats, int) or isinstance(repeats, bool) or not 1 <= repeats <= 20:
        raise ConfigError(f"capacity search: repeats must be a whole number from 1 to 20, got {repeats!r}")
    if resolution is not None and resolution <= 0:
        raise ConfigError(f"capacity search: resolution must be positive, got {resolution!r}")
    return CapacitySearch(
        slo=constraints,
        slo_text=",".join(c.label for c in constraints),
        variable=variable,  # type: ignore[arg-type]
        start=bounds[0],
        limit=bounds[1],
        repeats=repeats,
        rule=rule,  # type: ignore[arg-type]
        resolution=resolution,
        number=number,
    )


def _bounds(value: Any, variable: str) -> tuple[float, float]:
    if value is None:
        return (1.0, 256.0)
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    try:
        numbers = [float(v) for v in items]
    except (TypeError, ValueError):
        raise ConfigError(
            f"capacity search: {variable} expects START,LIMIT numbers such as 1,256, got {value!r}"
        ) from None
    if len(numbers) == 1:
        numbers = [1.0 if variable == "parallel" else min(1.0, numbers[0]), numbers[0]]
    start, limit = numbers[0], numbers[-1]
    if start <= 0 or limit < start or (variable == "parallel" and (start != int(start) or limit != int(limit))):
        raise ConfigError(
            f"capacity search: {variable} range must be 0 < START <= LIMIT"
            f"{' (whole numbers)' if variable == 'parallel' else ''}, got {value!r}"
        )
    return start, limit


def search_words(words: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """`--llm-perf` words split into the search's own (`repeats=`, `rule=`, `resolution=`) and the rest."""
    own: dict[str, str] = {}
    rest: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key.strip().replace("-", "_") in SEARCH_KEYS:
            own[key.strip().replace("-", "_")] = value.strip()
        else:
            rest.append(word)
    return own, rest


def split_words(load: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`--llm-perf` keyword arguments split into (search arguments, workload arguments): the range
    of `parallel`/`rate`, `number`, and `repeats`/`rule`/`resolution` drive the search."""
    search_args = {k: load[k] for k in (*SEARCH_KEYS, "parallel", "rate", "number") if k in load}
    workload = {k: v for k, v in load.items() if k not in search_args and k != "duration"}
    if "repeats" in search_args:
        search_args["repeats"] = _whole(search_args["repeats"], "repeats")
    if "number" in search_args:
        search_args["number"] = _whole(search_args["number"], "number")
    if "resolution" in search_args:
        try:
            search_args["resolution"] = float(search_args["resolution"])
        except (TypeError, ValueError):
            raise ConfigError(
                f"capacity search: resolution expects a number, got {search_args['resolution']!r}"
            ) from None
    return search_args, workload


def _whole(value: Any, key: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"capacity search: {key} expects one whole number, got {value!r}") from None
    return number


def level_load(spec: CapacitySearch, value: float, number: int, repeats: int) -> dict[str, Any]:
    """The perf load keys that measure `value` `repeats` times (one perf level per repeat)."""
    if spec.variable == "parallel":
        return {"parallel": [int(value)] * repeats, "number": [number] * repeats}
    return {"rate": [value] * repeats, "number": [number] * repeats}


def lines(result: CapacityResult) -> list[str]:
    """The terminal report: the answer, then every measured level (medians of the repeats)."""
    from ..texttable import format_table

    labels = list(result.levels[0].observed) if result.levels else []
    header = ["Conc." if result.variable == "parallel" else "Rate", "phase", "verdict", "repeats ok", *labels]
    rows = []
    for level in sorted(result.levels, key=lambda lv: lv.value):
        cells = [
            f"{level.value:g}",
            level.phase,
            "pass" if level.passed else "FAIL",
            f"{level.repeats_passed}/{level.repeats}",
        ]
        for label in labels:
            median = level.median(label)
            if median is None:
                cells.append("-")
            elif label.startswith("error_rate"):
                cells.append(f"{median:.1%}")
            else:
                cells.append(f"{median * 1000:,.1f} ms")
        rows.append(cells)
    return [result.describe(), *format_table(header, rows), "(figures: the median of the repeats)"]
