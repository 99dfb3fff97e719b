"""Untrusted text (model output, dataset strings, server bodies) made inert for a terminal.

`printable(text)` replaces every character a terminal would act on with a visible escape:
C0 controls but tab and newline (`ESC` of `ESC[2J`, BEL, CR: `\\x1b`, `\\x07`, `\\r`), DEL, the C1
controls U+0080-U+009F (U+009B is an 8-bit CSI some terminals obey), and the bidirectional
embeddings, overrides and isolates U+202A-U+202E, U+2066-U+2069 (they reorder what is shown:
"Trojan Source", CVE-2021-42574). Everything else, other scripts and emoji included, is kept.
Without it a model answer could clear the screen and print a forged `llmeval: PASS` verdict under
a failing run. The stored outputs (samples JSONL, results JSON, HTML) keep the text as it came;
this is for what goes to the terminal only.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r":
        return "\\r"
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with each terminal control character as a visible escape (the same object when
    there is none)."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text
