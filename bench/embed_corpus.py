"""Embed a synthetic corpus through the embedded embedding server: documents/s and memory against corpus size.

    python bench/embed_corpus.py                      # 10,000 and 100,000 documents, batch 64
    python bench/embed_corpus.py --sizes 1000,4000 --batch 32,64,128 --encoding base64

The server is the one `--llm-model all-minilm-l6-v2` starts (all-MiniLM-L6-v2 on llama.cpp,
pytest_llmeval/endpoint/embed_serve.py) on a loopback port. Each corpus size runs in a child process of
its own (so its peak RSS is its own): documents are generated lazily from a seed (30-120 words each,
about 40-150 tokens), posted `--batch` at a time to /v1/embeddings (one request in flight: the server
computes one at a time), and the vectors are written into one preallocated float32 array (N x 384 x 4
bytes: 154 MB at 100,000 documents), the only thing that grows with N. Prints per size and batch:
documents/s, tokens/s (from the server's usage), the client's peak RSS, that peak minus the vectors,
and the server's peak RSS (sampled every 0.2 s). "Flat" means the client's peak minus the vectors and
the server's peak do not grow with N.

Figures of one run are compared with each other only (ratios), never with another machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    "retrieval model vector query document search index corpus rank score dense sparse token embed passage "
    "answer question relevant topic science health market energy city river history music law court data "
    "protein cell gene climate water policy school student network system design study result method group"
).split()


def documents(count: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        yield " ".join(rng.choices(WORDS, k=rng.randint(30, 120)))


def child(base_url: str, count: int, batch: int, seed: int, encoding: str) -> dict[str, float]:
    """Embed `count` documents; return the figures (runs in its own process)."""
    import base64

    import httpx
    import numpy as np

    vectors = np.zeros((count, 384), dtype=np.float32)
    vectors[:] = 0  # touch the pages: the vectors count in the RSS from the start
    client = httpx.Client(timeout=600, trust_env=False)
    tokens = 0
    done = 0
    began = time.perf_counter()
    pending: list[str] = []

    def send() -> None:
        nonlocal tokens, done
        reply = client.post(base_url + "/embeddings", json={"input": pending, "encoding_format": encoding})
        reply.raise_for_status()
        payload = reply.json()
        for item in payload["data"]:
            embedding = item["embedding"]
            if encoding == "base64":
                embedding = np.frombuffer(base64.b64decode(embedding), dtype="<f4")
            vectors[done + item["index"]] = embedding
        tokens += payload["usage"]["prompt_tokens"]
        done += len(pending)
        pending.clear()

    for text in documents(count, seed):
        pending.append(text)
        if len(pending) == batch:
            send()
    if pending:
        send()
    elapsed = time.perf_counter() - began
    assert done == count and bool(np.isfinite(vectors).all())
    norms = np.linalg.norm(vectors, axis=1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB
    return {
        "docs_per_s": count / elapsed,
        "tokens_per_s": tokens / elapsed,
        "seconds": elapsed,
        "client_peak_mb": peak,
        "vectors_mb": vectors.nbytes / 2**20,
        "unit_norm": float(np.abs(norms - 1).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--batch", default="64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoding", choices=("float", "base64"), default="float", help="encoding_format asked")
    parser.add_argument("--child", nargs=3, metavar=("URL", "COUNT", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, count, batch = args.child
        print(json.dumps(child(url, int(count), int(batch), args.seed, args.encoding)))
        return

    import psutil

    from pytest_llmeval.endpoint.local_models import llama_server_command, resolve_local_model
    from pytest_llmeval.endpoint.server import ManagedServer, ServerSpec

    model = resolve_local_model("all-minilm-l6-v2")
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "embed_corpus_server.log"
    server = ManagedServer(ServerSpec(command=llama_server_command(model), model=model.served_name, log_path=log))
    server.start()
    try:
        process = psutil.Process(server.pid)
        print(f"server: {' '.join(server.command or [])[:120]}... at {server.base_url}")
        print(f"{'docs':>8} {'batch':>5} {'docs/s':>8} {'tok/s':>8} {'client MB':>9} {'- vectors':>9} {'server MB':>9}")
        for size in (int(s) for s in args.sizes.split(",")):
            for batch in (int(b) for b in args.batch.split(",")):
                peak = {"rss": 0.0}
                stop = threading.Event()

                def sample(peak: dict[str, float] = peak, stop: threading.Event = stop) -> None:
                    while not stop.wait(0.2):
                        rss = sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
                        peak["rss"] = max(peak["rss"], rss / 2**20)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                command = [sys.executable, __file__, "--seed", str(args.seed), "--encoding", args.encoding,
                           "--child", server.base_url, str(size), str(batch)]  # fmt: skip
                out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
                stop.set()
                sampler.join()
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{size:>8} {batch:>5} {r['docs_per_s']:>8.1f} {r['tokens_per_s']:>8.0f} "
                    f"{r['client_peak_mb']:>9.1f} {r['client_peak_mb'] - r['vectors_mb']:>9.1f} {peak['rss']:>9.1f}",
                    flush=True,
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
