"""A retrieval task of your own: your help-centre articles and the questions users ask, in the BEIR layout.

    pytest --llm-model my-embedder --llm-base-url URL -m support_docs -v

`support_docs/` holds `corpus.jsonl` (the articles), `queries.jsonl` (the questions) and
`qrels/test.tsv` (which article answers which question). One item per question; nDCG@10 (and
MAP@k, Recall@k, MRR@k, Precision@k) as MTEB computes them; `pytest.ini` gates nDCG@10 at 0.6.
Add `--llm-bench-arg support_docs.first_stage=bm25 --llm-bench-arg support_docs.reranker=endpoint`
to evaluate a reranker on top of BM25 instead (docs/embeddings.md).
"""

from pytest_llmeval.benchmarks.registry import register_benchmark
from pytest_llmeval.benchmarks.retrieval import RetrievalTask


@register_benchmark
class SupportDocs(RetrievalTask):
    name = "support_docs"
    description = "help-centre articles retrieved for user questions"
