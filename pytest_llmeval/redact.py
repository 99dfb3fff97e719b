"""Remove configured secrets (API keys) from any text the plugin stores or prints.

The HTTP client registers its key (``--llm-api-key`` / ``OPENAI_API_KEY``, and the judge's) when it is
created; every answer text, reasoning text, error message and error snippet that comes back from an
endpoint passes through :func:`redact` before it can reach the samples file, the cache, the results,
the HTML report or the terminal. A server that echoes the ``Authorization`` header in a 400 body, or a
model that repeats a key it saw, leaves ``[REDACTED]`` behind instead.

Keys shorter than 8 characters are not registered (placeholders such as ``EMPTY`` or ``sk-x`` would
otherwise blank out ordinary words).
"""

from __future__ import annotations

import threading

MASK = "[REDACTED]"
_MIN_LENGTH = 8
_SECRETS: set[str] = set()
_LOCK = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact ``value`` from now on (ignored when empty or shorter than 8 characters)."""
    if value and len(value) >= _MIN_LENGTH:
        with _LOCK:
            _SECRETS.add(value)


def active() -> bool:
    """True once a secret is registered (callers may skip work otherwise)."""
    return bool(_SECRETS)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[REDACTED]``."""
    if not _SECRETS or not text:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)
