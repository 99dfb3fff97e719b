"""Confidence intervals for one aggregated metric.

- `wilson_interval`: Wilson score interval for a proportion (Wilson 1927; recommended by Brown,
  Cai & DasGupta, "Interval Estimation for a Binomial Proportion", Statist. Sci. 2001). It stays
  inside [0, 1] and is not degenerate at 0 or n successes, unlike the Wald interval.
- `mean_interval`: the CLT interval of a mean, `mean +- z * s / sqrt(n)` with the sample standard
  deviation `s` (ddof=1).
- `clustered_ratio`: the cluster-robust standard error of a ratio of sums
  `R = sum(y_i) / sum(w_i)` over independent clusters i (Miller, "Adding Error Bars to Evals: A
  Statistical Approach to Language Model Evaluations", arXiv:2411.00640, 2024, section 2.2; the
  linearised ratio estimator of survey sampling, Cochran, Sampling Techniques, 1977, 6.3).
- `correlation_interval`: Fisher's z interval of a Pearson or Spearman correlation (Spearman with
  Bonett & Wright's variance), for STS's ``cosine_pearson`` / ``cosine_spearman``.

These are closed-form. `wilson_interval` and `clustered_ratio` are vectorised with numpy, so the
coverage simulation in the tests runs 10,000 intervals at once; scipy's
`binomtest(...).proportion_ci(method="wilson")` computes the same interval one at a time, and the
tests check that both agree. `wilson_bounds` (one proportion) and `mean_interval` are plain Python:
the end of an ordinary run needs only them, and importing numpy there cost ~50 ms of wall time and
~13 MB (bench/eval_throughput.py, issue 31).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray


LEVEL = 0.95


def z_value(level: float = LEVEL) -> float:
    """The two-sided standard normal quantile for `level` (1.959964 for 0.95)."""
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be between 0 and 1, got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson_interval(
    successes: ArrayLike, n: ArrayLike, level: float = LEVEL
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score interval (low, high) for `successes` out of `n` trials; arrays broadcast.

    Raises ValueError when n < 1 or successes is outside 0..n.
    """
    import numpy as np  # here: numpy costs ~13 MB, and only the end of a run needs it

    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    if np.any(m < 1) or np.any(k < 0) or np.any(k > m):
        raise ValueError("wilson_interval needs n >= 1 and 0 <= successes <= n")
    center, half = _wilson_center_half(k, m, z_value(level), np.sqrt)
    # exactly 0 with no success and 1 with no failure (rounding left 2.8e-17 or 0.9999999999999999)
    low = np.where(k == 0, 0.0, np.clip(center - half, 0.0, 1.0))
    return low, np.where(k == m, 1.0, np.clip(center + half, 0.0, 1.0))


