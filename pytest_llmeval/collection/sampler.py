"""Samplers: how many samples each dataset of a collection gives, and which ones.

* `weighted`: in proportion to each dataset's share of the schema (see `schema.Collection.flatten`);
* `stratified`: in proportion to each dataset's size (the mix of the data as it is);
* `uniform`: the same number from every dataset.

Counts are allotted by the largest-remainder method, so a dataset's count is its exact quota
`n * share` rounded up or down (never off by more than one). A dataset that has fewer samples than
its quota gives all of them, once, and the rest of its quota goes to the other datasets in
proportion to their own weights; when `n` is at least the total, every sample is taken exactly
once (the reference guides' `sample(100000000)` idiom). No sample is ever taken twice.

Which samples: a seeded random choice without replacement per dataset
(`random.Random(f"{seed}:{position}:{name}")`, a string seed, so independent of PYTHONHASHSEED), kept
in the dataset's own order. The same schema, seed and data therefore give the same file byte for
byte.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

SAMPLERS: tuple[str, ...] = ("weighted", "stratified", "uniform")


def sampler_weights(sampler: str, shares: Sequence[float], sizes: Sequence[int]) -> list[float]:
    """Each dataset's relative weight under a sampler."""
    if sampler == "weighted":
        return list(shares)
    if sampler == "stratified":
        return [float(size) for size in sizes]
    if sampler == "uniform":
        return [1.0] * len(sizes)
    raise ValueError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")


def allot(n: int, weights: Sequence[float], sizes: Sequence[int]) -> list[int]:
    """How many samples each dataset gives: `n` split by `weights`, capped by `sizes`, with the
    capped datasets' excess shared among the others. Sum = min(n, sum(sizes))."""
    if n < 0:
        raise ValueError("n must not be negative")
    counts = [0] * len(sizes)
    open_ = [i for i, size in enumerate(sizes) if size > 0 and weights[i] > 0]
    remaining = min(n, sum(sizes[i] for i in open_))
    while remaining > 0 and open_:
        total = sum(weights[i] for i in open_)
        quotas = {i: remaining * weights[i] / total for i in open_}
        floors = {i: math.floor(q) for i, q in quotas.items()}
        left = remaining - sum(floors.values())
        # largest remainders first; ties to the earlier dataset (deterministic)
        for i in sorted(open_, key=lambda i: (-(quotas[i] - floors[i]), i))[:left]:
            floors[i] += 1
        capped = [i for i in open_ if counts[i] + floors[i] >= sizes[i]]
        if not capped:
            for i in open_:
                counts[i] += floors[i]
            break
        for i in capped:  # these give everything; share what is left again among the rest
            remaining -= sizes[i] - counts[i]
            counts[i] = sizes[i]
        open_ = [i for i in open_ if i not in capped]
    return counts


def choose(size: int, count: int, seed: int, position: int, name: str) -> list[int]:
    """`count` distinct positions out of `size`, seeded, in ascending order."""
    if count >= size:
        return list(range(size))
    rng = random.Random(f"{seed}:{position}:{name}")
    return sorted(rng.sample(range(size), count))
