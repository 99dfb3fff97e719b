"""The OpenAI wire format, in one place for the eval client and the perf load generator.

No I/O and no clocks here: callers read the bytes and stamp the times (perf's timing code sits
around these functions, never inside them).

Requests
  * :func:`with_stream` sets ``stream`` and, when streaming, asks for the usage chunk
    (``stream_options.include_usage``; the caller's own ``stream_options`` keys win);
  * :func:`is_completion` tells a text completion (``prompt``: ``/completions``) from a chat
    (``messages``: ``/chat/completions``); :func:`encode` gives the compact UTF-8 JSON that is sent.

Replies
  * non-streaming: :func:`read_completion` -> :class:`Completion` (every choice: text,
    ``reasoning_content`` / ``reasoning``, finish reason, the legacy ``logprobs`` object of
    ``/completions``; the ``usage`` object and ``model`` as sent);
  * streaming (server-sent events): :class:`SSELines` cuts bytes into ``data:`` payloads (a line
    may span reads; lines are joined once, never re-copied per read), :func:`read_event` decodes one,
    :func:`deltas` gives each choice's piece; :class:`StreamState` accumulates a whole stream.

A reply that breaks the format raises :class:`WireError` (a ``TransportFailure`` of
`endpoint/transport.py`, whose table also names every network failure): kind ``bad_response``
(not JSON, not a completion, no choices), ``stream_error`` (an ``error`` event in the stream) or
``incomplete_stream`` (ended without ``[DONE]`` or a finish reason). ``reason`` is one short
sentence; ``snippet`` the whole offending text (not yet redacted: the eval client redacts it, then cuts it
to 300 characters; the message holds its first 300).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from .transport import TransportFailure

SNIPPET = 300
DONE = object()  # what read_event returns for `data: [DONE]`

Loads = Callable[[bytes], Any]


class WireError(TransportFailure):
    def __init__(self, kind: str, reason: str, snippet: str | None = None) -> None:
        super().__init__(kind, reason if snippet is None else f"{reason}: {snippet[:SNIPPET]}")
        self.reason = reason
        self.snippet = snippet

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.reason, self.snippet))


def _snippet(data: bytes) -> str:
    # whole: a secret must be redacted before the text is cut (a cut key would survive)
    return data.decode("utf-8", "replace")


# -- requests -------------------------------------------------------------------------------------


def with_stream(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """A copy of `body` that streams (with the usage chunk asked for) or does not."""
    body = dict(body)
    if stream:
        body["stream"] = True
        body["stream_options"] = {
            "include_usage": True,
            **(body.get("stream_options") or {}),
        }
    else:
        body["stream"] = False
        body.pop("stream_options", None)
    return body


def is_completion(body: dict[str, Any]) -> bool:
    """A body with a `prompt` is a text completion (log-likelihood scoring), one with `messages` a chat."""
    return "prompt" in body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


# -- non-streaming replies ------------------------------------------------------------------------


class ChoiceParts(NamedTuple):
    text: str
    reasoning: str | None
    finish_reason: str | None
    logprobs: dict[str, Any] | None


class Completion(NamedTuple):
    choices: list[ChoiceParts]
    usage: dict[str, Any] | None
    model: str | None


def read_completion(body: bytes, loads: Loads = json.loads) -> Completion:
    """A whole chat or text completion. Raises WireError("bad_response")."""
    try:
        payload = loads(body)
        choices = []
        for raw in payload["choices"]:
            if "message" not in raw and "text" in raw:  # /v1/completions
                logprobs = raw.get("logprobs") if isinstance(raw.get("logprobs"), dict) else None
                choices.append(ChoiceParts(raw["text"] or "", None, raw.get("finish_reason"), logprobs))
                continue
            message = raw.get("message") or {}
            choices.append(
                ChoiceParts(
                    message.get("content") or "",
                    message.get("reasoning_content") or message.get("reasoning"),
                    raw.get("finish_reason"),
                    None,
                )
            )
        usage = payload.get("usage")
        model = payload.get("model")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise WireError("bad_response", "response is not a chat completion", _snippet(body)) from None
    if not choices:
        raise WireError("bad_response", "response has no choices", _snippet(body))
    if not all(_texts(choice.text, choice.reasoning, choice.finish_reason) for choice in choices):
        raise WireError("bad_response", _NOT_TEXT, _snippet(body))
    return Completion(choices, usage if isinstance(usage, dict) else None, model if isinstance(model, str) else None)


_NOT_TEXT = "a choice's text, reasoning or finish_reason is not a string"


def _texts(*values: Any) -> bool:
    """Whether every value is a string or None (a hostile reply may put a list or a number there)."""
    return all(value is None or value.__class__ is str for value in values)


def error_message(body: bytes) -> str:
    """The message of an error reply (`{"error": {"message": ...}}`, or `{"message": ...}`), else its text."""
    text = body[:2000].decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return text
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return str(payload["error"].get("message", payload["error"]))
    if isinstance(payload, dict) and "message" in payload:
        return str(payload["message"])
    return text


# -- streaming replies ----------------------------------------------------------------------------


class SSELines:
    """Server-sent-event bytes -> the payloads of their ``data:`` lines, in order."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending: list[bytes] = []  # reads of a line not ended yet, joined once it ends

    def feed(self, data: bytes) -> list[bytes]:
        if b"\n" not in data:
            self.pending.append(data)  # not `buffer + data`: re-copying a long line per read is quadratic
            return []
        if self.pending:
            self.pending.append(data)
            data = b"".join(self.pending)
        lines = data.split(b"\n")
        tail = lines.pop()
        self.pending = [tail] if tail else []
        return [line[5:] for line in lines if line[:5] == b"data:"]

    def close(self) -> list[bytes]:
        """The payload of a last line that never ended, if any."""
        if any(part.strip() for part in self.pending):
            return self.feed(b"\n")
        return []


