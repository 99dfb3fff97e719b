"""OpenAI content parts from spooled media, and their summaries for what the plugin stores.

`content_parts(segments, store)` turns text and `MediaRef`s (in order) into a `content` list:
`{"type": "text"}`, `{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}`,
`{"type": "input_audio", "input_audio": {"data": "<base64>", "format": "wav"}}` (the OpenAI chat
completions shapes). An `http(s)://` string stands for itself as an image URL.

`summarise_messages(messages)` replaces every base64 payload by `{"sha256", "bytes", "format"}`
so that the samples JSONL, the results and the report never carry media bytes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from .store import MediaRef, MediaStore

Segment = str | MediaRef


def content_parts(segments: Sequence[Segment], store: MediaStore) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for segment in segments:
        if isinstance(segment, str):
            if segment.startswith(("http://", "https://")) and " " not in segment:
                parts.append({"type": "image_url", "image_url": {"url": segment}})
            elif segment.strip():
                parts.append({"type": "text", "text": segment})
            continue
        encoded = base64.b64encode(store.read(segment)).decode("ascii")
        if segment.kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": f"data:{segment.mime};base64,{encoded}"}})
        else:
            parts.append({"type": "input_audio", "input_audio": {"data": encoded, "format": segment.format}})
    return parts


def _summary(payload: str, fmt: str) -> dict[str, Any]:
    try:
        raw = base64.b64decode(payload, validate=False)
    except ValueError:  # binascii.Error: not base64 (a hostile record); summarised as the text it is
        raw = payload.encode("utf-8", errors="surrogatepass")
        fmt = "invalid-base64"
    return {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw), "format": fmt}


def summarise_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with media payloads replaced by their hash, size and format."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            out.append(message)
            continue
        parts: list[dict[str, Any]] = []
        for part in content:
            if not isinstance(part, dict):  # never raises on a malformed part: the record must still be written
                parts.append({"type": "invalid", "text": str(part)[:200]})
                continue
            kind = part.get("type")
            if kind == "image_url" and isinstance(part.get("image_url"), dict):
                url = str(part["image_url"].get("url", ""))
                if url.startswith("data:"):
                    header, _, payload = url.partition(",")
                    fmt = header.removeprefix("data:").split(";")[0].split("/")[-1]
                    parts.append({"type": "image_url", "image_url": _summary(payload, fmt)})
                else:
                    parts.append(part)
            elif kind == "input_audio" and isinstance(part.get("input_audio"), dict):
                audio = part["input_audio"]
                parts.append(
                    {
                        "type": "input_audio",
                        "input_audio": _summary(str(audio.get("data", "")), str(audio.get("format"))),
                    }
                )
            else:
                parts.append(part)
        out.append({**message, "content": parts})
    return out
