"""Load tests of embedding and rerank endpoints: the request bodies and the reading of their replies.

`api="embeddings"` posts OpenAI's ``/embeddings`` request, ``{"model", "input": [texts],
"encoding_format"}``, `batch_size` texts per request; `api="rerank"` posts the rerank request vLLM,
llama.cpp, TEI, Jina and Cohere accept, ``{"model", "query", "documents": [texts]}``, `batch_size`
documents per request (EvalScope's `--api openai_embedding` / `rerank`). Each text has `input_tokens`
tokens (default: `prompt_tokens`), made like the `random` chat prompts (perf/datasets.py: exact with a
tokenizer, else common English words of about one token each). The bodies are kept minimal and
local to perf: the evaluation's embedding client is not on the load generator's path.

A reply counts as ok when it is JSON holding one vector per input (``data``) or one score per
document (``results``, every ``index`` within the documents sent); otherwise the request fails as
`bad_response` naming what was missing. Token counts: the reply's ``usage.prompt_tokens`` (or
``total_tokens``), else the texts' own count. Figures per level (perf/metrics.py): requests/s,
inputs/s (texts embedded, or documents scored, per second), input tokens/s and latency percentiles;
there is no TTFT or output token in these APIs.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from .backend import RequestFailed, _loads
from .datasets import _random_texts
from .load import Level, Workload
from .metrics import RequestRecord
from .tokenizer import HFTokenizer


@dataclass(slots=True)
class ApiRequest:
    body: bytes
    inputs: int  # texts embedded, or documents scored
    tokens: int  # tokens of the texts (the dataset's count)
    exact: bool


def build_requests(
    workload: Workload, level: Level, model: str, count: int, tokenizer: HFTokenizer | None, seed: int
) -> list[ApiRequest]:
    """`count` request bodies for one level (see the module docstring)."""
    batch = level.batch_size or 1
    length = level.input_tokens
    shaped = workload if length is None else workload.model_copy(update={"prompt_tokens": (length, length)})
    per_request = batch + (1 if workload.api == "rerank" else 0)  # a rerank request also carries its query
    texts = list(_random_texts(shaped, count * per_request, tokenizer, random.Random(seed)))
    requests = []
    for i in range(count):
        chunk = texts[i * per_request : (i + 1) * per_request]
        body: dict[str, Any] = {"model": model}
        if workload.api == "rerank":
            body["query"] = chunk[0][0]
            body["documents"] = [text for text, _, _ in chunk[1:]]
        else:
            body["input"] = [text for text, _, _ in chunk]
            body["encoding_format"] = workload.encoding_format
        body.update(workload.extra_body)
        requests.append(
            ApiRequest(
                json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                batch,
                sum(tokens for _, tokens, _ in chunk),
                all(exact for _, _, exact in chunk),
            )
        )
    return requests


def parse_embeddings(body: bytes, record: RequestRecord) -> None:
    """An embeddings reply: the number of vectors into `record.items`, usage into `prompt_tokens`."""
    reply = _json_object(body)
    data = reply.get("data")
    if not isinstance(data, list) or not all(isinstance(d, dict) and d.get("embedding") for d in data):
        raise RequestFailed("bad_response", f"the reply has no 'data' list of embeddings: {body[:200]!r}")
    record.items = len(data)
    _usage(reply, record)


def parse_rerank(body: bytes, record: RequestRecord) -> None:
    """A rerank reply: the number of scored documents into `record.items`, their indices checked later."""
    reply = _json_object(body)
    results = reply.get("results", reply.get("data"))
    if not isinstance(results, list) or not all(
        isinstance(r, dict) and isinstance(r.get("index"), int) and "relevance_score" in r for r in results
    ):
        raise RequestFailed("bad_response", f"the reply has no 'results' list of index/relevance_score: {body[:200]!r}")
    record.items = len(results)
    record.max_index = max((r["index"] for r in results), default=None)  # checked against the documents sent
    _usage(reply, record)


def check_reply(record: RequestRecord, request: ApiRequest, api: str) -> None:
    """After the level: a reply with fewer vectors than inputs (or a rerank index out of range) fails."""
    if not record.ok:
        return
    if api == "embeddings" and record.items != request.inputs:
        record.error_kind = "bad_response"
        record.error = f"{record.items} embeddings for {request.inputs} inputs"
    elif api == "rerank" and record.max_index is not None and not 0 <= record.max_index < request.inputs:
        record.error_kind = "bad_response"
        record.error = f"rerank index {record.max_index} out of range for {request.inputs} documents"


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        reply = _loads(body)
    except ValueError:
        raise RequestFailed("bad_response", f"the reply is not JSON: {body[:200]!r}") from None
    if not isinstance(reply, dict):
        raise RequestFailed("bad_response", f"the reply is not a JSON object: {body[:200]!r}")
    return reply


def _usage(reply: dict[str, Any], record: RequestRecord) -> None:
    usage = reply.get("usage")
    if isinstance(usage, dict):
        tokens = usage.get("prompt_tokens", usage.get("total_tokens"))
        if isinstance(tokens, int):
            record.prompt_tokens = tokens
