"""Separates a reasoning model's thinking from its answer before scoring."""

from __future__ import annotations

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


def split_thinking(text: str, reasoning: str | None = None) -> tuple[str, str | None]:
    """Return `(answer, reasoning)` for one generation.

    - Closed thinking: everything up to and including the LAST `</think>` is reasoning (models that
      think twice emit several blocks; a `</think>` with no opening tag also counts, because some
      chat templates put `<think>` in the prompt). The answer is the rest, stripped.
    - Unclosed `<think>` with no `</think>` anywhere: the generation stopped while thinking (usually
      max_tokens). The whole text is reasoning and the answer is `""`, so it scores as no answer
      instead of grading half-finished thoughts.
    - No tags: the text is returned unchanged as the answer.

    `reasoning` is the server's separate `reasoning_content` field; when both it and inline thinking
    exist they are joined (field first) with a blank line. Tags are removed from the reasoning, and
    reasoning that is only whitespace (e.g. Qwen3's empty `<think>\\n\\n</think>`) becomes `None`.
    """
    parts: list[str] = [reasoning.strip()] if reasoning and reasoning.strip() else []
    close = text.rfind(CLOSE_TAG)
    if close >= 0:
        thought, answer = text[:close], text[close + len(CLOSE_TAG) :].strip()
    elif OPEN_TAG in text:
        thought, answer = text, ""
    else:
        return text, parts[0] if parts else None
    # inner tags become line breaks so separate blocks do not run together
    thought = "\n".join(
        part.strip() for part in thought.replace(CLOSE_TAG, OPEN_TAG).split(OPEN_TAG) if part.strip()
    )
    if thought:
        parts.append(thought)
    return answer, "\n\n".join(parts) if parts else None
