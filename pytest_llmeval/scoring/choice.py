"""Multiple-choice answers: which option letter did the model choose?

`extract_choice` reads real outputs in English and Chinese. Candidates are ranked:

1. explicit answer statements, the LAST one winning (models revise themselves): `答案是 B`,
   `答案：C`, `正确答案是(D)`, `故选B`, `The answer is (C)`, `the correct answer is: **D**`,
   `Answer: a`, `the correct option is B`, `{"answer": "B"}`, `\\boxed{B}`, `\\boxed{\\text{B}}`,
   `I choose B`, `Option B is correct`, `B项正确`, and `Therefore, D.` ending a line;
2. a last line that is only an answer: `B`, `B.`, `B)`, `(B)`, `**B**`, `Option B`, or
   `B. <option text>` (unless that line ends a printed list of options);
3. the last stand-alone answer elsewhere: a line that is only `(B)`/`**B**`/`B.`, or inline `**B**`.

A letter is only ever read as a whole token, so `A man is...` and `Because` contain no answer.
Lowercase letters count only inside explicit statements and only when nothing but punctuation
follows them on the line (`Answer: a`, but not `the answer is a bit tricky`). A capital `I`
followed by a pronoun verb (`the answer is I think B`) is the pronoun. Letters outside `letters`
are ignored, so `The answer is E` with four options is not an answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from .math_equiv import boxed_contents, iter_boxed

__all__ = ["choice_letters", "extract_choice", "format_choices", "match_choice_text"]

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# What may sit between an answer phrase and the letter: "is: **(B", "：【C", "is $\\boxed{\\text{D".
_FILL = r"[\s:=*_$`'\"\[(【「]*(?:\\(?:boxed|text|textbf|mathrm)\s*\{[\s(]*)*"
_PRONOUN_VERBS = (
    r"think|believe|am|was|would|will|can|could|guess|need|have|had|should|must|feel|know|"
    r"choose|pick|select|go|do|don't|agree|see|suppose"
)


@lru_cache(maxsize=64)
def _patterns(letters: str) -> tuple[list[re.Pattern[str]], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    upper = re.escape(letters.upper())
    both = re.escape(letters.upper() + letters.lower())
    letter = f"(?<![A-Za-z0-9])(?P<letter>[{both}])(?![A-Za-z0-9'’])"
    cap = f"(?<![A-Za-z0-9])(?P<letter>[{upper}])(?![A-Za-z0-9'’])"
    explicit = [
        # "The (final/correct) answer is (C)", "Answer: a", "answer would be option B", {"answer": "B"}
        re.compile(
            r"(?i:\b(?:answer|ans|(?:correct|right|best|final)\s+(?:option|choice))\b(?:\s+(?:choice|option))?"
            r"[\"']?\s*(?:\*\*)?\s*"
            r"(?:is|would\s+be|should\s+be|will\s+be|must\s+be|=|:))\s*(?:\*\*)?"
            + _FILL
            + r"(?i:(?:option|choice)\s*)?"
            + _FILL
            + letter
        ),
        # "答案是 B", "答案：C", "正确答案是(D)", "正确选项为【A】"
        re.compile(r"(?:答案|正确选项|最终选择)\s*(?:应该|应当|应|就)?\s*(?:是|为|选)?\s*(?:选项)?" + _FILL + letter),
        # "故选B", "应选 C", "我选择 D" (but not "选项B", which only names an option)
        re.compile(r"(?<!候)(?<!不)选(?:择)?(?!项)\s*[:：]?" + _FILL + letter),
        # "I choose B", "I'd go with option C", "I will select (D)"
        re.compile(r"(?i:\b(?:choose|select|pick|go\s+with)\s+(?:option\s+|choice\s+|answer\s+)?)" + _FILL + letter),
        # "Option B is correct", "B is the correct answer"
        re.compile(
            r"(?i:\b(?:option|choice)\s*)?[(\[]?" + cap + r"[)\]]?\s+(?i:is\s+(?:the\s+)?(?:correct|right|best)\b)"
        ),
        # "Therefore, B." / "So the answer: C" closing a line
        re.compile(
            r"(?i:\b(?:therefore|thus|hence|so)\s*,?\s*(?:option\s+)?)[(\[]?" + cap + r"[)\]]?(?=[ \t.。!]*$)", re.M
        ),
        # "选项B正确", "B项是正确的" (but not "B不正确")
        re.compile(r"(?:选项)?[(\[]?" + cap + r"[)\]]?\s*(?:选项|项)?\s*(?:是|为)?\s*正确"),
    ]
    bare_line = re.compile(
        r"(?:\*\*|__)?\s*(?:(?i:option|choice)\s+|选项\s*)?[(\[]?"
        + f"(?P<letter>[{upper}])"
        + r"[)\]]?\s*[.:)]?\s*(?:\*\*|__)?\s*[.。]?"
    )
    echo_line = re.compile(r"(?:\*\*|__)?[(\[]?" + f"(?P<letter>[{upper}])" + r"(?:[.)\]:]|\s*[)\]])\s+\S.*")
    inline_bold = re.compile(r"\*\*\s*[(\[]?" + cap + r"[)\]]?\.?\s*\*\*(?!\s*[:：])")
    return explicit, bare_line, echo_line, inline_bold


def _lowercase_ok(text: str, end: int) -> bool:
    # "Answer: a" / "answer is (b)." but not "the answer is a bit tricky"
    return re.match(r"[ \t]*(?:$|\n|[.,;:!?)\]}*$`'\"。，）】])", text[end:]) is not None


def _pronoun(text: str, end: int) -> bool:
    return re.match(r"\s+(?:" + _PRONOUN_VERBS + r")\b", text[end:], re.IGNORECASE) is not None


def _explicit_choice(text: str, explicit: list[re.Pattern[str]], letters: str) -> str | None:
    best: tuple[int, str] | None = None
    for pattern in explicit:
        for match in pattern.finditer(text):
            letter = match.group("letter")
            end = match.end("letter")
            if letter.islower() and not _lowercase_ok(text, end):
                continue
            if letter == "I" and _pronoun(text, end):
                continue
            if best is None or end > best[0]:
                best = (end, letter.upper())
    # A box holding just a letter ("\\boxed{B}", "\\boxed{\\text{(B)}}", "\\boxed{B. 12 cm}")
    for _, end, content in iter_boxed(text):
        inner = re.sub(r"\\(?:text|textbf|mathrm)\s*\{([^{}]*)\}", r"\1", content).strip()
        found = re.fullmatch(r"[(\[]?([A-Za-z])[)\]]?(?:[.:)]\s*.*)?", inner, re.DOTALL)
        if found and found.group(1).upper() in letters and (best is None or end >= best[0]):
            best = (end, found.group(1).upper())
    return best[1] if best else None


def _is_option_list(lines: list[str], echo_line: re.Pattern[str]) -> bool:
    """The last lines are a printed option list ("A. x", "B. y", ...), not a chosen answer."""
    tail = []
    for line in reversed(lines):
        found = echo_line.fullmatch(line)
        if not found:
            break
        tail.append(found.group("letter"))
    return len(tail) >= 2 and len(set(tail)) == len(tail)


def extract_choice(text: str, letters: str = "ABCD") -> str | None:
    """The option letter (uppercase) the model chose, or None when it gave none (see the module
    docstring for the accepted forms and their ranking). `letters` is the set of valid options,
    e.g. `choice_letters(10)` for MMLU-Pro. Full-width forms (`Ｂ`, `（B）`, `答案：C`) are read too."""
    text = unicodedata.normalize("NFKC", text)
    valid = letters.upper()
    explicit, bare_line, echo_line, inline_bold = _patterns(valid)
    if (chosen := _explicit_choice(text, explicit, valid)) is not None:
        return chosen
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    if (found := bare_line.fullmatch(last)) is not None:
        return found.group("letter").upper()
    if (found := echo_line.fullmatch(last)) is not None and not _is_option_list(lines, echo_line):
        return found.group("letter").upper()
    best: tuple[int, str] | None = None
    offset = 0
    for line in lines:
        offset = text.find(line, offset)
        if (found := bare_line.fullmatch(line)) is not None:
            best = (offset, found.group("letter"))
        for bold in inline_bold.finditer(line):
            best = (offset + bold.start(), bold.group("letter"))
    return best[1] if best else None


def choice_letters(n: int) -> str:
    """The first `n` option letters: `choice_letters(4) == "ABCD"`, up to 26."""
    if not 1 <= n <= len(ALPHABET):
        raise ValueError(f"a multiple-choice question needs 1-{len(ALPHABET)} options, got {n}")
    return ALPHABET[:n]


def format_choices(choices: Sequence[str], letters: str | None = None) -> str:
    """Options as prompt lines: `A. first\\nB. second`. `letters` defaults to `choice_letters`."""
    letters = choice_letters(len(choices)) if letters is None else letters
    if len(letters) < len(choices):
        raise ValueError(f"{len(choices)} options but only {len(letters)} letters ({letters!r})")
    return "\n".join(f"{letter}. {str(choice).strip()}" for letter, choice in zip(letters, choices, strict=False))


def _normalize_option(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\\(?:text|textbf|mathrm)\s*\{([^{}]*)\}", r"\1", text)
    return re.sub(r"[\W_]+", " ", text).strip()


_ANSWER_TAIL = re.compile(
    r"(?:\b(?:final\s+)?answer\b\s*(?:\*\*)?\s*(?:is|:)|答案\s*(?:是|为|:))\s*(?:\*\*)?\s*(?P<rest>[^\n]+)",
    re.IGNORECASE,
)


def match_choice_text(text: str, choices: Sequence[str], letters: str | None = None) -> str | None:
    """The letter of the option whose text the model wrote instead of a letter, or None.

    Use it as a fallback after `extract_choice` returns None. The final answer is the content of
    the last `\\boxed{}`, else what follows the last "answer is"/"Answer:"/"答案是" on its line, else
    the last non-empty line. It must equal exactly one option after case-folding and dropping
    punctuation, markdown and surrounding whitespace (`**Paris.**` matches `Paris`); a partial match
    (`Paris, France`) or text matching two identical options gives None.
    """
    letters = choice_letters(len(choices)) if letters is None else letters
    text = unicodedata.normalize("NFKC", text)
    boxed = boxed_contents(text)
    if boxed:
        final = boxed[-1]
    elif tails := list(_ANSWER_TAIL.finditer(text)):
        final = tails[-1].group("rest")
    else:
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            return None
        final = lines[-1]
    wanted = _normalize_option(final)
    if not wanted:
        return None
    hits = [
        letter
        for letter, choice in zip(letters, choices, strict=False)  # extra letters are simply unused
        if _normalize_option(str(choice)) == wanted
    ]
    return hits[0] if len(hits) == 1 else None
