"""The collection file: one JSON line per sample, the reference system's (EvalScope's) shape.

Each line::

    {"index": 0,
     "prompt": {"id": "0007", "subset": "main", "input": "...", "target": "5",
                "choices": null, "metadata": {...}},
     "tags": ["en"], "categories": ["Qwen3", "Math&Science"], "task_type": "math",
     "weight": 0.0025, "dataset_name": "gsm8k", "subset_name": "main"}

`prompt` is the benchmark's sample as built when the collection was sampled: the exact `input` that
is sent (a string, or a list of chat messages), the `target`, the `choices` of a multiple-choice
question and the `metadata` its scorer reads (IFEval's `instruction_id_list` and `kwargs`, ...).
`categories` is the group path from the root, `weight` the sample's part of its dataset's share
(the dataset's share divided by the number of samples taken from it). Files the reference system
publishes have the same fields; their `prompt.input` is usually a list of chat messages whose
`content` may be a list of parts (`{"type": "text", "text": ...}`), and `prompt` carries no
`subset` (the line's `subset_name` is used). Both are read by `read_collection`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..benchmarks.base import Benchmark, Message, Sample
from ..errors import CollectionError


class CollectionRecord(BaseModel):
    """One line of a collection file (unknown extra fields are kept but not used)."""

    model_config = ConfigDict(extra="allow")

    index: int
    prompt: dict[str, Any]
    tags: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    task_type: str = ""
    weight: float = 0.0
    dataset_name: str = Field(min_length=1)
    subset_name: str = "default"

    def line(self) -> str:
        """The record as one JSON line (the byte-for-byte output of the builder)."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, default=str) + "\n"


def read_collection(path: Path) -> Iterator[tuple[CollectionRecord, str]]:
    """Records of a collection JSONL file, each with `file:line`. A malformed line, a missing field
    or a repeated `index` is a CollectionError naming the line."""
    if not path.is_file():
        raise CollectionError(f"--llm-collection {str(path)!r} is not a file; pass a collection .jsonl "
                              "(python -m pytest_llmeval.collection build ... writes one)")
    seen: set[int] = set()
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = CollectionRecord.model_validate_json(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "(line)"
                raise CollectionError(
                    f"{where}: not a collection record ({field}: {first['msg']}); each line needs index, "
                    "prompt, dataset_name (and tags, categories, task_type, weight, subset_name)"
                ) from None
            if record.index in seen:
                raise CollectionError(f"{where}: index {record.index} appears twice; each record needs its own index")
            seen.add(record.index)
            yield record, where


def _part(part: Any) -> Any:
    """One content part in OpenAI's shape: the reference system writes images as
    `{"type": "image", "image": "data:..."}` and audio as `{"type": "audio", "audio": "<base64>",
    "format": "wav"}`; those become `image_url` / `input_audio` parts (others pass unchanged)."""
    if isinstance(part, Mapping) and part.get("type") == "image" and isinstance(part.get("image"), str):
        return {"type": "image_url", "image_url": {"url": part["image"]}}
    if isinstance(part, Mapping) and part.get("type") == "audio" and isinstance(part.get("audio"), str):
        return {"type": "input_audio", "input_audio": {"data": part["audio"], "format": str(part.get("format") or "wav")}}
    return part


#: Media URLs a record may carry: inline bytes, or a web address the endpoint fetches itself.
_SENDABLE = ("data:", "http://", "https://")
REFUSED_URL = "(refused: not inline media)"


def _refuse_local_media(messages: list[Message]) -> str | None:
    """Replace every media URL part (`image_url`, `audio_url`, `video_url`, ...) whose URL is not
    `data:` or `http(s)://` (a `file://` URL, a local path) by a placeholder, so that no local file
    name reaches the endpoint (servers such as vLLM read `file://` URLs from their own disk) or the
    results; the reason, or None when every URL was inline or on the web."""
    problem: str | None = None
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for index, part in enumerate(content):
            kind = str(part.get("type", "")) if isinstance(part, Mapping) else ""
            inner = part.get(kind) if kind.endswith("_url") else None
            url = inner.get("url") if isinstance(inner, Mapping) else inner
            if not kind.endswith("_url") or (isinstance(url, str) and url.strip().lower().startswith(_SENDABLE)):
                continue
            shown = str(url)[:120]
            problem = problem or (f"a {kind} part names {shown!r}: a collection carries its media inline (data: URLs) "
                                  "or as http(s) URLs, never local files; rebuild the collection with "
                                  "`python -m pytest_llmeval.collection build`")
            content[index] = {"type": "text", "text": REFUSED_URL}
    return problem


def _text_of(content: Any) -> Any:
    """Message content as text when it is a list of text parts (the reference system's shape);
    a list with media stays a list of OpenAI content parts."""
    if isinstance(content, list) and all(isinstance(p, Mapping) and p.get("type") == "text" for p in content):
        return "".join(str(p.get("text", "")) for p in content)
    if isinstance(content, list):
        return [_part(p) for p in content]
    return content


def _messages(value: Any) -> str | list[Message]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(m, Mapping) and "role" in m for m in value):
        messages: list[Message] = [{"role": str(m["role"]), "content": _text_of(m.get("content", ""))} for m in value]
        if len(messages) == 1 and messages[0]["role"] == "user" and isinstance(messages[0]["content"], str):
            return messages[0]["content"]  # one plain user turn: scorers that read the prompt get its text
        return messages
    raise ValueError("prompt.input must be a string or a list of chat messages with role and content")


def record_sample(record: CollectionRecord, benchmark: Benchmark) -> Sample:
    """The benchmark sample of a record, ready for `benchmark.messages` and `benchmark.score`.

    The sample's id is the record's `index` (unique within the file). A multiple-choice target given
    as an option index (`2`) becomes its letter. Raises ValueError on a prompt that cannot be used.
    """
    prompt = record.prompt
    if "input" not in prompt:
        raise ValueError("prompt has no input field")
    target: Any = prompt.get("target", "")
    choices = prompt.get("choices")
    if choices is not None:
        if not isinstance(choices, list):
            raise ValueError("prompt.choices must be a list")
        choices = [str(c) for c in choices]
        if isinstance(target, int) and not isinstance(target, bool) and 0 <= target < len(choices):
            target = chr(ord("A") + target)
    if target is None:
        target = ""
    if not isinstance(target, (str, list)):
        target = str(target)
    if isinstance(target, list):
        target = [str(t) for t in target]
    metadata = prompt.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise ValueError("prompt.metadata must be an object")
    # `segments` (refs to files of the media folder) and `media_error` are the plugin's own: a
    # record's media are its inline parts, never names of spooled files
    metadata = {k: v for k, v in metadata.items() if k not in ("segments", "media_error")}
    messages = _messages(prompt["input"])
    refused = _refuse_local_media(messages) if isinstance(messages, list) else None
    if refused:  # that sample fails alone (kind media) when its request would be built
        metadata["media_error"] = refused
    return Sample(
        id=str(record.index),
        subset=str(prompt.get("subset") or record.subset_name or "default"),
        input=messages,
        target=target,
        choices=choices,
        metadata=metadata,
    )
