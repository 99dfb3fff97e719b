"""Which benchmarks and subsets the `-m` expression can select, decided before any data is read.

A sample item carries the marks `<benchmark>`, `<subset>` and the benchmark's tags, so whether `-m`
can select a subset is known from the registry alone: only those subsets are loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from _pytest.mark.expression import Expression

from ..benchmarks.base import Benchmark


def mark_name(text: str) -> str:
    """A subset or tag as a mark name: word characters only (`-m` and the markers ini need that)."""
    return re.sub(r"\W", "_", text.strip()) or "_"


def sample_marks(cls: type[Benchmark], subset: str) -> list[str]:
    tags = [*cls.tags, *cls.subset_tags(subset)]
    return list(dict.fromkeys([cls.name, mark_name(subset), *(mark_name(t) for t in tags)]))


def select(markexpr: str | None, benchmarks: Mapping[str, type[Benchmark]], subsets_of: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """benchmark name -> the subsets `-m` can select; benchmarks it cannot select are absent.

    Without `-m` nothing is selected: benchmark items are opt-in, so an ordinary test run given
    `--llm-model` (for the `llm` fixture) never starts evaluating every benchmark.
    """
    if not markexpr:
        return {}
    expression = Expression.compile(markexpr)
    chosen: dict[str, list[str]] = {}
    for name, cls in benchmarks.items():
        for subset in subsets_of[name]:
            marks = set(sample_marks(cls, subset))
            if expression.evaluate(lambda mark, /, **kwargs: not kwargs and mark in marks):
                chosen.setdefault(name, []).append(subset)
    return chosen
