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
times): each field's alias (`serialization_alias`, read back by `validation_alias`) is its key there. In Python and in report.js the fields have readable
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

    nodeid: str = Field(validation_alias="n", serialization_alias="n")
    # (role, indices into `SamplesPayload.chunks`) per message: joined, the chunks are its text
    messages: list[tuple[str, list[int]]] = Field(default_factory=list, validation_alias="m", serialization_alias="m")
    media: list[dict[str, Any]] | None = Field(None, validation_alias="md", serialization_alias="md")  # preview entries
    output: str | None = Field(None, validation_alias="o", serialization_alias="o")
    outputs: list[str] | None = Field(None, validation_alias="os", serialization_alias="os")  # when n > 1
    reasoning: str | None = Field(None, validation_alias="r", serialization_alias="r")
    explanation: str | None = Field(None, validation_alias="x", serialization_alias="x")
    error: str | None = Field(None, validation_alias="e", serialization_alias="e")
    error_kind: str | None = Field(None, validation_alias="k", serialization_alias="k")
    metrics: dict[str, float] | None = Field(None, validation_alias="s", serialization_alias="s")  # no `_...`
    usage: dict[str, Any] | None = Field(None, validation_alias="u", serialization_alias="u")  # Usage, no nulls
    latency_s: float | None = Field(None, validation_alias="l", serialization_alias="l")
    queued_s: float | None = Field(None, validation_alias="q", serialization_alias="q")
    ttft_s: float | None = Field(None, validation_alias="t", serialization_alias="t")
    finish_reason: str | None = Field(None, validation_alias="f", serialization_alias="f")
    cached: bool | None = Field(None, validation_alias="c", serialization_alias="c")  # True, or left out
    extracted_full: str | None = Field(None, validation_alias="xf", serialization_alias="xf")  # when the cell cut it
    target_full: str | None = Field(None, validation_alias="tf", serialization_alias="tf")  # when the cell cut it


class CompareDetail(_Detail):
    """One sample of the side-by-side table: its prompt and expected answer, and each run's texts."""

    nodeid: str = Field(validation_alias="n", serialization_alias="n")
    prompt: str = Field(validation_alias="p", serialization_alias="p")
    target_full: str = Field(validation_alias="tf", serialization_alias="tf")
    run_outputs: list[str | None] = Field(validation_alias="ro", serialization_alias="ro")
    run_reasonings: list[str | None] = Field(validation_alias="rr", serialization_alias="rr")
    run_errors: list[str | None] = Field(validation_alias="re", serialization_alias="re")
    run_explanations: list[str | None] = Field(validation_alias="rx", serialization_alias="rx")


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
            alias = info.serialization_alias or name
            if keys.setdefault(name, alias) != alias or list(keys.values()).count(alias) > 1:
                raise AssertionError(f"payload key {alias!r} of {model.__name__}.{name} clashes with another field")
    return keys


KEYS: dict[str, str] = _keys()  # readable name -> key on the page


def payload_json(payload: SamplesPayload | ComparePayload) -> Markup:
    """The payload as JSON safe inside `<script>` (short keys, None fields left out)."""
    return script_json(payload.model_dump(by_alias=True, exclude_none=True))
