"""The nouns of a benchmark: where its data lives, what one sample is, how it is asked and scored.

A benchmark is a small class: class attributes declare it, three methods adapt it::

    @register_benchmark
    class MyQA(Benchmark):
        name = "my_qa"
        source = DatasetSource(path="org/my-qa", split="test")
        metrics = ("acc",)

        def record_to_sample(self, record, index, subset): ...   # dataset row -> Sample
        def messages(self, sample): ...                           # Sample -> chat messages
        def score(self, sample, output): ...                      # model output -> Score

Aggregation (`aggregate`) defaults to the mean of every per-sample metric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from ..scoring.verdict import Score
from .protocols import Protocol, choose_protocol

__all__ = ["Benchmark", "DatasetSource", "Message", "Override", "RecordLoader", "Sample", "Score"]

Message = dict[str, Any]


class DatasetSource(BaseModel):
    """Where the rows come from on the hub, and how subsets map onto the dataset.

    `subset_mode="config"`: each subset is a dataset configuration (`load_dataset(path, subset)`).
    `subset_mode="field"`: one configuration; a row's subset is `record[subset_field]`.
    `subset_mode="single"`: one subset, named by the benchmark's only entry in `subsets`.
    """

    path: str
    config: str | None = None
    split: str = "test"
    few_shot_split: str | None = None
    subset_mode: Literal["config", "field", "single"] = "single"
    subset_field: str = "subset"
    modelscope: str | None = None  # the dataset's ModelScope id (as EvalScope uses it), when it has one
    home: Literal["huggingface", "modelscope"] = "huggingface"  # where `--llm-hub auto` reads it


class Sample(BaseModel):
    """One question. `input` is the user prompt (or full message list); `target` the gold answer."""

    id: str
    subset: str
    input: str | list[Message]
    target: str | list[str] = ""
    choices: list[str] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


def is_vector_task(benchmark: Any) -> bool:
    """True for an embedding / reranker task (`api = "vectors"`, benchmarks/embedding_base.py): its
    items are answered by `retrieval.runtime.VectorRuntime`, never by chat requests."""
    return getattr(benchmark, "api", "chat") == "vectors"


class Benchmark:
    """Base class of every benchmark; see the module docstring for the recipe."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    source: ClassVar[DatasetSource | None] = None
    subsets: ClassVar[Sequence[str]] = ("default",)
    # subset -> the dataset's own name when it is no mark name (`arc_easy` -> `ARC-Easy`): such a
    # label is accepted too in `--llm-dataset NAME.LABEL=PATH`
    subset_labels: ClassVar[Mapping[str, str]] = {}
    tags: ClassVar[Sequence[str]] = ()
    metrics: ClassVar[Sequence[str]] = ("acc",)
    # Prefixes of breakdown metrics whose labels come from the data, not from a list known in
    # advance (MathVista's `acc_<task>`): a threshold may name any `<prefix><label>`.
    breakdown_prefixes: ClassVar[Sequence[str]] = ()
    partial_metrics: ClassVar[Sequence[str]] = ()  # metrics only some samples carry (TruthfulQA's per-subset ones)
    task_type: ClassVar[str] = "general"
    system_prompt: ClassVar[str | None] = None
    # named prompt conventions (`benchmarks/protocols.py`): `evalscope` (the default) and `native`;
    # empty for a benchmark with one prompt of its own (its `messages` / `system_prompt`)
    protocols: ClassVar[Mapping[str, Protocol]] = {}
    default_args: ClassVar[Mapping[str, str]] = {}
    generation: ClassVar[Mapping[str, Any]] = {}  # request defaults; --llm-gen overrides them
    needs_judge: ClassVar[bool] = False  # selecting it without --llm-judge-model is a usage error
    # metric -> per-sample metric holding the sample's item count, for metrics `aggregate` pools over
    # items grouped in samples (sum(metric_i * count_i) / sum(count_i)); their error is clustered by sample
    pooled_metrics: ClassVar[Mapping[str, str]] = {}
    # a log-likelihood form (`output_type=multiple_choice`, benchmarks/output_types.py) and its metrics
    loglik_form: ClassVar[bool] = False
    loglik_metrics: ClassVar[Sequence[str]] = ("acc", "acc_norm")

    @classmethod
    def metric_names(cls) -> list[str]:
        """The declared metrics, then each data-defined breakdown as `<prefix><label>` (for listings)."""
        extra = [m for m in cls.loglik_metrics if m not in cls.metrics] if cls.loglik_form else []
        return [*cls.metrics, *extra, *(f"{prefix}<label>" for prefix in cls.breakdown_prefixes)]

    @classmethod
    def is_data_breakdown(cls, metric: str) -> bool:
        """Whether `metric` is `<prefix><label>` for one of `breakdown_prefixes` (a label from the data)."""
        return any(metric.startswith(prefix) and len(metric) > len(prefix) for prefix in cls.breakdown_prefixes)

    @classmethod
    def has_metric(cls, metric: str) -> bool:
        """Whether `metric` is declared or is a data-defined breakdown (`is_data_breakdown`)."""
        if cls.loglik_form and metric in cls.loglik_metrics:
            return True
        return metric in cls.metrics or cls.is_data_breakdown(metric)

    @classmethod
    def is_partial_metric(cls, metric: str) -> bool:
        """Whether `metric` is carried by only some samples: one of `partial_metrics`, a data-defined
        breakdown, or a `<metric>_<label>` breakdown of another declared metric (`acc_stem` of `acc`)."""
        return (
            metric in cls.partial_metrics
            or cls.is_data_breakdown(metric)
            or any(other != metric and metric.startswith(f"{other}_") for other in cls.metrics)
        )

    def __init__(self, args: Mapping[str, str] | None = None) -> None:
        # arguments every benchmark takes
        universal = {"subset_list", "protocol", "answer_parser", "output_type", "chat_template"}
        unknown = set(args or {}) - set(self.default_args) - universal
        if unknown:
            from ..errors import ConfigError

            known = ", ".join(sorted({*self.default_args, *universal}))
            raise ConfigError(f"benchmark {self.name!r} has no argument {sorted(unknown)[0]!r}; known: {known}")
        self.args: dict[str, str] = {**self.default_args, **(args or {})}
        self.protocol: Protocol | None = choose_protocol(self.name, self.protocols, self.args.get("protocol"))
        # the protocol's default count, unless given: then local data without a few-shot split is zero-shot
        # with a warning (`fewshot.few_shot_records`), where an explicit count is an error
        self.few_shot_from_protocol = (
            self.protocol is not None and "few_shot_num" in self.default_args and "few_shot_num" not in (args or {})
        )
        if self.few_shot_from_protocol:
            self.args["few_shot_num"] = str(self.protocol.few_shot_num)  # type: ignore[union-attr]
        from ..scoring.reference_choice import check_answer_parser

        self.answer_parser: str = check_answer_parser(self.name, self.args.get("answer_parser"))
        from .output_types import (
            MULTIPLE_CHOICE,
            check_chat_template,
            check_output_type,
        )

        # generate_until (chat, the default) or multiple_choice (log-likelihood through /v1/completions)
        self.output_type: str = check_output_type(self.name, self.args.get("output_type"), self.loglik_form)
        self.loglik: bool = self.output_type == MULTIPLE_CHOICE
        # log-likelihood contexts wrapped in the model's chat template (on) or sent as plain text (off)
        self.chat_template: bool = check_chat_template(self.name, self.args.get("chat_template"))
        self.judge_factory: Callable[[], Any] | None = None  # set by the plugin when a judge is configured

    def require_judge(self) -> Any:
        """The run's LLM judge (`endpoint.judge.Judge`); a usage error when none is configured."""
        if self.judge_factory is None:
            from ..errors import ConfigError

            raise ConfigError(f"benchmark {self.name!r} needs a judge model: pass --llm-judge-model NAME")
        return self.judge_factory()

    # -- data --------------------------------------------------------------------------------

    def int_arg(self, key: str) -> int:
        """A whole-number benchmark argument; anything else is a usage error naming it."""
        try:
            return int(self.args[key])
        except ValueError:
            from ..errors import ConfigError

            raise ConfigError(f"{self.name}.{key} must be a whole number, got {self.args[key]!r}") from None

    def selected_subsets(self) -> list[str]:
        """`subset_list` (comma separated) narrows the subsets; default all."""
        wanted = self.args.get("subset_list")
        if not wanted:
            return list(self.subsets)
        return [s.strip() for s in wanted.split(",") if s.strip()]

    @classmethod
    def subset_tags(cls, subset: str) -> Sequence[str]:
        """Extra marks the samples of one subset carry (e.g. its subject group); none by default."""
        return ()

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        raise NotImplementedError(f"{type(self).__name__}.record_to_sample")

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        """Samples of one subset. Override for benchmarks whose rows need joining or filtering."""
        for index, (record, where) in enumerate(loader.records(self, subset)):
            yield loader.to_sample(self, record, index, subset, where)

    # -- prompting ---------------------------------------------------------------------------

    def messages(self, sample: Sample) -> list[Message]:
        error = sample.metadata.get("media_error")
        if error:  # e.g. a collection record naming a local file: that sample fails alone, nothing is sent
            from ..errors import MediaError

            raise MediaError(f"sample {sample.id}: {error}")
        if isinstance(sample.input, list):
            return list(sample.input)
        if self.protocol is not None:
            return self.protocol.messages(sample.input)
        messages: list[Message] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": sample.input})
        return messages

    def generation_defaults(self) -> dict[str, Any]:
        return dict(self.generation)

    # -- scoring -----------------------------------------------------------------------------

    def score(self, sample: Sample, output: str) -> Score:
        raise NotImplementedError(f"{type(self).__name__}.score")

    def judge_inputs(self, sample: Sample, output: str) -> tuple[str, str, str] | None:
        """(question, reference answer, candidate answer) for the LLM judge, for benchmarks graded
        by one (`needs_judge`); None otherwise. The runtime issues this judge request as soon as the
        model's answer arrives, and `score()` grades with the same triple."""
        return None

    def reasoning_answer(self, sample: Sample, text: str) -> str | None:
        """The last answer a piece of the model's reasoning states, or None (`--llm-think-eval`).
        By default the piece itself is the candidate and `reasoning_answer_correct` scores it with
        the benchmark's own scorer; benchmarks with a cheaper extractor override both."""
        return text if text.strip() else None

    def reasoning_answer_correct(self, sample: Sample, answer: str) -> bool:
        """Whether `answer` (from `reasoning_answer`) is correct: the benchmark's own scorer."""
        return self.score(sample, answer).passed

    def failure_headline(self, target: Any, extracted: str | None, explanation: str | None) -> str:
        """The first line of a failed sample's report, in this benchmark kind's own terms:

        * graded by a judge (`needs_judge`): `judge verdict: INCORRECT (reference answer 'Paris')`;
        * code (`task_type` "code"): `test cases failed: 3/10 tests passed` (or the first failure);
        * instruction following: `instructions not followed: <ids>` (IFEval overrides it);
        * everything that extracts an answer (MCQ, numeric, math): `wrong answer: expected 'B',
          extracted 'A'` (`extracted None` when no answer was found).

        The reason (`explanation`) follows on its own `why:` line; override for other wording."""
        if self.needs_judge:
            return f"judge verdict: INCORRECT (reference answer {target!r})"
        if self.task_type == "code":
            if extracted:  # "3/10 tests passed"
                return f"test cases failed: {extracted}"
            return f"test cases failed ({explanation or 'the program did not pass its tests'})"
        if self.task_type == "instruction_following":
            return f"instructions not followed: {explanation or target!r}"
        return f"wrong answer: expected {target!r}, extracted {extracted!r}"

    @classmethod
    def aggregate(cls, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Benchmark metrics from per-sample metrics: the mean of each (micro average)."""
        totals: dict[str, float] = {}
        for values in per_sample:
            for metric, value in values.items():
                totals[metric] = totals.get(metric, 0.0) + value
        count = len(per_sample)
        return {metric: total / count for metric, total in totals.items()} if count else {}


@dataclass(frozen=True)
class Override:
    """One `--llm-dataset KEY=PATH` that applies to a benchmark (see `RecordLoader.override`).

    `key`: the option's key as given (`gsm8k`, `mmlu.anatomy`, `mmlu.anatomy:dev`); `raw`: its path
    as given; `path`: that path resolved against the loader's base folder (not checked to exist);
    `per_subset`: the key names the subset (every row of `path` belongs to it)."""

    key: str
    raw: str
    path: Path
    per_subset: bool


class RecordLoader:
    """Interface of the dataset loader handed to `Benchmark.load` (see `benchmarks/loading.py`).

    Benchmarks ask it, never its attributes, where their rows come from: `override` (a local
    `--llm-dataset` path, one precedence rule) and `hub` (the `--llm-hub` choice, for `hubs.hub_for`).
    This base has no overrides and the `auto` hub."""

    hub: str = "auto"  # `auto` (each benchmark's canonical home), `huggingface` or `modelscope`

    def override(self, name: str, subset: str | None = None, *, split: str | None = None) -> Override | None:
        """The local path for benchmark `name`, most specific first: `NAME.SUBSET` then `NAME` (with
        `split`, the few-shot keys `NAME.SUBSET:SPLIT` then `NAME:SPLIT`); None when the rows come
        from the hub. A relative path is resolved against the loader's base folder."""
        return None

    def filter_subset(
        self,
        benchmark: Benchmark,
        subset: str,
        rows: Iterable[tuple[Mapping[str, Any], str]],
        scan: Any = None,
        *,
        field_names: Sequence[str] | None = None,
    ) -> Iterator[tuple[Mapping[str, Any], str]]:
        """The rows of a file of several subsets that belong to `subset` (the loader's one rule), matched
        on the subset field (`field_names`: the field and its aliases; default the source's)."""
        raise NotImplementedError

    def records(self, benchmark: Benchmark, subset: str) -> Iterator[tuple[Mapping[str, Any], str]]:
        raise NotImplementedError

    def to_sample(self, benchmark: Benchmark, record: Mapping[str, Any], index: int, subset: str, where: str) -> Sample:
        raise NotImplementedError
