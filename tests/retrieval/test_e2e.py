"""Whole runs of the embedding tasks through the loopback test server (pytester subprocesses)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from pytest_llmeval.scoring.retrieval import rank_scores, reranking_metrics, retrieval_metrics
from pytest_llmeval.testing._vectors import bag_of_words
from tests.conftest import write_jsonl
from tests.core.loopback import JsonHandler, ThreadedServer
from tests.retrieval.conftest import DOCS, QRELS, QUERIES, write_beir


def _run(pytester: pytest.Pytester, server: Any, *args: str) -> tuple[Any, dict[str, Any]]:
    results = pytester.path / f"results-{len(list(pytester.path.glob('results-*')))}.json"
    url = server if isinstance(server, str) else server.base_url
    result = pytester.runpytest_subprocess(
        "--llm-model", "emb", "--llm-base-url", url, "--llm-results", str(results), "-p", "no:randomly", *args
    )
    data = json.loads(results.read_text()) if results.exists() else {}
    return result, data


def _expected_retrieval() -> dict[str, float]:
    texts = [f"{t} {x}".strip() for t, x in DOCS.values()]
    corpus = np.array([bag_of_words(t, 64) for t in texts])
    ids = list(DOCS)
    judged: dict[str, dict[str, int]] = {}
    for qid, doc, grade in QRELS:
        judged.setdefault(qid, {})[doc] = grade
    per_query = []
    for qid, qrels in judged.items():
        scores = corpus @ bag_of_words(QUERIES[qid], 64)
        ranked = rank_scores({doc: float(np.float32(s)) for doc, s in zip(ids, scores, strict=True)})
        per_query.append(retrieval_metrics(ranked, qrels))
    return {m: float(np.mean([q[m] for q in per_query])) for m in per_query[0]}


def test_a_beir_folder_runs_one_item_per_judged_query_with_trec_metrics(pytester, start_server, beir_dir) -> None:
    server = start_server()
    result, data = _run(pytester, server, "-m", "beir", "--llm-dataset", f"beir={beir_dir}", "-v")
    result.assert_outcomes(passed=3, failed=1)
    out = result.stdout.str()
    assert "beir/default::q4 FAILED" in out and "q5" not in out
    assert "no relevant document in the top 10" in out
    bench = data["benchmarks"]["beir"]
    assert bench["count"] == 4
    expected = _expected_retrieval()
    for metric in ("ndcg_at_10", "map_at_100", "recall_at_10", "precision_at_1", "mrr_at_10"):
        assert bench["metrics"][metric] == pytest.approx(expected[metric], abs=1e-6), metric
    assert bench["uncertainty"]["ndcg_at_10"]["se"] > 0  # a standard error over queries


def test_threshold_gate_passes_and_fails_on_ndcg_at_10(pytester, start_server, beir_dir) -> None:
    server = start_server()
    base = ("-m", "beir", "--llm-dataset", f"beir={beir_dir}")
    low, _ = _run(pytester, server, *base, "--llm-threshold", "beir.ndcg_at_10>=0.5")
    assert low.ret == 0
    high, _ = _run(pytester, server, *base, "--llm-threshold", "beir.ndcg_at_10>=0.95")
    assert high.ret == 1
    assert "FAIL  beir.ndcg_at_10>=0.95" in high.stdout.str()


def test_rerun_is_answered_from_the_vector_cache_without_a_server(pytester, start_server, beir_dir) -> None:
    server = start_server()
    args = ("-m", "beir", "--llm-dataset", f"beir={beir_dir}")
    _, first = _run(pytester, server, *args)
    assert server.stats()["endpoints"]["POST /v1/embeddings"] == 2  # the corpus (17 texts), the queries (4)
    url = server.base_url
    server.stop()
    again, second = _run(pytester, url, *args)
    again.assert_outcomes(passed=3, failed=1)
    assert second["benchmarks"]["beir"]["metrics"] == first["benchmarks"]["beir"]["metrics"]
    assert second["requests"]["cached"] == 4


def test_two_workers_give_identical_results(pytester, start_server, beir_dir) -> None:
    server = start_server()
    args = ("-m", "beir", "--llm-dataset", f"beir={beir_dir}", "--llm-no-cache")
    _, one = _run(pytester, server, *args)
    two_run, two = _run(pytester, server, *args, "-n", "2")
    two_run.assert_outcomes(passed=3, failed=1)
    assert two["benchmarks"]["beir"]["metrics"] == one["benchmarks"]["beir"]["metrics"]


def test_two_workers_send_the_corpus_once_and_share_it_through_the_cache(pytester, start_server, beir_dir) -> None:
    server = start_server()
    args = ("-m", "beir", "--llm-dataset", f"beir={beir_dir}")
    two_run, two = _run(pytester, server, *args, "-n", "2")  # a fresh cache: one worker embeds the corpus
    two_run.assert_outcomes(passed=3, failed=1)
    with_two = server.stats()["endpoints"]["POST /v1/embeddings"]
    _, one = _run(pytester, server, *args, "--llm-no-cache")  # one process, nothing cached: the reference
    alone = server.stats()["endpoints"]["POST /v1/embeddings"] - with_two
    assert two["benchmarks"]["beir"]["metrics"] == one["benchmarks"]["beir"]["metrics"]
    # the corpus is one request; the second worker adds at most its own queries' request, not the corpus
    assert with_two <= alone + 1, (with_two, alone)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"qrels": [*QRELS, ("q1", "nope", 1)]}, "qrels/test.tsv:7: qrels row names document 'nope', which is not in"),
        ({"queries": {**QUERIES, "q2": "   "}}, "queries.jsonl:2: query 'q2' has an empty text"),
    ],
)
def test_bad_beir_rows_are_one_error_naming_the_row(pytester, start_server, tmp_path, change, says) -> None:
    server = start_server()
    folder = write_beir(tmp_path / "bad", **change)
    result, _ = _run(pytester, server, "-m", "beir", "--llm-dataset", f"beir={folder}")
    assert result.ret != 0
    out = result.stdout.str()
    # one collection error (its message is printed again in the short summary, untruncated under CI=true)
    assert says in out and re.search(r"\b1 error\b", out.splitlines()[-1])
    assert server.stats()["endpoints"].get("POST /v1/embeddings", 0) == 0  # nothing scored


def test_sts_spearman_equals_scipy_over_the_pairs(pytester, start_server, tmp_path) -> None:
    server = start_server()
    rows = [
        {"sentence1": "a cat sat on a mat", "sentence2": "the cat sat on the mat", "score": 5.0},
        {"sentence1": "dogs bark loudly", "sentence2": "dogs bark at night", "score": 3.2},
        {"sentence1": "electric cars", "sentence2": "cars that are electric", "score": 4.1},
        {"sentence1": "the sun is hot", "sentence2": "pasta with tomato sauce", "score": 0.2},
        {"sentence1": "birds fly south", "sentence2": "birds migrate south in winter", "score": 3.9},
    ]
    data_file = write_jsonl(tmp_path / "sts.jsonl", rows)
    result, data = _run(pytester, server, "-m", "stsbenchmark", "--llm-dataset", f"stsbenchmark={data_file}")
    result.assert_outcomes(passed=5)
    cosines = [float(bag_of_words(r["sentence1"], 64) @ bag_of_words(r["sentence2"], 64)) for r in rows]
    expected = spearmanr(cosines, [r["score"] for r in rows]).statistic
    assert data["benchmarks"]["stsbenchmark"]["metrics"]["cosine_spearman"] == pytest.approx(expected, abs=1e-6)
    # the same digits from two workers (the pairs reach the controller in another order)
    two_run, two = _run(pytester, server, "-m", "stsbenchmark", "--llm-dataset", f"stsbenchmark={data_file}", "-n", "2")
    two_run.assert_outcomes(passed=5)
    assert two["benchmarks"]["stsbenchmark"]["metrics"] == data["benchmarks"]["stsbenchmark"]["metrics"]


def test_sts_correlations_have_fisher_z_intervals_that_ci_thresholds_decide_on(
    pytester, start_server, tmp_path
) -> None:
    from scipy.stats import pearsonr

    server = start_server()
    words = ["cat", "dog", "mat", "sun", "car", "tree", "river", "bird", "rain", "road", "city", "book"]
    rows = [
        {"sentence1": f"{words[i]} {words[(i + 1) % 12]} {words[(i + 3) % 12]}",
         "sentence2": f"{words[i]} {words[(i + k) % 12]}", "score": float(5 - k)}
        for i in range(12) for k in (1, 2, 4)
    ]  # fmt: skip
    data_file = write_jsonl(tmp_path / "sts.jsonl", rows)
    cosines = [float(bag_of_words(r["sentence1"], 64) @ bag_of_words(r["sentence2"], 64)) for r in rows]
    gold = [r["score"] for r in rows]
    result, data = _run(pytester, server, "-m", "stsbenchmark", "--llm-dataset", f"stsbenchmark={data_file}")
    result.assert_outcomes(passed=len(rows))
    bench = data["benchmarks"]["stsbenchmark"]
    pearson_u = bench["uncertainty"]["cosine_pearson"]
    expected = pearsonr(cosines, gold).confidence_interval(0.95)  # scipy: Fisher's z interval
    assert pearson_u["method"] == "fisher-z" and pearson_u["n"] == len(rows)
    assert (pearson_u["ci_low"], pearson_u["ci_high"]) == pytest.approx((expected.low, expected.high), abs=1e-9)
    spearman_u = bench["uncertainty"]["cosine_spearman"]
    r = bench["metrics"]["cosine_spearman"]
    assert spearman_u["method"] == "fisher-z" and spearman_u["ci_low"] < r < spearman_u["ci_high"]
    assert spearman_u["se"] == pytest.approx((1 - r * r) * ((1 + r * r / 2) / (len(rows) - 3)) ** 0.5)
    # ci mode decides on the interval: a bound inside it is undecided, one below it passes
    inside = f"stsbenchmark.cosine_spearman>={(r + spearman_u['ci_high']) / 2:.4f}"
    below = f"stsbenchmark.cosine_spearman>={spearman_u['ci_low'] - 0.05:.4f}"
    for gate, status in ((inside, "undecided"), (below, "pass")):
        run, gated = _run(
            pytester, server, "-m", "stsbenchmark", "--llm-dataset", f"stsbenchmark={data_file}",
            "--llm-threshold", gate, "--llm-threshold-mode", "ci",
        )  # fmt: skip
        assert [t["status"] for t in gated["thresholds"]] == [status], run.stdout.str()[-2000:]


RERANK_ROWS = [
    {"query": "cat on the mat", "positive": ["the cat sat on the mat"], "negative": ["dogs bark", "fish swim"]},
    {"query": "why dogs bark", "positive": ["fish swim in water"], "negative": ["dogs bark at night", "cats"]},
]


@pytest.mark.parametrize("reranker", ["none", "endpoint"])
def test_reranking_map_and_mrr_with_the_embedding_model_or_the_rerank_endpoint(
    pytester, start_server, tmp_path, reranker
) -> None:
    server = start_server()
    data_file = write_jsonl(tmp_path / "rr.jsonl", RERANK_ROWS)
    result, data = _run(
        pytester,
        server,
        "-m",
        "askubuntudupquestions",
        "--llm-dataset",
        f"askubuntudupquestions={data_file}",
        "--llm-bench-arg",
        f"askubuntudupquestions.reranker={reranker}",
    )
    result.assert_outcomes(passed=1, failed=1)
    per_query = []
    for row in RERANK_ROWS:
        cands = row["positive"] + row["negative"]
        q = bag_of_words(row["query"], 64)
        scores = [float(q @ bag_of_words(c, 64)) for c in cands]
        order = sorted(range(len(cands)), key=lambda j: -scores[j])
        per_query.append(reranking_metrics([j < len(row["positive"]) for j in order]))
    metrics = data["benchmarks"]["askubuntudupquestions"]["metrics"]
    assert metrics["map"] == pytest.approx(np.mean([q["map"] for q in per_query]))
    assert metrics["mrr_at_10"] == pytest.approx(np.mean([q["mrr_at_10"] for q in per_query]))
    stats = server.stats()["endpoints"]
    assert ("POST /v1/rerank" in stats) == (reranker == "endpoint")


def test_reranker_on_a_bm25_first_stage_reports_ndcg_before_and_after(pytester, start_server, beir_dir) -> None:
    server = start_server()
    result, data = _run(
        pytester,
        server,
        "-m",
        "beir",
        "--llm-dataset",
        f"beir={beir_dir}",
        "--llm-bench-arg",
        "beir.first_stage=bm25",
        "--llm-bench-arg",
        "beir.reranker=endpoint",
        "--llm-bench-arg",
        "beir.rerank_path=root:/rerank",
    )
    metrics = data["benchmarks"]["beir"]["metrics"]
    assert "ndcg_at_10_first_stage" in metrics and "ndcg_at_10" in metrics
    stats = server.stats()["endpoints"]
    assert stats.get("POST /rerank") == 4 and "POST /v1/embeddings" not in stats  # BM25 needs no embeddings
    result.assert_outcomes(passed=3, failed=1)


def test_the_html_report_shows_each_querys_ranking_escaped(pytester, start_server, tmp_path) -> None:
    server = start_server()
    docs = {**DOCS, "evil": ("<script>alert(1)</script>", "cat mat <b>bold</b>")}
    folder = write_beir(tmp_path / "evil", docs=docs)
    report = pytester.path / "report.html"
    result, _ = _run(pytester, server, "-m", "beir", "--llm-dataset", f"beir={folder}", "--html", str(report))
    result.assert_outcomes(passed=3, failed=1)
    page = report.read_text()
    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "rank  relevant  score    document" in page  # the ranking block's header, in the sample details
    assert "yes (2)" in page and "d2: Dogs dogs bark" in page  # q2's relevant document with its grade


def test_compare_pairs_the_queries_of_two_runs(pytester, start_server, beir_dir) -> None:
    server = start_server()
    base = ("-m", "beir", "--llm-dataset", f"beir={beir_dir}")
    baseline = pytester.path / "base.json"
    pytester.runpytest_subprocess(
        "--llm-model",
        "emb",
        "--llm-base-url",
        server.base_url,
        *base,
        "--llm-results",
        str(baseline),
        "--llm-samples",
        str(pytester.path / "base.jsonl"),
    )
    result, _ = _run(pytester, server, *base, "--llm-bench-arg", "beir.dimensions=8", "--llm-compare", str(baseline))
    out = result.stdout.str()
    assert "paired by sample id" in out
    line = next(row for row in out.splitlines() if "ndcg_at_10 " in row and "paired t" in row)
    assert f"{_expected_retrieval()['ndcg_at_10']:.4f}" in line  # the baseline's nDCG@10 beside the new one


SCIFACT_CARD = b"""---
configs:
- config_name: default
  data_files:
  - split: test
    path: qrels/test.jsonl
