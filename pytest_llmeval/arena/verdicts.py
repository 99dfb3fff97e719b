"""Judge verdicts of a pairwise comparison and the position-swap rule (pure: text in, outcome out).

Scales (docs/arena.md):

* `five` (ArenaHard, Li et al. 2024, "From Crowdsourced Data to High-Quality Benchmarks: Arena-Hard
  and BenchBuilder"): `A>>B`, `A>B`, `A=B`, `B>A`, `B>>A`, read from the last `[[LABEL]]` in the
  judge's reply (ArenaHard's own output format). Scores from A's side: +2, +1, 0, -1, -2.
* `three` (MT-Bench pairwise, Zheng et al. 2023): `A>B`, `A=B`, `B>A` -> +1, 0, -1.

Each pair is judged twice: once with the candidate as A (`candidate_first`), once with the baseline
as A (`baseline_first`). Both scores are turned to the candidate's side (the second is negated).

The swap rule: when the two orders prefer *opposite* answers (one score > 0 and the other < 0) the
pair is **inconsistent** and counts as a **tie** (MT-Bench's conservative rule: a win only when an
answer is preferred in both orders). Otherwise the outcome is the sign of the sum of the two scores
(ArenaHard counts both games): (win, tie) is a win, (tie, tie) a tie, (strong win, weak win) a win.
Outcome values: win 1.0, tie 0.5, loss 0.0 (ties as half a win, as in ArenaHard and AlpacaEval).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

Scale = Literal["five", "three"]

SCALES: dict[str, dict[str, int]] = {
    "five": {"A>>B": 2, "A>B": 1, "A=B": 0, "B>A": -1, "B>>A": -2},
    "three": {"A>B": 1, "A=B": 0, "B>A": -1},
}
# labels as judges also write them: `A > B`, `A≫B`, `B=A`, `A<B` ...
_BRACKETED = re.compile(r"\[\[\s*([AB])\s*(>>|≫|>|=|<<|≪|<)\s*([AB])\s*\]\]")
_FLIPPED = {"<": ">", "<<": ">>"}


def parse_label(reply: str, scale: Scale) -> str | None:
    """The verdict label of the last well-formed `[[X op Y]]` in `reply` that the scale knows, or
    None when there is none (the caller re-asks once, then the pair errors: never a silent tie).

    `[[B<A]]` reads as `A>B`, `≫` as `>>`, `B=A` as `A=B`; a strong label on the three-way scale
    (`A>>B`) reads as its weak form; `[[A>A]]` is not a verdict."""
    for left, op, right in reversed(_BRACKETED.findall(reply)):
        if left == right:
            continue
        op = {"≫": ">>", "≪": "<<"}.get(op, op)
        if op in _FLIPPED:  # `B<A` is `A>B`
            left, right, op = right, left, _FLIPPED[op]
        label = "A=B" if op == "=" else f"{left}{op}{right}" if left == "A" else f"B{op}A"
        if scale == "three":
            label = label.replace(">>", ">")
        if label in SCALES[scale]:
            return label
    return None


class PairOutcome(BaseModel):
    """The two orders' scores on the candidate's side, and what they add up to."""

    candidate_first: int  # score of the candidate when shown as A
    baseline_first: int  # score of the candidate when shown as B (the label's score negated)
    outcome: Literal["win", "tie", "loss"]
    value: float  # 1.0 / 0.5 / 0.0
    inconsistent: bool  # the two orders preferred opposite answers


def combine(label_candidate_first: str, label_baseline_first: str, scale: Scale) -> PairOutcome:
    """The swap rule (module docstring) on the labels of the two orders."""
    first = SCALES[scale][label_candidate_first]
    second = -SCALES[scale][label_baseline_first]
    inconsistent = (first > 0 > second) or (first < 0 < second)
    total = 0 if inconsistent else first + second
    outcome: Literal["win", "tie", "loss"] = "win" if total > 0 else "loss" if total < 0 else "tie"
    return PairOutcome(
        candidate_first=first,
        baseline_first=second,
        outcome=outcome,
        value={"win": 1.0, "tie": 0.5, "loss": 0.0}[outcome],
        inconsistent=inconsistent,
    )
