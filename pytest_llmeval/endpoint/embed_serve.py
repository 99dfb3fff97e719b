"""The embedding server the plugin starts for an embedded embedding model (``--llm-model all-minilm-l6-v2``).

Run as ``python -m pytest_llmeval.endpoint.embed_serve --model FILE.gguf --model-alias NAME --port N``.
llama.cpp computes the vectors (``llama_cpp.Llama(embedding=True)``, the same portable build that serves
the chat models); this module is the HTTP layer, on Starlette and uvicorn (installed with
llama-cpp-python's ``[server]`` extra). Routes:

* ``GET /v1/models`` (the readiness probe of ``ManagedServer``), ``GET /health``;
* ``POST /v1/embeddings``: OpenAI's request (``input`` a string or a list of strings, ``encoding_format``
  ``float`` or ``base64`` (little-endian float32, as OpenAI sends it), ``dimensions`` only equal to the
  model's, ``model`` and ``user`` accepted and ignored), OpenAI's reply (``data[i].embedding``, ``index``,
  ``usage.prompt_tokens`` = ``usage.total_tokens`` = tokens embedded, after truncation);
* ``POST /v1/rerank`` and ``POST /rerank``: the shape vLLM, llama.cpp, TEI, Jina and Cohere accept
  (``query``, ``documents`` as strings or ``{"text": ...}``, ``top_n``, ``return_documents``) answered
  with ``results[{index, relevance_score, document?}]`` sorted by score, best first. The score is the
  cosine similarity of the query's and the document's embeddings: a bi-encoder ranking, not a
  cross-encoder (no reranker model is published on PyPI; docs/serving.md). It gives the rerank path
  and its load tests a real model behind them.

Why not llama-cpp-python's own server (measured, 0.3.36): its ``/v1/embeddings`` ignores
``encoding_format`` (a ``base64`` request gets floats back), returns vectors unnormalised, truncates at
``n_batch`` tokens instead of the model's 256, converts every float through a Python list, and has no
rerank route. Requests are answered one at a time (one llama.cpp context behind a lock, computed in a
worker thread so ``/v1/models`` still answers); a request's inputs are packed into llama.cpp batches of
at most ``--batch-tokens`` tokens, one sequence per input.

Speed (``bench/embed_throughput.py``, in-process, measured on this project's 2-core AVX2 machine shared
with other jobs, load average 11-13, so read the docs per CPU-second and the ratios). An encoder attends
over its whole micro-batch, other sequences masked out, so a token's attention cost grows with the
batch: 512-token batches (the first version) spent 1.6-1.8x the CPU of 256-token batches with flash
attention (the default now): with 1 thread, short sentences (19 tokens) 64 a call 64.8 -> 117.6
docs/CPU-s (1.82x), 256-token documents 5.5 -> 8.6 (1.57x), one a call unchanged (80 and 7.5-8.3);
with 2 threads and ``OMP_WAIT_POLICY=PASSIVE`` (load 8) short 64 a call 40.4 -> 71.0 docs/s wall
(1.84x per CPU-second), 256-token 64 a call 2.8 -> 5.1 docs/s (1.64x).
117 short docs/CPU-s is about 50 GFLOP/s of float32 on one core (21 MFLOP a token), near what AVX2
sustains, so no other runtime (onnxruntime) was tried: it could not be several times faster per core.
The measured 3-14 docs/s of before came from the machine, not the model: with 2 threads and
OpenMP's default (spinning) wait policy on busy cores the same work costs 4-5x the CPU (short, 64 a
call: 19 docs/CPU-s against 65-70 with 1 thread or with ``OMP_WAIT_POLICY=PASSIVE``).

Errors are HTTP 400 with OpenAI's error body naming the field (``input[3] is empty``); a request whose
inputs would exceed ``--max-inputs`` is refused rather than held in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import threading
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

MAX_INPUTS = 2048  # OpenAI's limit for one embeddings request


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: str | list[str]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None


class RerankDocument(BaseModel):
    text: str


class RerankRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: str
    documents: list[str | RerankDocument]
    model: str | None = None
    top_n: int | None = None
    return_documents: bool = False


class RequestProblem(ValueError):
    """A request the server refuses with HTTP 400: the message names the field."""


class EmbeddingEngine:
    """One llama.cpp context computing unit-norm sentence embeddings from a GGUF embedding model.

    ``embed(texts)`` -> (float32 array (n, dim), tokens embedded). Inputs are tokenized with the model's
    own vocabulary ([CLS] ... [SEP]) and cut at ``max_tokens`` (the last kept token then is [SEP], as
    the Hugging Face tokenizer truncates); the pooled vectors (the GGUF's pooling type) are L2-normalised.
    Not thread-safe: callers hold ``lock``."""

    def __init__(
        self, path: str, *, threads: int, batch_tokens: int = 256, max_tokens: int = 256, flash_attn: bool = True
    ) -> None:
        from llama_cpp import Llama

        if max_tokens > batch_tokens:
            raise ValueError(f"max_tokens ({max_tokens}) must not exceed batch_tokens ({batch_tokens})")
        self.llm = Llama(
            model_path=path,
            embedding=True,
            n_ctx=batch_tokens,
            n_batch=batch_tokens,
            n_ubatch=batch_tokens,
            n_threads=threads,
            n_threads_batch=threads,
            # an encoder attends over the whole micro-batch (other sequences masked out): the cost per
            # token grows with batch_tokens, and the fused (flash) kernel skips most of the mask's work;
            # see "Speed" in the module docstring for the figures
            flash_attn=flash_attn,
            verbose=False,
        )
        self.dim = self.llm.n_embd()
        self.batch_tokens = batch_tokens
        self.max_tokens = max_tokens
        self.max_sequences = int(self.llm.context_params.n_seq_max)
        self.lock = threading.Lock()

    def tokens(self, text: str) -> list[int]:
        ids = self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
        if len(ids) > self.max_tokens:
            ids = [*ids[: self.max_tokens - 1], ids[-1]]  # keep the closing [SEP]
        return ids

    def embed(self, texts: Sequence[str]) -> tuple[Any, int]:
        import llama_cpp
        import numpy as np

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        batch = self.llm._batch
        ctx = self.llm._ctx
        pending: list[int] = []  # rows of `out` whose tokens are in the batch
        filled = 0
        total = 0

        def flush() -> None:
            ctx.kv_cache_clear()
            ctx.decode(batch)
            for seq, row in enumerate(pending):
                pointer = llama_cpp.llama_get_embeddings_seq(ctx.ctx, seq)
                out[row] = np.ctypeslib.as_array(pointer, shape=(self.dim,))
            batch.reset()
            pending.clear()

        batch.reset()
        for row, text in enumerate(texts):
            ids = self.tokens(text)
            total += len(ids)
            if pending and (filled + len(ids) > self.batch_tokens or len(pending) >= self.max_sequences):
                flush()
                filled = 0
            batch.add_sequence(ids, len(pending), True)
            pending.append(row)
            filled += len(ids)
        if pending:
            flush()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms > 0, norms, 1.0)
        return out, total


def embeddings_reply(engine: EmbeddingEngine, body: dict[str, Any], model: str) -> dict[str, Any]:
    """The OpenAI ``/v1/embeddings`` reply to ``body``; ``RequestProblem`` names what is wrong."""
    try:
        request = EmbeddingsRequest.model_validate(body)
    except ValidationError as exc:
        raise RequestProblem(_first_error(exc)) from None
    texts = [request.input] if isinstance(request.input, str) else request.input
    _check_texts(texts, "input")
    if request.dimensions is not None and request.dimensions != engine.dim:
        raise RequestProblem(
            f"dimensions={request.dimensions} is not supported: {model} returns {engine.dim}-dimensional vectors "
            "(leave dimensions out)"
        )
    with engine.lock:
        vectors, tokens = engine.embed(texts)
    data = []
    for index, vector in enumerate(vectors):
        encoded: Any
        if request.encoding_format == "base64":
            encoded = base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
        else:
            encoded = vector.tolist()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def rerank_reply(engine: EmbeddingEngine, body: dict[str, Any], model: str) -> dict[str, Any]:
    """The rerank reply (Jina / Cohere / vLLM shape) to ``body``, scored by cosine similarity."""
    try:
        request = RerankRequest.model_validate(body)
    except ValidationError as exc:
        raise RequestProblem(_first_error(exc)) from None
    documents = [d if isinstance(d, str) else d.text for d in request.documents]
    _check_texts([request.query], "query")
    _check_texts(documents, "documents")
    if request.top_n is not None and request.top_n < 1:
        raise RequestProblem(f"top_n must be at least 1, got {request.top_n}")
    with engine.lock:
        vectors, tokens = engine.embed([request.query, *documents])
    scores = vectors[1:] @ vectors[0]
    order = sorted(range(len(documents)), key=lambda i: -float(scores[i]))[: request.top_n or len(documents)]
    results: list[dict[str, Any]] = []
    for i in order:
        result: dict[str, Any] = {"index": i, "relevance_score": float(scores[i])}
        if request.return_documents:
            result["document"] = {"text": documents[i]}
        results.append(result)
    return {"id": "rerank", "model": model, "results": results, "usage": {"total_tokens": tokens}}


def _check_texts(texts: list[str], field: str) -> None:
    if not texts:
        raise RequestProblem(f"{field} is empty: send at least one string")
    if len(texts) > MAX_INPUTS:
        raise RequestProblem(f"{field} holds {len(texts)} strings; at most {MAX_INPUTS} per request")
    for i, text in enumerate(texts):
        if not text.strip():
            where = field if field == "query" else f"{field}[{i}]"
            raise RequestProblem(f"{where} is empty: every string must hold text")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def build_app(engine: EmbeddingEngine, model: str) -> Any:
    """The Starlette application serving ``engine`` under the model id ``model``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def problem(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse(
            {"error": {"message": message, "type": "invalid_request_error", "code": status}}, status_code=status
        )

    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": model, "object": "model", "owned_by": "llmeval"}]})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    def answering(reply: Any) -> Any:
        async def route(request: Request) -> JSONResponse:
            try:
                body = await request.json()
            except ValueError:
                return problem("the request body is not JSON")
            if not isinstance(body, dict):
                return problem("the request body must be a JSON object")
            try:
                return JSONResponse(await asyncio.to_thread(reply, engine, body, model))
            except RequestProblem as exc:
                return problem(str(exc))

        return route

    return Starlette(
        routes=[
            Route("/v1/models", models),
            Route("/health", health),
            Route("/v1/embeddings", answering(embeddings_reply), methods=["POST"]),
            Route("/v1/rerank", answering(rerank_reply), methods=["POST"]),
            Route("/rerank", answering(rerank_reply), methods=["POST"]),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pytest_llmeval.endpoint.embed_serve")
    parser.add_argument("--model", required=True, help="a GGUF embedding model")
    parser.add_argument("--model-alias", required=True, help="the model id /v1/models reports")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-tokens", type=int, default=256, help="tokens per llama.cpp batch")
    parser.add_argument("--max-tokens", type=int, default=256, help="an input is cut at this many tokens")
    args = parser.parse_args(argv)
    import uvicorn

    engine = EmbeddingEngine(
        args.model, threads=args.threads, batch_tokens=args.batch_tokens, max_tokens=args.max_tokens
    )
    uvicorn.run(build_app(engine, args.model_alias), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
