"""Log-likelihood multiple choice (lm-eval's ``output_type: multiple_choice``): pure scoring.

Each choice is one ``/v1/completions`` request whose prompt is ``context + continuation``, sent with
``echo: true`` and ``logprobs: 1``, so the server returns one log-probability per prompt token with
the token's start offset in the echoed text (``text_offset``). The continuation's log-likelihood is
the sum over the tokens that carry continuation text. The boundary comes from the server's own
offsets, never from a local tokenizer: a local guess that shifts one token changes the score.

``max_tokens`` is 1, not 0: llama-cpp-python reads ``max_tokens <= 0`` as "generate until the context
is full" (``Llama._create_completion``), and the generated token is ignored here (offsets past the
echoed prompt).

Offsets: OpenAI's legacy API, vLLM and llama-cpp-python count **characters** of the decoded text
(llama-cpp-python: ``len(detokenize(prefix).decode("utf-8", errors="ignore"))``, so the two byte
tokens of one emoji share an offset). A server that counts UTF-8 **bytes** is recognised by an offset
past the prompt's length in characters; the boundary is then the context's length in bytes.

Metrics, as lm-eval's ``ConfigurableTask.process_results`` computes them (lm_eval/api/task.py):
``acc`` is the argmax of the summed log-probabilities; ``acc_norm`` divides each by the length of the
choice's text, ``float(len(choice))`` on a Python ``str``, i.e. **characters** (lm-eval's
``acc_bytes`` is the byte-normalised one; lighteval's ``LogProbCharNorm`` also uses characters).
Ties go to the first choice (numpy's argmax).

TruthfulQA (lm-eval's ``truthfulqa_mc1`` / ``truthfulqa_mc2``, lm_eval/tasks/truthfulqa/utils.py):
MC1 is ``acc`` over the mc1 choices (one true answer). MC2 is the normalised probability mass of the
true answers over the mc2 choices, ``sum(exp(ll_true)) / sum(exp(ll_all))`` (``true_mass``); lm-eval
exponentiates the raw sums, which underflow to 0/0 for long answers of a weak model, so here the
mass is computed relative to the largest log-likelihood (the same value wherever lm-eval's is finite).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import NoPromptLogprobsError


def completion_body(model: str, context: str, continuation: str) -> dict[str, Any]:
    """The `/v1/completions` request for one choice (deterministic, so the response cache keys on it)."""
    return {
        "model": model,
        "prompt": context + continuation,
        "echo": True,
        "logprobs": 1,
        "max_tokens": 1,
        "temperature": 0.0,
    }


@dataclass(frozen=True)
class ContinuationScore:
    """The continuation's summed log-probability and the tokens it was summed over."""

    logprob: float
    tokens: tuple[str, ...]
    token_logprobs: tuple[float, ...]


def continuation_logprob(
    logprobs: Mapping[str, Any] | None, context: str, continuation: str, server: str = "the server"
) -> ContinuationScore:
    """Sum the log-probabilities of the continuation's tokens, from the ``logprobs`` object of one echoed
    completions choice (``choices[0].logprobs``: ``tokens``, ``text_offset``, ``token_logprobs``).

    A token counts when it carries continuation text: it ends after the boundary (a token that starts
    in the context and runs into the continuation is counted, since its probability covers that text).
    Raises NoPromptLogprobsError when the response has no prompt log-probabilities to sum.
    """
    if not isinstance(logprobs, Mapping):
        raise NoPromptLogprobsError(server, "no logprobs for the prompt (the response has no choices[0].logprobs)")
    offsets = logprobs.get("text_offset")
    values = logprobs.get("token_logprobs")
    tokens = logprobs.get("tokens") or []
    if not isinstance(offsets, list) or not isinstance(values, list) or len(offsets) != len(values):
        raise NoPromptLogprobsError(server, "logprobs without text_offset/token_logprobs of equal length")
    prompt = context + continuation
    if offsets and max(offsets) > len(prompt.encode("utf-8")):
        raise NoPromptLogprobsError(server, "text offsets past the end of the prompt it was sent")
    in_bytes = bool(offsets) and max(offsets) > len(prompt)
    boundary = len(context.encode("utf-8")) if in_bytes else len(context)
    end = len(prompt.encode("utf-8")) if in_bytes else len(prompt)
    # The echoed prompt's tokens are those starting before its end; later ones were generated.
    echoed = [i for i, offset in enumerate(offsets) if offset < end]
    if not echoed or offsets[echoed[0]] > 0:
        raise NoPromptLogprobsError(server, "log-probabilities for generated tokens only, none for the echoed prompt")
    picked: list[int] = []
    for position, i in enumerate(echoed):
        token_end = offsets[echoed[position + 1]] if position + 1 < len(echoed) else end
        if token_end > boundary or (offsets[i] >= boundary and continuation):
            picked.append(i)
    if continuation and not picked:
        raise NoPromptLogprobsError(server, "no token of the echoed prompt covering the continuation")
    found = [values[i] for i in picked]
    if any(not isinstance(v, numbers.Real) or isinstance(v, bool) for v in found):  # numpy floats in-process
        raise NoPromptLogprobsError(server, "null log-probabilities for the continuation's prompt tokens")
    if not all(math.isfinite(v) for v in found):  # `NaN` / `Infinity` parse as JSON: never a score
        raise NoPromptLogprobsError(server, "log-probabilities that are NaN or infinite for the continuation's tokens")
    names = tuple(str(tokens[i]) if i < len(tokens) else "" for i in picked)
    return ContinuationScore(float(sum(found)), names, tuple(float(v) for v in found))


@dataclass(frozen=True)
class MultipleChoiceVerdict:
    """One sample's log-likelihood verdict: per-choice log-probabilities and the two predictions."""

    logprobs: tuple[float, ...]
    pred: int
    pred_norm: int
    gold: int

    @property
    def acc(self) -> float:
        return 1.0 if self.pred == self.gold else 0.0

    @property
    def acc_norm(self) -> float:
        return 1.0 if self.pred_norm == self.gold else 0.0


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def score_multiple_choice(logprobs: Sequence[float], choices: Sequence[str], gold: int) -> MultipleChoiceVerdict:
    """acc and acc_norm of one sample from each choice's summed continuation log-probability."""
    if len(logprobs) != len(choices) or not choices:
        raise ValueError(f"{len(logprobs)} log-probabilities for {len(choices)} choices")
    if not 0 <= gold < len(choices):
        raise ValueError(f"gold index {gold} outside the {len(choices)} choices")
    # An empty choice has length 0: lm-eval would divide by zero; count it as one character instead.
    normed = [lp / max(len(text), 1) for lp, text in zip(logprobs, choices, strict=False)]
    return MultipleChoiceVerdict(tuple(float(v) for v in logprobs), _argmax(logprobs), _argmax(normed), gold)


def true_mass(logprobs: Sequence[float], true: Sequence[int]) -> float:
    """MC2: the probability mass of the choices in `true` among all choices, each choice's mass being
    exp(its summed log-likelihood); in [0, 1]."""
    if not logprobs or not true or any(not 0 <= i < len(logprobs) for i in true):
        raise ValueError(f"true indices {list(true)} do not name some of the {len(logprobs)} choices")
    top = max(logprobs)
    masses = [math.exp(lp - top) for lp in logprobs]
    return sum(masses[i] for i in set(true)) / sum(masses)
