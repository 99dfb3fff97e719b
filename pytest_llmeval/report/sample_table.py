"""The per-sample part of the HTML report: a searchable, filterable, sortable table whose rows expand
to the full texts. Markup is in `templates/samples.html.j2`; this module builds its view model.

Built the same way during the run (records arrive through `pytest_llmeval_sample_record`) and by
the rebuild CLI (records read from the samples JSONL), so both give byte-identical HTML.

Columns: benchmark, subset, id, verdict, extracted answer, expected answer, finish reason (when the
records carry one), request time in seconds (from sending the request to its last byte, taken
after a free request slot was found: time spent waiting for a slot is not in it; "queued s" shows
that wait when some sample waited QUEUE_SHOWN_S or more), time to first token (streamed requests),
prompt tokens, completion tokens.

Size: the table cells hold at most `CELL_CHARS` characters of the extracted and expected answers;
the full texts (messages, reasoning, raw output) travel once, as JSON in a non-executing
`<script type="application/json">` block (its shape: `report/payload.py`), and are turned into DOM text only
when a row is opened
(or searched). Prompts are split into paragraphs and each distinct paragraph is stored once, so
few-shot examples and system prompts that every sample repeats cost their size once, not once per
sample.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from ..media.preview import previews
from ..results import SampleRecord
from .payload import SampleDetail, samples_payload
from .text import as_text, shorten

CELL_CHARS = 160
QUEUE_SHOWN_S = 0.005
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


def content_text(content: Any) -> str:
    """A message's content as text: content parts become their text, media a short marker."""
    if not isinstance(content, list):
        return as_text(content)
    pieces = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            pieces.append(str(part.get("text", "")))
        elif kind in ("image_url", "input_audio"):
            info = part.get(kind) or {}
            pieces.append(
                f"[{'image' if kind == 'image_url' else 'audio'} {str(info.get('sha256') or info.get('url', ''))[:12]}]"
            )
        else:
            pieces.append(as_text(part))
    return "\n".join(pieces)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _DIGITS.split(text) if p)


def named_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """The metrics a person reads: names starting with '_' are a benchmark's internal counters
    (pooled by its aggregate, e.g. IFEval's `_inst_count`) and are left out."""
    return {k: v for k, v in metrics.items() if not k.startswith("_")}


@dataclass
class _Row:
    key: tuple[Any, ...]
    record: SampleRecord
    messages: list[tuple[str, tuple[str, ...]]]


@dataclass
class SampleRow:
    index: int
    anchor: str
    verdict: str
    shown_verdict: str
    record: SampleRecord
    extracted: str
    expected: str
    finish: str
    latency: str
    queued: str
    ttft: str
    prompt_tokens: str
    completion_tokens: str


@dataclass
class SamplesView:
    """What `templates/samples.html.j2` draws."""

    rows: list[SampleRow]
    counts: str
    filters: list[tuple[str, list[str]]]
    payload: Markup
    with_finish: bool
    with_queue: bool
    with_ttft: bool


@dataclass
class SampleTable:
    """Collects sample records (in any order) and builds the samples section's view."""

    rows: list[_Row] = field(default_factory=list)
    _interned: dict[str, str] = field(default_factory=dict)
    media: Any = None  # a media.MediaStore: previews of the samples' images and audio
    _previews: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # nodeid -> previews

    @classmethod
    def of(cls, records: Iterable[SampleRecord]) -> SampleTable:
        table = cls()
        for record in records:
            table.add(record)
        return table

    def add(self, record: SampleRecord) -> None:
        media = previews(record.messages, self.media)
        if media:
            self._previews[record.nodeid] = media
        messages = []
        for message in record.messages:
            content = content_text(message.get("content"))
            chunks = tuple(self._interned.setdefault(c, c) for c in _PARAGRAPH.split(content) if c)
            messages.append((str(message.get("role", "")), chunks))
        # The row keeps the record without its messages: the interned chunks replace them.
        slim = record.model_copy(update={"messages": []})
        self.rows.append(_Row((record.benchmark, record.subset, natural_key(record.id), record.nodeid), slim, messages))

    def __len__(self) -> int:
        return len(self.rows)

    def view(self) -> SamplesView:
        rows = sorted(self.rows, key=lambda r: r.key)
        chunk_index: dict[str, int] = {}
        detail: list[SampleDetail] = []
        shown: list[SampleRow] = []
        for index, row in enumerate(rows):
            messages = [
                (role, [chunk_index.setdefault(c, len(chunk_index)) for c in chunks]) for role, chunks in row.messages
            ]
            detail.append(_detail(row.record, messages, self._previews.get(row.record.nodeid)))
            shown.append(_row(index, row.record))
        verdicts = Counter(verdict_of(r.record) for r in rows)
        kinds = Counter(r.record.error_kind or "error" for r in rows if r.record.error is not None)
        filters = [
            ("benchmark", sorted({r.record.benchmark for r in rows})),
            ("subset", sorted({r.record.subset for r in rows})),
            ("verdict", [v for v in VERDICTS if verdicts[v]]),
        ]
        return SamplesView(
            rows=shown,
            counts=_counts(len(rows), verdicts, kinds),
            filters=filters,
            payload=samples_payload(list(chunk_index), detail),
            with_finish=any(r.finish for r in shown),
            # the wait column only when somebody waited: at least QUEUE_SHOWN_S for a free slot
            with_queue=any((r.record.queued_s or 0.0) >= QUEUE_SHOWN_S for r in shown),
            with_ttft=any(r.ttft for r in shown),
        )


