"""Where the samples of the collected items live: one compact row per sample, decoded when used.

An item holds a reference (its store and a row number), not its `Sample`: a pydantic `Sample` of a
GSM8K row costs about 2 KB of Python objects, its pickled fields about 0.6 KB in one `bytes` object
the cyclic garbage collector never scans. A sample is decoded (about 7 us: `pickle.loads` and the
model's validation) when its request body is built and once more when its item runs
(`SampleItem.setup` keeps it until teardown), so at most the samples in flight exist as objects.

Rows are our own pickles made in this process from samples the benchmark had already built, never
data read from elsewhere. A sample of a subclass of `Sample` is pickled whole (its class restored);
one that cannot be pickled is kept as the object it is.

Measured (bench/eval_memory.py): 9.1 KB per sample before (item + sample), see docs/architecture.md.
"""

from __future__ import annotations

import pickle
from typing import Any

from ..benchmarks.base import Sample
from ..benchmarks.output_types import LOGLIK_KEY

_PROTOCOL = pickle.HIGHEST_PROTOCOL


class SampleStore:
    """The samples of one build (one subset, or a collection's records), by row number."""

    __slots__ = ("_loglik", "_rows")

    def __init__(self) -> None:
        self._rows: list[Any] = []  # bytes (a pickled row) or, when it cannot be pickled, the Sample
        self._loglik: dict[int, int] = {}  # row -> requests of a log-likelihood sample (one per choice)

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, sample: Sample) -> int:
        """Store `sample`; returns its row number."""
        fields = (
            (sample.id, sample.subset, sample.input, sample.target, sample.choices, sample.metadata)
            if type(sample) is Sample
            else sample
        )
        try:
            row: Any = pickle.dumps(fields, protocol=_PROTOCOL)
        except Exception:  # a metadata value that does not pickle: this sample stays an object
            row = sample
        self._rows.append(row)
        index = len(self._rows) - 1
        loglik = sample.metadata.get(LOGLIK_KEY)
        if loglik is not None:
            self._loglik[index] = len(loglik["contexts"])
        return index

    def loglik_requests(self, index: int) -> int | None:
        """The request count of row `index` when it is a log-likelihood sample (one per choice),
        else None: known without decoding the sample."""
        return self._loglik.get(index)

    def get(self, index: int) -> Sample:
        """A fresh `Sample` of row `index` (equal to the one stored, not the same object)."""
        row = self._rows[index]
        if isinstance(row, Sample):
            return row
        value = pickle.loads(row)
        if isinstance(value, Sample):
            return value
        id_, subset, input_, target, choices, metadata = value
        return Sample(id=id_, subset=subset, input=input_, target=target, choices=choices, metadata=metadata)
