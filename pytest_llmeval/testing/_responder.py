"""What the fake model says: prompt extraction, the toy tokenizer and the output plan.

A *token* is one whitespace-separated word together with the whitespace before it
(regex ``\\s*\\S+``), so ``"".join(tokens)`` gives back the text (minus trailing whitespace)
and a streamed reply concatenates to exactly the non-stream reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import cycle, islice
from typing import Any

from ._config import FakeServerConfig

_TOKEN_RE = re.compile(r"\s*\S+")


def split_tokens(text: str) -> list[str]:
    """Split ``text`` into word tokens that keep their leading whitespace."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    """Number of whitespace-separated words (the server's ``prompt_tokens`` unit)."""
    return len(text.split())


def message_text(content: Any) -> str:
    """Text of one message ``content``: a string, or the ``text`` parts of a multimodal list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


@dataclass(frozen=True, slots=True)
class Prompt:
    """The parts of a request the responder and fault rules look at."""

    last_user: str  # last message with role "user" (the completions prompt for /v1/completions)
    full_text: str  # every message's text joined by newlines; fault substrings match this
    prompt_tokens: int


def chat_prompt(messages: list[dict[str, Any]]) -> Prompt:
    texts = [message_text(m.get("content")) for m in messages]
    last_user = ""
    for message, text in zip(reversed(messages), reversed(texts), strict=False):
        if message.get("role") == "user":
            last_user = text
            break
    full = "\n".join(texts)
    return Prompt(last_user=last_user, full_text=full, prompt_tokens=count_tokens(full))


def completion_prompt(prompt: str) -> Prompt:
    return Prompt(last_user=prompt, full_text=prompt, prompt_tokens=count_tokens(prompt))


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """Tokens of one choice: reasoning tokens first, then content tokens."""

    reasoning: list[str]
    content: list[str]
    finish_reason: str

    @property
    def completion_tokens(self) -> int:
        return len(self.reasoning) + len(self.content)


@dataclass(frozen=True, slots=True)
class GenerationLimits:
    """Length controls read from the request body (OpenAI fields plus vLLM-style extra body)."""

    max_tokens: int | None = None
    min_tokens: int = 0
    ignore_eos: bool = False

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> GenerationLimits:
        """Raises ``ValueError`` with a client-facing message on invalid values."""
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise ValueError(f"max_tokens must be a positive integer, got {max_tokens!r}")
        min_tokens = body.get("min_tokens") or 0
        if not isinstance(min_tokens, int) or min_tokens < 0:
            raise ValueError(f"min_tokens must be a non-negative integer, got {min_tokens!r}")
        return cls(max_tokens=max_tokens, min_tokens=min_tokens, ignore_eos=bool(body.get("ignore_eos", False)))


def _reply_texts(config: FakeServerConfig, last_user: str) -> tuple[str | None, str]:
    """(reasoning, content) before any length control."""
    if config.responder == "fixed":
        assert config.fixed_reply is not None  # enforced by the config validator
        return config.reasoning, config.fixed_reply
    if config.responder == "rules":
        for rule in config.rules:
            if rule.contains in last_user:
                return (rule.reasoning if rule.reasoning is not None else config.reasoning), rule.reply
        return config.reasoning, config.default_reply
    # echo: exactly output_tokens words of the last user message, cycled when it is shorter
    words = last_user.split() or ["echo"]
    return config.reasoning, " ".join(islice(cycle(words), config.output_tokens))


def _pad(tokens: list[str], target: int) -> list[str]:
    """Extend ``tokens`` to ``target`` by cycling its words (or "token" when it is empty)."""
    words = [t.strip() for t in tokens] or ["token"]
    extra = [(" " + w) for w in islice(cycle(words), target - len(tokens))]
    if not tokens and extra:
        extra[0] = extra[0].lstrip()
    return tokens + extra


def plan_output(
    config: FakeServerConfig, prompt: Prompt, limits: GenerationLimits, *, with_reasoning: bool = True
) -> OutputPlan:
    """Decide the tokens of one choice; every choice of a request gets the same plan.

    ``with_reasoning=False`` (text completions, which have no reasoning field) drops reasoning.
    """
    reasoning_text, reply = _reply_texts(config, prompt.last_user)
    if not with_reasoning:
        reasoning_text = None
    if config.think is not None:
        reply = f"<think>\n{config.think}\n</think>\n\n{reply}"
    reasoning = split_tokens(reasoning_text) if reasoning_text else []
    content = split_tokens(reply)
    finish = "stop"
    total = len(reasoning) + len(content)
    if limits.ignore_eos and limits.max_tokens is not None:
        # a model that ignores EOS always runs into max_tokens
        if total < limits.max_tokens:
            content = _pad(content, limits.max_tokens - len(reasoning))
        finish = "length"
    elif total < limits.min_tokens:
        content = _pad(content, limits.min_tokens - len(reasoning))
    if limits.max_tokens is not None and len(reasoning) + len(content) > limits.max_tokens:
        if len(reasoning) >= limits.max_tokens:
            reasoning, content = reasoning[: limits.max_tokens], []
        else:
            content = content[: limits.max_tokens - len(reasoning)]
        finish = "length"
    return OutputPlan(reasoning=reasoning, content=content, finish_reason=finish)
