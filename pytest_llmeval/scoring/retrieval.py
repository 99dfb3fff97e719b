"""Retrieval, reranking and STS metrics: pure functions of a ranking (or two score lists).

Retrieval (one query at a time; `ranked` is the run's document ids, best first; `qrels` maps a
judged document id to its graded relevance, a document is relevant when its grade is >= 1):

* ``ndcg_at_k``: trec_eval's ``ndcg_cut.k`` (the measure ``pytrec_eval`` computes and MTEB reports):
  DCG@k = sum over the first k retrieved of ``grade / log2(rank + 1)`` (rank from 1, grades as
  gains, linear), divided by the DCG@k of the ideal order of every judged grade; 0 without any.
* ``map_at_k``: trec_eval's ``map_cut.k``: the sum of precision at the rank of each relevant
  document among the first k, divided by the number of relevant documents in the qrels.
* ``recall_at_k``: trec_eval's ``recall.k``: relevant among the first k / relevant in the qrels.
* ``precision_at_k``: trec_eval's ``P.k``: relevant among the first k / k (k even when fewer came).
* ``mrr_at_k``: MTEB's ``MRR@k`` (trec_eval's ``recip_rank`` of the run cut at k): 1 / the rank of
  the first relevant document within the first k, 0 when there is none.

``rank_scores`` orders a {doc id: score} run as trec_eval does (score descending, ties by doc id
descending), so a run scored here and by pytrec_eval are the same list (tests/retrieval prove
every metric equal to pytrec_eval's to 1e-9 on random runs).

Reranking (MTEB's reranking tasks: a query, its candidates, which are positive):

* ``average_precision``: AP over the whole reranked candidate list (MTEB's ``map``);
* ``mrr_at_k`` with k=10 on the reranked list (MTEB's ``mrr@10``).

STS: ``spearman`` / ``pearson`` between the model's similarities and the gold scores (scipy's
``spearmanr`` / ``pearsonr``, MTEB's ``cosine_spearman`` main score); NaN for fewer than two pairs
or a constant list (a correlation is undefined there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

RELEVANT = 1  # trec_eval's default relevance level: grades below it are judged not relevant


def rank_scores(scores: Mapping[str, float]) -> list[str]:
    """Doc ids best first, as trec_eval orders a run: score descending, ties by doc id descending."""
    return [doc for doc, _ in sorted(scores.items(), key=lambda pair: (pair[1], pair[0]), reverse=True)]


def _relevant_count(qrels: Mapping[str, int]) -> int:
    return sum(1 for grade in qrels.values() if grade >= RELEVANT)


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    dcg = sum(max(qrels.get(doc, 0), 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1))
    ideal = sorted((grade for grade in qrels.values() if grade > 0), reverse=True)[:k]
    idcg = sum(grade / math.log2(rank + 1) for rank, grade in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def map_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    relevant = _relevant_count(qrels)
    if relevant == 0:
        return 0.0
    found, total = 0, 0.0
    for rank, doc in enumerate(ranked[:k], start=1):
        if qrels.get(doc, 0) >= RELEVANT:
            found += 1
            total += found / rank
    return total / relevant


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    relevant = _relevant_count(qrels)
    if relevant == 0:
        return 0.0
    return sum(1 for doc in ranked[:k] if qrels.get(doc, 0) >= RELEVANT) / relevant


def precision_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    return sum(1 for doc in ranked[:k] if qrels.get(doc, 0) >= RELEVANT) / k


def mrr_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    for rank, doc in enumerate(ranked[:k], start=1):
        if qrels.get(doc, 0) >= RELEVANT:
            return 1.0 / rank
    return 0.0


# k of each metric a retrieval item reports (MTEB's k values, up to the run's depth); nDCG@10 is the main score
K_VALUES: tuple[int, ...] = (1, 3, 5, 10, 100)
MAIN_METRIC = "ndcg_at_10"


def retrieval_metrics(
    ranked: Sequence[str], qrels: Mapping[str, int], k_values: Sequence[int] = K_VALUES
) -> dict[str, float]:
    """Every retrieval metric of one query at each k: `ndcg_at_k`, `map_at_k`, `recall_at_k`,
    `precision_at_k`, `mrr_at_k` (names as MTEB's result files spell them)."""
    metrics: dict[str, float] = {}
    for k in k_values:
        metrics[f"ndcg_at_{k}"] = ndcg_at_k(ranked, qrels, k)
        metrics[f"map_at_{k}"] = map_at_k(ranked, qrels, k)
        metrics[f"recall_at_{k}"] = recall_at_k(ranked, qrels, k)
        metrics[f"precision_at_{k}"] = precision_at_k(ranked, qrels, k)
        metrics[f"mrr_at_{k}"] = mrr_at_k(ranked, qrels, k)
    return metrics


def average_precision(relevance: Sequence[bool]) -> float:
    """AP of one reranked candidate list (`relevance[i]`: whether the i-th best is positive): the mean
    of the precision at the rank of each positive; 0 with no positive."""
    found, total = 0, 0.0
    for rank, positive in enumerate(relevance, start=1):
        if positive:
            found += 1
            total += found / rank
    return total / found if found else 0.0


def reranking_metrics(relevance: Sequence[bool]) -> dict[str, float]:
    """MTEB's reranking metrics of one query: `map` (AP over every candidate) and `mrr_at_10`."""
    mrr = 0.0
    for rank, positive in enumerate(relevance[:10], start=1):
        if positive:
            mrr = 1.0 / rank
            break
    return {"map": average_precision(relevance), "mrr_at_10": mrr}


def spearman(predicted: Sequence[float], gold: Sequence[float]) -> float:
    """Spearman's rank correlation (scipy.stats.spearmanr); NaN when undefined."""
    if len(predicted) < 2:
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(predicted, gold).statistic)


def pearson(predicted: Sequence[float], gold: Sequence[float]) -> float:
    """Pearson's correlation (scipy.stats.pearsonr); NaN when undefined."""
    if len(predicted) < 2 or len(set(predicted)) < 2 or len(set(gold)) < 2:
        return math.nan
    from scipy.stats import pearsonr

    return float(pearsonr(predicted, gold).statistic)
