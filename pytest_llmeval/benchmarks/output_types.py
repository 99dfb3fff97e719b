"""Output types: how a benchmark's samples are asked and scored, in lm-evaluation-harness's vocabulary.

* ``generate_until`` (the default): one chat request per sample; the model writes its answer
  (``Answer: B``) and the benchmark's scorer reads it.
* ``multiple_choice``: log-likelihood multiple choice. Each choice is one ``/v1/completions`` request
  whose prompt is a context and the choice as its continuation (``scoring/loglik.py``); the choice
  with the highest summed log-probability is the prediction (``acc``), or the highest per character
  (``acc_norm``). Only benchmarks with a log-likelihood form (``Benchmark.loglik_form``) take it.

Chosen per run with ``--llm-output-type NAME`` (ini ``llm_output_type``; applies to every selected
benchmark, and one without a log-likelihood form is a usage error naming it) or per benchmark with
``--llm-output-type BENCH=NAME`` / ``BENCH:NAME`` (or ``--llm-bench-arg BENCH.output_type=NAME``).

The sample of a log-likelihood benchmark carries its requests in ``Sample.metadata[LOGLIK_KEY]``:
``{"contexts": [...], "continuations": [...], "gold": i}``, one context and continuation per choice
(the context varies per choice for Winogrande's partial scoring, the continuation for the others).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigError

__all__ = [
    "GENERATE_UNTIL",
    "LOGLIK_KEY",
    "LOGLIK_SAMPLE_METRICS",
    "MULTIPLE_CHOICE",
    "OUTPUT_TYPES",
    "check_chat_template",
    "check_output_type",
    "check_selected",
    "loglik_metadata",
    "output_type_args",
]

GENERATE_UNTIL = "generate_until"
MULTIPLE_CHOICE = "multiple_choice"
OUTPUT_TYPES = (GENERATE_UNTIL, MULTIPLE_CHOICE)
LOGLIK_KEY = "loglik"
# what a log-likelihood sample can report (`loglik_metadata`'s `metrics`; engine/loglik.py computes them)
LOGLIK_SAMPLE_METRICS = ("acc", "acc_norm", "mc1", "mc2")


def check_output_type(
    benchmark_name: str, value: str | None, has_loglik_form: bool, having: Sequence[str] | None = None
) -> str:
    """The benchmark's output type (default ``generate_until``); a usage error for an unknown name or
    for ``multiple_choice`` on a benchmark without a log-likelihood form (`having`: the names of the
    benchmarks that have one, when the caller knows them)."""
    name = (value or GENERATE_UNTIL).strip().lower()
    if name not in OUTPUT_TYPES:
        raise ConfigError(
            f"benchmark {benchmark_name!r}: output type {value!r} is not one of {', '.join(OUTPUT_TYPES)}"
        )
    if name == MULTIPLE_CHOICE and not has_loglik_form:
        which = (
            f"benchmarks that have one: {', '.join(having)}"
            if having
            else "`pytest --llm-list` names the benchmarks that have one"
        )
        raise ConfigError(
            f"benchmark {benchmark_name!r} has no log-likelihood form (output type {MULTIPLE_CHOICE}); "
            f"{which}. Drop --llm-output-type for it "
            f"(it runs as {GENERATE_UNTIL}) or name the benchmarks: --llm-output-type BENCH={MULTIPLE_CHOICE}"
        )
    return name


def check_chat_template(benchmark_name: str, value: str | None) -> bool:
    """``chat_template=on|off`` (default off): whether log-likelihood contexts are wrapped in the
    model's chat template (``--llm-chat-template-file``) before the continuation."""
    text = (value or "off").strip().lower()
    if text not in ("on", "off", "true", "false", "1", "0"):
        raise ConfigError(f"benchmark {benchmark_name!r}: chat_template must be on or off, got {value!r}")
    return text in ("on", "true", "1")


def output_type_args(args: Mapping[str, str] | None, run_output_type: str | None, has_form: bool) -> dict[str, str]:
    """A benchmark's arguments with the run-wide output type folded in where the benchmark has that
    form (a selected benchmark without it is checked after selection: ``check_selected``)."""
    out = dict(args or {})
    if run_output_type and (has_form or run_output_type == GENERATE_UNTIL) and "output_type" not in out:
        out["output_type"] = run_output_type
    return out


def check_selected(selected: Sequence[str], classes: Mapping[str, Any], run_output_type: str | None) -> None:
    """A run-wide ``--llm-output-type multiple_choice`` with a selected benchmark that has no
    log-likelihood form: one usage error naming it (never a silent generative run beside the others)."""
    if run_output_type != MULTIPLE_CHOICE:
        return
    having = sorted(n for n, cls in classes.items() if getattr(cls, "loglik_form", False))
    for name in selected:
        check_output_type(name, run_output_type, bool(getattr(classes[name], "loglik_form", False)), having)


def loglik_metadata(
    contexts: Sequence[str],
    continuations: Sequence[str],
    gold: int,
    *,
    metrics: Sequence[str] | None = None,
    true: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The ``Sample.metadata[LOGLIK_KEY]`` of one sample (checked: one context per continuation).

    `metrics`: the metrics the sample reports, from ``acc``, ``acc_norm`` (the default pair), ``mc1``
    (= acc, TruthfulQA's name) and ``mc2`` (the probability mass of the `true` choices, which the
    sample then names: every true answer, `gold` one of them)."""
    if len(contexts) != len(continuations) or not continuations:
        raise ValueError(f"{len(contexts)} contexts for {len(continuations)} continuations")
    if not 0 <= gold < len(continuations):
        raise ValueError(f"gold index {gold} outside the {len(continuations)} choices")
    spec: dict[str, Any] = {"contexts": list(contexts), "continuations": list(continuations), "gold": gold}
    if metrics is not None:
        unknown = sorted(set(metrics) - set(LOGLIK_SAMPLE_METRICS))
        if unknown or not metrics:
            raise ValueError(f"log-likelihood metrics {list(metrics)}: each one of {', '.join(LOGLIK_SAMPLE_METRICS)}")
        spec["metrics"] = list(metrics)
    if true is not None:
        if gold not in true or any(not 0 <= i < len(continuations) for i in true):
            raise ValueError(f"true choices {list(true)} must hold the gold {gold} and name some of the choices")
        spec["true"] = sorted(set(true))
    if "mc2" in spec.get("metrics", ()) and "true" not in spec:
        raise ValueError("the mc2 metric needs the true choices (`true`)")
    return spec
