"""The reference system's multiple-choice parser (EvalScope 1.14.1), for reproducing its numbers.

`--llm-answer-parser evalscope` (or `--llm-bench-arg BENCH.answer_parser=evalscope`) scores
multiple-choice answers with this parser instead of `scoring.choice.find_choice`. It is written from
the behaviour of EvalScope's `parse_answers` / `parse_answers_zh`, not copied; the differential cases
in `tests/scoring/test_reference_choice.py` pin that behaviour.

What it does, in order:

1. the last answer marker that is followed by a label wins: `ANSWER:` in any case (English
   prompts) or `答案：`/`答案:` (Chinese prompts), optionally in markdown bold; a label may sit in
   `$…$`, `\\(…\\)`, `\\boxed{…}`, `\\text{…}` or brackets (`(B)`, `[B]`, `（B）`);
2. of the text after the marker only the leading run of option labels counts (`B, not C` is B;
   `A and C` lists two); a single-answer question needs exactly one label;
3. no marker with a label: **the last capital letter of the whole output**, when it is one of the
   option letters (else no answer).

Step 3 is why this parser is not the default: the last capital of an output is often not an answer.
A model that re-prints the options ends on `D. …`, a sentence ends on a capitalised word, a negated
"not (C)" ends the reasoning; each is read as a choice. `scoring.choice.find_choice` reads only
explicit cues and ignores negated mentions; docs/benchmarks.md lists the differences.

Pure functions of the output text; no I/O.
"""

from __future__ import annotations

import re

from ..errors import ConfigError

__all__ = ["ANSWER_PARSERS", "check_answer_parser", "reference_choice"]

ANSWER_PARSERS = ("strict", "evalscope")

_MARKER_EN = re.compile(r"answer\s*:\s*\**\s*", re.IGNORECASE)
_MARKER_ZH = re.compile(r"答案\s*[:：]\s*\**\s*")
# typesetting a label may be wrapped in, any number of times: $B$, \(B\), \boxed{\text{B}}
_TYPESET_OPENERS = re.compile(r"(?:(?:\$+|\\\(|\\(?:boxed|fbox|text|textbf|mathbf|mathrm)\s*\{)\s*)*")
_BRACKETED = re.compile(r"[(\[（【]\s*([A-Za-z\d](?:\s*[,，/、]\s*[A-Za-z\d])*)\s*[)\]）】]")
_PLAIN = re.compile(r"([A-Za-z\d][A-Za-z\d ,，/、]*)")
_TOKEN = re.compile(r"[A-Za-z\d]+")
_CONNECTOR_WORDS = ("and", "or")
_CONNECTORS = re.compile(r"\s+(?:and|or)\s+", re.IGNORECASE)


def check_answer_parser(benchmark: str, value: str | None) -> str:
    """The answer parser named by `--llm-answer-parser` / `BENCH.answer_parser` (default `strict`)."""
    name = (value or "strict").strip().lower()
    if name not in ANSWER_PARSERS:
        raise ConfigError(f"{benchmark}.answer_parser must be one of {', '.join(ANSWER_PARSERS)}, got {value!r}")
    return name


def _is_labels(word: str, allowed: set[str]) -> bool:
    return word in allowed or set(word) <= allowed


def _leading_labels(capture: str, allowed: set[str]) -> str:
    """The start of `capture` made only of option labels (an `and`/`or` between two labels allowed)."""
    tokens = list(_TOKEN.finditer(capture))
    end = 0
    for position, token in enumerate(tokens):
        word = token.group(0)
        if _is_labels(word, allowed):
            end = token.end()
            continue
        joins_two = (
            end > 0
            and position + 1 < len(tokens)
            and word.lower() in _CONNECTOR_WORDS
            and _is_labels(tokens[position + 1].group(0), allowed)
        )
        if not joins_two:
            break
    return capture[:end]


def _marked_labels(text: str, marker: re.Pattern[str], allowed: set[str]) -> str | None:
    """The labels after the last marker that has any (earlier markers may hold an echoed placeholder)."""
    for found in reversed(list(marker.finditer(text))):
        tail = text[found.end() :]
        tail = tail[_TYPESET_OPENERS.match(tail).end() :]  # type: ignore[union-attr]  # always matches
        for pattern in (_BRACKETED, _PLAIN):
            label = pattern.match(tail)
            if label is not None:
                labels = _leading_labels(label.group(1), allowed)
                if labels:
                    return labels
    return None


def _last_capital(text: str, allowed: set[str]) -> set[str]:
    for char in reversed(text):
        if char.isupper():
            return {char} if char in allowed else set()
    return set()


def reference_choice(output: str, letters: str, *, chinese: bool = False, multiple: bool = False) -> set[str]:
    """The option letters EvalScope would read from `output` (empty: no answer).

    `letters` are the options' letters (`"ABCD"`); `chinese` selects the `答案：` marker (the
    reference uses it for its Chinese prompts); `multiple` accepts several labels (`A, C`, `AC`)."""
    allowed = set(letters)
    marked = _marked_labels(output or "", _MARKER_ZH if chinese else _MARKER_EN, allowed)
    if marked is None:
        return _last_capital(output or "", allowed)
    marked = marked.strip().rstrip("。." if chinese else ".")
    if not multiple:
        return {marked} if marked in allowed else set()
    joined = marked.replace(" 和 ", "").replace(" ", "") if chinese else _CONNECTORS.sub(",", marked).replace(" ", "")
    joined = joined.replace("，", ",").replace("、", ",").replace("/", ",")
    if chinese:
        picked = set(joined.split(",")) if "," in joined else set(joined)
        return picked if picked <= allowed else set()
    parts = set(joined.split(","))
    if parts <= allowed:
        return parts
    chars = set(joined.replace(",", ""))
    return chars if chars <= allowed else set()
