"""OpenAI wire shapes: error JSON, model list, chat/text completions and their SSE chunks.

Streamed events are built from pre-rendered JSON prefixes so a token costs one ``json.dumps`` of
the piece plus string concatenation: the server streams thousands of tokens per second.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from ._responder import OutputPlan

DONE_EVENT = "data: [DONE]\n\n"

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


try:  # optional: ~10x faster than the stdlib for response bodies; same JSON semantics
    import orjson

    _orjson: Any = orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON."""
    if _orjson is not None:
        encoded: bytes = _orjson.dumps(obj)
        return encoded
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _json_str(text: str) -> str:
    """A JSON string literal (quotes included) for splicing into a pre-rendered event."""
    if _orjson is not None:
        literal: str = _orjson.dumps(text).decode("utf-8")
        return literal
    return json.dumps(text, ensure_ascii=False)


def loads(data: bytes) -> Any:
    """Parse JSON; raises ValueError (orjson's error subclasses it) on invalid input."""
    if _orjson is not None:
        return _orjson.loads(data)
    return json.loads(data)


def error_body(status: int, message: str) -> bytes:
    """``{"error": {"message", "type", "param", "code"}}`` as the OpenAI API sends it."""
    err_type, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return dumps({"error": {"message": message, "type": err_type, "param": None, "code": code}})


def models_body(model: str, created: int) -> bytes:
    return dumps({"object": "list", "data": [{"id": model, "object": "model", "created": created, "owned_by": "fake"}]})


def usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0) -> dict[str, Any]:
    """OpenAI's usage object; reasoning tokens (counted inside completion_tokens) in
    `completion_tokens_details`, as OpenAI and vLLM report them, when there are any."""
    data: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if reasoning_tokens:
        data["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return data


def chat_completion_body(
    completion_id: str,
    created: int,
    model: str,
    plan: OutputPlan,
    n: int,
    prompt_tokens: int,
    reasoning_tokens: int = 0,
) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.content)}
    if plan.reasoning:
        message["reasoning_content"] = "".join(plan.reasoning)
    choices = [
        {"index": i, "message": message, "logprobs": None, "finish_reason": plan.finish_reason} for i in range(n)
    ]
    return dumps(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": usage(prompt_tokens, plan.completion_tokens * n, reasoning_tokens),
        }
    )


def text_completion_body(
    completion_id: str, created: int, model: str, plans: list[OutputPlan], n: int, prompt_tokens: int
) -> bytes:
    """One choice per (prompt, n) pair, in prompt-major order like the OpenAI API."""
    choices: list[dict[str, Any]] = []
    completion_tokens = 0
    for plan in plans:
        text = "".join(plan.content)
        for _ in range(n):
            choices.append({"index": len(choices), "text": text, "logprobs": None, "finish_reason": plan.finish_reason})
            completion_tokens += plan.completion_tokens
    return dumps(
        {
            "id": completion_id,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": usage(prompt_tokens, completion_tokens),
        }
    )


class _Chunks:
    """What the SSE events of a stream share: every event's opening (id, object, created, model)
    and ending (``"usage": null`` with include_usage), and the final usage event."""

    __slots__ = ("_prefix", "_suffix")
    object_name: ClassVar[str]

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        self._prefix = (
            f'data: {{"id":{json.dumps(completion_id)},"object":"{self.object_name}",'
            f'"created":{created},"model":{json.dumps(model)},"choices":['
        )
        # with include_usage, OpenAI puts "usage": null on every chunk but the last
        self._suffix = ',"usage":null}\n\n' if include_usage else "}\n\n"

    def usage(self, usage_obj: dict[str, Any]) -> str:
        return f'{self._prefix}],"usage":{json.dumps(usage_obj, separators=(",", ":"))}}}\n\n'


class ChatChunks(_Chunks):
    """SSE events of a ``chat.completion.chunk`` stream."""

    __slots__ = ()
    object_name = "chat.completion.chunk"

    def opening(self, index: int) -> str:
        return (
            f'{self._prefix}{{"index":{index},"delta":{{"role":"assistant","content":""}},'
            f'"logprobs":null,"finish_reason":null}}]{self._suffix}'
        )

    def token(self, index: int, piece_json: str, reasoning: bool) -> str:
        field = "reasoning_content" if reasoning else "content"
        return (
            f'{self._prefix}{{"index":{index},"delta":{{"{field}":{piece_json}}},'
            f'"logprobs":null,"finish_reason":null}}]{self._suffix}'
        )

    def finish(self, index: int, reason: str) -> str:
        return (
            f'{self._prefix}{{"index":{index},"delta":{{}},"logprobs":null,"finish_reason":"{reason}"}}]{self._suffix}'
        )


