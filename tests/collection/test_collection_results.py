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


def _collector_with(records: list[tuple[str, str, float, float]]):
    """(dataset, subset, weight, score) per record, all in group Root."""
    from pytest_llmeval.collection.results import CollectionTally, RecordMeta
    from pytest_llmeval.results import SampleRecord

    meta = {
        i: RecordMeta(dataset=d, task_type="exam", categories=("Root",), tags=(), subset=s, weight=w)
        for i, (d, s, w, _) in enumerate(records)
    }
    collector = CollectionTally(meta, "suite.jsonl")
    for i, (d, s, _, score) in enumerate(records):
        collector.add(
            SampleRecord(
                nodeid=f"collection/{d}/{s}::{i}",
                benchmark=d,
                subset=s,
                id=str(i),
                passed=score == 1.0,
                metrics={"acc": score},
            )
        )
    return collector


def test_reference_weighted_average_and_macro_over_subsets_next_to_micro_and_macro():
    # gsm8k: one subset, 3 records of weight 0.1 (2 right); mmlu: subset a (1 record, weight 0.5,
    # right) and subset b (2 records, weight 0.05, both wrong)
    collector = _collector_with(
        [
            ("gsm8k", "main", 0.1, 1.0),
            ("gsm8k", "main", 0.1, 1.0),
            ("gsm8k", "main", 0.1, 0.0),
            ("mmlu", "a", 0.5, 1.0),
            ("mmlu", "b", 0.05, 0.0),
            ("mmlu", "b", 0.05, 0.0),
        ]
    )
    result = collector.build({})
    row = result.row("all", "(all)")
    assert row is not None
    assert row.micro == pytest.approx(3 / 6)
    assert row.macro == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert row.macro_subsets == pytest.approx((2 / 3 + 1.0 + 0.0) / 3) and row.subsets == 3
    assert row.weighted == pytest.approx((0.1 + 0.1 + 0.5) / (0.3 + 0.5 + 0.1))
    assert result.row("group", "Root").weighted == pytest.approx(row.weighted)
    assert set(result.definitions) == {"micro", "macro", "macro_subsets", "weighted"}
    assert "sum of score*weight / sum of weight" in result.definitions["weighted"]
    from pytest_llmeval.collection.results import collection_lines

    text = "\n".join(collection_lines(result))
    assert "weighted_avg (sum s*w / sum w)" in text and "macro_avg (dataset, subset)" in text
    assert "0.7778" in text  # 0.7 / 0.9


def test_records_without_weights_have_no_weighted_average():
    result = _collector_with([("gsm8k", "main", 0.0, 1.0), ("gsm8k", "main", 0.0, 0.0)]).build({})
    row = result.row("all", "(all)")
    assert row is not None and row.weighted is None and row.micro == 0.5


@pytest.mark.parametrize(
    ("text", "average", "passed"),
    [
        ("collection.weighted>=0.75", "weighted", True),  # 0.7 / 0.9 = 0.778
        ("collection.acc_weighted>=0.8", "weighted", False),
        ("collection.macro_subsets<0.6", "macro_subsets", True),  # (2/3 + 1 + 0) / 3 = 0.556
    ],
)
def test_thresholds_gate_the_weighted_and_per_subset_averages(text: str, average: str, passed: bool):
    from pytest_llmeval.gating.collection_rules import evaluate_collection_rule, parse_collection_rule

    rule = parse_collection_rule(text)
    assert rule.average == average
    row = (
        _collector_with(
            [
                ("gsm8k", "main", 0.1, 1.0),
                ("gsm8k", "main", 0.1, 1.0),
                ("gsm8k", "main", 0.1, 0.0),
                ("mmlu", "a", 0.5, 1.0),
                ("mmlu", "b", 0.05, 0.0),
                ("mmlu", "b", 0.05, 0.0),
            ]
        )
        .build({})
        .row("all", "(all)")
    )
    assert row is not None
    others = {"weighted": row.weighted, "macro_subsets": row.macro_subsets}
    assert evaluate_collection_rule(rule, row.micro, row.macro, others).passed is passed
