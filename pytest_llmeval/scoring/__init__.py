"""Scoring: answer extraction and equivalence, one family per module.

* `choice`: multiple-choice letters (`extract_choice`), used by every MCQ benchmark
* `numeric`: GSM8K-style final numbers (`extract_final_number`, `numbers_equal`)
* `math_equiv`: competition math answers (`math_equal`, `last_boxed`, `aime_answer`)
* `ifeval`: the 25 IFEval instruction checkers (`evaluate_response`)
* `code` + `sandbox`: running generated programs under limits (`check_stdio_program`, ...)
* `thinking`, `passk`, `response`: reasoning removal, pass@k, response -> Score
"""

from .choice import choice_letters, extract_choice, format_choices, match_choice_text
from .math_equiv import aime_answer, last_boxed, math_equal
from .numeric import extract_final_number, extract_gsm8k_target, numbers_equal
from .passk import majority_passed, mean_pass_at_1, pass_at_k
from .thinking import split_thinking

__all__ = [
    "aime_answer",
    "choice_letters",
    "extract_choice",
    "extract_final_number",
    "extract_gsm8k_target",
    "format_choices",
    "last_boxed",
    "majority_passed",
    "match_choice_text",
    "math_equal",
    "mean_pass_at_1",
    "numbers_equal",
    "pass_at_k",
    "split_thinking",
]