def _detail(
    record: SampleRecord, messages: list[tuple[str, list[int]]], media: list[dict[str, Any]] | None = None
) -> SampleDetail:
    extracted, target = as_text(record.extracted), as_text(record.target)
    usage = record.usage.model_dump(exclude_none=True) if record.usage is not None else None
    return SampleDetail(
        nodeid=record.nodeid,
        messages=messages,
        media=media or None,
        output=record.output,
        outputs=record.outputs if record.outputs and len(record.outputs) > 1 else None,
        reasoning=record.reasoning,
        explanation=record.explanation,
        error=record.error,
        error_kind=record.error_kind,
        metrics=named_metrics(record.metrics) or None,
        usage=usage or None,
        latency_s=record.latency_s,
        queued_s=record.queued_s,
        ttft_s=record.ttft_s,
        finish_reason=record.finish_reason,
        cached=record.cached or None,
        extracted_full=extracted if len(extracted) > CELL_CHARS else None,
        target_full=target if len(target) > CELL_CHARS else None,
        choice_logprobs=_choice_logprobs(record),
        ranking=_ranking(record),
    )


def _ranking(record: SampleRecord) -> str | None:
    """An embedding task's ranking (retrieval/runtime.py), one line per document: its rank (`-`: not
    retrieved), whether it is relevant (its grade), its score, its id and the start of its text; the
    top 10, then every relevant document ranked lower. None for other samples. Shown as text: the
    page escapes it (dataset text)."""
    ranking = getattr(record, "ranking", None)
    if not ranking:
        return None
    lines = ["rank  relevant  score    document"]
    for entry in ranking:
        rank = entry.get("rank")
        grade = entry.get("relevance") or 0
        score = entry.get("score")
        shown = f"{score:.4f}" if isinstance(score, (int, float)) else "-"
        text = " ".join(str(entry.get("text") or "").split())[:120]
        lines.append(
            f"{rank if rank is not None else '-':>4}  {('yes (' + str(grade) + ')') if grade else 'no':<8}  "
            f"{shown:<7}  {entry.get('id')}: {text}"
        )
    return "\n".join(lines)


def _choice_logprobs(record: SampleRecord) -> str | None:
    """A log-likelihood sample's choices, one line each: letter, summed log-probability, token count
    and the continuation (output_type=multiple_choice); None for other samples."""
    choices = getattr(record, "choice_logprobs", None)
    if not choices:
        return None
    lines = []
    for i, choice in enumerate(choices):
        mark = " <- chosen" if record.extracted == chr(ord("A") + i) else ""
        lines.append(
            f"{chr(ord('A') + i)}  {choice.get('logprob', float('nan')):.4f}  ({choice.get('tokens')} tokens)  "
            f"{choice.get('continuation')!r}{mark}"
        )
    return "\n".join(lines)


def _seconds(value: float | None, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if value is not None else ""


def _row(index: int, record: SampleRecord) -> SampleRow:
    verdict = verdict_of(record)
    usage = record.usage
    return SampleRow(
        index=index,
        anchor=row_anchor(record.nodeid),
        verdict=verdict,
        shown_verdict=f"error: {record.error_kind}" if verdict == "error" and record.error_kind else verdict,
        record=record,
        extracted=shorten(as_text(record.extracted), CELL_CHARS),
        expected=shorten(as_text(record.target), CELL_CHARS),
        finish=as_text(record.finish_reason),
        latency=_seconds(record.latency_s),
        queued=_seconds(record.queued_s),
        ttft=_seconds(record.ttft_s, 3),
        prompt_tokens=str(usage.prompt_tokens) if usage is not None and usage.prompt_tokens is not None else "",
        completion_tokens=str(usage.completion_tokens)
        if usage is not None and usage.completion_tokens is not None
        else "",
    )


def _counts(total: int, verdicts: Counter[str], kinds: Counter[str]) -> str:
    parts = [f"{verdicts[v]} {v}" for v in VERDICTS if verdicts[v]]
    text = f"{total} samples" + (": " + ", ".join(parts) if parts else "")
    if kinds:
        text += " (errors by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")"
    return text + "."
