"""Gating: every vote that decides the exit status - threshold rules (`thresholds`), the regression
gate (`max_drop`), the error budget and the one verdict (`budget.decide`), and early stopping
(`early_stop`)."""

from .budget import Verdict, decide
from .max_drop import drop_vote, mark_drops
from .thresholds import ThresholdRule, check_rule, evaluate_rule, parse_threshold

__all__ = [
    "ThresholdRule",
    "Verdict",
    "check_rule",
    "decide",
    "drop_vote",
    "evaluate_rule",
    "mark_drops",
    "parse_threshold",
]
