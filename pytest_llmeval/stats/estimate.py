"""Which interval fits an aggregated metric, decided from the per-sample values behind it.

`metric_uncertainty` picks, per metric (docs/statistics.md has the table):

- `clustered` ratio: the benchmark declares the metric pooled over items grouped in samples
  (`weight` names the per-sample metric holding the group size, e.g. IFEval's instruction-level
  accuracy pools instructions within prompts) -> `clustered_ratio` with one cluster per sample;
- `clustered` mean: some sample had several generations (`n` > 1), so its value is already the mean
  of its generations -> CLT standard error of those per-sample means (Miller 2024: the clustered
  standard error when every cluster has the same size);
- `wilson`: every value is 0 or 1 with one generation each -> Wilson score interval;
- `clt`: any other mean -> CLT standard error of the mean;
- `none`: the reported value is not the (weighted) mean of the per-sample values (a custom
  `aggregate`), so no standard error is claimed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..results import MetricUncertainty
from .intervals import LEVEL, clustered_ratio, mean_interval, wilson_bounds

# aggregation rounding, not a different estimator
TOLERANCE = 1e-9


def metric_uncertainty(
    metric: str,
    value: float,
    per_sample: Sequence[Mapping[str, float]],
    generations: Sequence[int] | None = None,
    weight: str | None = None,
    level: float = LEVEL,
) -> MetricUncertainty:
    """The standard error and interval of `value`, the aggregate of `metric` over `per_sample`.

    `generations[i]`: how many generations sample i's values average (default 1 each).
    `weight`: the per-sample metric holding sample i's number of pooled items, when `value` is
    `sum(metric_i * weight_i) / sum(weight_i)` (see the module docstring).
    """
    gens = list(generations) if generations is not None else [1] * len(per_sample)
    rows = [
        (s[metric], g, s.get(weight, float("nan")) if weight else 1.0)
        for s, g in zip(per_sample, gens, strict=False)
        if metric in s
    ]
    if not rows:
        return MetricUncertainty(level=level)
    x = [float(r[0]) for r in rows]
    bounded = all(0 <= v <= 1 for v in x)
    if weight is not None:
        w = [float(r[2]) for r in rows]
        if all(math.isfinite(v) for v in w) and math.fsum(w) > 0:
            ratio, se, low, high = clustered_ratio([v * c for v, c in zip(x, w, strict=True)], w, level)
            if abs(ratio - value) <= TOLERANCE:
                return _result(se, low, high, len(rows), "clustered", level, bounded)
        return MetricUncertainty(level=level, n=len(rows))
    if abs(math.fsum(x) / len(x) - value) > TOLERANCE:
        return MetricUncertainty(level=level, n=len(rows))
    several = any(r[1] > 1 for r in rows)
    if not several and all(v in (0.0, 1.0) for v in x):
        successes, n = sum(1 for v in x if v == 1.0), len(rows)
        w_low, w_high = wilson_bounds(successes, n, level)
        p = successes / n
        return _result(math.sqrt(p * (1 - p) / n), w_low, w_high, n, "wilson", level, True)
    _, se, low, high = mean_interval(x, level)
    return _result(se, low, high, len(rows), "clustered" if several else "clt", level, bounded)


def _result(se: float, low: float, high: float, n: int, method: str, level: float, bounded: bool) -> MetricUncertainty:
    if math.isnan(se):
        return MetricUncertainty(level=level, n=n, method=method)  # type: ignore[arg-type]
    if bounded:
        low, high = max(low, 0.0), min(high, 1.0)
    return MetricUncertainty(se=se, ci_low=low, ci_high=high, level=level, n=n, method=method)  # type: ignore[arg-type]
