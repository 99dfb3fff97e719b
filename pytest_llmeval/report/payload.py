"""What the report's script reads: the full texts of each sample, carried once as JSON in a
non-executing `<script type="application/json">` block and turned into DOM text (`textContent`)
only when a row is opened or searched.

Two payloads, one per page:

- `SamplesPayload` (the run's samples section, `sample_table.py`): `chunks`, the distinct prompt
  paragraphs, and one `SampleDetail` per table row, in row order (`data-i` of the row);
- `ComparePayload` (the side-by-side page, `side_by_side.py`): `runs`, the run labels in column
  order, and one `CompareDetail` per row, whose `run_*` lists hold one entry per run (None where
  the run has no such sample).

On the page the keys of a detail are short (a 10,000-sample report repeats each key 10,000
times): each field's alias is its key there. In Python and in report.js the fields have readable
names: `KEYS` ({name: key}) replaces the `{/*LLMEVAL_PAYLOAD_KEYS*/}` placeholder of report.js when
the page is built (`html.script_text`), and the script reads `detail[K.output]`. A key exists in
one place, so the script and the builders cannot disagree on it (a test checks that every `K.name`
the script reads is declared here). Fields that are None are left out of the JSON.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field

from .text import script_json

KEYS_PLACEHOLDER = "{/*LLMEVAL_PAYLOAD_KEYS*/}"


class _Detail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class SampleDetail(_Detail):
    """One sample of the run's samples table, as its expanded row shows it."""

    nodeid: str = Field(alias="n")
    # (role, indices into `SamplesPayload.chunks`) per message: joined, the chunks are its text
    messages: list[tuple[str, list[int]]] = Field(default_factory=list, alias="m")
    media: list[dict[str, Any]] | None = Field(
        None, alias="md"
    )  # media.preview.previews entries
    output: str | None = Field(None, alias="o")
    outputs: list[str] | None = Field(
        None, alias="os"
    )  # every generation, when there are several
    reasoning: str | None = Field(None, alias="r")
    explanation: str | None = Field(None, alias="x")
    error: str | None = Field(None, alias="e")
    error_kind: str | None = Field(None, alias="k")
    metrics: dict[str, float] | None = Field(
        None, alias="s"
    )  # without internal `_...` counters
    usage: dict[str, Any] | None = Field(
        None, alias="u"
    )  # endpoint.models.Usage, without nulls
    latency_s: float | None = Field(None, alias="l")
    queued_s: float | None = Field(None, alias="q")
    ttft_s: float | None = Field(None, alias="t")
    finish_reason: str | None = Field(None, alias="f")
    cached: bool | None = Field(None, alias="c")  # True, or left out
    extracted_full: str | None = Field(
        None, alias="xf"
    )  # only when the table cell cut it
    target_full: str | None = Field(None, alias="tf")  # only when the table cell cut it


class CompareDetail(_Detail):
    """One sample of the side-by-side table: its prompt and expected answer, and each run's texts."""

    nodeid: str = Field(alias="n")
    prompt: str = Field(alias="p")
    target_full: str = Field(alias="tf")
    run_outputs: list[str | None] = Field(alias="ro")
    run_reasonings: list[str | None] = Field(alias="rr")
    run_errors: list[str | None] = Field(alias="re")
    run_explanations: list[str | None] = Field(alias="rx")


class SamplesPayload(BaseModel):
    chunks: list[str]
    samples: list[SampleDetail]


class ComparePayload(BaseModel):
    runs: list[str]
    chunks: list[str] = Field(default_factory=list)
    samples: list[CompareDetail]


def _keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for model in (SampleDetail, CompareDetail):
        for name, info in model.model_fields.items():
            alias = info.alias or name
            if (
                keys.setdefault(name, alias) != alias
                or list(keys.values()).count(alias) > 1
            ):
                raise AssertionError(
                    f"payload key {alias!r} of {model.__name__}.{name} clashes with another field"
                )
    return keys


KEYS: dict[str, str] = _keys()  # readable name -> key on the page


def payload_json(payload: SamplesPayload | ComparePayload) -> Markup:
    """The payload as JSON safe inside `<script>` (short keys, None fields left out)."""
    return script_json(payload.model_dump(by_alias=True, exclude_none=True))
