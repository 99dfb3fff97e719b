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

Checked when the file is read (one usage error naming `file:line`, the field and the fix): `index` is a
whole number >= 0, unique in the file (every record counts in the averages, so none may hide under a
malformed id); `weight` a finite number >= 0; each name of `categories` non-empty and without `/`
(the group path separator: `["A/B"]` and `["A", "B"]` would be one row of the report); the file UTF-8.
A record whose `prompt` cannot become a sample (a malformed content part, media that are not valid
base64) fails alone: its item is an error of kind `bad_record`, and the rest of the run goes on.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from ..benchmarks.base import Benchmark, Message, Sample
from ..errors import CollectionError
from .schema import group_name

GroupName = Annotated[str, AfterValidator(group_name)]


class CollectionRecord(BaseModel):
    """One line of a collection file (unknown extra fields are kept but not used)."""

    model_config = ConfigDict(extra="allow")

    index: int = Field(ge=0)
    prompt: dict[str, Any]
    tags: list[str] = Field(default_factory=list)
    categories: list[GroupName] = Field(default_factory=list)
    task_type: str = ""
    weight: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    dataset_name: str = Field(min_length=1)
    subset_name: str = "default"

    def line(self) -> str:
        """The record as one JSON line (the byte-for-byte output of the builder)."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, default=str) + "\n"


def read_collection(path: Path) -> Iterator[tuple[CollectionRecord, str]]:
    """Records of a collection JSONL file, each with `file:line`. A malformed line, a missing field
    or a repeated `index` is a CollectionError naming the line."""
    if not path.is_file():
        raise CollectionError(
            f"--llm-collection {str(path)!r} is not a file; pass a collection .jsonl "
            "(python -m pytest_llmeval.collection build ... writes one)"
        )
    seen: set[int] = set()
    with path.open("rb") as handle:
        for number, data in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                raw = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CollectionError(
                    f"{where}: not UTF-8 text (byte {exc.start + 1} of the line); save the collection file as UTF-8"
                ) from None
            if not raw.strip():
                continue
            try:
                record = CollectionRecord.model_validate_json(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "(line)"
                raise CollectionError(
                    f"{where}: not a collection record ({field}: {first['msg']}); each line needs index (a whole "
                    "number >= 0), prompt, dataset_name (and tags, categories, task_type, weight >= 0, subset_name)"
                ) from None
            if record.index in seen:
                raise CollectionError(f"{where}: index {record.index} appears twice; each record needs its own index")
            seen.add(record.index)
            yield record, where


def _base64(payload: str, what: str) -> None:
    """ValueError unless `payload` is non-empty standard base64 (what the endpoint will decode)."""
    compact = "".join(payload.split())
    if not compact:
        raise ValueError(f"{what} is empty")
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None


def _image_url(url: str) -> str:
    if url.startswith("data:"):
        header, sep, payload = url.partition(",")
        if not sep or not header.endswith(";base64"):
            raise ValueError("an image data: URL must be data:<mime>;base64,<payload>")
        _base64(payload, "the image's base64 payload")
    elif not url.startswith(("http://", "https://")):
        raise ValueError(f"an image is a data: URL or an http(s) URL, got {url[:40]!r}")
    return url


def _part(part: Any) -> dict[str, Any]:
    """One content part in OpenAI's shape: the reference system writes images as
    `{"type": "image", "image": "data:..."}` and audio as `{"type": "audio", "audio": "<base64>",
    "format": "wav"}`; those become `image_url` / `input_audio` parts. Known part types are checked
    (a text part has text, media are base64 or an http(s) image URL); a part of another type passes
    unchanged. ValueError names what is wrong."""
    if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
        raise ValueError(f"a content part must be an object with a 'type', got {type(part).__name__}")
    kind = part["type"]
    if kind == "text":
        if not isinstance(part.get("text"), str):
            raise ValueError("a text part needs a 'text' string")
        return dict(part)
    if kind == "image" or kind == "image_url":
        info = part.get("image_url")
        url = part.get("image") if kind == "image" else (info.get("url") if isinstance(info, Mapping) else None)
        if not isinstance(url, str):
            raise ValueError(f"an {kind} part needs {'an image' if kind == 'image' else 'image_url.url'} string")
        return {
            "type": "image_url",
            "image_url": {**(info if isinstance(info, Mapping) else {}), "url": _image_url(url)},
        }
    if kind == "audio" or kind == "input_audio":
        info = part.get("input_audio")
        data = part.get("audio") if kind == "audio" else (info.get("data") if isinstance(info, Mapping) else None)
        fmt = part.get("format") if kind == "audio" else (info.get("format") if isinstance(info, Mapping) else None)
        if not isinstance(data, str):
            raise ValueError(
                f"an {kind} part needs {'an audio' if kind == 'audio' else 'input_audio.data'} base64 string"
            )
        _base64(data, "the audio's base64 payload")
        return {"type": "input_audio", "input_audio": {"data": data, "format": str(fmt or "wav")}}
    return dict(part)


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
            problem = problem or (
                f"a {kind} part names {shown!r}: a collection carries its media inline (data: URLs) "
                "or as http(s) URLs, never local files; rebuild the collection with "
                "`python -m pytest_llmeval.collection build`"
            )
            content[index] = {"type": "text", "text": REFUSED_URL}
    return problem


def _text_of(content: Any) -> Any:
    """Message content as text when it is a list of text parts (the reference system's shape);
    a list with media stays a list of OpenAI content parts. ValueError on content of another shape."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ValueError(f"a message's content must be text or a list of content parts, got {type(content).__name__}")
    parts = [_part(p) for p in content]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


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
