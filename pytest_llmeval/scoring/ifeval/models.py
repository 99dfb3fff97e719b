"""Result models of IFEval scoring."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["IFEvalResult", "InstructionResult"]


class InstructionResult(BaseModel):
    """One instruction of one prompt: followed under strict and under loose scoring.

    ``loose`` is never False when ``strict`` is True (the unmodified response is one of the loose
    variants)."""

    instruction_id: str
    strict: bool
    loose: bool


class IFEvalResult(BaseModel):
    """All instructions of one prompt.

    ``prompt_level_*`` — every instruction of this prompt is followed.
    ``inst_level_*`` — the fraction of this prompt's instructions followed (0..1). Do **not**
    average these across prompts for the benchmark score: the benchmark's instruction-level
    accuracy is a micro average over all instructions, see :func:`aggregate`.
    """

    instructions: list[InstructionResult] = Field(min_length=1)
    prompt_level_strict: bool
    prompt_level_loose: bool
    inst_level_strict: float = Field(ge=0.0, le=1.0)
    inst_level_loose: float = Field(ge=0.0, le=1.0)

    def sample_metrics(self) -> dict[str, float]:
        """Per-sample numbers from which :func:`aggregate_sample_metrics` rebuilds the benchmark
        metrics exactly (prompt flags as 0/1, plus instruction counts for the micro average)."""
        return {
            "prompt_level_strict": float(self.prompt_level_strict),
            "prompt_level_loose": float(self.prompt_level_loose),
            "inst_strict_followed": float(sum(item.strict for item in self.instructions)),
            "inst_loose_followed": float(sum(item.loose for item in self.instructions)),
            "inst_count": float(len(self.instructions)),
        }
