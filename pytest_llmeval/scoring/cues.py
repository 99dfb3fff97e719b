"""Where the model's answer ends: text a model invents after answering is not its answer.

Small models often keep generating after they answered: they start a new few-shot turn
(`Question: … #### 7`, `Q: …`, `<|im_start|>user`) and answer that invented question too. Every
extractor reads the *last* explicit cue it finds (models revise themselves: "wait, the answer is
6"), so without a cut the invented answer would win.

The rule, used by `numeric`, `choice` and the boxed-answer math benchmarks:

    The model's answer ends at the first line that opens a new turn (`Question:`, `Q:`,
    `Problem:`, `User:`, `Human:`, `Instruction:`, `问题：`, `题目：`, a chat-template token such as
    `<|im_start|>`, `<|user|>`, `<start_of_turn>`) **provided an explicit answer cue precedes it**.
    Everything from that line on is ignored. A turn marker with no cue before it (a model that
    restates the question first) cuts nothing.

What counts as an explicit cue is the extractor's business (`has_cue`): for numbers a
`\\boxed{}` number, GSM8K's `#### N` marker or "the answer is N"; for multiple choice an answer
line or another explicit statement; for math a `\\boxed{}`. GSM8K's `#### N` additionally ends
the answer by itself, since that format puts the marker last (see `numeric.find_final_number`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .boxed import last_boxed

__all__ = ["NEW_TURN", "cut_continuation", "final_boxed"]

# A turn opens a line; the first line is never one (nothing precedes it), so every match starts
# with the line break before it (a literal first character makes the scan fast).
NEW_TURN = re.compile(
    r"\n[ \t>*#_]*(?:question|q|problem|user|human|instruction|input|问题|题目)[ \t\d*]*[:：]"  # one class: linear
    r"|\n[ \t]*(?:<\|(?:im_start|user|start_header_id|eot_id|im_end|endoftext)\|>|<start_of_turn>|</s>)",
    re.IGNORECASE,
)


def cut_continuation(text: str, has_cue: Callable[[str], bool]) -> str:
    """`text` up to the first new-turn line that follows an explicit cue (`has_cue(prefix)`), or
    all of `text` when there is none. Cost: one regex scan, plus `has_cue` once per turn marker."""
    for marker in NEW_TURN.finditer(text):
        end = marker.start() + 1  # keep the line break that ends the answer
        if has_cue(text[:end]):
            return text[:end]
    return text


def final_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{}` of the model's answer (text invented after a box that
    opens a new turn is ignored, see the module docstring), or None when there is no box."""
    return last_boxed(cut_continuation(text, lambda prefix: last_boxed(prefix) is not None))
