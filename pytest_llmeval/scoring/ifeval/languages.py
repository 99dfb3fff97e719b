"""Language identification for the IFEval checkers, via ``langdetect`` (a port of Google's
language-detection library; import name ``langdetect``).

``langdetect`` is randomised; :data:`langdetect.DetectorFactory.seed` is set to 0 on import so the
same text always gets the same answer (this sets a process-wide attribute of that library).

Text that ``langdetect`` cannot classify (empty, digits or punctuation only — it raises
``LangDetectException`` "No features in text") yields ``None``; the checkers treat ``None`` as a
*pass*, which is what the IFEval reference does. Results are cached per text because loose
scoring asks about up to eight variants of the same response.

Codes are ISO 639-1 (``"en"``, ``"fr"``, ``"hi"``); Chinese comes back as ``"zh-cn"`` / ``"zh-tw"``.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import langdetect
from langdetect import DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

__all__ = ["detect_language", "language_matches"]

DetectorFactory.seed = 0
# langdetect loads its profiles lazily into a module global; serialise that first load.
_lock = threading.Lock()


@lru_cache(maxsize=2048)
def detect_language(text: str) -> str | None:
    """ISO 639-1 code ``langdetect`` assigns to ``text``, or ``None`` when it cannot decide."""
    try:
        with _lock:
            return str(langdetect.detect(text))
    except LangDetectException:
        return None


def language_matches(detected: str, expected: str) -> bool:
    """``detected`` equals ``expected`` (case-insensitive); a bare ``expected`` code such as
    ``"zh"`` also accepts a regional answer such as ``"zh-cn"``."""
    detected, expected = detected.lower(), expected.lower()
    if detected == expected:
        return True
    return "-" not in expected and detected.split("-", 1)[0] == expected
