"""Typed chat responses: what the endpoint answered, with the timings we measured."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int | None = None

    @classmethod
    def from_openai(cls, data: dict[str, Any] | None) -> Usage:
        if not data:
            return cls()
        details = data.get("completion_tokens_details")
        # OpenAI and vLLM: completion_tokens_details.reasoning_tokens; SGLang: usage.reasoning_tokens
        reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
        if reasoning is None:
            reasoning = data.get("reasoning_tokens")
        return cls(
            prompt_tokens=token_count(data.get("prompt_tokens")) or 0,
            completion_tokens=token_count(data.get("completion_tokens")) or 0,
            total_tokens=token_count(data.get("total_tokens")) or 0,
            reasoning_tokens=token_count(reasoning),
        )


def token_count(value: Any) -> int | None:
    """A token count as a server sent it: a whole number >= 0 (``12.0`` too), else None. A hostile or
    broken usage object (a string, a list, a negative count) must not fail the answer it came with."""
    if value.__class__ is float and value.is_integer():
        value = int(value)
    return value if value.__class__ is int and value >= 0 else None


class Choice(BaseModel):
    """One generation. `reasoning` is the server's separate reasoning field (`reasoning_content`)."""

    text: str = ""
    reasoning: str | None = None
    finish_reason: str | None = None
    # /v1/completions only: the legacy `logprobs` object (tokens, text_offset, token_logprobs) that
    # log-likelihood scoring reads; kept in the cache with the text.
    logprobs: dict[str, Any] | None = None


class ChatResponse(BaseModel):
    """A completed chat request.

    `latency_s` is measured from sending the request to the last byte; `ttft_s` (time to first
    token) only exists for streamed requests. `cached` tells that no request was sent this run;
    `requests`/`requests_cached` count the requests a `--llm-repeats` merge stands for.
    """

    choices: list[Choice] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    model: str | None = None
    latency_s: float = 0.0
    ttft_s: float | None = None
    queued_s: float | None = None  # waited for a free request slot before sending (not in latency_s)
    cached: bool = False
    # --llm-repeats merges several requests into one response: how many, and how many the cache answered
    requests: int = 1
    requests_cached: int | None = None  # None: one request, and `cached` says whether the cache answered it

    @property
    def cached_count(self) -> int:
        """How many of the `requests` behind this response were answered from the cache."""
        return self.requests_cached if self.requests_cached is not None else int(self.cached)

    @property
    def text(self) -> str:
        return self.choices[0].text if self.choices else ""

    @property
    def reasoning(self) -> str | None:
        return self.choices[0].reasoning if self.choices else None

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None