- config_name: corpus
  data_files:
  - split: corpus
    path: corpus.jsonl
- config_name: queries
  data_files:
  - split: queries
    path: queries.jsonl
---
"""


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_scifact_loads_by_name_from_the_mteb_copy_on_the_hub(pytester, start_server, monkeypatch, tmp_path) -> None:
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    repo = {
        "README.md": SCIFACT_CARD,
        "corpus.jsonl": _jsonl([{"_id": d, "title": t, "text": x} for d, (t, x) in DOCS.items()]),
        "queries.jsonl": _jsonl([{"_id": q, "text": x} for q, x in QUERIES.items()]),
        "qrels/test.jsonl": _jsonl([{"query-id": q, "corpus-id": d, "score": g} for q, d, g in QRELS]),
    }
    server = start_server()
    with HuggingFaceStandIn({"mteb/scifact": repo}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        result, data = _run(pytester, server, "-m", "scifact", "--llm-threshold", "scifact.ndcg_at_10>=0.6")
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == 0
    assert data["benchmarks"]["scifact"]["metrics"]["ndcg_at_10"] == pytest.approx(_expected_retrieval()["ndcg_at_10"])


def test_one_run_gates_a_chat_benchmark_and_a_retrieval_task_of_one_rag_stack(
    pytester, start_server, beir_dir, gsm8k_file
) -> None:
    from tests.conftest import GSM8K_RULES

    server = start_server(rules=GSM8K_RULES)
    result, data = _run(
        pytester,
        server,
        "-m",
        "gsm8k or beir",
        "--llm-dataset",
        f"gsm8k={gsm8k_file}",
        "--llm-dataset",
        f"beir={beir_dir}",
        "--llm-bench-arg",
        "beir.model=my-embedder",
        "--llm-threshold",
        "gsm8k.acc>=0.5",
        "--llm-threshold",
        "beir.ndcg_at_10>=0.6",
    )
    assert result.ret == 0
    assert set(data["benchmarks"]) == {"gsm8k", "beir"}
    assert [t["passed"] for t in data["thresholds"]] == [True, True]
    endpoints = server.stats()["endpoints"]
    assert endpoints["POST /v1/chat/completions"] >= 1 and endpoints["POST /v1/embeddings"] == 2


def test_an_unreachable_endpoint_is_one_usage_error_not_one_per_query(pytester, beir_dir) -> None:
    result, _ = _run(pytester, "http://127.0.0.1:9/v1", "-m", "beir", "--llm-dataset", f"beir={beir_dir}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert output.count("cannot reach") + output.count("refused") >= 1
    assert "passed" not in result.stdout.str().splitlines()[-1]


def test_a_failed_query_names_its_relevant_documents_and_the_best_rank(pytester, start_server, beir_dir) -> None:
    server = start_server()
    result, _ = _run(pytester, server, "-m", "beir", "--llm-dataset", f"beir={beir_dir}")
    out = result.stdout.str()
    assert "no relevant document in the top 10: relevant 'd3', ranked first" in out
    assert "the best-ranked relevant one is at rank" in out


def test_the_retrieval_example_project_runs_and_gates(pytester, start_server) -> None:
    import shutil

    example = Path(__file__).resolve().parents[2] / "conftest_examples" / "retrieval"
    shutil.copytree(example, pytester.path, dirs_exist_ok=True)
    server = start_server()
    result, data = _run(pytester, server, "-m", "support_docs", "-v")
    result.assert_outcomes(passed=4)
    assert result.ret == 0 and "PASS  support_docs.ndcg_at_10>=0.6" in result.stdout.str()
    assert data["benchmarks"]["support_docs"]["metrics"]["ndcg_at_10"] == pytest.approx(1.0)


STS_CARD = b"""---
configs:
- config_name: default
  data_files:
  - split: test
    path: test.jsonl
