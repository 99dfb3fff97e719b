"""The judge's request bodies for one pair, and the reading of its reply (no I/O).

The default template is written for this project in the manner of ArenaHard's judge prompt (the
judge compares two assistants' answers to one user prompt and ends with a bracketed verdict
label); `--llm-arena-judge-template FILE` replaces it. A template is plain text with the fields
`{question}`, `{answer_a}`, `{answer_b}` and `{labels}` (the scale's labels in brackets), each
replaced once by its text (other braces are left alone, so a template may show JSON). A template
file may start with a system part: the lines before a line `---` are the system message.

A reply with no label the scale knows is re-asked once, in the same conversation (the reply and a
short request for the label alone); that request is cached like any other, so a re-run asks
nothing. Still no label: the pair's error (`JudgeError`), never a tie.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .verdicts import SCALES, Scale

DEFAULT_SYSTEM = """You are an impartial judge. You compare the answers two AI assistants gave to the same user prompt \
and decide which one is better.

Before judging, work out your own answer to the prompt. Then compare both answers with it: point out \
mistakes and inaccurate information, and check whether each answer is helpful (it follows the prompt \
and asks for clarification when the prompt is ambiguous), relevant and concise. Do not let the order \
in which the answers are shown, their length or the assistants' names sway you.

End your reply with your verdict as one label on its own line: {labels}."""

DEFAULT_USER = """<|User Prompt|>
{question}

<|The Start of Assistant A's Answer|>
{answer_a}
<|The End of Assistant A's Answer|>

<|The Start of Assistant B's Answer|>
{answer_b}
<|The End of Assistant B's Answer|>"""

LABEL_MEANINGS = {
    "A>>B": "A is significantly better",
    "A>B": "A is slightly better",
    "A=B": "a tie",
    "B>A": "B is slightly better",
    "B>>A": "B is significantly better",
}
REASK = "Your reply has no verdict label. Reply with the label alone, one of: {labels}."
FIELDS = ("question", "answer_a", "answer_b", "labels")
_FIELD = re.compile("\\{(" + "|".join(FIELDS) + ")\\}")


class JudgeTemplate:
    def __init__(self, system: str | None, user: str) -> None:
        self.system = system
        self.user = user

    @classmethod
    def load(cls, path: Path | None) -> JudgeTemplate:
        if path is None:
            return cls(DEFAULT_SYSTEM, DEFAULT_USER)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--llm-arena-judge-template {path}: cannot be read ({exc})") from None
        system, sep, user = text.partition("\n---\n")
        if not sep:
            system, user = "", text
        missing = [f for f in ("question", "answer_a", "answer_b") if "{" + f + "}" not in system + user]
        if missing:
            raise ConfigError(
                f"--llm-arena-judge-template {path}: the template never names {{{missing[0]}}}; "
                "it needs {question}, {answer_a} and {answer_b}"
            )
        return cls(system.strip() or None, user.strip())


def labels_text(scale: Scale) -> str:
    return ", ".join(f"[[{label}]] ({LABEL_MEANINGS[label]})" for label in SCALES[scale])


def _fill(text: str, values: dict[str, str]) -> str:
    # one pass, so an answer that contains "{answer_b}" is not filled again (re.sub never rescans what it
    # put in; a loop over the characters took a quarter of an arena run's CPU, bench/arena_pipeline.py)
    return _FIELD.sub(lambda match: values[match.group(1)], text)


def judge_messages(
    template: JudgeTemplate, scale: Scale, question: str, answer_a: str, answer_b: str
) -> list[dict[str, Any]]:
    values = {
        "question": question.strip(),
        "answer_a": answer_a.strip(),
        "answer_b": answer_b.strip(),
        "labels": labels_text(scale),
    }
    messages: list[dict[str, Any]] = []
    if template.system:
        messages.append({"role": "system", "content": _fill(template.system, values)})
    messages.append({"role": "user", "content": _fill(template.user, values)})
    return messages


def reask_messages(messages: list[dict[str, Any]], reply: str, scale: Scale) -> list[dict[str, Any]]:
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": REASK.format(labels=", ".join(f"[[{label}]]" for label in SCALES[scale]))},
    ]


def rationale(reply: str, limit: int = 4000) -> str:
    """The judge's reasoning as kept in the record (the whole reply up to `limit` characters)."""
    text = reply.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
