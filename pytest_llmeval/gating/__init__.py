"""Gating: threshold rules that decide the exit status."""

from .thresholds import ThresholdRule, check_rule, evaluate_rule, parse_threshold

__all__ = ["ThresholdRule", "check_rule", "evaluate_rule", "parse_threshold"]
