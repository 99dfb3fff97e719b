"""Separates a reasoning model's thinking from its answer before scoring.

Models mark their thinking with different delimiters; every pair in `THINKING_DELIMITERS` counts:

| model family                           | opens        | closes        |
|----------------------------------------|--------------|---------------|
| DeepSeek-R1, Qwen3, QwQ, GLM, most     | `<think>`    | `</think>`    |
| Magistral (Mistral)                    | `[THINK]`    | `[/THINK]`    |
| Kimi (k1.5, Kimi-VL-Thinking)          | `◁think▷`    | `◁/think▷`    |
| Seed-OSS (ByteDance)                   | `<seed:think>` | `</seed:think>` |

A model with other delimiters: `add_thinking_delimiters("<reasoning>", "</reasoning>")` (e.g. in a
`conftest.py`), for the whole process. See docs/thinking.md.
"""

from __future__ import annotations

__all__ = ["CLOSE_TAG", "OPEN_TAG", "THINKING_DELIMITERS", "add_thinking_delimiters", "split_thinking"]

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"

THINKING_DELIMITERS: list[tuple[str, str]] = [
    (OPEN_TAG, CLOSE_TAG),
    ("[THINK]", "[/THINK]"),
    ("◁think▷", "◁/think▷"),
    ("<seed:think>", "</seed:think>"),
]


def add_thinking_delimiters(open_tag: str, close_tag: str) -> None:
    """Treat `open_tag ... close_tag` as thinking too (process-wide; call it from a `conftest.py`).
    Both must be non-empty and differ; adding a pair already known does nothing."""
    if not open_tag or not close_tag or open_tag == close_tag:
        raise ValueError(
            f"thinking delimiters must be two different non-empty strings, got {open_tag!r} and {close_tag!r}"
        )
    if (open_tag, close_tag) not in THINKING_DELIMITERS:
        THINKING_DELIMITERS.append((open_tag, close_tag))


def split_thinking(
    text: str, reasoning: str | None = None, delimiters: list[tuple[str, str]] | None = None
) -> tuple[str, str | None]:
    """Return `(answer, reasoning)` for one generation. `delimiters` defaults to
    `THINKING_DELIMITERS` (`<think>`, `[THINK]`, `◁think▷`, `<seed:think>`; see the module docstring).

    - Closed thinking: everything up to and including the LAST closing delimiter (of any pair) is
      reasoning (models that think twice emit several blocks; a close with no opening tag also
      counts, because some chat templates put `<think>` in the prompt). The answer is the rest, stripped.
    - Unclosed opening delimiter with no close anywhere: the generation stopped while thinking
      (usually max_tokens). The whole text is reasoning and the answer is `""`, so it scores as no
      answer instead of grading half-finished thoughts.
    - No delimiters: the text is returned unchanged as the answer.

    `reasoning` is the server's separate `reasoning_content` field; when both it and inline thinking
    exist they are joined (field first) with a blank line. Delimiters are removed from the
    reasoning, and reasoning that is only whitespace (e.g. Qwen3's empty `<think>\\n\\n</think>`)
    becomes `None`.
    """
    pairs = THINKING_DELIMITERS if delimiters is None else delimiters
    parts: list[str] = [reasoning.strip()] if reasoning and reasoning.strip() else []
    cut = -1  # end of the last closing delimiter
    for _, close_tag in pairs:
        position = text.rfind(close_tag)
        if position >= 0:
            cut = max(cut, position + len(close_tag))
    if cut >= 0:
        thought, answer = text[:cut], text[cut:].strip()
    elif any(open_tag in text for open_tag, _ in pairs):
        thought, answer = text, ""
    else:
        return text, parts[0] if parts else None
    # every delimiter becomes a line break so separate blocks do not run together; closes first,
    # as a close may contain its open (`</think>` holds no `<think>`, but a user pair might)
    for open_tag, close_tag in pairs:
        thought = thought.replace(close_tag, "\x00").replace(open_tag, "\x00")
    thought = "\n".join(part.strip() for part in thought.split("\x00") if part.strip())
    if thought:
        parts.append(thought)
    return answer, "\n\n".join(parts) if parts else None
