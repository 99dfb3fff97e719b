"""Benchmarks: one module per benchmark, a registry, and the dataset loader."""

from .base import Benchmark, DatasetSource, Message, RecordLoader, Sample, Score
from .custom import file_benchmark
from .loading import DatasetLoader
from .registry import all_benchmarks, get_benchmark, register_benchmark, unregister_benchmark

__all__ = [
    "Benchmark",
    "DatasetLoader",
    "DatasetSource",
    "Message",
    "RecordLoader",
    "Sample",
    "Score",
    "all_benchmarks",
    "file_benchmark",
    "get_benchmark",
    "register_benchmark",
    "unregister_benchmark",
]
