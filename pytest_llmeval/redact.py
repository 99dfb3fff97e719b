"""Remove configured secrets (API keys) from any text the plugin stores or prints.

The HTTP client registers its key (``--llm-api-key`` / ``OPENAI_API_KEY``, and the judge's) when it is
created; every answer text, reasoning text, error message and error snippet that comes back from an
endpoint, and everything a sandboxed program prints, passes through :func:`redact` before it can reach
the samples file, the cache, the results, the HTML report or the terminal; the writers of the samples
file, the results, the HTML report and the JUnit properties apply it once more to what they write. A
server that echoes the ``Authorization`` header in a 400 body, or a model that repeats a key it saw,
leaves ``[REDACTED]`` behind instead.

Encoded forms are redacted too: base64 (standard and URL-safe alphabets, padded or not, at each of the
three byte alignments the key can have inside a longer encoded text, so ``base64("x" + key)`` loses the
key's part), hexadecimal (lower and upper case), URL-encoding (``quote``, ``quote_plus``, every byte
percent-encoded in either hex case, or only some of them) and the key's UTF-8 bytes read as Latin-1. Each
of these is found also when line breaks (``\\n``, ``\\r\\n``, ``\\r``, or their JSON escapes) cut it at any
column, as ``base64.encodebytes`` and the ``base64`` command wrap theirs at 76. Other transformations
(reversed, XOR-ed, split in pieces by other text) are not recognisable; the sandbox keeps keys out of reach
of generated code in the first place (docs/security.md).

How: the fixed forms are searched in the text as it is (``str.replace``), then in a *joined view* of
it without its line breaks, then in that view with its ``%XX`` escapes decoded: 3 to 10 microseconds for
2 KB of text and a 161-character key. Only when a form occurs in a view is the view mapped back to the
text, and the stretch of the text it came from (breaks and escapes included) replaced.

Keys shorter than 8 characters are not registered (placeholders such as ``EMPTY`` or ``sk-x`` would
otherwise blank out ordinary words).
"""

from __future__ import annotations

import base64
import re
import threading
from bisect import bisect_right
from collections.abc import Mapping
from operator import itemgetter
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "[REDACTED]"
_MIN_LENGTH = 8
_SECRETS: set[str] = set()
_FORMS: list[str] = []  # every registered secret and its encodings, longest first; replaced, never changed
_LOCK = threading.Lock()
_URLSAFE = str.maketrans("+/", "-_")
# The joined view: these are dropped, in this order (line breaks, raw or JSON-escaped), then each percent
# escape is decoded to the character of its byte value (the key's UTF-8 bytes read as Latin-1, one of its forms).
_BREAKS = ("\\r", "\\n", "\r", "\n")  # the JSON escapes first
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_HEX_PAIRS = {a + b: chr(int(a + b, 16)) for a in "0123456789abcdefABCDEF" for b in "0123456789abcdefABCDEF"}


