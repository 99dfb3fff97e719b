"""Embedding and reranker tasks (retrieval, STS, reranking; `api = "vectors"`) as collection leaves.

A collection record holds what one item needs of its task: a retrieval query with its qrels, an STS
sentence pair with its gold score, a reranking query with its candidates. Two things are not in it,
and this module supplies them before any request is sent:

* **the corpus of a retrieval task**: a query is ranked against the whole corpus, which is read at
  run time from the task's data source, like a plain run's (``--llm-dataset scifact=DIR`` when the
  collection was built from a local BEIR folder, else the hub copy). Every document a record's
  qrels judge must be in that corpus: otherwise the collection was built from another copy of the
  task, and the run is one usage error naming the record's ``file:line`` and the fix (pass the
  folder the collection was built from). A corpus that cannot be read is a usage error too.
* **the embedding model**: a vector task sends its own ``model`` argument to ``/v1/embeddings``,
  else ``--llm-embedding-model``, else ``--llm-model``. When a collection mixes chat benchmarks with
  vector tasks, ``--llm-model`` is the chat model, and sending it as the embedding model would score
  the wrong model without a word; so each vector task must be given its embedding model
  (``--llm-embedding-model NAME`` for all, ``--llm-bench-arg TASK.model=NAME`` for one), and a
  task with ``reranker=endpoint`` its ``rerank_model``; a usage error names what is missing.

How their figures enter the collection's averages is `collection.results`' (docs/collections.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..benchmarks.base import Benchmark
from ..errors import CollectionError, LLMEvalError
from ..settings import RunSettings
from .records import CollectionRecord

FIX_MODEL = (
    "pass --llm-embedding-model NAME (every embedding task) or --llm-bench-arg TASK.model=NAME "
    "(one task); see docs/collections.md, 'Embedding and reranker tasks'"
)


def is_vector(cls: type[Benchmark] | Benchmark | None) -> bool:
    return getattr(cls, "api", "chat") == "vectors"


def check_models(
    source: str, dataset_names: Sequence[str], classes: Mapping[str, type[Benchmark]], settings: RunSettings
) -> None:
    """A collection that mixes chat benchmarks and vector tasks must name the embedding (and
    reranker) model of each vector task: a CollectionError names the tasks and the options."""
    vector = [name for name in dataset_names if is_vector(classes.get(name))]
    chat = [name for name in dataset_names if name not in vector]
    if not vector or not chat:
        return  # one kind only: --llm-model is the model every record is sent to
    unnamed, no_reranker = [], []
    for name in vector:
        args = {**classes[name].default_args, **settings.bench_args.get(name, {})}
        if not (args.get("model") or settings.embedding_model):
            unnamed.append(name)
        if args.get("reranker") == "endpoint" and not args.get("rerank_model"):
            no_reranker.append(name)
    problems = []
    if unnamed:
        problems.append(f"no embedding model is named for {', '.join(unnamed)}: {FIX_MODEL}")
    if no_reranker:
        problems.append(
            f"{', '.join(no_reranker)} rerank with reranker=endpoint and no rerank_model: pass "
            + " ".join(f"--llm-bench-arg {name}.rerank_model=NAME" for name in no_reranker)
        )
    if problems:
        raise CollectionError(
            f"collection {source} mixes chat benchmarks ({', '.join(chat)}) with embedding tasks "
            f"({', '.join(vector)}), and --llm-model {settings.endpoint.model} is the chat model; "
            + "; ".join(problems)
        )


def attach_corpora(
    records: Sequence[tuple[CollectionRecord, str]],
    benchmarks: Mapping[str, Benchmark],
    settings: RunSettings,
    base_dir: Path,
) -> None:
    """Read the corpus of every retrieval task the records query (see the module docstring) and check
    that their qrels judge documents of it. Raises CollectionError naming the task or the record."""
    from ..benchmarks.loading import DatasetLoader

    wanted: dict[tuple[str, str], list[tuple[CollectionRecord, str]]] = defaultdict(list)
    for record, where in records:
        benchmark = benchmarks.get(record.dataset_name)
        if is_vector(benchmark) and hasattr(benchmark, "attach_corpus"):
            subset = str(record.prompt.get("subset") or record.subset_name or "default")
            wanted[(record.dataset_name, subset)].append((record, where))
    if not wanted:
        return
    loader = DatasetLoader(settings.datasets, base_dir=base_dir, hub=settings.hub)
    for (name, subset), queried in wanted.items():
        task: Any = benchmarks[name]
        try:
            ids = task.attach_corpus(subset, loader)
        except LLMEvalError as exc:
            raise CollectionError(
                f"collection {settings.collection}: the corpus of retrieval task {name}/{subset} cannot be read "
                f"({exc}); a collection holds the queries, the corpus is read at run time: pass "
                f"--llm-dataset {name}=DIR (the BEIR folder the collection was built from) or make the hub reachable"
            ) from None
        for record, where in queried:
            metadata = record.prompt.get("metadata") or {}
            qrels = metadata.get("qrels") if isinstance(metadata, Mapping) else None
            missing = sorted(str(doc) for doc in qrels or {} if str(doc) not in ids)
            if missing:
                raise CollectionError(
                    f"{where}: record {record.index} of {name} judges document {missing[0]!r}, which the corpus "
                    f"read now ({task.corpus_size[subset]} documents) does not hold: the collection was built from "
                    f"another copy of {name}; pass the same --llm-dataset {name}=DIR as the build"
                )
