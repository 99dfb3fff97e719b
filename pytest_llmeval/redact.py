"""Remove configured secrets (API keys) from any text the plugin stores or prints.

The HTTP client registers its key (``--llm-api-key`` / ``OPENAI_API_KEY``, and the judge's) when it is
created; every answer text, reasoning text, error message and error snippet that comes back from an
endpoint, and everything a sandboxed program prints, passes through :func:`redact` before it can reach
the samples file, the cache, the results, the HTML report or the terminal; the writers of the samples
file, the results, the HTML report and the JUnit properties apply it once more to what they write. A
server that echoes the ``Authorization`` header in a 400 body, or a model that repeats a key it saw,
leaves ``[REDACTED]`` behind instead.

Encoded forms are redacted too: base64 (standard and URL-safe alphabets, at each of the three byte
alignments the key can have inside a longer encoded text, so ``base64("x" + key)`` loses the key's part),
hexadecimal (lower and upper case) and URL-encoding. Other transformations (reversed, XOR-ed, split) are
not recognisable; the sandbox keeps keys out of reach of generated code in the first place
(docs/security.md).

Keys shorter than 8 characters are not registered (placeholders such as ``EMPTY`` or ``sk-x`` would
otherwise blank out ordinary words).
"""

from __future__ import annotations

import base64
import threading
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
_MIN_LENGTH = 8
_SECRETS: set[str] = set()
_FORMS: list[str] = []  # every registered secret and its encodings, longest first
_LOCK = threading.Lock()
_URLSAFE = str.maketrans("+/", "-_")


def encoded_forms(secret: str) -> set[str]:
    """``secret`` and the encodings :func:`redact` removes (each at least 8 characters long)."""
    raw = secret.encode("utf-8")
    forms = {secret, raw.hex(), raw.hex().upper(), quote(secret, safe=""), quote_plus(secret, safe="")}
    for shift in range(3):
        # Behind `shift` unknown bytes, base64 characters whose 6 bits all come from the secret are fixed:
        # character j covers bits [6j, 6j + 6), the secret bits [8 * shift, 8 * (shift + len)).
        text = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        core = text[-(-8 * shift // 6) : 8 * (shift + len(raw)) // 6]
        forms |= {core, core.translate(_URLSAFE)}
    return {form for form in forms if len(form) >= _MIN_LENGTH}


def register_secret(value: str | None) -> None:
    """Redact ``value`` (and its encoded forms) from now on (ignored when empty or shorter than 8 characters)."""
    if value and len(value) >= _MIN_LENGTH:
        with _LOCK:
            if value not in _SECRETS:
                _SECRETS.add(value)
                forms = set(_FORMS) | encoded_forms(value)
                _FORMS[:] = sorted(forms, key=len, reverse=True)


def active() -> bool:
    """True once a secret is registered (callers may skip work otherwise)."""
    return bool(_SECRETS)


def redact(text: str) -> str:
    """``text`` with every registered secret, in any of its encoded forms, replaced by ``[REDACTED]``."""
    if not _FORMS or not text:
        return text
    for form in list(_FORMS):
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)
