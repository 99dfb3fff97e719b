"""The benchmark registry: built-ins are imported on first use, user benchmarks register from conftest."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from ..errors import ConfigError, UnknownBenchmarkError
from .base import Benchmark

# One module per built-in benchmark; importing it registers it.
BUILTIN_MODULES: tuple[str, ...] = (
    "iquiz",
    "gsm8k",
    "smoke",
    "mmlu",
    "mmlu_pro",
    "mmlu_redux",
    "cmmlu",
    "ceval",
    "arc",
    "hellaswag",
    "piqa",
    "winogrande",
    "gpqa_diamond",
    "truthfulqa",
    "ifeval",
    "math_500",
    "competition_math",
    "aime24",
    "aime25",
    "humaneval",
    "live_code_bench",
    "math_vista",
    "mmmu_pro",
    "omni_bench",
    "retrieval",
    "sts",
    "reranking",
)

_registry: dict[str, type[Benchmark]] = {}
_builtins_loaded = False


def register_benchmark(cls: type[Benchmark]) -> type[Benchmark]:
    """Class decorator (or plain call) that makes a benchmark selectable with `-m NAME`.

    Registering a second benchmark under a taken name replaces it only if it is the same class
    re-imported; otherwise it is an error, so two conftests cannot silently shadow each other.
    """
    name = getattr(cls, "name", None)
    if not name or not name.isidentifier():
        raise ConfigError(f"benchmark class {cls.__name__} needs a `name` that is a Python identifier, got {name!r}")
    previous = _registry.get(name)
    if previous is not None and previous.__qualname__ != cls.__qualname__:
        raise ConfigError(f"two benchmarks are named {name!r}: {previous.__qualname__} and {cls.__qualname__}")
    _registry[name] = cls
    return cls


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(f"{__package__}.{module}")


def all_benchmarks() -> Mapping[str, type[Benchmark]]:
    _load_builtins()
    return dict(sorted(_registry.items()))


def get_benchmark(name: str) -> type[Benchmark]:
    benchmarks = all_benchmarks()
    if name not in benchmarks:
        raise UnknownBenchmarkError(name, list(benchmarks))
    return benchmarks[name]


def unregister_benchmark(name: str) -> None:
    """For tests and notebooks that register throwaway benchmarks."""
    _registry.pop(name, None)
