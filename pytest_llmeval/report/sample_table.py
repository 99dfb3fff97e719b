"""The per-sample part of the HTML report: a filterable table whose rows expand to the full texts.

Built the same way during the run (records arrive through `pytest_llmeval_sample_record`) and by
the rebuild CLI (records read from the samples JSONL), so both give byte-identical HTML.

Size: the table cells hold at most `CELL_CHARS` characters of the extracted and expected answers;
the full texts (messages, reasoning, raw output) travel once, as JSON in a non-executing
`<script type="application/json">` block, and are turned into DOM text only when a row is opened.
Prompts are split into paragraphs and each distinct paragraph is stored once, so few-shot examples
and system prompts that every sample repeats cost their size once, not once per sample.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..results import SampleRecord

CELL_CHARS = 160
VERDICTS = ("passed", "failed", "error", "unscored")
_PARAGRAPH = re.compile(r"(?<=\n\n)")
_DIGITS = re.compile(r"(\d+)")


def row_anchor(nodeid: str) -> str:
    """The HTML id of a sample's row: stable across runs, safe in an id and in a URL fragment."""
    return "lle-" + hashlib.sha1(nodeid.encode("utf-8")).hexdigest()[:16]


def verdict_of(record: SampleRecord) -> str:
    if record.error is not None:
        return "error"
    if record.passed is None:
        return "unscored"
    return "passed" if record.passed else "failed"


def as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _DIGITS.split(text) if p)


def _shorten(text: str) -> str:
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "\u2026"


def script_json(data: Any) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' survive, so '</script>' cannot end it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass
class _Row:
    key: tuple[Any, ...]
    record: SampleRecord
    messages: list[tuple[str, tuple[str, ...]]]


@dataclass
class SampleTable:
    """Collects sample records (in any order) and renders the samples section."""

    rows: list[_Row] = field(default_factory=list)
    _interned: dict[str, str] = field(default_factory=dict)

    def add(self, record: SampleRecord) -> None:
        messages = []
        for message in record.messages:
            content = as_text(message.get("content"))
            chunks = tuple(self._interned.setdefault(c, c) for c in _PARAGRAPH.split(content) if c)
            messages.append((str(message.get("role", "")), chunks))
        # The row keeps the record without its messages: the interned chunks replace them.
        slim = record.model_copy(update={"messages": []})
        self.rows.append(_Row((record.benchmark, record.subset, _natural(record.id), record.nodeid), slim, messages))

    def __len__(self) -> int:
        return len(self.rows)

    def render(self) -> str:
        rows = sorted(self.rows, key=lambda r: r.key)
        chunk_index: dict[str, int] = {}
        detail: list[dict[str, Any]] = []
        body: list[str] = []
        for index, row in enumerate(rows):
            messages = [[role, [chunk_index.setdefault(c, len(chunk_index)) for c in chunks]] for role, chunks in row.messages]
            detail.append(_detail(row.record, messages))
            body.append(_row_html(index, row.record))
        verdicts = Counter(verdict_of(r.record) for r in rows)
        kinds = Counter(r.record.error_kind or "error" for r in rows if r.record.error is not None)
        payload = {"chunks": list(chunk_index), "samples": detail}
        return "".join([
            '<h2>Samples</h2>',
            _counts_html(len(rows), verdicts, kinds),
            _filters_html(rows),
            '<div class="lle-scroll"><table class="lle-table lle-samples"><thead><tr>',
            "<th>benchmark</th><th>subset</th><th>id</th><th>verdict</th><th>extracted</th><th>expected</th>",
            '<th class="lle-num">latency s</th><th class="lle-num" title="prompt / completion">tokens</th>',
            '</tr></thead><tbody class="lle-body">', *body, "</tbody></table></div>",
            f'<script type="application/json" id="llmeval-samples-data">{script_json(payload)}</script>',
        ])


def _detail(record: SampleRecord, messages: list[list[Any]]) -> dict[str, Any]:
    extracted, target = as_text(record.extracted), as_text(record.target)
    values = {
        "n": record.nodeid,
        "m": messages,
        "o": record.output,
        "os": record.outputs if record.outputs and len(record.outputs) > 1 else None,
        "r": record.reasoning,
        "x": record.explanation,
        "e": record.error,
        "k": record.error_kind,
        "s": record.metrics or None,
        "u": record.usage.model_dump(exclude_none=True) if record.usage is not None else None,
        "t": record.ttft_s,
        "c": record.cached or None,
        "xf": extracted if len(extracted) > CELL_CHARS else None,
        "tf": target if len(target) > CELL_CHARS else None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _row_html(index: int, record: SampleRecord) -> str:
    verdict = verdict_of(record)
    usage = record.usage
    tokens = f"{usage.prompt_tokens} / {usage.completion_tokens}" if usage is not None else ""
    latency = f"{record.latency_s:.2f}" if record.latency_s is not None else ""
    shown_verdict = f"error: {record.error_kind}" if verdict == "error" and record.error_kind else verdict
    cells = [
        escape(record.benchmark), escape(record.subset), escape(record.id),
    ]
    return (
        f'<tr class="lle-row lle-v-{verdict}" id="{row_anchor(record.nodeid)}" data-i="{index}" tabindex="0" aria-expanded="false" '
        f'data-benchmark="{escape(record.benchmark)}" data-subset="{escape(record.subset)}" data-verdict="{verdict}">'
        + "".join(f"<td>{c}</td>" for c in cells)
        + f'<td class="lle-verdict-cell">{escape(shown_verdict)}</td>'
        + f'<td class="lle-text lle-extracted">{escape(_shorten(as_text(record.extracted)))}</td>'
        + f'<td class="lle-text lle-expected">{escape(_shorten(as_text(record.target)))}</td>'
        + f'<td class="lle-num">{latency}</td><td class="lle-num">{tokens}</td></tr>'
    )


def _counts_html(total: int, verdicts: Counter[str], kinds: Counter[str]) -> str:
    parts = [f"{verdicts[v]} {v}" for v in VERDICTS if verdicts[v]]
    text = f"{total} samples" + (": " + ", ".join(parts) if parts else "")
    if kinds:
        text += " (errors by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")"
    return f'<p class="lle-counts">{escape(text)}. Click a row for the messages, reasoning and raw output.</p>'


def _filters_html(rows: list[_Row]) -> str:
    options = {
        "benchmark": sorted({r.record.benchmark for r in rows}),
        "subset": sorted({r.record.subset for r in rows}),
        "verdict": [v for v in VERDICTS if any(verdict_of(r.record) == v for r in rows)],
    }
    selects = []
    for name, values in options.items():
        opts = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
        selects.append(f'<label>{name} <select data-filter="{name}" name="lle-{name}"><option value="">all</option>{opts}</select></label>')
    return f'<div class="lle-filters">{"".join(selects)}<span class="lle-shown">showing {len(rows)} of {len(rows)}</span></div>'
