"""The log-likelihood item (``output_type=multiple_choice``): k completion requests, one verdict.

A sample whose benchmark runs in its log-likelihood form carries one context and one continuation per
choice (``Sample.metadata["loglik"]``, benchmarks/output_types.py). The runtime turns them into k
``/v1/completions`` bodies (``scoring.loglik.completion_body``), prefetched and cached like every
request; this module sums each choice's continuation log-probability from its response
(``scoring.loglik.continuation_logprob``, boundary from the server's ``text_offset``) and makes the
sample's verdict: ``acc`` (argmax of the sums) and ``acc_norm`` (argmax of the sums per character of
the choice text, as lm-eval's ``process_results``: ``scoring/loglik.py`` says why characters), or
the metrics the sample names (TruthfulQA: ``mc1`` = acc, ``mc2`` = the probability mass of its true
answers, ``scoring.loglik.true_mass``; the item passes when the likeliest answer is a true one).

With ``chat_template=on`` the context is first wrapped in the model's chat template (one user turn,
generation prompt added), so the continuation is scored as the assistant's first words; the
template comes from ``--llm-chat-template-file`` or, for a model the plugin serves, from its GGUF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..benchmarks.base import Sample
from ..benchmarks.output_types import LOGLIK_KEY
from ..endpoint.models import ChatResponse
from ..scoring.loglik import (
    ContinuationScore,
    MultipleChoiceVerdict,
    completion_body,
    continuation_logprob,
    score_multiple_choice,
    true_mass,
)

ContextWrapper = Callable[[str], str]


def is_loglik(sample: Sample) -> bool:
    return LOGLIK_KEY in sample.metadata


def pairs(sample: Sample, wrap: ContextWrapper | None = None) -> list[tuple[str, str]]:
    """(context as sent, continuation) of each choice; `wrap` applies the chat template."""
    spec = sample.metadata[LOGLIK_KEY]
    contexts = spec["contexts"] if wrap is None else [wrap(c) for c in spec["contexts"]]
    return list(zip(contexts, spec["continuations"], strict=False))


def bodies(model: str, sample: Sample, wrap: ContextWrapper | None = None) -> list[dict[str, Any]]:
    """The k completion requests of one sample (deterministic: the cache keys on them)."""
    return [completion_body(model, context, continuation) for context, continuation in pairs(sample, wrap)]


def norm_text(continuation: str) -> str:
    """The text acc_norm divides by: the continuation without lm-eval's target delimiter (one leading
    space), i.e. lm-eval's choice string. (lighteval keeps the space in the choice it counts.)"""
    return continuation.removeprefix(" ")


@dataclass(frozen=True)
class LoglikResult:
    scores: tuple[ContinuationScore, ...]
    verdict: MultipleChoiceVerdict


def evaluate(
    sample: Sample,
    responses: Sequence[ChatResponse],
    server: str,
    wrap: ContextWrapper | None = None,
) -> LoglikResult:
    """Sum each choice's continuation log-probability and score the sample. Raises
    NoPromptLogprobsError (naming `server`) when a response lacks the echoed prompt's log-probabilities."""
    scores = []
    for (context, continuation), response in zip(pairs(sample, wrap), responses, strict=True):
        logprobs = response.choices[0].logprobs if response.choices else None
        scores.append(continuation_logprob(logprobs, context, continuation, server=server))
    continuations = [c for _, c in pairs(sample)]
    verdict = score_multiple_choice(
        [s.logprob for s in scores],
        [norm_text(c) for c in continuations],
        sample.metadata[LOGLIK_KEY]["gold"],
    )
    return LoglikResult(tuple(scores), verdict)


def record_fields(sample: Sample, result: LoglikResult) -> dict[str, Any]:
    """SampleRecord fields of a scored log-likelihood sample: the chosen letter and continuation,
    acc/acc_norm, and per choice its summed log-probability and token count (`choice_logprobs`)."""
    from ..scoring.choice import choice_letters

    verdict = result.verdict
    letters = choice_letters(len(result.scores))
    continuations = [c for _, c in pairs(sample)]
    spec = sample.metadata[LOGLIK_KEY]
    true = spec.get("true") or [verdict.gold]
    values = {"acc": verdict.acc, "acc_norm": verdict.acc_norm, "mc1": verdict.acc}
    if "true" in spec:
        values["mc2"] = true_mass(verdict.logprobs, true)
    metrics = {name: values[name] for name in spec.get("metrics") or ("acc", "acc_norm")}
    for label in sample.metadata.get("breakdown") or ():  # MMLU's acc_<group>
        metrics[f"acc_{label}"] = verdict.acc
    passed = verdict.pred in true
    explanation = None
    if not passed:
        best = max(true, key=lambda i: verdict.logprobs[i])
        explanation = (
            f"highest log-likelihood: {letters[verdict.pred]} ({verdict.logprobs[verdict.pred]:.3f}); "
            f"{'gold' if len(true) == 1 else 'best true answer'} {letters[best]} ({verdict.logprobs[best]:.3f})"
        )
    if "mc2" in metrics:
        mass = f"probability mass on the {len(true)} true answers: {metrics['mc2']:.3f} (mc2)"
        explanation = f"{explanation}; {mass}" if explanation else mass
    return {
        "output": continuations[verdict.pred],
        "extracted": letters[verdict.pred],
        "passed": passed,
        "metrics": metrics,
        "explanation": explanation,
        "choice_logprobs": [
            {"continuation": c, "logprob": s.logprob, "tokens": len(s.tokens)}
            for c, s in zip(continuations, result.scores, strict=False)
        ],
    }
