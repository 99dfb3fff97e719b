"""Per-item scores as JUnit XML properties (`--junitxml`), so CI systems show them per test case.

pytest's junitxml writes `report.user_properties` of each item's *teardown* report, which pytest
copies from `item.user_properties`; the properties are therefore added to the item while its call
report is made (on the xdist worker that ran it), and to that call report for other readers.

Names: `llmeval.benchmark`, `llmeval.subset`, `llmeval.id`, `llmeval.passed` (`true`, `false`, or
`error` when the endpoint failed), one `llmeval.<metric>` per metric (`llmeval.metric.<metric>`
when the metric name collides with one of the fixed names), `llmeval.extracted`, `llmeval.target`
(at most 200 characters each), `llmeval.latency_s`, `llmeval.completion_tokens`, and
`llmeval.error_kind` for errors.

Suite-level properties (`suite_properties`, on the `<testsuite>`): per aggregated metric
`llmeval.<bench>[.<subset>].<metric>` (the score) and `...<metric>.se`, `.ci_low`, `.ci_high`,
`.ci_method`; per threshold `llmeval.threshold.<expression>` = pass/fail/undecided.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..redact import redact
from .scores import score_groups
from .text import as_text, shorten

PREFIX = "llmeval."
VALUE_CHARS = 200
FIXED = {"benchmark", "subset", "id", "passed", "extracted", "target", "latency_s", "completion_tokens", "error_kind"}


# Characters XML 1.0 cannot hold at all (pytest escapes property values so, never their names).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\u007e\u0080-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_name(name: str) -> str:
    """A property name the JUnit XML can hold: each character XML forbids shown as ``#xNN``, as pytest
    shows them in values. A subset or collection name comes from data; one control character in it made
    the whole file unreadable to CI."""
    return _NOT_XML.sub(lambda m: f"#x{ord(m.group()):02X}", name)


def _text(value: Any) -> str:
    return shorten(redact(as_text(value)), VALUE_CHARS)  # redacted before the cut: no half key survives


def junit_properties(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Properties for one sample record (a `SampleRecord` dump, full or slimmed)."""
    error = record.get("error") is not None
    passed = record.get("passed")
    props = [
        ("benchmark", str(record.get("benchmark", ""))),
        ("subset", str(record.get("subset", ""))),
        ("id", str(record.get("id", ""))),
        ("passed", "error" if error else ("" if passed is None else str(bool(passed)).lower())),
    ]
    for metric, value in (record.get("metrics") or {}).items():
        props.append(
            (
                f"metric.{metric}" if metric in FIXED else metric,
                f"{value:g}" if isinstance(value, float) else str(value),
            )
        )
    if record.get("extracted") is not None:
        props.append(("extracted", _text(record["extracted"])))
    if record.get("target") is not None:
        props.append(("target", _text(record["target"])))
    if record.get("latency_s") is not None:
        props.append(("latency_s", f"{record['latency_s']:.3f}"))
    usage = record.get("usage") or {}
    if usage.get("completion_tokens") is not None:
        props.append(("completion_tokens", str(usage["completion_tokens"])))
    if error:
        props.append(("error_kind", str(record.get("error_kind") or "error")))
    return [(xml_name(PREFIX + name), value) for name, value in props]


def _number(value: float) -> str:
    return f"{value:.6g}"


def suite_properties(result: Any) -> list[tuple[str, str]]:
    """(name, value) per aggregated metric, its standard error and 95% interval, and per threshold
    (`result` is a `RunResult`)."""
    props: list[tuple[str, str]] = []
    for bench_name, subset, group in score_groups(result, every_subset=True):
        label = bench_name if subset is None else f"{bench_name}.{subset}"
        for metric, value in group.metrics.items():
            base = f"{PREFIX}{label}.{metric}"
            props.append((base, _number(value)))
            u = group.uncertainty.get(metric)
            if u is not None and u.se is not None:
                props.append((f"{base}.se", _number(u.se)))
                if u.ci_low is not None and u.ci_high is not None:  # a standard error without bounds: se only
                    props += [(f"{base}.ci_low", _number(u.ci_low)), (f"{base}.ci_high", _number(u.ci_high))]
            if u is not None:
                props.append((f"{base}.ci_method", u.method))
    for outcome in result.thresholds:
        props.append(
            (f"{PREFIX}threshold.{outcome.expression}", outcome.status or ("pass" if outcome.passed else "fail"))
        )
    return [(xml_name(name), value) for name, value in props]
