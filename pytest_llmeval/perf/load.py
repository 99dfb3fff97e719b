"""What a perf run asks for: the workload (prompts, lengths, request options) and the load levels.

The same keys are accepted by `@pytest.mark.perf(...)`, `llm_perf.run(...)` and `--llm-perf KEY=VALUE`
words (docs/perf.md lists them). `parallel`, `number` and `rate` may be lists: a sweep, one level
per value. Everything is validated here, before any request is sent; a bad value is a ConfigError
naming the key and the fix.

Pairing rules of a sweep: `parallel=[1, 8, 32]` with `number=[8, 64, 256]` pairs by position; a
single `number` applies to every level; without `number` a closed-loop level sends 5 x parallel
requests (EvalScope's seed pairing). `rate=[1, 5]` sweeps the open loop; `parallel` then is one
value (or none) and caps the requests in flight.

Embeddings and rerank (`api="embeddings"` / `api="rerank"`, perf/embedding.py): `batch_size` (inputs
per request; documents per rerank request) and `input_tokens` (tokens per input) are sweep dimensions
too: every load level runs once per batch size and input length (their cross product, in that order).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from ..errors import ConfigError

DATASETS = ("random", "random_vl", "openqa", "line_by_line", "jsonl")
IMAGE_FORMATS = ("png", "bmp", "jpeg", "webp")
TRANSPORTS = ("native", "aiohttp", "httpx-aiohttp", "httpx")
DEFAULT_NUMBER_PER_PARALLEL = 5


class Level(BaseModel):
    """One load level. Closed loop: `parallel` requests in flight until `number` were sent (or
    `duration` s passed). Open loop: arrivals at `rate`/s (`arrival` poisson or constant) until
    `number` were sent or `duration` s passed; `parallel`, when set, caps requests in flight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parallel: int | None = None
    number: int | None = None
    rate: float | None = None
    duration: float | None = None
    batch_size: int | None = None  # embeddings / rerank: inputs (documents) per request
    input_tokens: int | None = None  # embeddings / rerank: tokens per input

    @property
    def closed(self) -> bool:
        return self.rate is None

    @property
    def label(self) -> str:
        shape = "".join(
            f" {key}={value}" for key, value in (("batch", self.batch_size), ("input", self.input_tokens)) if value
        )
        if self.closed:
            return f"parallel={self.parallel}{shape}"
        cap = f" parallel={self.parallel}" if self.parallel else ""
        return f"rate={self.rate:g}{cap}{shape}"


