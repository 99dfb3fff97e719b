"""HumanEval: 164 Python functions to complete from a signature and docstring
(openai/openai_humaneval, test split).

Rows have `task_id` (`HumanEval/0`, the sample id `HumanEval-0`), `prompt` (signature + docstring),
`canonical_solution`, `test` (a `check(candidate)` function) and `entry_point`. The model is asked
for the complete function in a fenced Python block; the program run is prompt + the model's code +
the dataset's tests + `check(entry_point)` in the sandbox (`execution.code.check_humaneval`: the last
fenced block; a reply that repeats the signature replaces the prompt's stub, a bare body continues
it). Pass@1 is the share of problems whose program exits cleanly (`pass_at_1`); with several
generations (`--llm-gen n=5 --llm-gen temperature=0.8`) it is the mean over generations.

Limits per program (`execution.sandbox.SandboxLimits`): `--llm-bench-arg humaneval.timeout_s=10` sets
the CPU seconds (wall time = CPU + 4 s). The sandbox isolates the program with bubblewrap (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..execution.code import check_humaneval
from ..execution.sandbox import SandboxLimits
from .base import Benchmark, DatasetSource, Sample, Score
from .protocols import Protocol
from .reference_prompts import HUMANEVAL, SOURCE
from .registry import register_benchmark
from .rows import safe_sample_id

PROMPT = (
    "Complete the following Python function. Reply with the whole function, including its signature and "
    "any imports it needs, in a single ```python code block.\n\n```python\n{prompt}\n```"
)


def sandbox_limits(benchmark: Benchmark) -> SandboxLimits:
    """Limits from the `timeout_s` argument: CPU seconds per run, wall time 4 s more."""
    raw = benchmark.args.get("timeout_s", "6")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 600:
        raise ConfigError(f"{benchmark.name}.timeout_s must be a number of seconds in (0, 600], got {raw!r}")
    return SandboxLimits(cpu_time_s=seconds, wall_time_s=seconds + 4)


@register_benchmark
class HumanEval(Benchmark):
    name = "humaneval"
    description = "164 Python function completions, run against the dataset's tests in the sandbox; pass_at_1."
    source = DatasetSource(path="openai/openai_humaneval", split="test", modelscope="opencompass/humaneval")
    subsets = ("default",)
    tags = ("code",)
    metrics = ("pass_at_1",)
    task_type = "code"
    default_args = {"timeout_s": "6"}
    generation = {"temperature": 0.0, "max_tokens": 4096}
    # evalscope: the dataset's prompt after a one-line instruction, no code fence asked for
    protocols = {
        "evalscope": Protocol(name="evalscope", template=HUMANEVAL, source=SOURCE),
        "native": Protocol(name="native", template=PROMPT, source="pytest-llmbench"),
    }

    def __init__(self, args: Mapping[str, str] | None = None) -> None:
        super().__init__(args)
        self.limits = sandbox_limits(self)

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        prompt = str(record["prompt"])
        entry_point = str(record["entry_point"]).strip()
        if not entry_point:
            raise ValueError("entry_point is empty")
        return Sample(
            id=safe_sample_id(str(record.get("task_id") or "").replace("/", "-"), index),
            subset=subset,
            input=self.protocol.render({"question": prompt, "prompt": prompt.rstrip()}),  # type: ignore[union-attr]
            target=entry_point,
            metadata={
                "question": f"{record.get('task_id', '')} {entry_point}".strip(),
                "prompt": prompt,
                "test": str(record["test"]),
                "entry_point": entry_point,
            },
        )

    def score(self, sample: Sample, output: str) -> Score:
        meta = sample.metadata
        verdict = check_humaneval(output, meta["prompt"], meta["test"], meta["entry_point"], self.limits)
        failure = verdict.first_failure
        return Score(
            passed=verdict.passed,
            metrics={"pass_at_1": float(verdict.passed)},
            extracted=None,
            explanation=None if failure is None else f"{failure.status}: {failure.got}".strip(),
        )
