"""Configuration of the fake OpenAI-compatible server.

One pydantic model, ``FakeServerConfig``, is the whole contract between a test (or bench) and the
server process: the parent validates it, serialises it to JSON and hands it to
``python -m pytest_llmeval.testing.server --config-json ...``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ResponderMode = Literal["echo", "fixed", "rules"]


class ReplyRule(BaseModel):
    """First rule whose ``contains`` is a substring of the last user message decides the reply.

    Matching is case-sensitive and plain-substring (no regex). ``reasoning``, when set, is returned
    as ``reasoning_content`` (non-stream) / ``delta.reasoning_content`` chunks (stream) before the
    reply, and counts towards ``completion_tokens`` and ``max_tokens`` like a real reasoning model.
    """

    model_config = ConfigDict(extra="forbid")

    contains: str = Field(min_length=1)
    reply: str
    reasoning: str | None = None


class FailRule(BaseModel):
    """Requests whose prompt text contains ``contains`` always fail with ``status``."""

    model_config = ConfigDict(extra="forbid")

    contains: str = Field(min_length=1)
    status: int = Field(default=500, ge=400, le=599)
    retry_after_s: float | None = Field(default=None, ge=0)


def _as_list(value: object) -> object:
    """Let single-substring fault rules be written as a plain string."""
    if isinstance(value, str):
        return [value]
    return value


class FakeServerConfig(BaseModel):
    """Behaviour of ``FakeOpenAIServer``; every field has a default that gives a fast, healthy server.

    Timing (all relative to the moment the full request has been read, so delays never accumulate):
      * ``latency_s``: non-stream responses are written this long after arrival.
      * ``ttft_s``: stream: the role chunk and the first token are written together at arrival+ttft,
        so "first chunk" and "first content chunk" TTFT definitions agree.
      * ``itl_s``: token ``i`` is written at arrival + ttft + i*itl (absolute schedule, no drift).
        The finish / usage / ``[DONE]`` events ride in the same write as the last token.
      * ``timer_lead_s``: timers fire this much early to absorb the kernel's wake-up latency
        (timer slack); the realised values are reported by ``GET /_stats`` under ``timings``.
    Errors (fault injection, 401, 400) are answered immediately, without delay.

    Output length: ``echo`` yields exactly ``output_tokens`` tokens (the last user message's words,
    cycled); ``fixed``/``rules`` yield their text. ``max_tokens``/``max_completion_tokens`` truncate
    (finish_reason "length"); ``ignore_eos: true`` with a max pads to exactly max tokens;
    ``min_tokens`` pads up to a minimum. A token is a whitespace-separated word with its leading
    whitespace, so concatenating the streamed pieces gives back the text exactly.

    Faults (substring rules match the text of *all* messages, joined by newlines; checked in the
    order hang, drop_connection, fail_rules, malformed, truncate, then fail_first_n, fail_every_k)
    apply to the generation endpoints (chat + completions, and embeddings + rerank, matching their
    inputs) and share one request counter that
    ``POST /_reset`` rewinds:
      * ``fail_first_n``: generation requests 1..N get ``fail_status``.
      * ``fail_every_k``: requests k, 2k, 3k... get ``fail_status``.
      * ``malformed``: 200 with a non-JSON body (stream: a non-JSON ``data:`` event).
      * ``truncate``: 200 whose body is cut in half and the connection closed (stream: closed
        after half the tokens, without ``[DONE]`` or the terminating chunk).
      * ``drop_connection``: socket closed without any response.
      * ``hang``: never answered; the connection stays open until the client gives up.
    ``retry_after_s`` adds ``Retry-After`` (whole seconds, rounded up) and ``retry-after-ms``.

    Load-dependent behaviour (adaptive concurrency and SLO capacity tests), both counting the
    requests in flight when a generation request arrives, this one included (``in_flight`` of
    ``GET /_stats``; every arrival's count is kept there as ``arrival_in_flight``):
      * ``max_concurrency``: a hidden limit. A generation request arriving with more than this many
        in flight is answered ``overload_status`` (429) at once, with ``retry_after_s`` if set
        (checked before the other faults; counted as the ``overload`` fault).
      * ``delay_per_in_flight_s``: ``k`` seconds added per request in flight to ``ttft_s`` (stream)
        and ``latency_s`` (non-stream): at a steady concurrency ``c`` the TTFT is ``ttft_s + k*c``.
    """

    model_config = ConfigDict(extra="forbid")

    model: str = "fake-model"
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    require_api_key: str | None = None

    latency_s: float = Field(default=0.0, ge=0)
    ttft_s: float = Field(default=0.0, ge=0)
    itl_s: float = Field(default=0.0, ge=0)
    timer_lead_s: float = Field(default=0.0002, ge=0, le=0.005)
    output_tokens: int = Field(default=16, ge=0)

    responder: ResponderMode | None = Field(
        default=None, description="None: 'rules' if rules are given, else 'fixed' if fixed_reply, else 'echo'"
    )
    fixed_reply: str | None = None
    rules: list[ReplyRule] = Field(default_factory=list)
    default_reply: str = "I don't know."
    reasoning: str | None = Field(default=None, description="reasoning_content for every reply without its own")
    think: str | None = Field(default=None, description="content becomes '<think>\\n{think}\\n</think>\\n\\n' + reply")

    reasoning_tokens_in_usage: bool = Field(
        default=False,
        description="report the reasoning tokens in usage.completion_tokens_details.reasoning_tokens (OpenAI, vLLM)",
    )
    ignore_n: bool = Field(default=False, description="answer one choice whatever n asks, as llama.cpp's server does")
    fail_first_n: int = Field(default=0, ge=0)
    fail_every_k: int = Field(default=0, ge=0)
    fail_status: int = Field(default=500, ge=400, le=599)
    retry_after_s: float | None = Field(default=None, ge=0)
    fail_rules: list[FailRule] = Field(default_factory=list)
    malformed: list[str] = Field(default_factory=list)
    truncate: list[str] = Field(default_factory=list)
    drop_connection: list[str] = Field(default_factory=list)
    hang: list[str] = Field(default_factory=list)

    max_concurrency: int | None = Field(default=None, ge=1)
    overload_status: int = Field(default=429, ge=400, le=599)
    delay_per_in_flight_s: float = Field(default=0.0, ge=0)

    keep_chat_bodies: int = Field(
        default=0, ge=0, description="keep the last N chat request bodies for GET /_stats (`chat_bodies`)"
    )

    prompt_logprobs: Literal["chars", "bytes", "generated_only", "none"] = Field(
        default="chars",
        description="/v1/completions with echo+logprobs: prompt log-probabilities with text_offset in characters "
        "(llama-cpp-python, vLLM) or UTF-8 bytes; 'generated_only'/'none' play a server without them",
    )
    token_logprobs: dict[str, float] = Field(
        default_factory=dict,
        description="known log-probability of a prompt token (its text without leading whitespace); others -1.0",
    )

    # /v1/embeddings and /v1/rerank (+ /rerank): testing/_vectors.py (hashed bag of words) and its hostile modes
    embedding_dim: int = Field(default=64, ge=2, le=4096)
    embedding_nan: list[str] = Field(default_factory=list)
    embedding_varying_dim: list[str] = Field(default_factory=list)
    embedding_wrong_count: list[str] = Field(default_factory=list)
    rerank_bad_index: list[str] = Field(default_factory=list)
    rerank_shape: Literal["results", "list", "data"] = "results"

    use_uvloop: bool = Field(
        default=False,
        description="use uvloop when installed: more requests/s, but its timers have 1 ms resolution",
    )

    @field_validator(
        "malformed",
        "truncate",
        "drop_connection",
        "hang",
        "embedding_nan",
        "embedding_varying_dim",
        "embedding_wrong_count",
        "rerank_bad_index",
        mode="before",
    )
    @classmethod
    def _single_substring(cls, value: object) -> object:
        return _as_list(value)

    @model_validator(mode="after")
    def _infer_responder(self) -> FakeServerConfig:
        if self.responder is None:
            if self.rules:
                self.responder = "rules"
            elif self.fixed_reply is not None:
                self.responder = "fixed"
            else:
                self.responder = "echo"
        if self.responder == "fixed" and self.fixed_reply is None:
            raise ValueError("responder='fixed' needs fixed_reply='...': set the text the server should answer")
        return self
