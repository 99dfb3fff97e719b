"""What the report's script reads: the full texts of each sample, carried once as JSON in a
non-executing `<script type="application/json">` block and turned into DOM text (`textContent`)
only when a row is opened or searched.

Two payloads, one per page:

- the run's samples section (`sample_table.py`): `chunks`, the distinct prompt paragraphs, and one
  `SampleDetail` per table row, in row order (`data-i` of the row);
- the side-by-side page (`side_by_side.py`): `runs`, the run labels in column order, and one
  `CompareDetail` per row, whose `run_*` lists hold one entry per run (None where the run has no
  such sample).

The details are declared here with readable field names (TypedDicts, checked by mypy where they are
built); on the page their keys are short, since a 10,000-sample report repeats each key 10,000
times. `KEYS` ({name: key on the page}) is the one table of both: `on_page` renames a detail by it
(a name it does not hold is a KeyError, never a silently dropped field), and the table replaces the
`{/*LLMEVAL_PAYLOAD_KEYS*/}` placeholder of report.js when the page is built (`html.script_text`),
so the script reads `detail[K.output]`. A test checks that the names report.js reads are exactly
the declared ones. Fields that are None are left out of the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from markupsafe import Markup

from .text import script_json

KEYS_PLACEHOLDER = "{/*LLMEVAL_PAYLOAD_KEYS*/}"


class SampleDetail(TypedDict, total=False):
    """One sample of the run's samples table, as its expanded row shows it."""

    nodeid: str
    messages: list[tuple[str, list[int]]]  # (role, indices into `chunks`) per message: joined, its text
    media: list[dict[str, Any]] | None  # media.preview.previews entries (kind, label, data: url)
    output: str | None
    outputs: list[str] | None  # every generation, when there are several
    reasoning: str | None
    explanation: str | None
    error: str | None
    error_kind: str | None
    metrics: dict[str, float] | None  # without a benchmark's internal `_...` counters
    usage: dict[str, Any] | None  # endpoint.models.Usage without its nulls
    latency_s: float | None
    queued_s: float | None
    ttft_s: float | None
    finish_reason: str | None
    cached: bool | None  # True, or left out
    extracted_full: str | None  # only when the table cell cut it
    target_full: str | None  # only when the table cell cut it
    choice_logprobs: str | None  # log-likelihood samples: a line per choice (letter, summed log-probability)
    ranking: str | None  # embedding tasks: a line per ranked document (rank, relevance, score, id, text)


class CompareDetail(TypedDict):
    """One sample of the side-by-side table: its prompt and expected answer, and each run's texts."""

    nodeid: str
    prompt: str
    target_full: str
    run_outputs: list[str | None]
    run_reasonings: list[str | None]
    run_errors: list[str | None]
    run_explanations: list[str | None]


# readable name -> key on the page (one table for both details: a shared name has one key)
KEYS: dict[str, str] = {
    "nodeid": "n",
    "messages": "m",
    "media": "md",
    "output": "o",
    "outputs": "os",
    "reasoning": "r",
    "explanation": "x",
    "error": "e",
    "error_kind": "k",
    "metrics": "s",
    "usage": "u",
    "latency_s": "l",
    "queued_s": "q",
    "ttft_s": "t",
    "finish_reason": "f",
    "cached": "c",
    "extracted_full": "xf",
    "target_full": "tf",
    "choice_logprobs": "cl",
    "ranking": "rk",
    "prompt": "p",
    "run_outputs": "ro",
    "run_reasonings": "rr",
    "run_errors": "re",
    "run_explanations": "rx",
}
NAMES: dict[str, str] = {key: name for name, key in KEYS.items()}  # key on the page -> readable name

if set(KEYS) != set(SampleDetail.__annotations__) | set(CompareDetail.__annotations__) or len(NAMES) != len(KEYS):
    raise AssertionError("report/payload.py: KEYS must name every detail field once, each with its own key")


def on_page(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A detail as the page stores it: short keys, in the detail's order, None fields left out."""
    return {KEYS[name]: value for name, value in detail.items() if value is not None}


def samples_payload(chunks: list[str], samples: list[SampleDetail]) -> Markup:
    """The samples section's JSON (safe inside `<script>`)."""
    return script_json({"chunks": chunks, "samples": [on_page(s) for s in samples]})


def compare_payload(runs: list[str], samples: list[CompareDetail]) -> Markup:
    """The side-by-side page's JSON (safe inside `<script>`)."""
    return script_json({"runs": runs, "chunks": [], "samples": [on_page(s) for s in samples]})
