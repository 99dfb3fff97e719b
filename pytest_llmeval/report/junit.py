"""Per-item scores as JUnit XML properties (`--junitxml`), so CI systems show them per test case.

pytest's junitxml writes `report.user_properties` of each item's *teardown* report, which pytest
copies from `item.user_properties`; the properties are therefore added to the item while its call
report is made (on the xdist worker that ran it), and to that call report for other readers.

Names: `llmeval.benchmark`, `llmeval.subset`, `llmeval.id`, `llmeval.passed` (`true`, `false`, or
`error` when the endpoint failed), one `llmeval.<metric>` per metric (`llmeval.metric.<metric>`
when the metric name collides with one of the fixed names), `llmeval.extracted`, `llmeval.target`
(at most 200 characters each), `llmeval.latency_s`, `llmeval.completion_tokens`, and
`llmeval.error_kind` for errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

PREFIX = "llmeval."
VALUE_CHARS = 200
FIXED = {"benchmark", "subset", "id", "passed", "extracted", "target", "latency_s", "completion_tokens", "error_kind"}


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "\u2026"


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
        props.append((f"metric.{metric}" if metric in FIXED else metric, f"{value:g}" if isinstance(value, float) else str(value)))
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
    return [(PREFIX + name, value) for name, value in props]
