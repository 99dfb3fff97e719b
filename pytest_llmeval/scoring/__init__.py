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

from .boxed import last_boxed
from .choice import choice_letters, extract_choice, find_choice, format_choices, match_choice_text
from .math_equiv import aime_answer, math_verdict
from .normalize import normalize_numbers
from .numeric import extract_final_number, extract_gsm8k_target, find_final_number, numbers_equal
from .passk import majority_passed, mean_pass_at_1, pass_at_k
from .thinking import add_thinking_delimiters, split_thinking

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