def encoded_forms(secret: str) -> set[str]:
    """``secret`` and the encodings :func:`redact` removes (each at least 8 characters long)."""
    raw = secret.encode("utf-8")
    forms = {
        secret,
        raw.decode("latin-1"),  # also what the joined view makes of a fully or partly percent-encoded key
        raw.hex(),
        raw.hex().upper(),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    for shift in range(3):
        # Behind `shift` unknown bytes, base64 characters whose 6 bits all come from the secret are fixed:
        # character j covers bits [6j, 6j + 6), the secret bits [8 * shift, 8 * (shift + len)).
        text = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        core = text[-(-8 * shift // 6) : 8 * (shift + len(raw)) // 6]
        forms |= {core, core.translate(_URLSAFE)}
    return {form for form in forms if len(form) >= _MIN_LENGTH}


def register_secret(value: str | None) -> None:
    """Redact ``value`` (and its encoded forms) from now on (ignored when empty or shorter than 8 characters)."""
    global _FORMS
    if value and len(value) >= _MIN_LENGTH:
        with _LOCK:
            if value not in _SECRETS:
                _SECRETS.add(value)
                _FORMS = sorted(set(_FORMS) | encoded_forms(value), key=len, reverse=True)


# Query parameters whose values are credentials (`api-key`, `access_token`, `sig`...), not `api-version`.
_CREDENTIAL_PARAMETER = re.compile(r"(?i)key|token|secret|sig|pass|auth|cred")


def register_request_secrets(url: str, headers: Mapping[str, str], auth: str | None = None) -> None:
    """Redact the secrets a request carries from now on: the ``Authorization`` header's credentials (a
    ``Bearer`` token; a ``Basic`` pair, whole and its password), ``auth`` (``user:password`` of a base URL's
    user info) likewise, and the URL's query string, whole and the value of each parameter named like a
    credential (``api-key``, ``access_token``, ``sig``...)."""
    scheme, _, credentials = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        register_secret(credentials)
    elif scheme.lower() == "basic" and auth is None:
        try:
            auth = base64.b64decode(credentials, validate=True).decode("utf-8")
        except ValueError:
            auth = None
    if auth:
        register_secret(auth)
        register_secret(auth.partition(":")[2])
    query = urlsplit(url).query
    if query:
        register_secret(query)
        for name, value in parse_qsl(query):
            if _CREDENTIAL_PARAMETER.search(name):
                register_secret(value)


def active() -> bool:
    """True once a secret is registered (callers may skip work otherwise)."""
    return bool(_SECRETS)


def redact(text: str) -> str:
    """``text`` with every registered secret, in any of its encoded forms, replaced by ``[REDACTED]``."""
    forms = _FORMS
    if not forms or not text:
        return text
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    joined = text
    for brk in _BREAKS if "\\" in text else _BREAKS[2:]:  # a one-character search is the fast one
        if brk in joined:
            joined = joined.replace(brk, "")
    if joined != text and any(form in joined for form in forms):
        return _mask_joined(text, forms)
    # decoded once the breaks are gone, and searched apart: a "%" just before a hex form eats part of it
    if "%" in joined and _PERCENT.search(joined):
        decoded = _percent_decoded(joined)
        if decoded != joined and any(form in decoded for form in forms):
            return _mask_joined(text, forms)
    return text


def _percent_decoded(text: str) -> str:
    """``text`` with each ``%XX`` decoded, as ``_PERCENT.sub`` would, without a call per escape."""
    parts = text.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        char = _HEX_PAIRS.get(part[:2])
        out.append("%" + part if char is None else char + part[2:])
    return "".join(out)


# One step of the joined view, piece by piece: (view start, text start, view length, text length, kept as it is).
_Piece = tuple[int, int, int, int, bool]


def _step(text: str, changes: list[tuple[int, int, str]]) -> tuple[str, list[_Piece]]:
    """``text`` with each ``(start, end, replacement)`` of ``changes`` (in order, apart) made, and its pieces."""
    pieces: list[_Piece] = []
    parts: list[str] = []
    at = seen = 0
    for start, end, replacement in [*changes, (len(text), len(text), "")]:
        if start > at:
            pieces.append((seen, at, start - at, start - at, True))
            parts.append(text[at:start])
            seen += start - at
        if replacement:
            pieces.append((seen, start, len(replacement), end - start, False))
            parts.append(replacement)
            seen += len(replacement)
        at = end
    return "".join(parts), pieces


def _origin(pieces: list[_Piece], index: int, *, end: bool) -> int:
    """Where view position ``index`` (a start, or one past an end) comes from in the step's text."""
    last = index - 1 if end else index  # the piece holding this character: the last one starting at or before it
    begin, origin, _, length, kept = pieces[bisect_right(pieces, last, key=itemgetter(0)) - 1]
    if kept:
        return origin + (index - begin)
    return origin + length if end else origin


def _mask_joined(text: str, forms: list[str]) -> str:
    """``text`` with each stretch whose joined view holds a form replaced (the rare, slower path): the
    view is built again by the same steps as in :func:`redact`, each step remembering where its pieces
    came from."""
    steps: list[list[_Piece]] = []
    view = text
    for brk in _BREAKS:
        if brk in view:
            changes, found = [], view.find(brk)
            while found >= 0:  # left to right, apart: as str.replace finds them
                changes.append((found, found + len(brk), ""))
                found = view.find(brk, found + len(brk))
            view, pieces = _step(view, changes)
            steps.append(pieces)
    spans = _found(view, steps, forms)
    if "%" in view:
        view, pieces = _step(view, [(m.start(), m.end(), _HEX_PAIRS[m[1]]) for m in _PERCENT.finditer(view)])
        spans += _found(view, [*steps, pieces], forms)
    out: list[str] = []
    at = 0
    for start, end in sorted(spans):
        if start >= at:
            out += [text[at:start], MASK]
            at = end
        elif end > at:  # overlaps the stretch before: one mask for both
            at = end
    out.append(text[at:])
    return "".join(out)


def _found(view: str, steps: list[list[_Piece]], forms: list[str]) -> list[tuple[int, int]]:
    """The stretches of the text that the forms in ``view`` (made from it by ``steps``) come from."""
    spans = []
    for form in forms:
        found = view.find(form)
        while found >= 0:
            start, end = found, found + len(form)
            for pieces in reversed(steps):
                start, end = _origin(pieces, start, end=False), _origin(pieces, end, end=True)
            spans.append((start, end))
            found = view.find(form, found + 1)
    return spans


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)