class Workload(BaseModel):
    """What every request of a run looks like (shared by all levels of a sweep)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = "random"
    dataset_path: str | None = None
    subset: str | None = None  # benchmark datasets: one subset (default: all selected ones)
    prompt_tokens: tuple[int, int] = (1024, 1024)  # (min, max), uniform; random datasets
    prefix_length: int = Field(default=0, ge=0)
    output_tokens: int | None = Field(default=None, ge=1)  # sent as max_tokens
    image_width: int = Field(default=224, ge=1, le=8192)
    image_height: int = Field(default=224, ge=1, le=8192)
    image_format: str = "png"
    image_num: int = Field(default=1, ge=0, le=64)
    stream: bool = True
    extra_body: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = Field(default=None, gt=0)  # seconds per request; default --llm-timeout
    slo: dict[str, float] = Field(default_factory=dict)
    tokenizer: str | None = None  # overrides --llm-tokenizer
    exact_lengths: bool = False  # True: a missing tokenizer is a usage error instead of a note
    arrival: Literal["poisson", "constant"] = "poisson"
    warmup: int = Field(default=0, ge=0)
    seed: int = 0
    transport: str = "native"
    api: Literal["chat", "embeddings", "rerank"] = "chat"  # which endpoint: /chat/completions, /embeddings, /rerank
    encoding_format: Literal["float", "base64"] = "float"  # embeddings only

    @field_validator("prompt_tokens", mode="before")
    @classmethod
    def _range(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expects a token count such as 1024 or a [min, max] pair")
        if isinstance(value, int):
            return (value, value)
        if isinstance(value, str):
            parts = [p for p in value.replace("-", ",").split(",") if p.strip()]
            value = [int(p) for p in parts]
        if isinstance(value, (list, tuple)) and len(value) == 1:
            return (value[0], value[0])
        return value

    @field_validator("prompt_tokens")
    @classmethod
    def _positive_range(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if low < 1 or high < low:
            raise ValueError(f"expects 1 <= min <= max, got {list(value)}")
        return value

    @field_validator("image_format")
    @classmethod
    def _format(cls, value: str) -> str:
        value = value.lower().replace("jpg", "jpeg")
        if value not in IMAGE_FORMATS:
            raise ValueError(f"unknown image format {value!r}; use one of {', '.join(IMAGE_FORMATS)}")
        return value

    @field_validator("transport")
    @classmethod
    def _transport(cls, value: str) -> str:
        if value not in TRANSPORTS:
            raise ValueError(f"unknown transport {value!r}; use one of {', '.join(TRANSPORTS)}")
        return value

    @field_validator("slo")
    @classmethod
    def _slo(cls, value: dict[str, float]) -> dict[str, float]:
        from .metrics import SLO_KEYS

        for key, limit in value.items():
            if key not in SLO_KEYS:
                raise ValueError(f"unknown SLO {key!r}; use {', '.join(SLO_KEYS)} (seconds)")
            if limit <= 0:
                raise ValueError(f"SLO {key} must be a positive number of seconds, got {limit}")
        return value

    @property
    def random(self) -> bool:
        return self.dataset in ("random", "random_vl")


class PerfSpec(BaseModel):
    """A whole run: one workload, one or more levels (run in order, one after another)."""

    model_config = ConfigDict(frozen=True)

    workload: Workload
    levels: list[Level]

    @property
    def total_requests(self) -> int:
        """Requests the largest level needs (for building prompts); duration-bound levels count 0."""
        return max((level.number or 0 for level in self.levels), default=0)


_LEVEL_KEYS = ("parallel", "number", "rate", "duration")
_SHAPE_KEYS = ("batch_size", "input_tokens")  # embeddings / rerank sweep dimensions
KNOWN_KEYS = tuple(sorted({*_LEVEL_KEYS, *_SHAPE_KEYS, *Workload.model_fields}))


def _as_list(key: str, value: Any, kind: type) -> list[Any]:
    if value is None:
        return []
    items: Sequence[Any]
    if isinstance(value, str):
        items = [v for v in value.split(",") if v.strip()]
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        items = [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, bool):
            raise ConfigError(f"perf: {key} expects numbers, got {value!r}")
        try:
            number = kind(item)
        except (TypeError, ValueError):
            raise ConfigError(f"perf: {key} expects numbers such as {key}=1,8,32, got {value!r}") from None
        if kind is int and isinstance(item, float) and item != number:
            raise ConfigError(f"perf: {key} expects whole numbers, got {item!r}")
        out.append(number)
    return out


def build_levels(parallel: Any, number: Any, rate: Any, duration: Any) -> list[Level]:
    """The levels of a sweep, validated (see the module docstring for the pairing rules)."""
    parallels = _as_list("parallel", parallel, int)
    numbers = _as_list("number", number, int)
    rates = _as_list("rate", rate, float)
    durations = _as_list("duration", duration, float)
    if len(durations) > 1:
        raise ConfigError("perf: duration takes one value (seconds per level)")
    run_for = durations[0] if durations else None
    if run_for is not None and run_for <= 0:
        raise ConfigError(f"perf: duration must be a positive number of seconds, got {run_for:g}")
    for p in parallels:
        if p < 1:
            raise ConfigError(f"perf: parallel must be 1 or more (requests in flight), got {p}")
    for n in numbers:
        if n < 1:
            raise ConfigError(f"perf: number must be 1 or more (requests to send), got {n}")
    for r in rates:
        if r <= 0:
            raise ConfigError(f"perf: rate must be a positive number of requests per second, got {r:g}")
    if rates:
        if len(parallels) > 1:
            raise ConfigError(
                "perf: sweep either parallel (closed loop) or rate (open loop), not both; "
                "with rate, parallel is one value that caps requests in flight"
            )
        if not numbers and run_for is None:
            raise ConfigError(
                "perf: an open-loop run (rate=...) needs number=N or duration=SECONDS to know when to stop"
            )
        if len(numbers) > 1 and len(numbers) != len(rates):
            raise ConfigError(f"perf: {len(numbers)} numbers for {len(rates)} rates; give one number or one per rate")
        cap = parallels[0] if parallels else None
        return [
            Level(
                parallel=cap,
                rate=r,
                number=(numbers[i] if len(numbers) > 1 else (numbers[0] if numbers else None)),
                duration=run_for,
            )
            for i, r in enumerate(rates)
        ]
    if not parallels:
        parallels = [1]
    if len(numbers) > 1 and len(numbers) != len(parallels):
        raise ConfigError(
            f"perf: {len(numbers)} numbers for {len(parallels)} parallel levels; give one number, "
            "or one per level (parallel=1,8,32 number=8,64,256)"
        )
    levels = []
    for i, p in enumerate(parallels):
        n = numbers[i] if len(numbers) > 1 else (numbers[0] if numbers else None)
        if n is None and run_for is None:
            n = DEFAULT_NUMBER_PER_PARALLEL * p
        if n is not None and n < p:
            raise ConfigError(
                f"perf: number ({n}) is smaller than parallel ({p}): the level could never have {p} requests "
                f"in flight; send at least {p} requests"
            )
        levels.append(Level(parallel=p, number=n, duration=run_for))
    return levels


def make_spec(load: Mapping[str, Any]) -> PerfSpec:
    """A PerfSpec from marker / fixture keyword arguments. Raises ConfigError."""
    unknown = sorted(set(load) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(f"perf: unknown argument {unknown[0]!r}; known: {', '.join(KNOWN_KEYS)}")
    levels = build_levels(*(load.get(key) for key in _LEVEL_KEYS))
    workload_args = {k: v for k, v in load.items() if k not in (*_LEVEL_KEYS, *_SHAPE_KEYS) and v is not None}
    try:
        workload = Workload(**workload_args)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "argument"
        raise ConfigError(
            f"perf: invalid {field}: {first['msg'].removeprefix('Value error, ')} (got {first.get('input')!r})"
        ) from None
    levels = shaped_levels(levels, workload, load.get("batch_size"), load.get("input_tokens"))
    if workload.api != "chat":
        workload = workload.model_copy(update={"stream": False})  # an embedding or rerank reply is one JSON body
    if workload.dataset in ("openqa", "line_by_line", "jsonl") and not workload.dataset_path:
        raise ConfigError(
            f"perf: dataset={workload.dataset} needs dataset_path=FILE (nothing is downloaded); "
            + _DATASET_HINTS[workload.dataset]
        )
    if workload.dataset_path and not Path(workload.dataset_path).expanduser().is_file():
        raise ConfigError(f"perf: dataset_path {workload.dataset_path!r} is not a file; pass an existing file")
    if workload.dataset == "random_vl" and workload.image_format in ("jpeg", "webp"):
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"perf: image_format={workload.image_format} needs Pillow (pip install pillow); "
                "png and bmp need nothing"
            ) from None
    return PerfSpec(workload=workload, levels=levels)


def shaped_levels(levels: list[Level], workload: Workload, batch_size: Any, input_tokens: Any) -> list[Level]:
    """Each level once per batch size and input length (embeddings / rerank); defaults: batch 1, inputs
    of `prompt_tokens` tokens. Raises ConfigError for shapes on a chat run or for values below 1."""
    batches = _as_list("batch_size", batch_size, int)
    lengths = _as_list("input_tokens", input_tokens, int)
    if workload.api == "chat":
        if batches or lengths:
            raise ConfigError(
                "perf: batch_size and input_tokens apply to api=embeddings or api=rerank; a chat run sets its "
                "prompt length with prompt_tokens"
            )
        return levels
    if workload.dataset != "random":
        raise ConfigError(f"perf: api={workload.api} sends random texts (dataset=random), not {workload.dataset!r}")
    for key, values in (("batch_size", batches), ("input_tokens", lengths)):
        if any(v < 1 for v in values):
            raise ConfigError(f"perf: {key} must be 1 or more, got {min(values)}")
    return [
        level.model_copy(update={"batch_size": b, "input_tokens": n})
        for level in levels
        for b in batches or [1]
        for n in lengths or [None]
    ]


_DATASET_HINTS = {
    "openqa": "a JSONL file whose lines have a 'question' field (EvalScope's open_qa.jsonl format)",
    "line_by_line": "a text file with one prompt per line",
    "jsonl": "a JSONL file whose lines have 'messages' (chat list) or 'prompt'/'question'/'text'",
}

_JSON_KEYS = {"extra_body", "slo"}
_BOOL_KEYS = {"stream", "exact_lengths"}
_INT_KEYS = {"prefix_length", "output_tokens", "image_width", "image_height", "image_num", "warmup", "seed"}
_FLOAT_KEYS = {"timeout"}


def parse_words(words: Sequence[str]) -> dict[str, Any]:
    """`--llm-perf` words (`parallel=1,8,32 number=8,64,256 dataset=random extra_body={"ignore_eos":true}`)
    into keyword arguments for `make_spec`. Raises ConfigError."""
    load: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"--llm-perf expects KEY=VALUE words such as parallel=1,8,32; got {word!r}")
        if key not in KNOWN_KEYS:
            raise ConfigError(f"--llm-perf: unknown key {key!r}; known: {', '.join(KNOWN_KEYS)}")
        value = value.strip()
        if key in _JSON_KEYS:
            try:
                load[key] = json.loads(value)
            except ValueError:
                raise ConfigError(
                    f"--llm-perf {key} expects a JSON object such as {key}='{{\"ignore_eos\": true}}', got {value!r}"
                ) from None
            if not isinstance(load[key], dict):
                raise ConfigError(f"--llm-perf {key} expects a JSON object, got {value!r}")
        elif key in _BOOL_KEYS:
            lowered = value.lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ConfigError(f"--llm-perf {key} expects true or false, got {value!r}")
            load[key] = lowered in ("1", "true", "yes", "on")
        elif key in _INT_KEYS or key in _FLOAT_KEYS:
            try:
                load[key] = int(value) if key in _INT_KEYS else float(value)
            except ValueError:
                raise ConfigError(f"--llm-perf {key} expects a number, got {value!r}") from None
        else:
            load[key] = value  # lists ("1,8,32") and ranges are parsed by make_spec
    return load
