"""What every embedding / reranker task shares: the arguments of the vector requests and the rows' readers.

A task here is a `Benchmark` whose items are answered through ``/v1/embeddings`` and ``/v1/rerank``
instead of chat (`api = "vectors"`: the engine hands its items to `retrieval.runtime`). Its arguments
(``--llm-bench-arg NAME.KEY=VALUE``):

* ``model`` (the run's ``--llm-model``): the embedding model, so one run can evaluate a chat model
  and the embedding model of the same RAG stack (same base URL and key);
* ``batch_size`` (32): texts per ``/v1/embeddings`` request;
* ``encoding_format`` (``float``): ``float`` or ``base64`` (little-endian float32, OpenAI's encoding);
* ``dimensions`` (none): sent as ``dimensions`` (Matryoshka models); the reply must have it;
* ``query_prefix`` / ``doc_prefix`` (empty): text put before each query / document (``query: ``
  and ``passage: `` for e5 models, an instruction for others);
* ``reranker`` (``none``): ``endpoint`` scores with the rerank API of the same base URL;
* ``rerank_model`` (the run's ``--llm-model``), ``rerank_path`` (``/rerank`` under the base URL, i.e.
  ``/v1/rerank``; ``root:/rerank`` for the server root's ``/rerank``, TEI's and vLLM's),
  ``rerank_field`` (``documents``; ``texts`` for TEI).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from ..errors import ConfigError
from .base import Benchmark, Message, Sample
from .files import Located

RowSource = Callable[[], Iterator[Located]]

VECTOR_ARGS: dict[str, str] = {
    "model": "",
    "batch_size": "32",
    "encoding_format": "float",
    "dimensions": "",
    "query_prefix": "",
    "doc_prefix": "",
    "reranker": "none",
    "rerank_model": "",
    "rerank_path": "/rerank",
    "rerank_field": "documents",
}


class EmbeddingTask(Benchmark):
    """Base class of the retrieval, STS and reranking tasks (see the module docstring)."""

    api: ClassVar[str] = "vectors"
    kind: ClassVar[str] = ""  # retrieval | sts | reranking (retrieval/runtime.py dispatches on it)
    default_args: ClassVar[dict[str, str]] = dict(VECTOR_ARGS)
    generation: ClassVar[dict[str, Any]] = {}

    def __init__(self, args: dict[str, str] | None = None) -> None:
        super().__init__(args)
        if self.args["encoding_format"] not in ("float", "base64"):
            raise ConfigError(
                f"{self.name}.encoding_format must be float or base64, got {self.args['encoding_format']!r}"
            )
        if self.args["reranker"] not in ("none", "endpoint"):
            raise ConfigError(f"{self.name}.reranker must be none or endpoint, got {self.args['reranker']!r}")
        if self.args["rerank_field"] not in ("documents", "texts"):
            raise ConfigError(
                f"{self.name}.rerank_field must be documents or texts (TEI), got {self.args['rerank_field']!r}"
            )
        if self.int_arg("batch_size") < 1:
            raise ConfigError(f"{self.name}.batch_size must be at least 1")
        if self.args["dimensions"] and self.int_arg("dimensions") < 1:
            raise ConfigError(f"{self.name}.dimensions must be at least 1")

    @property
    def dimensions(self) -> int | None:
        return self.int_arg("dimensions") if self.args["dimensions"] else None

    @property
    def uses_reranker(self) -> bool:
        return self.args["reranker"] == "endpoint"

    def rerank_route(self) -> tuple[str, bool]:
        """(path, from the server root?) of the rerank requests."""
        path = self.args["rerank_path"]
        if path.startswith("root:"):
            return "/" + path.removeprefix("root:").lstrip("/"), True
        return "/" + path.lstrip("/"), False

    @classmethod
    def aggregate(cls, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """The mean of each per-sample metric over the samples that carry it, summed exactly
        (`math.fsum`): records arrive in another order under xdist, and `-n 2` must give the same
        digits as one process."""
        names = dict.fromkeys(metric for values in per_sample for metric in values)
        out: dict[str, float] = {}
        for metric in names:
            carried = [values[metric] for values in per_sample if metric in values]
            out[metric] = math.fsum(carried) / len(carried)
        return out

    def messages(self, sample: Sample) -> list[Message]:
        # what the samples JSONL and the report show as the prompt: the query (or the pair)
        return [{"role": "user", "content": sample.input if isinstance(sample.input, str) else str(sample.input)}]

    def score(self, sample: Sample, output: str) -> Any:
        raise NotImplementedError(f"{self.name} is scored by retrieval.runtime, not from a chat answer")