class TextChunks(_Chunks):
    """SSE events of a ``text_completion`` stream (no role chunk, no reasoning)."""

    __slots__ = ()
    object_name = "text_completion"

    def opening(self, index: int) -> str:
        return ""

    def token(self, index: int, piece_json: str, reasoning: bool) -> str:
        return (
            f'{self._prefix}{{"index":{index},"text":{piece_json},"logprobs":null,"finish_reason":null}}]{self._suffix}'
        )

    def finish(self, index: int, reason: str) -> str:
        return f'{self._prefix}{{"index":{index},"text":"","logprobs":null,"finish_reason":"{reason}"}}]{self._suffix}'


class StreamScript:
    """The SSE text of each write of a stream, rendered on demand.

    Write 0 opens every choice and carries token 0, write t carries token t, the last write also
    carries the finish events, the optional usage event and ``[DONE]``. ``plans[i]`` is the plan
    of choice ``i``; shorter choices simply stop early. Rendering lazily spreads the cost of a
    long stream over its lifetime instead of a burst at arrival (128 streams arriving together
    would otherwise stall the event loop for milliseconds).
    """

    __slots__ = ("_chunks", "_plans", "_usage", "writes")

    def __init__(
        self, chunks: ChatChunks | TextChunks, plans: list[OutputPlan], usage_obj: dict[str, Any] | None
    ) -> None:
        self._chunks = chunks
        self._plans = plans
        self._usage = usage_obj
        self.writes = max(1, max((p.completion_tokens for p in plans), default=0))

    def render(self, t: int, *, with_tail: bool = True) -> str:
        chunks = self._chunks
        parts = [chunks.opening(i) for i in range(len(self._plans))] if t == 0 else []
        for i, plan in enumerate(self._plans):
            reasoning = plan.reasoning
            if t < len(reasoning):
                parts.append(chunks.token(i, _json_str(reasoning[t]), True))
            elif t - len(reasoning) < len(plan.content):
                parts.append(chunks.token(i, _json_str(plan.content[t - len(reasoning)]), False))
        if with_tail and t == self.writes - 1:
            parts.extend(chunks.finish(i, plan.finish_reason) for i, plan in enumerate(self._plans))
            if self._usage is not None:
                parts.append(chunks.usage(self._usage))
            parts.append(DONE_EVENT)
        return "".join(parts)


# A prompt token for echoed log-probabilities: a run of ASCII letters/digits or one other character
# (so a Chinese character or an emoji is one token), with its leading whitespace.
_PROMPT_TOKEN = re.compile(r"\s*(?:[A-Za-z0-9]+|\S)|\s+")


def prompt_logprobs(prompt: str, generated: str, mode: str, known: dict[str, float]) -> dict[str, Any] | None:
    """The ``logprobs`` object of an echoed completion (legacy OpenAI shape), or None for ``mode='none'``.

    The first token's log-probability is null, as in the OpenAI API; a token's value is ``known`` by its
    text without leading whitespace, else -1.0. ``mode='bytes'`` counts offsets in UTF-8 bytes;
    ``'generated_only'`` returns only the generated token's entry, as servers without prompt scoring do.
    """
    if mode == "none":
        return None
    pieces = _PROMPT_TOKEN.findall(prompt)
    tokens: list[str] = []
    offsets: list[int] = []
    values: list[float | None] = []
    at = 0
    for i, piece in enumerate(pieces):
        tokens.append(piece)
        offsets.append(len(prompt[:at].encode("utf-8")) if mode == "bytes" else at)
        values.append(None if i == 0 else known.get(piece.strip(), -1.0))
        at += len(piece)
    end = len(prompt.encode("utf-8")) if mode == "bytes" else len(prompt)
    if mode == "generated_only":
        tokens, offsets, values = [], [], []
    tokens.append(generated)
    offsets.append(end)
    values.append(-1.0)
    return {"tokens": tokens, "text_offset": offsets, "token_logprobs": values, "top_logprobs": None}
