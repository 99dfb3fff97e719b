"""Scoring: answer extraction and equivalence, one family per module.

* `choice`: multiple-choice letters (`find_choice`, `extract_choice`), used by every MCQ benchmark
* `numeric`: GSM8K-style final numbers (`find_final_number`, `extract_final_number`, `numbers_equal`)
* `math_equiv`: competition math answers (`math_verdict`, `aime_answer`; the time-limited
  `math_equal` is `pytest_llmeval.execution.symbolic`)
* `boxed`: `\\boxed{}` extraction (`last_boxed`); `normalize`: the one number normaliser every path
  uses (`normalize_numbers`); `cues`: where a model's answer ends (`cut_continuation`, `final_boxed`)
* `verdict`: `Score`, what every scorer returns
* `ifeval`: the 25 IFEval instruction checkers (`evaluate_response`)
* `code`: code answers as text (`extract_code`, `outputs_match`); running them is `pytest_llmeval.execution`
* `thinking`, `passk`, `response`: reasoning removal, pass@k, response -> Score
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .boxed import last_boxed
    from .choice import choice_letters, extract_choice, find_choice, format_choices, match_choice_text
    from .math_equiv import aime_answer, math_verdict
    from .normalize import normalize_numbers
    from .numeric import extract_final_number, extract_gsm8k_target, find_final_number, numbers_equal
    from .passk import majority_passed, mean_pass_at_1, pass_at_k
    from .thinking import add_thinking_delimiters, split_thinking

# Exported lazily: importing one scorer (`scoring.verdict`, which every benchmark imports, runs this
# file first) does not import every family (math_equiv alone costs ~5 ms of every run's start-up).
_HOME = {
    "last_boxed": "boxed",
    "choice_letters": "choice",
    "extract_choice": "choice",
    "find_choice": "choice",
    "format_choices": "choice",
    "match_choice_text": "choice",
    "aime_answer": "math_equiv",
    "math_verdict": "math_equiv",
    "normalize_numbers": "normalize",
    "extract_final_number": "numeric",
    "extract_gsm8k_target": "numeric",
    "find_final_number": "numeric",
    "numbers_equal": "numeric",
    "majority_passed": "passk",
    "mean_pass_at_1": "passk",
    "pass_at_k": "passk",
    "add_thinking_delimiters": "thinking",
    "split_thinking": "thinking",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "add_thinking_delimiters",
    "aime_answer",
    "choice_letters",
    "extract_choice",
    "extract_final_number",
    "extract_gsm8k_target",
    "find_choice",
    "find_final_number",
    "format_choices",
    "last_boxed",
    "majority_passed",
    "match_choice_text",
    "math_verdict",
    "mean_pass_at_1",
    "normalize_numbers",
    "numbers_equal",
    "pass_at_k",
    "split_thinking",
]
