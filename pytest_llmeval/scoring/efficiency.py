"""Reasoning efficiency of one generation: how many tokens a thinking model spent, and where in its
reasoning a correct answer first appeared. Pure: text and counts in, figures out.

Definitions (after the thinking-efficiency study in EvalScope's "Evaluating the Thinking Efficiency
of Models" guide, which follows Chen et al. 2024, "Do NOT Think That Much for 2+3=?", and Wang et
al. 2025, "Thoughts Are All Over the Place"):

* reasoning tokens `T`: tokens of the reasoning (the server's `reasoning_content`, or the text up to
  `</think>`);
* first-correct tokens `T̂`: tokens from the start of the reasoning to the end of the first *step*
  whose prefix already yields a correct final answer (see "steps" below);
* reflection tokens: `T - T̂`, what the model spent after it already had the answer;
* token efficiency: `T̂ / T` (0-1; higher means less spent after the answer was found);
* thought count: the number of sub-thoughts, i.e. 1 + the number of places where the reasoning
  switches course (a *thought marker* such as "alternatively" or "but wait" opening a sentence).
  Empty reasoning has 0 thoughts.

Only a sample whose FINAL answer is correct has a `T̂`: wrong samples are counted, and left out of
`T̂`, reflection and efficiency (they are still in `T`, thought count and accuracy). EvalScope's
own table instead counts a wrong sample as efficiency 0; `Figures` carries both (`efficiency`
for correct samples, and the per-sample value that the aggregate `token_efficiency_all` averages).

Steps: the reasoning is cut at thought markers and at paragraph breaks (a blank line); inside the
first step that states a correct answer, the cut is refined to sentence ends, so an answer that
appears mid-thought is found at the sentence that states it, not at the thought's end. Every step
and every sentence is read on its own, once, so the analysis is linear in the reasoning's length
(a 1 MB trace that is one paragraph takes about as long per byte as a short one; see
bench/think_eval_long.py). Markers
count only when they open a sentence or line (after `. ! ? ; 。 ！ ？ ；`, a newline or the start:
"Hmm, wait, …" is one switch),
case-insensitively, and English ones only as whole words: "or" inside "或者说" mid-sentence, or
"hmm" inside "hmmm", is no switch.

A generation without any reasoning (a non-thinking model) is analysed on its output instead, as
EvalScope's guide does for Qwen2.5-Math (`trace="output"`); with neither, `status="no_reasoning"`.

Token counts come from a `TokenCounter`: exact offsets from a tokenizer, or the server's usage
split by characters (`usage_counter`), documented in docs/thinking.md.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel

# Phrases that open a new line of thought; configurable with --llm-thought-markers.
DEFAULT_THOUGHT_MARKERS: tuple[str, ...] = (
    "alternatively",
    "but wait",
    "wait,",
    "wait.",
    "wait!",
    "let me reconsider",
    "let me re-examine",
    "let me double-check",
    "another approach",
    "on second thought",
    "hmm",
    "等等",
    "或者",
    "换个思路",
    "另一种方法",
    "再想想",
    "不对",
)

_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n")


_OPENERS = frozenset(".!?。！？;；\n")


class ThoughtSplitter:
    """Cuts reasoning into thoughts and steps; build once per run.

    Markers are found with `str.find` on the lower-cased text, then kept where they open a
    sentence: measured 40x faster than one regex alternation with a look-behind over an
    8,000-token trace, which the regex engine tries at every position."""

    def __init__(self, markers: Sequence[str] = DEFAULT_THOUGHT_MARKERS) -> None:
        self.markers = tuple(markers)
        self._needles = sorted({m.strip().lower() for m in markers if m.strip()}, key=len, reverse=True)

    def _opens_sentence(self, lowered: str, start: int, needle: str) -> bool:
        end = start + len(needle)
        if (
            needle[-1].isascii()
            and needle[-1].isalnum()
            and end < len(lowered)
            and lowered[end].isascii()
            and lowered[end].isalnum()
        ):
            return False  # whole words only: "hmm" is not "hmmm"
        before = start - 1
        while before >= 0 and lowered[before] in " \t":
            before -= 1
        return before < 0 or lowered[before] in _OPENERS

    def switches(self, reasoning: str) -> list[int]:
        """Character offsets where a new thought starts (the marker's first character), ascending;
        a marker before any other text starts the first thought and is not a switch."""
        lowered = reasoning.lower()
        if len(lowered) != len(reasoning):  # a few characters change length when lower-cased
            lowered = "".join(ch.lower()[:1] or ch for ch in reasoning)
        first_text = len(reasoning) - len(reasoning.lstrip())
        found: set[int] = set()
        for needle in self._needles:
            position = lowered.find(needle)
            while position >= 0:
                if position > first_text and self._opens_sentence(lowered, position, needle):
                    found.add(position)
                position = lowered.find(needle, position + 1)
        return sorted(found)

    def thought_count(self, reasoning: str, switches: Sequence[int] | None = None) -> int:
        if not reasoning.strip():
            return 0
        return 1 + len(self.switches(reasoning) if switches is None else switches)

    def step_ends(self, reasoning: str, switches: Sequence[int] | None = None) -> list[int]:
        """Ends (exclusive character offsets) of the steps: before each switch, at each paragraph
        break, and the end of the text. Ascending, unique, the last is `len(reasoning)`."""
        cuts = set(self.switches(reasoning) if switches is None else switches)
        cuts.update(m.start() for m in _PARAGRAPH.finditer(reasoning))
        cuts.add(len(reasoning))
        return sorted(cut for cut in cuts if cut > 0)


def sentence_ends(text: str, start: int, end: int) -> list[int]:
    """Sentence ends inside `text[start:end]` (absolute offsets), ending with `end`."""
    ends = [m.start() for m in _SENTENCE_END.finditer(text, start, end) if m.start() > start]
    return sorted({*ends, end})


def first_correct_offset(
    reasoning: str,
    step_ends: Sequence[int],
    extract: Callable[[str], str | None],
    check: Callable[[str], bool],
) -> int | None:
    """The end offset of the first step after which the reasoning holds a correct answer, refined
    to the sentence inside that step that states it; None when it never does.

    `extract(text)` is the benchmark's extractor: the last answer a piece of text states, or None.
    The answer after a step is the last one stated so far (a step that states none keeps the
    previous, already judged), so each step's text is read once; inside the first correct step the
    same rule holds per sentence. Every character is therefore read a bounded number of times: the
    time is linear in the reasoning (reading growing prefixes instead was quadratic: 51 s for a 60 KB
    paragraph). An answer that only a run of several sentences states together is found at the
    step's end. `check(answer)` is the benchmark's comparison with the gold answer, asked once per
    distinct answer. Steps are read in order: correctness is not monotone (an answer can be found,
    then abandoned), and the first correct point counts.
    """
    verdicts: dict[str, bool] = {}

    def correct(answer: str | None) -> bool:
        if answer is None:
            return False
        if answer not in verdicts:
            verdicts[answer] = check(answer)
        return verdicts[answer]

    previous = 0
    for end in step_ends:
        if end <= previous:
            continue
        found = extract(reasoning[previous:end])
        # a step that states nothing keeps the answer so far, which was already judged wrong
        if found is not None and correct(found):
            start = previous
            for inner in sentence_ends(reasoning, previous, end):
                if inner >= end:
                    break
                if correct(extract(reasoning[start:inner])):
                    return inner
                start = inner
            return end
        previous = end
    return None


class TokenCounter(Protocol):
    """Tokens in `text[:offset]` for each offset (ascending), and in the whole text."""

    source: str

    def __call__(self, text: str, offsets: Sequence[int]) -> tuple[int, list[int]]: ...


class OffsetTokenCounter:
    """Exact counts from a tokenizer: `encode_offsets(text)` gives each token's (start, end) chars.
    A prefix holds the tokens that START before the offset."""

    source = "tokenizer"

    def __init__(self, encode_offsets: Callable[[str], list[tuple[int, int]]]) -> None:
        self._encode = encode_offsets

    def __call__(self, text: str, offsets: Sequence[int]) -> tuple[int, list[int]]:
        starts = [start for start, _ in self._encode(text)]
        return len(starts), [bisect.bisect_left(starts, offset) for offset in offsets]


class ProportionalTokenCounter:
    """No tokenizer: `total` tokens (from the server's usage) spread evenly over the characters.
    `source` says where `total` came from."""

    def __init__(self, total: int, source: str) -> None:
        self.total = total
        self.source = source

    def __call__(self, text: str, offsets: Sequence[int]) -> tuple[int, list[int]]:
        size = max(len(text), 1)
        return self.total, [round(self.total * min(offset, size) / size) for offset in offsets]


_MAX_CHARS_PER_TOKEN = 24  # no tokenizer in use packs more characters of text into one token


def plausible_reasoning_tokens(reported: int, reasoning: str, completion_tokens: int) -> bool:
    """Whether a server's reasoning-token count can describe `reasoning`: at least one token per
    `_MAX_CHARS_PER_TOKEN` characters of it (0 beside 84 words of reasoning is a server that does
    not count), and not more than the generation's `completion_tokens` when that is known."""
    text = reasoning.strip()
    if reported < 0 or (completion_tokens > 0 and reported > completion_tokens):
        return False
    return reported >= -(-len(text) // _MAX_CHARS_PER_TOKEN)


def usage_counter(
    reasoning: str, answer: str, completion_tokens: int, reasoning_tokens: int | None
) -> ProportionalTokenCounter:
    """The server's count of reasoning tokens when it reports a plausible one
    (`usage.completion_tokens_details.reasoning_tokens`, or SGLang's `usage.reasoning_tokens`;
    see `plausible_reasoning_tokens`); otherwise `completion_tokens` split between reasoning and
    answer in proportion to their characters. The counter's `source` says which, and why a
    reported count was not used."""
    note = ""
    if reasoning_tokens is not None:
        if plausible_reasoning_tokens(reasoning_tokens, reasoning, completion_tokens):
            return ProportionalTokenCounter(reasoning_tokens, "usage.reasoning_tokens")
        note = " (the reported usage.reasoning_tokens was implausible)"  # one label, so sources stay few
    total_chars = len(reasoning) + len(answer)
    share = round(completion_tokens * len(reasoning) / total_chars) if total_chars else 0
    return ProportionalTokenCounter(share, "usage.completion_tokens split by characters" + note)


# A stated answer is at most this many characters. With the hand-written scan below it keeps every
# candidate's cost bounded: the regex this replaces (`answer is\s*\$?\s*(.+?)\s*\$?\s*[.]`) took
# minutes on a trace of thousands of "answer is" without a full stop, or one long run of spaces.
MAX_STATED_ANSWER = 300
_SPACE = re.compile(r"\s*")
# (cue found with str.rfind, the cue's own pattern anchored there, characters an answer never holds)
_CUES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("answer", re.compile(r"answer\s*(?:is|:|=)", re.IGNORECASE), "\n$"),
    ("答案", re.compile(r"答案\s*(?:是|为|：|:)"), "\n$"),
    ("=", re.compile(r"="), "\n$="),
)
_STOPS = {excluded: re.compile("[.。" + re.escape(excluded) + "]") for _, _, excluded in _CUES}


def _ends_at(text: str, j: int) -> bool:
    """Whether a stated answer may end at `j`: optional spaces and a closing `$`, then a full stop
    followed by a space (or the end), a newline, or the end of the text."""
    k = _SPACE.match(text, j).end()  # type: ignore[union-attr]
    if text.find("\n", j, k) >= 0:
        return True
    if k < len(text) and text[k] == "$":
        j, k = k + 1, _SPACE.match(text, k + 1).end()  # type: ignore[union-attr]
        if text.find("\n", j, k) >= 0:
            return True
    if k >= len(text):
        return True
    return text[k] in ".。" and (k + 1 >= len(text) or text[k + 1].isspace())


def _answer_after(text: str, cue_end: int, excluded: str, stops: re.Pattern[str]) -> tuple[int, str] | None:
    """The shortest answer after a cue (spaces and an opening `$` skipped) that reaches an end
    (`_ends_at`), as (start offset, stripped text); None when none ends within MAX_STATED_ANSWER.
    Only the characters `stops` finds can end an answer, so the window is searched, not walked."""
    start = _SPACE.match(text, cue_end).end()  # type: ignore[union-attr]
    if start < len(text) and text[start] == "$":
        start = _SPACE.match(text, start + 1).end()  # type: ignore[union-attr]
    if start < len(text) and text[start] in excluded:
        return None
    window_end = min(len(text), start + MAX_STATED_ANSWER)
    position = start + 1  # an answer holds at least one character
    while True:
        hit = stops.search(text, position, window_end)
        if hit is None and window_end < len(text):
            return None
        stop = hit.start() if hit is not None else len(text)
        end = stop
        while end > start + 1 and text[end - 1].isspace():
            end -= 1
        if _ends_at(text, end):
            answer = text[start:end].strip()
            return (start, answer) if answer else None
        if hit is None or text[stop] in excluded:
            return None
        position = stop + 1


def stated_answer(text: str) -> str | None:
    """The last answer a text states outright, for math traces that box only the final answer:
    "the answer is X", "answer: X", "答案是 X", or "= X" ending a sentence or line (of these,
    the candidate that starts last wins; X is at most MAX_STATED_ANSWER characters). None when
    there is none. Linear in the text: each cue is tried once, over a bounded window."""
    lowered = text.lower()
    best: tuple[int, str] | None = None
    for needle, cue, excluded in _CUES:
        position = len(text)
        while (position := lowered.rfind(needle, 0, position)) >= 0:
            if best is not None and position < best[0]:
                break
            match = cue.match(text, position)
            found = _answer_after(text, match.end(), excluded, _STOPS[excluded]) if match else None
            if found is not None:
                if best is None or found[0] > best[0]:
                    best = found
                break
    return best[1] if best else None


class Figures(BaseModel):
    """The per-sample figures (see the module docstring). Token counts are whole tokens;
    `first_correct_tokens`, `reflection_tokens` and `efficiency` are None unless the final answer
    was correct AND a correct prefix was found (a correct final answer whose reasoning never
    states it counts `T̂ = T`: the answer only came after thinking)."""

    reasoning_tokens: int
    first_correct_tokens: int | None = None
    reflection_tokens: int | None = None
    efficiency: float | None = None
    thought_count: int
    correct: bool
    token_source: str
    trace: Literal["reasoning", "output"] = "reasoning"
    status: Literal["correct", "wrong", "no_reasoning"]


def analyse(
    text: str | None,
    correct: bool,
    splitter: ThoughtSplitter,
    counter: TokenCounter,
    extract: Callable[[str], str | None],
    check: Callable[[str], bool],
    trace: Literal["reasoning", "output"] = "reasoning",
) -> Figures:
    """Figures of one generation's reasoning `text` (or its output, `trace="output"`). `correct` is
    the benchmark's verdict on the final answer; `extract`/`check` read and judge the answers the
    reasoning states on the way (see `first_correct_offset`)."""
    text = text or ""
    if not text.strip():
        return Figures(
            reasoning_tokens=0,
            thought_count=0,
            correct=correct,
            token_source=counter.source,
            trace=trace,
            status="no_reasoning",
        )
    switches = splitter.switches(text)
    thoughts = splitter.thought_count(text, switches)
    if not correct:
        total, _ = counter(text, [])
        return Figures(
            reasoning_tokens=total,
            thought_count=thoughts,
            correct=False,
            token_source=counter.source,
            trace=trace,
            status="wrong",
        )
    offset = first_correct_offset(text, splitter.step_ends(text, switches), extract, check)
    total, (first,) = counter(text, [len(text) if offset is None else offset])
    first = min(first, total)
    return Figures(
        reasoning_tokens=total,
        first_correct_tokens=first,
        reflection_tokens=total - first,
        efficiency=first / total if total else None,
        thought_count=thoughts,
        correct=True,
        token_source=counter.source,
        trace=trace,
        status="correct",
    )
