"""IFEval: 541 prompts with verifiable instructions ("answer in under 100 words", "no commas")
(google/IFEval, its only split `train`).

Rows have `key`, `prompt`, `instruction_id_list` and `kwargs` (one dict per instruction; keys an
instruction does not use are null, as the hub stores them). The prompt is sent unchanged, as the
only user message. Scoring is `scoring.ifeval.evaluate_response` (strict, and loose which forgives
a first/last line and markdown `*`).

Metrics, as in the IFEval paper:

* `prompt_level_strict` / `prompt_level_loose`: share of prompts whose instructions are all followed;
* `inst_level_strict` / `inst_level_loose`: share of all instructions followed, pooled over prompts
  (a micro average: a prompt with three instructions weighs three times one with one).

Per sample, the record's metrics also hold that prompt's instruction fractions and the counts
`_inst_count`, `_inst_strict_followed`, `_inst_loose_followed` from which `aggregate` pools the
instruction-level metrics exactly (also per subset and under xdist); the `_` keys are dropped from
the aggregated metrics. A sample passes when its prompt is followed strictly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import Benchmark, DatasetSource, Sample, Score
from .protocols import Protocol
from .reference_prompts import SOURCE
from .registry import register_benchmark
from .rows import safe_sample_id

# per-sample helper key -> the key aggregate_sample_metrics reads
HELPER_KEYS = {
    "_inst_count": "inst_count",
    "_inst_strict_followed": "inst_strict_followed",
    "_inst_loose_followed": "inst_loose_followed",
}


@register_benchmark
class IFEval(Benchmark):
    name = "ifeval"
    description = "Verifiable instruction following (541 prompts); prompt- and instruction-level, strict and loose."
    source = DatasetSource(path="google/IFEval", split="train", modelscope="opencompass/ifeval")
    subsets = ("default",)
    tags = ("instruction_following",)
    metrics = ("prompt_level_strict", "inst_level_strict", "prompt_level_loose", "inst_level_loose")
    task_type = "instruction_following"
    # both send the dataset's prompt unchanged as the only message
    protocols = {
        "evalscope": Protocol(name="evalscope", source=SOURCE),
        "native": Protocol(name="native", source="pytest-llmbench"),
    }

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        instructions = [str(i) for i in record["instruction_id_list"]]
        kwargs = list(record["kwargs"])
        if len(kwargs) != len(instructions) or not instructions:
            raise ValueError(
                f"{len(instructions)} instruction ids but {len(kwargs)} kwargs entries; "
                "give one kwargs dict per instruction"
            )
        prompt = str(record["prompt"])
        return Sample(
            id=safe_sample_id(record.get("key"), index),
            subset=subset,
            input=self.protocol.render({"question": prompt}),  # type: ignore[union-attr]
            target=instructions,
            metadata={"instruction_id_list": instructions, "kwargs": [dict(k) if k else None for k in kwargs]},
        )

    pooled_metrics = {"inst_level_strict": "_inst_count", "inst_level_loose": "_inst_count"}

    def score(self, sample: Sample, output: str) -> Score:
        # imported here: the checkers load language tools, which a run without ifeval never needs
        from ..scoring.ifeval.evaluate import evaluate_response

        result = evaluate_response(
            str(sample.input), sample.metadata["instruction_id_list"], sample.metadata["kwargs"], output
        )
        counts = result.sample_metrics()
        failed = [item.instruction_id for item in result.instructions if not item.strict]
        return Score(
            passed=result.prompt_level_strict,
            metrics={
                "prompt_level_strict": float(result.prompt_level_strict),
                "inst_level_strict": result.inst_level_strict,
                "prompt_level_loose": float(result.prompt_level_loose),
                "inst_level_loose": result.inst_level_loose,
                **{helper: counts[key] for helper, key in HELPER_KEYS.items()},
            },
            extracted=None,
            explanation=f"not followed (strict): {', '.join(failed)}" if failed else None,
        )

    def failure_headline(self, target: Any, extracted: str | None, explanation: str | None) -> str:
        """`instructions not followed: 1 of 3 (strict): punctuation:no_comma`."""
        failed = (explanation or "").removeprefix("not followed (strict): ")
        total = len(target) if isinstance(target, list) else "?"
        count = len([part for part in failed.split(", ") if part]) or "?"
        return f"instructions not followed: {count} of {total} (strict): {failed or '?'}"

    @classmethod
    def aggregate(cls, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Prompt-level: mean over prompts; instruction-level: pooled over instructions."""
        from ..scoring.ifeval.evaluate import aggregate_sample_metrics

        pooled = [
            {
                "prompt_level_strict": values["prompt_level_strict"],
                "prompt_level_loose": values["prompt_level_loose"],
                **{key: values[helper] for helper, key in HELPER_KEYS.items()},
            }
            for values in per_sample
        ]
        return aggregate_sample_metrics(pooled)
