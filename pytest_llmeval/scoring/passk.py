"""pass@k and majority helpers for samples generated several times (`n` > 1)."""

from __future__ import annotations

from collections.abc import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k from `n` generations of which `c` passed (Chen et al., 2021).

    `1 - C(n-c, k) / C(n, k)`, computed as the product `prod_{i=n-c+1}^{n} (1 - k/i)`, which stays
    exact for large `n` where the binomials would overflow a float.

    Edge cases: `c == 0` gives 0.0; `n - c < k` (too few failures to fill k draws) gives 1.0;
    `k == n` gives 1.0 if any passed. Raises `ValueError` when `n < 1`, `c` is outside `0..n`, or `k`
    is outside `1..n` (pass@k needs at least k generations per sample).
    """
    if n < 1:
        raise ValueError(f"pass_at_k needs n >= 1 generations, got n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: c={c} correct generations is outside 0..n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k: k={k} must be between 1 and n={n}; generate at least k samples")
    if n - c < k:
        return 1.0
    failure = 1.0
    for i in range(n - c + 1, n + 1):
        failure *= 1.0 - k / i
    return 1.0 - failure


def mean_pass_at_1(scores: Sequence[float]) -> float:
    """AveragePass@1: the mean per-generation score (each 0..1). An empty list raises `ValueError`
    rather than reporting a misleading 0."""
    if not scores:
        raise ValueError("mean_pass_at_1 needs at least one score")
    return sum(scores) / len(scores)


def majority_passed(flags: Sequence[bool]) -> bool:
    """True when strictly more than half of the generations passed. A tie fails (2 of 4 is not a
    majority), and an empty list fails."""
    return sum(1 for flag in flags if flag) * 2 > len(flags)
