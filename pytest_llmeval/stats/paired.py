"""The difference between two runs of one metric, with its standard error, interval and p-value.

- Paired, binary per-sample scores: McNemar's exact test (McNemar 1947; the exact form is the
  two-sided binomial test of b successes in b + c trials at 1/2, where b and c count the discordant
  pairs). scipy's `binomtest` computes it.
- Paired, other scores: the paired t-test on the per-sample differences (scipy's `ttest_rel`).
- Both paired cases give the difference of means with the paired standard error
  `sd(new_i - old_i) / sqrt(n)` (Miller 2024, section 4.2: pairing removes the variance the two
  runs share through their questions).
- Unpaired (only the two results files): a two-sample z-test with
  `se = sqrt(se_old^2 + se_new^2)`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from .intervals import LEVEL, z_value

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


class Difference(BaseModel):
    """new - old, with `se`, the two-sided interval at `level`, and `p_value` of `test` (the null
    hypothesis: no difference). `n` counts pairs (None when unpaired); `discordant` is McNemar's
    (b, c) = (old 1 & new 0, old 0 & new 1)."""

    delta: float
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: Literal["mcnemar-exact", "paired-t", "unpaired-z"]
    n: int | None = None
    discordant: tuple[int, int] | None = None
    level: float = LEVEL


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant pairs (1.0 when there are none).

    Raises ValueError for negative counts."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(min(1.0, binomtest(min(b, c), b + c, 0.5).pvalue))


def paired_difference(
    old: ArrayLike, new: ArrayLike, *, binary: bool | None = None, level: float = LEVEL
) -> Difference:
    """Paired difference of `new` and `old`, per-sample values of the same samples in the same order.

    `binary` (default: inferred, every value 0 or 1) selects McNemar's exact test over the paired t-test.
    Raises ValueError when the arrays differ in length or are empty."""
    import numpy as np  # here: numpy costs ~13 MB, and only the end of a run needs it

    a = np.asarray(old, dtype=float)
    b = np.asarray(new, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError("paired_difference needs two non-empty 1-d arrays of the same length")
    if binary is None:
        binary = bool(np.all(np.isin(a, (0.0, 1.0))) and np.all(np.isin(b, (0.0, 1.0))))
    d = b - a
    n = d.size
    delta = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else float("nan")
    se = sd / math.sqrt(n) if n > 1 else float("nan")
    if binary:
        lost = int(np.sum((a == 1) & (b == 0)))
        gained = int(np.sum((a == 0) & (b == 1)))
        p = mcnemar_exact(lost, gained)
        z = z_value(level)
        low, high = (delta - z * se, delta + z * se) if n > 1 else (float("nan"), float("nan"))
        return _difference(delta, se, low, high, p, "mcnemar-exact", n, (lost, gained), level)
    if n < 2:
        return _difference(delta, se, float("nan"), float("nan"), float("nan"), "paired-t", n, None, level)
    from scipy import stats

    if sd == 0:  # every pair moved by the same amount: no noise to test against
        p = 1.0 if delta == 0 else 0.0
        return _difference(delta, 0.0, delta, delta, p, "paired-t", n, None, level)
    p = float(stats.ttest_rel(b, a).pvalue)
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    return _difference(delta, se, delta - t * se, delta + t * se, p, "paired-t", n, None, level)


def unpaired_difference(
    old: float, old_se: float | None, new: float, new_se: float | None, level: float = LEVEL
) -> Difference:
    """new - old of two independent estimates; se, interval and p are None when a se is unknown."""
    delta = new - old
    if old_se is None or new_se is None:
        return Difference(delta=delta, se=None, ci_low=None, ci_high=None, p_value=None, test="unpaired-z", level=level)
    se = math.sqrt(old_se**2 + new_se**2)
    z = z_value(level)
    if se == 0:
        p = 1.0 if delta == 0 else 0.0
    else:
        from statistics import NormalDist

        p = 2 * (1 - NormalDist().cdf(abs(delta) / se))
    return Difference(
        delta=delta, se=se, ci_low=delta - z * se, ci_high=delta + z * se, p_value=p, test="unpaired-z", level=level
    )


def _difference(
    delta: float,
    se: float,
    low: float,
    high: float,
    p: float,
    test: Literal["mcnemar-exact", "paired-t", "unpaired-z"],
    n: int,
    discordant: tuple[int, int] | None,
    level: float,
) -> Difference:
    clean = lambda v: None if math.isnan(v) else v  # noqa: E731
    return Difference(
        delta=delta,
        se=clean(se),
        ci_low=clean(low),
        ci_high=clean(high),
        p_value=clean(p),
        test=test,
        n=n,
        discordant=discordant,
        level=level,
    )
