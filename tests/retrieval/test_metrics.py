"""The retrieval metrics equal pytrec_eval's (MTEB's evaluator), STS equals scipy, reranking a hand case."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from pytest_llmeval.scoring import retrieval as m

pytrec_eval = pytest.importorskip("pytrec_eval", reason="pytrec-eval-terrier is in the dev extra (./install.sh dev)")

KS = (1, 3, 5, 10, 100)


def _random_case(rng: random.Random, docs: int) -> tuple[dict[str, int], dict[str, float]]:
    ids = [f"d{i}" for i in range(docs)]
    judged = rng.sample(ids, rng.randint(1, min(30, docs)))
    qrels = {doc: rng.choice([0, 1, 1, 2, 3]) for doc in judged}
    if all(grade < 1 for grade in qrels.values()):
        qrels[judged[0]] = 1
    retrieved = rng.sample(ids, rng.randint(1, docs))
    run = {doc: rng.random() for doc in retrieved}
    return qrels, run


def test_every_retrieval_metric_equals_pytrec_eval_on_random_runs() -> None:
    rng = random.Random(27)
    qrels: dict[str, dict[str, int]] = {}
    runs: dict[str, dict[str, float]] = {}
    for q in range(300):
        qrels[f"q{q}"], runs[f"q{q}"] = _random_case(rng, rng.choice([5, 20, 150]))
    measures = {f"{name}.{','.join(map(str, KS))}" for name in ("ndcg_cut", "map_cut", "recall", "P")} | {"recip_rank"}
    official = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(runs)
    compared = 0
    for q, run in runs.items():
        ranked = m.rank_scores(run)
        ours = m.retrieval_metrics(ranked, qrels[q], KS)
        for k in KS:
            assert ours[f"ndcg_at_{k}"] == pytest.approx(official[q][f"ndcg_cut_{k}"], abs=1e-9)
            assert ours[f"map_at_{k}"] == pytest.approx(official[q][f"map_cut_{k}"], abs=1e-9)
            assert ours[f"recall_at_{k}"] == pytest.approx(official[q][f"recall_{k}"], abs=1e-9)
            assert ours[f"precision_at_{k}"] == pytest.approx(official[q][f"P_{k}"], abs=1e-9)
            compared += 4
        # MRR@k is pytrec_eval's recip_rank of the run cut at k (MTEB's definition)
        assert m.mrr_at_k(ranked, qrels[q], len(ranked)) == pytest.approx(official[q]["recip_rank"], abs=1e-9)
    cut_runs = {q: {doc: run[doc] for doc in m.rank_scores(run)[:10]} for q, run in runs.items()}
    cut = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut_runs)
    for q, run in runs.items():
        assert m.mrr_at_k(m.rank_scores(run), qrels[q], 10) == pytest.approx(cut[q]["recip_rank"], abs=1e-9)
    assert compared == 300 * 4 * len(KS)


def test_ties_are_ordered_as_trec_eval_orders_them() -> None:
    qrels = {"q": {"a": 1}}
    run = {"q": {"a": 0.5, "b": 0.5, "c": 0.5}}
    official = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run)
    assert m.rank_scores(run["q"]) == ["c", "b", "a"]
    assert m.mrr_at_k(m.rank_scores(run["q"]), qrels["q"], 10) == pytest.approx(official["q"]["recip_rank"])


def test_sts_correlations_equal_scipy() -> None:
    rng = np.random.default_rng(5)
    gold = rng.uniform(0, 5, 200).round(1)
    predicted = gold / 5 + rng.normal(0, 0.2, 200)
    assert m.spearman(list(predicted), list(gold)) == pytest.approx(spearmanr(predicted, gold).statistic, abs=1e-12)
    assert m.pearson(list(predicted), list(gold)) == pytest.approx(pearsonr(predicted, gold).statistic, abs=1e-12)
    assert np.isnan(m.spearman([0.3], [1.0]))


def test_reranking_map_and_mrr_by_hand() -> None:
    # reranked candidates: negative, positive, negative, positive, then 8 negatives, a positive at rank 13
    relevance = [False, True, False, True] + [False] * 8 + [True]
    # AP = (1/2 + 2/4 + 3/13) / 3 ; MRR@10 = 1/2
    expected_map = (0.5 + 0.5 + 3 / 13) / 3
    assert m.reranking_metrics(relevance) == pytest.approx({"map": expected_map, "mrr_at_10": 0.5})
    late = [False] * 10 + [True]
    assert m.reranking_metrics(late) == pytest.approx({"map": 1 / 11, "mrr_at_10": 0.0})
