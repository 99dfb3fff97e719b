"""Embedding tasks (retrieval, STS) as collection leaves beside a chat benchmark: one suite for a RAG stack.

Run for real: the collection is built by the CLI from local files (a small BEIR folder, an STS file,
GSM8K rows) and run under pytest against the loopback test server, whose /v1/embeddings answers
bag-of-words vectors (pytest_llmeval/testing/_vectors.py), so every figure can be computed here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from pytest_llmeval.scoring.retrieval import rank_scores, retrieval_metrics
from pytest_llmeval.testing._vectors import bag_of_words
from tests.collection import build_cli
from tests.conftest import GSM8K_RULES, write_jsonl
from tests.retrieval.conftest import DOCS, QRELS, QUERIES, write_beir

SCHEMA = """
name: RAG
children:
  - name: Math
    weight: 2
    children:
      - {name: gsm8k, task_type: math}
  - name: Retrieval
    children:
      - {name: scifact, task_type: retrieval}
      - {name: stsbenchmark, task_type: sts}
"""
# two right (GSM8K_RULES answer 5 to "apples"), two wrong: acc 0.5
GSM8K = [
    {"question": "Tom has 2 apples and gets 3 more apples. How many?", "answer": "#### 5"},
    {"question": "Ann has 1 apples and gets 4 more apples. How many?", "answer": "#### 5"},
    {"question": "Ann has 1 apples and gets 5 more apples. How many?", "answer": "#### 6"},
    {"question": "Bob has 9 apples and eats 2 apples. How many?", "answer": "#### 7"},
]
STS = [
    {"sentence1": "a cat sat on a mat", "sentence2": "the cat sat on the mat", "score": 5.0},
    {"sentence1": "dogs bark loudly", "sentence2": "dogs bark at night", "score": 3.2},
    {"sentence1": "electric cars", "sentence2": "cars that are electric", "score": 4.1},
    {"sentence1": "the sun is hot", "sentence2": "pasta with tomato sauce", "score": 0.2},
    {"sentence1": "birds fly south", "sentence2": "birds migrate south in winter", "score": 3.9},
]


def expected_ndcg_at_10() -> float:
    texts = [f"{t} {x}".strip() for t, x in DOCS.values()]
    corpus = np.array([bag_of_words(t, 64) for t in texts])
    judged: dict[str, dict[str, int]] = {}
    for qid, doc, grade in QRELS:
        judged.setdefault(qid, {})[doc] = grade
    values = []
    for qid, qrels in judged.items():
        scores = corpus @ bag_of_words(QUERIES[qid], 64)
        ranked = rank_scores({doc: float(np.float32(s)) for doc, s in zip(DOCS, scores, strict=True)})
        values.append(retrieval_metrics(ranked, qrels)["ndcg_at_10"])
    return math.fsum(values) / len(values)


def expected_spearman() -> float:
    cosines = [float(bag_of_words(r["sentence1"], 64) @ bag_of_words(r["sentence2"], 64)) for r in STS]
    return float(spearmanr(cosines, [r["score"] for r in STS]).statistic)


@pytest.fixture
def rag_suite(tmp_path: Path) -> dict[str, Path]:
    files = {
        "gsm8k": write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K),
        "scifact": write_beir(tmp_path / "scifact"),
        "stsbenchmark": write_jsonl(tmp_path / "sts.jsonl", STS),
    }
    schema = tmp_path / "rag.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    suite = tmp_path / "rag.jsonl"
    data_args = [a for name, path in files.items() for a in ("--llm-dataset", f"{name}={path}")]
    built = build_cli(schema, "-n", "1000", "--llm-bench-arg", "gsm8k.few_shot_num=0", *data_args, "-o", str(suite))
    assert built.returncode == 0, built.stderr
    return {**files, "suite": suite}


def run_suite(pytester: pytest.Pytester, server: Any, suite: dict[str, Path], *args: str) -> tuple[Any, dict]:
    results = pytester.path / f"results-{len(list(pytester.path.glob('results-*')))}.json"
    result = pytester.runpytest_subprocess(
        *("--llm-model", "chat-model", "--llm-base-url", server.base_url, "-p", "no:randomly"),
        *("--llm-collection", str(suite["suite"]), "--llm-bench-arg", "gsm8k.few_shot_num=0"),
        *("--llm-dataset", f"scifact={suite['scifact']}", "--llm-results", str(results), "--no-header"),
        *args,
    )
    return result, (json.loads(results.read_text()) if results.exists() else {})


def test_a_collection_weighs_ndcg_and_spearman_beside_accuracy(pytester, start_server, rag_suite) -> None:
    server = start_server(rules=GSM8K_RULES)
    result, data = run_suite(pytester, server, rag_suite, "--llm-embedding-model", "emb-model")
    collection = data["collection"]
    table = {row["dataset_name"]: row for row in collection["table"]}
    ndcg, rho = expected_ndcg_at_10(), expected_spearman()
    assert table["gsm8k"]["average_score"] == 0.5
    assert table["scifact"]["metric"] == "ndcg_at_10" and table["scifact"]["average_score"] == pytest.approx(ndcg)
    assert table["stsbenchmark"]["metric"] == "cosine_spearman"
    assert table["stsbenchmark"]["average_score"] == pytest.approx(rho)
    assert all(row["errors"] == 0 for row in collection["table"]), result.stdout.str()
    rows = {(row["kind"], row["name"]): row for row in collection["groups"]}
    # each record's weight is its leaf's share / its records: Math 2/3, scifact and STS 1/6 each
    everything = rows[("all", "(all)")]
    assert everything["weighted"] == pytest.approx(2 / 3 * 0.5 + 1 / 6 * ndcg + 1 / 6 * rho)
    # every query counts its own nDCG@10, every STS pair its task's Spearman (a figure of the set)
    assert everything["micro"] == pytest.approx((4 * 0.5 + 4 * ndcg + 5 * rho) / 13)
    assert everything["macro"] == pytest.approx((0.5 + ndcg + rho) / 3)
    assert rows[("task_type", "sts")]["micro"] == pytest.approx(rho) and rho < 1  # not the items' pass rate
    assert rows[("task_type", "sts")]["micro_uncertainty"] is None  # one figure repeated is not n samples
    # the embedding model was sent to /v1/embeddings, the chat model to chat only
    stats = server.stats()
    assert stats["vector_models"] == {"emb-model": 3}  # the corpus, the queries, the pairs
    assert stats["endpoints"]["POST /v1/chat/completions"] == 4
    # the same numbers from two xdist workers (each reads the corpus, the cache shares its vectors)
    _, two = run_suite(pytester, server, rag_suite, "--llm-embedding-model", "emb-model", "-n", "2")
    assert two["collection"]["groups"] == collection["groups"]
    assert two["collection"]["table"] == collection["table"]


def test_a_per_task_model_argument_names_the_embedding_model(pytester, start_server, rag_suite) -> None:
    server = start_server(rules=GSM8K_RULES)
    result, data = run_suite(
        pytester,
        server,
        rag_suite,
        *("--llm-bench-arg", "scifact.model=retriever", "--llm-bench-arg", "stsbenchmark.model=sts-embedder"),
    )
    assert data["collection"]["records"] == 13, result.stdout.str()
    assert server.stats()["vector_models"] == {"retriever": 2, "sts-embedder": 1}


def test_mixing_chat_and_embedding_tasks_without_an_embedding_model_is_one_usage_error(
    pytester, start_server, rag_suite
) -> None:
    server = start_server(rules=GSM8K_RULES)
    result, _ = run_suite(pytester, server, rag_suite, "--llm-bench-arg", "scifact.model=retriever")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "mixes chat benchmarks (gsm8k) with embedding tasks (scifact, stsbenchmark)" in err
    assert "no embedding model is named for stsbenchmark" in err and "--llm-embedding-model NAME" in err
    assert "Traceback" not in err
    assert server.stats()["total_requests"] == 0  # decided before anything was sent


def test_a_corpus_that_is_not_the_one_the_collection_was_built_from_is_one_usage_error(
    pytester, start_server, rag_suite, tmp_path
) -> None:
    other = write_beir(tmp_path / "other", docs={k: v for k, v in DOCS.items() if k != "d5"}, qrels=QRELS[:2])
    server = start_server(rules=GSM8K_RULES)
    result, _ = run_suite(
        pytester, server, rag_suite, "--llm-embedding-model", "emb", "--llm-dataset", f"scifact={other}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert f"{rag_suite['suite']}:" in err and "judges document 'd5'" in err
    assert "pass the same --llm-dataset scifact=DIR as the build" in err
    assert server.stats()["endpoints"].get("POST /v1/embeddings", 0) == 0


def test_a_retrieval_corpus_that_cannot_be_read_names_the_option(pytester, start_server, rag_suite, tmp_path) -> None:
    server = start_server(rules=GSM8K_RULES)
    result, _ = run_suite(
        pytester, server, rag_suite, "--llm-embedding-model", "emb", "--llm-dataset", f"scifact={tmp_path / 'gone'}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "the corpus of retrieval task scifact/default cannot be read" in err
    assert "--llm-dataset scifact=DIR (the BEIR folder the collection was built from)" in err


def test_an_undefined_correlation_counts_as_errors_never_as_a_score() -> None:
    from pytest_llmeval.benchmarks.sts import STSTask
    from pytest_llmeval.collection.results import CollectionTally, RecordMeta
    from pytest_llmeval.results import SampleRecord

    meta = {0: RecordMeta(dataset="sts", task_type="sts", categories=("A",), tags=(), weight=1.0)}
    tally = CollectionTally(meta, "suite.jsonl")
    tally.add(
        SampleRecord(
            nodeid="collection/sts/default::0",
            benchmark="sts",
            subset="default",
            id="0",
            messages=[],
            target="5.0",
            output="cosine 0.9",
            passed=True,
            metrics={"cosine": 0.9, "gold": 5.0},
        )
    )
    result = tally.build({"sts": STSTask})
    assert result.table[0].average_score is None and result.table[0].errors == 1
    everything = result.row("all", "(all)")
    assert everything is not None and everything.micro is None and everything.weighted is None
