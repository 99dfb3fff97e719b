"""`--llm-threshold` rules on a collection's rows: `collection.[SELECTOR.]METRIC OP NUMBER`.

SELECTOR names one row of the collection report (`collection.results.CollectionResult.groups`):

* a group by its name (`Math&Science`) or its path from the root (`Qwen3/Math&Science`);
* `task_type:NAME`, `tag:NAME` or `dataset:NAME`;
* nothing (`collection.acc>=0.7`): the whole collection.

METRIC is `acc`, `score` or `micro` for the micro average (over samples), `macro` or `acc_macro` for
the macro average (over datasets), `macro_subsets` for the macro average over (dataset, subset) and
`weighted` for the reference system's weighted average (Σ score·weight / Σ weight). Examples:
`collection.Math&Science.acc>=0.6`, `collection.task_type:math.acc>=0.6`, `collection.tag:zh.macro>0.5`.

A rule naming a row the collection does not have is a usage error before anything is sent; a rule
whose row has no value at the end (every sample errored) fails.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from pydantic import BaseModel

from ..errors import ThresholdError
from ..results import ThresholdOutcome
from .thresholds import OPERATORS

PREFIX = "collection."
_RULE = re.compile(
    r"^\s*collection\.(?:(?P<selector>.+)\.)?(?P<metric>\w+)\s*(?P<op>>=|<=|>|<)\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
MICRO = {"acc", "score", "micro", "acc_micro"}
MACRO = {"macro", "acc_macro", "score_macro"}
OTHER_AVERAGES = {"weighted", "acc_weighted", "macro_subsets"}  # see collection.results.DEFINITIONS
KINDS = ("task_type", "tag", "dataset")


class CollectionRule(BaseModel):
    expression: str
    kind: str  # all | group | task_type | tag | dataset
    name: str
    average: str  # micro | macro | weighted | macro_subsets
    op: str
    value: float


def is_collection_rule(expression: str) -> bool:
    return expression.strip().startswith(PREFIX)


def parse_collection_rule(expression: str) -> CollectionRule:
    match = _RULE.match(expression)
    if not match:
        raise ThresholdError(
            f"bad --llm-threshold {expression!r}: expected "
            "collection.[GROUP|task_type:X|tag:X|dataset:X.]METRIC OP NUMBER, "
            "e.g. 'collection.Math&Science.acc>=0.6'"
        )
    metric = match["metric"]
    if metric not in MICRO | MACRO | OTHER_AVERAGES:
        raise ThresholdError(
            f"bad --llm-threshold {expression!r}: a collection rule's metric is acc/micro (over samples), weighted, "
            f"macro_subsets (over dataset, subset) or macro (over datasets), got {metric!r}"
        )
    selector = (match["selector"] or "").strip()
    kind, sep, name = selector.partition(":")
    if not selector:
        kind, name = "all", "(all)"
    elif not (sep and kind in KINDS):
        kind, name = "group", selector
    return CollectionRule(
        expression=expression.strip(),
        kind=kind,
        name=name.strip(),
        average="macro" if metric in MACRO else metric.removeprefix("acc_") if metric in OTHER_AVERAGES else "micro",
        op=match["op"],
        value=float(match["value"]),
    )


def resolve_group(rule: CollectionRule, rows: Collection[tuple[str, str]]) -> CollectionRule:
    """The rule with its group name made a full path; ThresholdError when the row does not exist."""
    if (rule.kind, rule.name) in rows:
        return rule
    if rule.kind == "group":
        matches = sorted(name for kind, name in rows if kind == "group" and name.rsplit("/", 1)[-1] == rule.name)
        if len(matches) == 1:
            return rule.model_copy(update={"name": matches[0]})
        if len(matches) > 1:
            raise ThresholdError(
                f"--llm-threshold {rule.expression!r}: group {rule.name!r} is ambiguous, use its path: "
                + ", ".join(matches)
            )
    known = sorted(f"{kind}:{name}" if kind != "group" else name for kind, name in rows if kind == rule.kind)
    raise ThresholdError(
        f"--llm-threshold {rule.expression!r}: the collection has no {rule.kind.replace('_', ' ')} {rule.name!r}"
        + (f"; it has: {', '.join(known)}" if known else "")
    )


def evaluate_collection_rule(
    rule: CollectionRule, micro: float | None, macro: float | None, others: dict[str, float | None] | None = None
) -> ThresholdOutcome:
    """The rule's outcome on its row's averages; `others` holds `weighted` and `macro_subsets`."""
    value = micro if rule.average == "micro" else macro if rule.average == "macro" else (others or {}).get(rule.average)
    return ThresholdOutcome(
        expression=rule.expression, value=value, passed=value is not None and OPERATORS[rule.op](value, rule.value)
    )
