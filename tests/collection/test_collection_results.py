"""Error bars of collection groups, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from pytest_llmeval.collection.results import _macro_uncertainty


def test_macro_standard_error_combines_independent_dataset_means():
    # dataset a: 3 of 4 right; dataset b: 1.0, 0.0 (not 0/1-only? it is, so Wilson per dataset SE = sqrt(p(1-p)/n))
    by_dataset = {"a": [1.0, 1.0, 1.0, 0.0], "b": [0.2, 0.4, 0.6]}
    u = _macro_uncertainty(by_dataset)
    se_a = math.sqrt(0.75 * 0.25 / 4)
    values = [0.2, 0.4, 0.6]
    mean_b = sum(values) / 3
    se_b = math.sqrt(sum((x - mean_b) ** 2 for x in values) / 2) / math.sqrt(3)
    assert u is not None and u.method == "macro"
    assert u.se == pytest.approx(math.sqrt(se_a**2 + se_b**2) / 2)
    macro = (0.75 + mean_b) / 2
    assert u.ci_low == pytest.approx(max(0.0, macro - 1.959964 * u.se), abs=1e-6)
    assert u.ci_high == pytest.approx(min(1.0, macro + 1.959964 * u.se), abs=1e-6)