def wilson_bounds(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """`wilson_interval` of one proportion, as two floats (no numpy).

    Raises ValueError when n < 1 or successes is outside 0..n.
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError("wilson_interval needs n >= 1 and 0 <= successes <= n")
    center, half = _wilson_center_half(successes, n, z_value(level), math.sqrt)
    low = 0.0 if successes == 0 else min(max(center - half, 0.0), 1.0)
    return low, 1.0 if successes == n else min(max(center + half, 0.0), 1.0)


def _wilson_center_half(successes: Any, n: Any, z: float, sqrt: Callable[[Any], Any]) -> tuple[Any, Any]:
    """The Wilson interval's center and half-width, for floats (`math.sqrt`) or arrays (`np.sqrt`)."""
    p = successes / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    return center, z / denominator * sqrt(p * (1 - p) / n + z * z / (4 * n * n))


def mean_interval(values: Iterable[float], level: float = LEVEL) -> tuple[float, float, float, float]:
    """(mean, se, low, high) of the mean of `values` by the CLT; se = s / sqrt(n), s with ddof=1.

    With one value the standard error is undefined and returned as nan (bounds nan too).
    Raises ValueError for no values. Sums are exactly rounded (`math.fsum`).
    """
    x = [float(v) for v in values]
    if not x:
        raise ValueError("mean_interval needs at least one value")
    mean = math.fsum(x) / len(x)
    if len(x) < 2:
        return mean, float("nan"), float("nan"), float("nan")
    variance = math.fsum((v - mean) ** 2 for v in x) / (len(x) - 1)
    se = math.sqrt(variance / len(x))
    z = z_value(level)
    return mean, se, mean - z * se, mean + z * se


def clustered_ratio(
    numerators: ArrayLike, denominators: ArrayLike, level: float = LEVEL
) -> tuple[float, float, float, float]:
    """(ratio, se, low, high) of R = sum(y) / sum(w) over independent clusters.

    `numerators[i]` (y_i) and `denominators[i]` (w_i) are cluster i's sums, e.g. the instructions
    followed and the instructions given in IFEval prompt i, or the passing generations and the
    generations of sample i. The clustered standard error is

        se(R) = sqrt( C / (C - 1) * sum_i (y_i - R * w_i)^2 ) / sum_i w_i       (C clusters)

    which for equal cluster sizes equals the plain standard error of the cluster means.
    se is nan with a single cluster. Raises ValueError when sum(w) <= 0 or shapes differ.
    """
    import numpy as np  # here: numpy costs ~13 MB, and only the end of a run needs it

    y = np.asarray(numerators, dtype=float)
    w = np.asarray(denominators, dtype=float)
    if y.shape != w.shape or y.ndim != 1:
        raise ValueError("clustered_ratio needs two 1-d arrays of the same length")
    total = float(w.sum())
    if total <= 0:
        raise ValueError("clustered_ratio needs a positive sum of cluster sizes")
    ratio = float(y.sum() / total)
    clusters = y.size
    if clusters < 2:
        return ratio, float("nan"), float("nan"), float("nan")
    residual = y - ratio * w
    se = float(np.sqrt(clusters / (clusters - 1) * np.sum(residual**2)) / total)
    z = z_value(level)
    return ratio, se, ratio - z * se, ratio + z * se


def correlation_interval(r: float, n: int, kind: str, level: float = LEVEL) -> tuple[float, float, float] | None:
    """(se, low, high) of a Pearson or Spearman correlation ``r`` over ``n`` pairs; None when n < 4.

    Fisher's z = atanh(r) is close to normal with standard error 1/sqrt(n - 3) for Pearson's r
    (Fisher 1921; the interval scipy's ``pearsonr(...).confidence_interval()`` returns). For
    Spearman's rank correlation the variance is wider: Bonett & Wright (Psychometrika 65(1), 2000,
    "Sample size requirements for estimating Pearson, Kendall and Spearman correlations") use
    (1 + r²/2)/(n - 3), which is Fieller, Hartley & Pearson's (Biometrika 44, 1957) 1.06/(n - 3) at
    r ≈ 0.35 and wider above it. The interval is tanh(z ± z_crit·se_z), so it stays inside [-1, 1]
    and is asymmetric around r; ``se`` is the delta-method standard error in r's units,
    (1 - r²)·se_z, which ``--llm-compare`` combines across runs. |r| = 1 gives [r, r] and se 0.
    """
    if n < 4 or not math.isfinite(r):
        return None
    if kind == "pearson":
        se_z = 1.0 / math.sqrt(n - 3)
    elif kind == "spearman":
        se_z = math.sqrt((1.0 + r * r / 2.0) / (n - 3))
    else:
        raise ValueError(f"unknown correlation kind {kind!r}: use 'pearson' or 'spearman'")
    r = max(-1.0, min(1.0, r))
    if abs(r) == 1.0:
        return 0.0, r, r
    z, half = math.atanh(r), z_value(level) * se_z
    return (1.0 - r * r) * se_z, math.tanh(z - half), math.tanh(z + half)
