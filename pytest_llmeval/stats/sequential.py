"""Anytime-valid threshold tests for `--llm-early-stop`: decide `metric >= threshold` (or <=, >, <)
while samples arrive, and stop requesting samples once it is decided.

The target is the benchmark's score on all of its N samples (a finite population), seen in a
seeded random order. For a threshold m, two betting (capital) processes run side by side
(Waudby-Smith & Ramdas, "Estimating means of bounded random variables by betting", JRSS-B 2024,
hedged capital with the predictable plug-in bet; sampling without replacement as in Waudby-Smith &
Ramdas, "Confidence sequences for sampling without replacement", NeurIPS 2020):

    m_t  = (N*m - sum_{i<t} x_i) / (N - t + 1)      the mean the unseen samples must have if the
                                                    score were exactly m
    K+_t = prod_{i<=t} (1 + l+_i * (x_i - m_i))      grows when the score is above m
    K-_t = prod_{i<=t} (1 - l-_i * (x_i - m_i))      grows when it is below
    l_t  = min( sqrt(2 log(1/alpha) / (s2_{t-1} * t * log(1 + t))), c / m_t )   for K+ (c / (1 - m_t) for K-)
    s2_t = (1/4 + sum_{i<=t} (x_i - mu_i)^2) / (t + 1),   mu_t = (1/2 + sum_{i<=t} x_i) / (t + 1)

Under "score <= m" K+ is a nonnegative supermartingale, so by Ville's inequality it ever reaches
1/alpha with probability at most alpha, however often it is looked at: "above" is decided when
K+ >= 1/alpha, "below" when K- >= 1/alpha, each wrong with probability at most alpha. When the seen
samples settle it outright (m_t < 0 or > 1: no unseen values could change the verdict), it is
decided too. Values must lie in [0, 1].

Own code, not `confseq`: that package computes the whole confidence sequence over a grid of means
after every sample; a gate needs the test at one point per threshold, which is the few lines below,
updated in O(1) per sample (and vectorised for the simulations in the tests and bench/).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


TRUNCATION = 0.75  # c above: bets never stake more than 3/4 of what the worst outcome could lose

Verdict = Literal["above", "below"]


def _bet(alpha: float, variance: float, t: int) -> float:
    return math.sqrt(2 * math.log(1 / alpha) / (variance * t * math.log(1 + t)))


class ThresholdTest:
    """The online test of one threshold `m` on a population of `population` values in [0, 1].

    `update(x)` after each sample; `verdict` is None until decided, then "above" (the score over
    all samples is above m) or "below", and stays. Raises ValueError on bad arguments or values."""

    def __init__(self, threshold: float, population: int, alpha: float = 0.05) -> None:
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
        if population < 1:
            raise ValueError(f"population must be >= 1, got {population}")
        self.threshold = threshold
        self.population = population
        self.alpha = alpha
        self.t = 0
        self.total = 0.0
        self.squares = 0.25  # 1/4 + sum (x_i - mu_i)^2
        self.mean = 0.5  # mu_t
        self.up = 1.0  # K+
        self.down = 1.0  # K-
        self.verdict: Verdict | None = None
        self._settle()

    def _remaining_mean(self) -> float:
        left = self.population - self.t
        return (self.population * self.threshold - self.total) / left if left else math.nan

    def _settle(self) -> None:
        if self.verdict is not None:
            return
        if self.t == self.population:
            mean = self.total / self.population
            self.verdict = "above" if mean > self.threshold else ("below" if mean < self.threshold else None)
            return
        needed = self._remaining_mean()
        if needed < 0:
            self.verdict = "above"
        elif needed > 1:
            self.verdict = "below"
        elif self.up >= 1 / self.alpha:
            self.verdict = "above"
        elif self.down >= 1 / self.alpha:
            self.verdict = "below"

    def update(self, x: float) -> Verdict | None:
        if not 0 <= x <= 1:
            raise ValueError(f"early stopping needs per-sample values in [0, 1], got {x}")
        if self.t >= self.population:
            raise ValueError("more samples than the population holds")
        m = self._remaining_mean()
        t = self.t + 1
        base = _bet(self.alpha, self.squares / t, t)
        if m > 0:
            self.up *= 1 + min(base, TRUNCATION / m) * (x - m)
        if m < 1:
            self.down *= 1 - min(base, TRUNCATION / (1 - m)) * (x - m)
        self.t = t
        self.total += x
        self.squares += (x - self.mean) ** 2
        self.mean = (0.5 + self.total) / (t + 1)
        self._settle()
        return self.verdict


def simulate_stops(
    values: NDArray[np.float64], threshold: float, alpha: float = 0.05
) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
    """Vectorised `ThresholdTest` over many runs: `values` is (runs, N), each row one run's
    samples in the order drawn. Returns (samples used until decided, or N; verdict +1 above,
    -1 below, 0 undecided) per run. The same arithmetic as `ThresholdTest`, for simulations."""
    import numpy as np  # here: numpy costs ~13 MB, and only the end of a run needs it

    x = np.asarray(values, dtype=float)
    runs, population = x.shape
    before = np.cumsum(x, axis=1) - x  # sum of x_i for i < t
    t = np.arange(1, population + 1, dtype=float)
    left = population - t + 1
    m = (population * threshold - before) / left
    mu = (0.5 + before) / t
    squares = 0.25 + np.cumsum((x - mu) ** 2, axis=1) - (x - mu) ** 2  # through t-1
    base = np.sqrt(2 * np.log(1 / alpha) / ((squares / t) * t * np.log(1 + t)))
    with np.errstate(divide="ignore", invalid="ignore"):
        up_bet = np.where(m > 0, np.minimum(base, TRUNCATION / np.where(m > 0, m, 1)), 0.0)
        down_bet = np.where(m < 1, np.minimum(base, TRUNCATION / np.where(m < 1, 1 - m, 1)), 0.0)
        log_up = np.cumsum(np.log1p(up_bet * (x - m)), axis=1)
        log_down = np.cumsum(np.log1p(-down_bet * (x - m)), axis=1)
    seen = before + x
    after_left = population - t
    with np.errstate(divide="ignore", invalid="ignore"):
        needed = np.where(
            after_left > 0, (population * threshold - seen) / np.where(after_left > 0, after_left, 1), np.nan
        )
    final = seen[:, -1:] / population
    above = (log_up >= np.log(1 / alpha)) | (needed < 0)
    below = (log_down >= np.log(1 / alpha)) | (needed > 1)
    above[:, -1] |= final[:, 0] > threshold
    below[:, -1] |= final[:, 0] < threshold
    decided = above | below
    first = np.where(decided.any(axis=1), decided.argmax(axis=1), population - 1)
    rows = np.arange(runs)
    verdict = np.where(~decided[rows, first], 0, np.where(above[rows, first], 1, -1)).astype(np.int8)
    return (first + 1).astype(np.int64), verdict
