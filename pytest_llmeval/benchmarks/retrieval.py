"""Retrieval tasks in the BEIR layout: one pytest item per query, scored against the whole corpus.

Data (BEIR, as MTEB and the BEIR toolkit read it):

* local folder, ``--llm-dataset NAME=DIR`` (or the ``llm_dataset`` ini line): ``DIR/corpus.jsonl``
  (``{"_id", "title", "text"}``), ``DIR/queries.jsonl`` (``{"_id", "text"}``), ``DIR/qrels/SPLIT.tsv``
  (header ``query-id  corpus-id  score``; SPLIT is the ``split`` argument, ``test`` by default);
  ``.jsonl.gz`` works too. The generic ``beir`` task reads only such a folder.
* the hub: MTEB's copies on Hugging Face (``mteb/scifact`` ...): configurations ``corpus`` (split
  ``corpus``), ``queries`` (split ``queries``) and ``default`` (the qrels, split ``test``).

A document's text is ``title + " " + text`` (stripped), as MTEB embeds it. Queries without a
relevant judgement in the qrels are not items (BEIR's evaluation skips them). A qrels row naming a
document that is not in the corpus, or a query that is not in the queries file, and a query with an
empty text, are each one DatasetError naming the row (``qrels/test.tsv:7``); nothing is scored.

Metrics: trec_eval's (pytrec_eval, MTEB's evaluator) at k = 1, 3, 5, 10, 100 - ``ndcg_at_k`` (main:
``ndcg_at_10``), ``map_at_k``, ``recall_at_k``, ``precision_at_k``, and MTEB's ``mrr_at_k``
(scoring/retrieval.py has each definition); each is the mean over queries, with its standard error.

Arguments beyond `embedding_base`'s: ``split`` (qrels split), ``top_k`` (100: documents kept per
query: a metric at a larger k sees only those, as trec_eval with a run of that depth), ``first_stage``
(``embedding``, or
``bm25``: the ``bm25s`` library's BM25, no endpoint needed), and with ``reranker=endpoint`` the top
``rerank_top_k`` (100) of the first stage are reranked: the metrics are the reranked ones, and
``ndcg_at_10_first_stage`` keeps the first stage's nDCG@10 beside them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from ..errors import ConfigError, DatasetError
from ..scoring.retrieval import K_VALUES
from .base import DatasetSource, RecordLoader, Sample
from .embedding_base import VECTOR_ARGS, EmbeddingTask, RowSource
from .files import Located, read_path
from .registry import register_benchmark

_ALL = tuple(f"{name}_at_{k}" for name in ("ndcg", "map", "recall", "precision", "mrr") for k in K_VALUES)
# nDCG@10 first: the main score, the one a threshold usually names
RETRIEVAL_METRICS = ("ndcg_at_10", *(m for m in _ALL if m != "ndcg_at_10"))


def doc_text(record: Mapping[str, Any]) -> str:
    return f"{record.get('title') or ''} {record.get('text') or ''}".strip()


def _first(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in record and record[name] is not None:
            return record[name]
    raise KeyError(*names)


class RetrievalTask(EmbeddingTask):
    """A BEIR-layout retrieval task; subclass with `name` and `source` (an MTEB hub id) for a named one."""

    kind = "retrieval"
    tags: ClassVar[tuple[str, ...]] = ("retrieval", "embedding")
    task_type = "retrieval"
    metrics = (*RETRIEVAL_METRICS, "ndcg_at_10_first_stage")
    partial_metrics = ("ndcg_at_10_first_stage",)
    default_args: ClassVar[dict[str, str]] = {
        **VECTOR_ARGS,
        "split": "test",
        "top_k": "100",
        "first_stage": "embedding",
        "rerank_top_k": "100",
    }

    def __init__(self, args: dict[str, str] | None = None) -> None:
        super().__init__(args)
        if self.args["first_stage"] not in ("embedding", "bm25"):
            raise ConfigError(f"{self.name}.first_stage must be embedding or bm25, got {self.args['first_stage']!r}")
        for key in ("top_k", "rerank_top_k"):
            if self.int_arg(key) < 1:
                raise ConfigError(f"{self.name}.{key} must be at least 1")
        # subset -> a fresh iterator over the corpus rows, kept by `load` for the runtime
        self.corpus_rows: dict[str, RowSource] = {}
        self.corpus_size: dict[str, int] = {}

    # -- data ----------------------------------------------------------------------------------

    def _sources(self, subset: str, loader: RecordLoader) -> tuple[RowSource, RowSource, RowSource]:
        """(corpus, queries, qrels) rows of a subset, each read when called: a local BEIR folder
        (``--llm-dataset``) or the hub copy. Raises ConfigError / DatasetError naming the fix."""
        split = self.args["split"]
        local = loader.override(self.name, subset)
        if local is not None:
            folder = local.path
            if not folder.exists():
                raise ConfigError(
                    f"--llm-dataset path {local.raw!r} does not exist (looked at {folder}); pass a BEIR folder "
                    f"(corpus.jsonl, queries.jsonl, qrels/{split}.tsv)"
                )
            if not folder.is_dir():
                raise ConfigError(
                    f"--llm-dataset {local.key}={local.raw}: a retrieval task reads a BEIR folder (corpus.jsonl, "
                    f"queries.jsonl, qrels/{split}.tsv), and {folder} is not a folder"
                )
            corpus, queries, qrels = (_beir_file(folder, name) for name in ("corpus", "queries", f"qrels/{split}"))
            return (lambda: read_path(corpus)), (lambda: read_path(queries)), (lambda: read_path(qrels))
        if self.source is not None:
            return self._hub_rows(split, getattr(loader, "hub", "auto"))
        raise DatasetError(
            f"benchmark {self.name!r} reads a local BEIR folder: pass --llm-dataset {self.name}=DIR "
            "(DIR holds corpus.jsonl, queries.jsonl and qrels/test.tsv)"
        )

    def attach_corpus(self, subset: str, loader: RecordLoader) -> set[str]:
        """Read the subset's corpus ids and keep its row source for the runtime (`corpus`): what
        `load` does first, and all a collection run needs (its records carry queries and qrels).
        Returns the document ids."""
        return self._attach(subset, self._sources(subset, loader)[0])

    def _attach(self, subset: str, corpus_rows: RowSource) -> set[str]:
        ids: set[str] = set()
        for record, where in corpus_rows():
            try:
                ids.add(str(_first(record, "_id", "id", "corpus-id")))
            except KeyError:
                raise DatasetError(f"corpus row has no '_id' (fields: {', '.join(record)})", source=where) from None
        if not ids:
            raise DatasetError(f"the corpus of {self.name!r} has no documents")
        self.corpus_rows[subset] = corpus_rows
        self.corpus_size[subset] = len(ids)
        return ids

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        corpus_rows, query_source, qrel_source = self._sources(subset, loader)
        ids = self._attach(subset, corpus_rows)
        query_rows: Iterator[Located] = query_source()
        qrel_rows: Iterator[Located] = qrel_source()
        judged: dict[str, dict[str, int]] = {}
        for record, where in qrel_rows:
            try:
                qid, doc = (
                    str(_first(record, "query-id", "query_id", "qid")),
                    str(_first(record, "corpus-id", "corpus_id", "docid")),
                )
                grade = int(float(_first(record, "score", "relevance")))
            except KeyError as exc:
                raise DatasetError(
                    f"qrels row needs query-id, corpus-id and score (missing {exc.args[0]!r})", source=where
                ) from None
            except (TypeError, ValueError):
                raise DatasetError(f"qrels row's score {record.get('score')!r} is not a number", source=where) from None
            if doc not in ids:
                raise DatasetError(
                    f"qrels row names document {doc!r}, which is not in the corpus; fix the qrels or the corpus",
                    source=where,
                )
            judged.setdefault(qid, {})[doc] = grade
        found: set[str] = set()
        index = 0
        for record, where in query_rows:
            try:
                qid = str(_first(record, "_id", "id", "query-id"))
            except KeyError:
                raise DatasetError(f"query row has no '_id' (fields: {', '.join(record)})", source=where) from None
            qrels = judged.get(qid)
            if qrels is None or not any(g >= 1 for g in qrels.values()):
                continue  # not judged in this split: BEIR leaves it out
            text = str(record.get("text") or "").strip()
            if not text:
                raise DatasetError(f"query {qid!r} has an empty text; fix or remove the row", source=where)
            found.add(qid)
            yield Sample(
                id=qid,
                subset=subset,
                input=text,
                target=sorted(doc for doc, grade in qrels.items() if grade >= 1),
                metadata={"qrels": qrels},
            )
            index += 1
        unknown = sorted(set(judged) - found - {q for q, r in judged.items() if not any(g >= 1 for g in r.values())})
        if unknown:
            raise DatasetError(
                f"the qrels judge {len(unknown)} query id(s) the queries file does not have (first: {unknown[0]!r}), "
                "or whose text is missing; fix the qrels or the queries"
            )

    def failure_headline(self, target: Any, extracted: str | None, explanation: str | None) -> str:
        relevant = target if isinstance(target, list) else [target]
        shown = ", ".join(map(repr, relevant[:5])) + (f" (+{len(relevant) - 5} more)" if len(relevant) > 5 else "")
        return f"no relevant document in the top 10: relevant {shown}, ranked first {extracted!r}"

    def _hub_rows(self, split: str, hub: str) -> tuple[RowSource, RowSource, RowSource]:
        from .hubs import load_hf_split

        assert self.source is not None
        fix = f"pass --llm-dataset {self.name}=DIR with the BEIR files (corpus.jsonl, queries.jsonl, qrels/{split}.tsv)"

        def rows(config: str, part: str) -> Iterator[Located]:
            dataset = load_hf_split(self.source, config, part, fix)  # type: ignore[arg-type]
            label = f"{self.source.path}[{config}/{part}]"  # type: ignore[union-attr]
            return ((record, f"{label} row {i}") for i, record in enumerate(dataset))

        return (
            (lambda: rows("corpus", "corpus")),
            (lambda: rows("queries", "queries")),
            (lambda: rows("default", split)),
        )

    def corpus(self, subset: str) -> Iterator[tuple[str, str]]:
        """(doc id, text) of every corpus document, streamed in file order."""
        source = self.corpus_rows.get(subset)
        if source is None:
            raise DatasetError(f"the corpus of {self.name}/{subset} was not read at collection")
        for record, _where in source():
            yield str(_first(record, "_id", "id", "corpus-id")), doc_text(record)


def _beir_file(folder: Any, stem: str) -> Any:
    for suffix in (".jsonl", ".jsonl.gz", ".tsv", ".tsv.gz", ".csv", ".parquet"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    listing = ", ".join(sorted(p.name for p in folder.iterdir())[:20]) or "nothing"
    raise DatasetError(
        f"the BEIR folder has no {stem}.jsonl (or .tsv for qrels); it holds: {listing}. Expected corpus.jsonl, "
        "queries.jsonl and qrels/SPLIT.tsv",
        source=str(folder),
    )


@register_benchmark
class BEIRFolder(RetrievalTask):
    name = "beir"
    description = "Any retrieval task in the BEIR layout from a local folder (--llm-dataset beir=DIR)"


@register_benchmark
class SciFact(RetrievalTask):
    name = "scifact"
    description = "SciFact (BEIR): scientific claims -> supporting abstracts; 300 test queries, 5,183 documents"
    source = DatasetSource(path="mteb/scifact", split="test")


@register_benchmark
class NFCorpus(RetrievalTask):
    name = "nfcorpus"
    description = "NFCorpus (BEIR): nutrition questions -> medical articles; 323 test queries, 3,633 documents"
    source = DatasetSource(path="mteb/nfcorpus", split="test")


@register_benchmark
class ArguAna(RetrievalTask):
    name = "arguana"
    description = "ArguAna (BEIR): an argument -> its counter-argument; 1,406 queries, 8,674 documents"
    source = DatasetSource(path="mteb/arguana", split="test")
