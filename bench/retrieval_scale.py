"""Embedding a synthetic corpus through the loopback server, and exact top-k retrieval scoring.

    python bench/retrieval_scale.py                 # 20k and 100k documents; 10,000 x 100,000 scoring
    python bench/retrieval_scale.py --quick         # 5k and 20k documents; 2,000 x 20,000 scoring

1. Embedding: each corpus size is embedded in a child process (its own peak RSS) through
   `retrieval.runtime`'s path (the corpus streamed in chunks of 4,096 documents, batches of 32 texts
   per `/v1/embeddings` request, 16 in flight, base64 replies, no cache) against one zero-latency
   loopback server. Prints documents/s and peak RSS; memory should grow only by the vectors
   (N x 64 dimensions x 4 bytes), i.e. the per-document difference between the two sizes is close
   to 256 bytes plus the id and snippet kept for the report.
2. Scoring: `search.top_k` of Q random queries against N random unit vectors (d = 384, k = 100),
   with the full-sort alternative (`argsort` of every row) at a tenth of the queries for the ratio.

Figures of one run are compared with each other only (ratios), never with another machine's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig

CHILD = r"""
import json, resource, sys, time
import numpy as np
from pytest_llmeval.retrieval.client import EmbeddingOptions, VectorClient
from pytest_llmeval.retrieval.runtime import CORPUS_CHUNK, SNIPPET
from pytest_llmeval.retrieval.search import normalized
from pytest_llmeval.settings import EndpointSettings

url, n = sys.argv[1], int(sys.argv[2])
settings = EndpointSettings(model="emb", base_url=url, concurrency=16, retries=0)
client = VectorClient(settings, None, EmbeddingOptions(batch_size=32, encoding_format="base64"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
ids, snippets, vectors = [], [], None
started = time.perf_counter()
chunk = []
def flush():
    global vectors
    block = normalized(client.embed([t for _, t in chunk]))
    if vectors is None:
        vectors = np.empty((n, block.shape[1]), dtype=np.float32)
    vectors[len(ids):len(ids) + len(chunk)] = block
    ids.extend(i for i, _ in chunk)
    snippets.extend(t[:SNIPPET] for _, t in chunk)
    chunk.clear()
for i in range(n):
    chunk.append((f"doc{i}", f"document {i} " + " ".join(words[(i * k) % 8] + str(i % (k + 3)) for k in range(12))))
    if len(chunk) >= CORPUS_CHUNK:
        flush()
if chunk:
    flush()
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
requests = client.counters.requests
print(json.dumps({"n": n, "seconds": elapsed, "peak_kb": peak, "start_kb": before, "requests": requests}))
"""


def embed_corpus(url: str, n: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, url, str(n)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scoring(queries: int, docs: int, dim: int = 384, k: int = 100) -> tuple[float, float]:
    from pytest_llmeval.retrieval.search import normalized, top_k

    rng = np.random.default_rng(0)
    corpus = normalized(rng.standard_normal((docs, dim), dtype=np.float32))
    q = normalized(rng.standard_normal((queries, dim), dtype=np.float32))
    started = time.perf_counter()
    top_k(q, corpus, k)
    ours = time.perf_counter() - started
    tenth = q[: max(1, queries // 10)]
    started = time.perf_counter()
    for start in range(0, len(tenth), 256):
        sims = tenth[start : start + 256] @ corpus.T
        np.argsort(-sims, axis=1)[:, :k]
    full = (time.perf_counter() - started) * (queries / len(tenth))
    return ours, full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    small, large = (5_000, 20_000) if args.quick else (20_000, 100_000)
    queries, docs = (2_000, 20_000) if args.quick else (10_000, 100_000)
    with FakeOpenAIServer(FakeServerConfig()) as server:
        figures = [embed_corpus(server.base_url, n) for n in (small, large)]
    for f in figures:
        print(
            f"embed {f['n']:>7,} documents: {f['n'] / f['seconds']:>8,.0f} documents/s, "
            f"{f['requests']:,} requests, peak RSS {f['peak_kb'] / 1024:,.0f} MB"
        )
    per_doc = (figures[1]["peak_kb"] - figures[0]["peak_kb"]) * 1024 / (figures[1]["n"] - figures[0]["n"])
    print(f"peak RSS per extra document: {per_doc:,.0f} bytes (its 64-d float32 vector alone: 256 bytes)")
    ours, full = scoring(queries, docs)
    print(
        f"top-100 of {queries:,} queries x {docs:,} documents (d=384): {ours:.2f} s with argpartition, "
        f"{full:.2f} s with a full sort (estimated from a tenth): ratio {full / ours:.1f}x"
    )


if __name__ == "__main__":
    main()