---
"""


def test_stsbenchmark_loads_by_name_from_the_mteb_copy_on_the_hub(
    pytester, start_server, monkeypatch, tmp_path
) -> None:
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    rows = [
        {"split": "test", "sentence1": "a cat sits", "sentence2": "a cat sits down", "score": 4.5},
        {"split": "test", "sentence1": "a man plays guitar", "sentence2": "rain falls on roofs", "score": 0.4},
        {"split": "test", "sentence1": "dogs run fast", "sentence2": "the dogs run", "score": 3.6},
    ]
    server = start_server()
    with HuggingFaceStandIn({"mteb/stsbenchmark-sts": {"README.md": STS_CARD, "test.jsonl": _jsonl(rows)}}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        result, data = _run(pytester, server, "-m", "stsbenchmark")
    result.assert_outcomes(passed=3)
    cosines = [float(bag_of_words(r["sentence1"], 64) @ bag_of_words(r["sentence2"], 64)) for r in rows]
    expected = spearmanr(cosines, [r["score"] for r in rows]).statistic
    assert data["benchmarks"]["stsbenchmark"]["metrics"]["cosine_spearman"] == pytest.approx(expected)


RERANKING_CARD = STS_CARD


def test_a_reranking_task_loads_by_name_from_the_hub_and_an_empty_document_is_embedded(
    pytester, start_server, monkeypatch, tmp_path
) -> None:
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    server = start_server()
    repo = {"README.md": RERANKING_CARD, "test.jsonl": _jsonl(RERANK_ROWS)}
    with HuggingFaceStandIn({"mteb/askubuntudupquestions-reranking": repo}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        result, data = _run(pytester, server, "-m", "askubuntudupquestions")
    result.assert_outcomes(passed=1, failed=1)
    assert "a negative candidate is ranked first" in result.stdout.str()
    assert set(data["benchmarks"]["askubuntudupquestions"]["metrics"]) == {"map", "mrr_at_10"}
    # a corpus document without any text is embedded (as one space), not refused by the server
    docs = {**DOCS, "empty": ("", "")}
    folder = write_beir(tmp_path / "with-empty", docs=docs)
    again, _ = _run(pytester, server, "-m", "beir", "--llm-dataset", f"beir={folder}")
    again.assert_outcomes(passed=3, failed=1)


@pytest.mark.parametrize("blob", [b"abc", "a text", 12345], ids=["cut bytes", "text", "number"])
def test_a_damaged_vector_in_the_cache_is_asked_for_again(pytester, start_server, beir_dir, blob) -> None:
    """A row of vectors.sqlite3 that holds no whole float32 values (a damaged file) is a cache miss: the
    text is embedded again and the run is as the first one, instead of one error (ValueError) per run."""
    import sqlite3

    server = start_server()
    args = ("-m", "beir", "--llm-dataset", f"beir={beir_dir}")
    _, first = _run(pytester, server, *args)
    db = sqlite3.connect(pytester.path / ".pytest_cache" / "llmeval" / "vectors.sqlite3")
    with db:
        db.execute("UPDATE vectors SET vector = ?", (blob,))
    db.close()
    again, second = _run(pytester, server, *args)
    again.assert_outcomes(passed=3, failed=1)
    assert second["benchmarks"]["beir"]["metrics"] == first["benchmarks"]["beir"]["metrics"]
    assert server.stats()["endpoints"]["POST /v1/embeddings"] == 4  # every text asked again, once


@pytest.mark.parametrize("usage", [{"prompt_tokens": "abc", "total_tokens": [1]}, [1, 2], {"prompt_tokens": -3}])
def test_an_unreadable_usage_object_leaves_the_vectors_usable(pytester, beir_dir, usage) -> None:
    """An embeddings reply whose `usage` cannot be read (counts that are strings or negative, a list) is
    used without it: before, it was a bad reply, and for the corpus batch every query of the task erred."""
    import base64

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            self._send({"object": "list", "data": [{"id": "emb"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            vectors = [bag_of_words(text, 64).astype("<f4").tobytes() for text in body["input"]]
            rows = [{"index": i, "embedding": base64.b64encode(v).decode()} for i, v in enumerate(vectors)]
            self._send({"data": rows, "model": "emb", "usage": usage})

    with ThreadedServer(Handler) as server:
        result, data = _run(
            pytester, server.base_url, "-m", "beir", "--llm-dataset", f"beir={beir_dir}", "--llm-no-cache"
        )
    result.assert_outcomes(passed=3, failed=1)
    expected = _expected_retrieval()
    assert data["benchmarks"]["beir"]["metrics"]["ndcg_at_10"] == pytest.approx(expected["ndcg_at_10"], abs=1e-6)
