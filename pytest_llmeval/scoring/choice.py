"""Multiple-choice answers: which option letter did the model choose?

`find_choice` / `extract_choice` read real outputs in English and Chinese. The prompts ask for a
last line `Answer: X` / `答案：X`, and candidates are ranked in tiers; a lower tier only counts when
every tier above it found nothing:

1. **answer lines** - what the prompt asks for, and statements as strong: `Answer: a`,
   `ANSWER: B`, `**Answer:** C`, `The (final/correct) answer is (C)`, `the correct option is B`,
   `答案是 B`, `答案：C`, `正确答案是(D)`, `{"answer": "B"}`, `\\boxed{B}`, `\\boxed{\\text{B}}`.
   The LAST one wins (models revise themselves);
2. **weaker statements**: `the answer would be B`, `I choose B`, `pick/select B`, `Option B is
   correct`, `B is the correct answer`, `故选B`, `B项正确`, `Therefore, D.` ending a line (last wins).
   So `Answer: B` followed by "option A is correct only if …" or "a common mistake is to select
   D" stays B;
3. a last line that is only an answer: `B`, `B.`, `B)`, `(B)`, `**B**`, `Option B`, or
   `B. <option text>` (unless that line belongs to a printed list of options);
4. the last stand-alone answer elsewhere: a line that is only `(B)`/`**B**`/`B.`, or inline `**B**`.

A line of tiers 3-4 that sits in a re-printed option list - a run of option lines with letters in
order, `A.` / `B. 5` / `C. 6` - is part of the list, not an answer, wherever the list stands.
When the benchmark passes the option texts (`choices`), an answer line that writes an option out is
read as that option even when its text starts with a letter-word: "Answer: I and III only" is the
option `I and III only`, "Answer: A cat meowing" the option `A cat meowing`.

Negated mentions never count, in any tier: `not A`, `not option (A)`, `isn't A`, `rather than A`,
`instead of A`, `except A`, `不是A`, `不选A`, `A is not correct`, `A is incorrect/wrong`.
Text the model invents after answering (a new `Question:` turn, see `cues`) is ignored.

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
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from .boxed import boxed_contents, iter_boxed
from .cues import cut_continuation

__all__ = [
    "ChoiceAnswer",
    "choice_letters",
    "extract_choice",
    "find_choice",
    "format_choices",
    "is_negated",
    "match_choice_text",
]

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# What may sit between an answer phrase and the letter: "is: **(B", "：【C", "is $\\boxed{\\text{D".
_FILL = r"[\s:=*_$`'\"\[(【「]*(?:\\(?:boxed|text|textbf|mathrm)\s*\{[\s(]*)*"
_PRONOUN_VERBS = (
    r"think|believe|am|was|would|will|can|could|guess|need|have|had|should|must|feel|know|"
    r"choose|pick|select|go|do|don't|agree|see|suppose"
)


_Patterns = tuple[list[re.Pattern[str]], list[re.Pattern[str]], re.Pattern[str], re.Pattern[str], re.Pattern[str]]


@lru_cache(maxsize=64)
def _patterns(letters: str) -> _Patterns:
    upper = re.escape(letters.upper())
    both = re.escape(letters.upper() + letters.lower())
    letter = f"(?<![A-Za-z0-9])(?P<letter>[{both}])(?![A-Za-z0-9'’])"
    cap = f"(?<![A-Za-z0-9])(?P<letter>[{upper}])(?![A-Za-z0-9'’])"
    subject = (
        r"(?i:\b(?:answer|ans|(?:correct|right|best|final)\s+(?:option|choice))\b(?:\s+(?:choice|option))?"
        r"[\"']?\s*(?:\*\*)?\s*"
    )
    after = r"\s*(?:\*\*)?" + _FILL + r"(?i:(?:option|choice)\s*)?" + _FILL + letter
    answer_lines = [
        # "The (final/correct) answer is (C)", "Answer: a", "ANSWER: B", {"answer": "B"}
        re.compile(subject + r"(?:is|=|:))" + after),
        # "答案是 B", "答案：C", "正确答案是(D)", "正确选项为【A】"
        re.compile(r"(?:答案|正确选项|最终选择)\s*(?:应该|应当|应|就)?\s*(?:是|为|选)?\s*(?:选项)?" + _FILL + letter),
    ]
    weaker = [
        # "the answer would be option B", "the answer should be C"
        re.compile(subject + r"(?:would\s+be|should\s+be|will\s+be|must\s+be))" + after),
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
    return answer_lines, weaker, bare_line, echo_line, inline_bold


# "not A", "not option (A)", "isn't **A**", "rather than A", "不是A", "不选 A"
_NEGATED_BEFORE = re.compile(
    r"(?:\b(?:not|never|nor|rather\s+than|instead\s+of|except(?:\s+for)?)|n't|不是|不选|并非|而非|排除)"
    r"\s*(?:(?:be|choose|select|pick|go\s+with)\s+)?(?:(?:the\s+)?(?:option|choice|answer)\s*)?(?:选项\s*)?"
    r"[\s(\[*（【]*$",
    re.IGNORECASE,
)
# "A is not correct", "(A) is incorrect", "A is wrong", "A不正确", "A是错误的"
_NEGATED_AFTER = re.compile(
    r"[)\]*）】]*\s*(?:(?:is|was|would\s+be)\s+(?:not\b|incorrect|wrong|false)|isn't|不正确|不对|是错误|错误|错)",
    re.IGNORECASE,
)


def is_negated(text: str, start: int, end: int) -> bool:
    """Whether the letter at `text[start:end]` is mentioned only to be ruled out (`not A`,
    `rather than (A)`, `A is incorrect`, `不是A`; see the module docstring)."""
    return _NEGATED_BEFORE.search(text, max(0, start - 24), start) is not None or (
        _NEGATED_AFTER.match(text, end) is not None
    )


def _lowercase_ok(text: str, end: int) -> bool:
    # "Answer: a" / "answer is (b)." but not "the answer is a bit tricky"
    return re.match(r"[ \t]*(?:$|\n|[.,;:!?)\]}*$`'\"。，）】])", text[end:]) is not None


def _pronoun(text: str, end: int) -> bool:
    return re.match(r"\s+(?:" + _PRONOUN_VERBS + r")\b", text[end:], re.IGNORECASE) is not None


def _option_by_text(text: str, start: int, choices: Sequence[str], letters: str) -> str | None:
    """When the "letter" at `text[start]` is the first word of an option's text that the model wrote
    out ("Answer: I and III only", "Answer: A decrease in pressure", "Answer: A cat meowing"), the
    letter of that option; None when the letter is followed by no words or no option matches."""
    line_end = text.find("\n", start)
    rest = text[start : len(text) if line_end < 0 else line_end]
    if not re.match(r"[A-Za-z](?:[ \t]+|,[ \t]*)[\w(]", rest):  # "A." / "A)" / "A" alone: a letter, not text
        return None
    wanted = _normalize_option(rest)
    options = [(letter, _normalize_option(str(choice))) for letter, choice in zip(letters, choices, strict=False)]
    first_word = wanted.split(" ", 1)[0]
    options = [(letter, option) for letter, option in options if option and option.split(" ", 1)[0] == first_word]
    exact = [letter for letter, option in options if wanted == option or wanted.startswith(option + " ")]
    if exact:  # the longest option the answer begins with ("I and III only" over "I")
        return max(exact, key=lambda letter: len(dict(options)[letter]))
    shortened = [letter for letter, option in options if option.startswith(wanted + " ")]
    return shortened[0] if len(shortened) == 1 else None


def _last_statement(
    text: str, patterns: list[re.Pattern[str]], letters: str, boxes: bool, choices: Sequence[str] | None = None
) -> str | None:
    """The letter of the last match of any of `patterns` (and of a box holding just a letter when
    `boxes`) that is not lowercase prose, the pronoun `I`, or negated. With the option texts
    (`choices`), a "letter" that begins a written-out option text stands for that option."""
    best: tuple[int, str] | None = None
    for pattern in patterns:
        for match in pattern.finditer(text):
            letter = match.group("letter")
            start, end = match.span("letter")
            if best is not None and end <= best[0]:
                continue
            if choices and (by_text := _option_by_text(text, start, choices, letters)) is not None:
                best = (end, by_text)
                continue
            if letter.islower() and not _lowercase_ok(text, end):
                continue
            if letter == "I" and _pronoun(text, end):
                continue
            if is_negated(text, start, end):
                continue
            best = (end, letter.upper())
    if boxes and "box" in text:
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


def _in_option_list(lines: list[str], index: int, bare_line: re.Pattern[str], echo_line: re.Pattern[str]) -> bool:
    """Whether `lines[index]` (a bare `A.` or an `A. text` line) belongs to a printed option list: a
    run of two or more option-shaped lines whose letters follow each other (`A.`, `B. 5`, `C. 6`).
    A bare `A.` there is an option the model re-printed with its text left out, not its answer."""

    def letter_of(line: str) -> str | None:
        found = bare_line.fullmatch(line) or echo_line.fullmatch(line)
        return found.group("letter").upper() if found else None

    own = letter_of(lines[index])
    if own is None:
        return False
    run, previous = 1, own
    for line in reversed(lines[:index]):  # upwards: B., A., ...
        letter = letter_of(line)
        if letter is None or ord(letter) != ord(previous) - 1:
            break
        run, previous = run + 1, letter
    following = own
    for line in lines[index + 1 :]:  # downwards: ..., C., D.
        letter = letter_of(line)
        if letter is None or ord(letter) != ord(following) + 1:
            break
        run, following = run + 1, letter
    return run >= 2


ChoiceCue = Literal["answer line", "statement", "last line", "stand-alone"]


@dataclass(frozen=True)
class ChoiceAnswer:
    """The chosen letter (None when there is none) and the tier it was read from (module
    docstring). `explicit` is True for answer lines and weaker statements, False for a letter
    taken from the shape of a line alone."""

    letter: str | None
    cue: ChoiceCue | None

    @property
    def explicit(self) -> bool:
        return self.cue in ("answer line", "statement")


def find_choice(text: str, letters: str = "ABCD", choices: Sequence[str] | None = None) -> ChoiceAnswer:
    """The option letter (uppercase) the model chose and the tier it came from; see the module
    docstring for the accepted forms and their ranking. `letters` is the set of valid options,
    e.g. `choice_letters(10)` for MMLU-Pro. Full-width forms (`Ｂ`, `（B）`, `答案：C`) are read too.

    `choices` (the option texts, in letter order) lets an answer that writes an option out be read
    as that option even when its text begins with a letter-word: with option C `I and III only`,
    "Answer: I and III only" is C, not I; with option B `A decrease in pressure`, "Answer: A
    decrease in pressure" is B, not A. Without `choices` such a line reads as its first letter."""
    text = unicodedata.normalize("NFKC", text)
    valid = letters.upper()
    answer_lines, weaker, bare_line, echo_line, inline_bold = _patterns(valid)
    if "\n" in text:
        text = cut_continuation(
            text,
            lambda prefix: (
                _last_statement(prefix, answer_lines, valid, True, choices) is not None
                or _last_statement(prefix, weaker, valid, False, choices) is not None
            ),
        )
    if (chosen := _last_statement(text, answer_lines, valid, True, choices)) is not None:
        return ChoiceAnswer(chosen, "answer line")
    if (chosen := _last_statement(text, weaker, valid, False, choices)) is not None:
        return ChoiceAnswer(chosen, "statement")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ChoiceAnswer(None, None)
    last = lines[-1]
    if (found := bare_line.fullmatch(last)) is not None and not _in_option_list(
        lines, len(lines) - 1, bare_line, echo_line
    ):
        return ChoiceAnswer(found.group("letter").upper(), "last line")
    if (found := echo_line.fullmatch(last)) is not None and not _is_option_list(lines, echo_line):
        return ChoiceAnswer(found.group("letter").upper(), "last line")
    best: tuple[int, str] | None = None
    offset = 0
    for index, line in enumerate(lines):
        offset = text.find(line, offset)
        if (found := bare_line.fullmatch(line)) is not None and not _in_option_list(lines, index, bare_line, echo_line):
            best = (offset, found.group("letter"))
        for bold in inline_bold.finditer(line):
            if not is_negated(text, offset + bold.start("letter"), offset + bold.end()):
                best = (offset + bold.start(), bold.group("letter"))
    return ChoiceAnswer(best[1], "stand-alone") if best else ChoiceAnswer(None, None)


def extract_choice(text: str, letters: str = "ABCD", choices: Sequence[str] | None = None) -> str | None:
    """The option letter (uppercase) the model chose, or None when it gave none: the letter of
    `find_choice`, which documents the accepted forms and their ranking."""
    return find_choice(text, letters, choices).letter


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
