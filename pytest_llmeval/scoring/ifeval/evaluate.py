"""Strict and loose scoring of one response, and the benchmark-level metrics.

Strict: the instruction's checker accepts the response as sent.

Loose: the checker accepts *any* of eight variants of the response — the response itself, the
response without its first line, without its last line, without both, and each of those four with
every ``*`` removed. This forgives a preamble such as "Sure, here is the JSON:" or a closing remark,
and markdown emphasis. Line-removed variants are whitespace-trimmed.

Either way an empty or whitespace-only response (or variant) follows nothing — not even
``punctuation:no_comma`` or ``keywords:forbidden_words``, which it would satisfy trivially.

Benchmark metrics (:func:`aggregate`), as in the IFEval paper:

* ``prompt_level_strict`` / ``prompt_level_loose`` — fraction of prompts whose instructions are
  *all* followed;
* ``inst_level_strict`` / ``inst_level_loose`` — fraction of all instructions, pooled across
  prompts, that are followed (a micro average: a prompt with three instructions weighs three times
  as much as one with one; it is not the mean of the per-prompt fractions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .models import IFEvalResult, InstructionResult
from .registry import InstructionSpecError, bind_instruction

__all__ = [
    "METRIC_NAMES",
    "aggregate",
    "aggregate_sample_metrics",
    "check_instruction",
    "evaluate_response",
    "loose_variants",
]

METRIC_NAMES = ("prompt_level_strict", "inst_level_strict", "prompt_level_loose", "inst_level_loose")


def loose_variants(response: str) -> list[str]:
    """The eight texts loose scoring tries, in order (duplicates kept; empty ones included)."""
    lines = response.split("\n")
    without_first = "\n".join(lines[1:]).strip()
    without_last = "\n".join(lines[:-1]).strip()
    without_both = "\n".join(lines[1:-1]).strip()
    variants = [response, without_first, without_last, without_both]
    return variants + [text.replace("*", "") for text in variants]


def check_instruction(instruction_id: str, kwargs: Mapping[str, Any] | None, response: str, prompt: str) -> bool:
    """Strict verdict for one instruction.

    ``kwargs`` uses the dataset's key names; ``None`` values and a ``None`` dict mean "absent".
    ``prompt`` is only consulted by ``combination:repeat_prompt`` when its kwargs lack
    ``prompt_to_repeat``.

    Raises:
        ValueError (``InstructionSpecError``): unknown id (the message lists the known ones) or
            kwargs that do not fit the instruction.
    """
    check = bind_instruction(instruction_id, kwargs, prompt)
    return bool(response.strip()) and check(response)


def evaluate_response(
    prompt: str,
    instruction_id_list: Sequence[str],
    kwargs_list: Sequence[Mapping[str, Any] | None],
    response: str,
) -> IFEvalResult:
    """Strict and loose verdicts for every instruction of one IFEval prompt.

    ``kwargs_list[i]`` belongs to ``instruction_id_list[i]``; the two must have the same length and
    the list must not be empty. All kwargs are validated before any check runs, so a bad row raises
    ``ValueError`` whatever the response.
    """
    if not instruction_id_list:
        raise InstructionSpecError("IFEval row has no instructions; instruction_id_list must name at least one")
    if len(instruction_id_list) != len(kwargs_list):
        raise InstructionSpecError(
            f"IFEval row has {len(instruction_id_list)} instruction ids but {len(kwargs_list)} kwargs entries; "
            "give one kwargs dict (or null) per instruction"
        )
    checks = [
        bind_instruction(iid, kwargs, prompt) for iid, kwargs in zip(instruction_id_list, kwargs_list, strict=False)
    ]
    # Variants beyond the response itself, de-duplicated (checks are pure, so order is all that matters).
    variants = [text for text in dict.fromkeys(loose_variants(response)[1:]) if text.strip() and text != response]
    strict_ok = bool(response.strip())
    items: list[InstructionResult] = []
    for instruction_id, check in zip(instruction_id_list, checks, strict=False):
        strict = strict_ok and check(response)
        # The unmodified response is the first loose variant, so the strict verdict is reused.
        loose = strict or any(check(text) for text in variants)
        items.append(InstructionResult(instruction_id=instruction_id, strict=strict, loose=loose))
    count = len(items)
    return IFEvalResult(
        instructions=items,
        prompt_level_strict=all(item.strict for item in items),
        prompt_level_loose=all(item.loose for item in items),
        inst_level_strict=sum(item.strict for item in items) / count,
        inst_level_loose=sum(item.loose for item in items) / count,
    )


def aggregate(results: Sequence[IFEvalResult]) -> dict[str, float]:
    """The four benchmark metrics over ``results`` (one per prompt); see the module docstring.

    Returns ``{}`` for an empty sequence (nothing was scored), like ``Benchmark.aggregate``.
    """
    return aggregate_sample_metrics([result.sample_metrics() for result in results])


def aggregate_sample_metrics(per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """:func:`aggregate` from ``IFEvalResult.sample_metrics()`` dicts — for code that keeps only
    per-sample floats (e.g. records sent across pytest-xdist workers). ``{}`` when empty."""
    if not per_sample:
        return {}
    prompts = len(per_sample)
    instructions = sum(sample["inst_count"] for sample in per_sample)
    if instructions <= 0:
        raise ValueError("IFEval per-sample metrics count no instructions; pass IFEvalResult.sample_metrics() dicts")
    return {
        "prompt_level_strict": sum(sample["prompt_level_strict"] for sample in per_sample) / prompts,
        "inst_level_strict": sum(sample["inst_strict_followed"] for sample in per_sample) / instructions,
        "prompt_level_loose": sum(sample["prompt_level_loose"] for sample in per_sample) / prompts,
        "inst_level_loose": sum(sample["inst_loose_followed"] for sample in per_sample) / instructions,
    }