def read_event(payload: bytes, loads: Loads = json.loads) -> Any:
    """One ``data:`` payload -> its event (a dict), or :data:`DONE`. Raises WireError for a
    payload that is not a JSON object (``bad_response``) or an error event (``stream_error``)."""
    try:
        event = loads(payload)
    except (ValueError, RecursionError):
        if payload.strip() == b"[DONE]":
            return DONE
        raise WireError("bad_response", "stream chunk is not JSON", _snippet(payload.strip())) from None
    if event.__class__ is not dict:
        raise WireError(
            "bad_response",
            "stream chunk is not a JSON object",
            _snippet(payload.strip()),
        )
    if "error" in event:
        raise WireError("stream_error", "server sent an error mid-stream", _snippet(payload.strip()))
    return event


def deltas(
    event: dict[str, Any],
) -> list[tuple[int, str | None, str | None, str | None]]:
    """(choice index, content, reasoning, finish reason) of each choice in a stream event. Content is
    the chat delta's, or a text completion's `text`; reasoning is `reasoning_content` or `reasoning`.
    Raises WireError("bad_response") for choices of other types (a list where a text belongs...)."""
    pieces = []
    try:
        for choice in event.get("choices") or ():
            delta = choice.get("delta")
            if delta is not None:
                content, reasoning = (
                    delta.get("content"),
                    delta.get("reasoning_content") or delta.get("reasoning"),
                )
            else:
                content, reasoning = choice.get("text"), None
            index, finish = choice.get("index", 0), choice.get("finish_reason")
            if index.__class__ is not int or not _texts(content, reasoning, finish):
                raise TypeError(_NOT_TEXT)
            pieces.append((index, content, reasoning, finish))
    except (AttributeError, TypeError):
        reason = f"stream chunk: {_NOT_TEXT}, or its choices are not objects with a whole-number index"
        raise WireError("bad_response", reason, json.dumps(event, ensure_ascii=False)) from None
    return pieces


class StreamState:
    """A whole chat stream, event by event: texts, reasoning and finish reasons per choice, the last
    usage object, the model, the time of the first content or reasoning piece (`first_at`, in the
    caller's clock) and the number of content pieces (the token count when a server sends no usage)."""

    __slots__ = (
        "done",
        "finish",
        "first_at",
        "lines",
        "model",
        "pieces",
        "reasonings",
        "texts",
        "usage",
    )

    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = {}
        self.reasonings: dict[int, list[str]] = {}
        self.finish: dict[int, str] = {}
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None
        self.first_at: float | None = None
        self.pieces = 0
        self.done = False
        self.lines = SSELines()

    def feed(self, data: bytes, now: float) -> None:
        """Bytes of the stream, with the time they were read. Raises WireError."""
        if self.done:
            return
        for payload in self.lines.feed(data):
            self._event(payload.strip(), now)

    def _event(self, payload: bytes, now: float) -> None:
        if self.done:
            return
        event = read_event(payload)
        if event is DONE:
            self.done = True
            return
        model, usage = event.get("model"), event.get("usage")
        if model.__class__ is str:
            self.model = model
        if usage and usage.__class__ is dict:
            self.usage = usage
        for index, content, reasoning, finish in deltas(event):
            if (content or reasoning) and self.first_at is None:
                self.first_at = now
            if content:
                self.texts.setdefault(index, []).append(content)
                self.pieces += 1
            if reasoning:
                self.reasonings.setdefault(index, []).append(reasoning)
            if finish:
                self.finish[index] = finish

    def close(self, now: float) -> list[ChoiceParts]:
        """The choices, in index order. Raises WireError("incomplete_stream") for a stream that
        ended without [DONE] and without a finish reason."""
        for payload in self.lines.close():
            self._event(payload.strip(), now)
        if not self.done and not self.finish:
            raise WireError("incomplete_stream", "stream ended before [DONE]")
        indices = sorted(set(self.texts) | set(self.reasonings) | set(self.finish)) or [0]
        return [
            ChoiceParts(
                "".join(self.texts.get(i, [])),
                "".join(self.reasonings[i]) if i in self.reasonings else None,
                self.finish.get(i),
                None,
            )
            for i in indices
        ]
