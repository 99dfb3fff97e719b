"""The embeddings and rerank wire formats: request bodies and validated replies (no I/O).

Embeddings (OpenAI ``POST /v1/embeddings``; vLLM, llama.cpp's server, TEI's OpenAI route, Ollama's
``/v1`` serve the same): the body is ``{"model", "input": [texts], "encoding_format", "dimensions"?}``;
the reply ``{"data": [{"index", "embedding"}], "model", "usage": {"prompt_tokens", "total_tokens"}}``.
``embedding`` is a list of floats, or with ``encoding_format: "base64"`` the base64 of the
little-endian float32 array (OpenAI's encoding). Rows are put back in ``index`` order.

Rerank (``POST {base}/rerank`` = ``/v1/rerank``, or ``/rerank`` at the server root): the body is
``{"model", "query", "documents": [texts]}`` (vLLM, llama.cpp, Jina, Cohere) or, with
``field="texts"``, ``{"query", "texts"}`` (Hugging Face TEI). Reply shapes accepted:

* ``{"results": [{"index", "relevance_score"}, ...]}``: Cohere (v1, v2), Jina, vLLM, llama.cpp
  (extra keys such as ``document``, ``id``, ``meta``, ``usage``, ``model`` are ignored);
* a bare list ``[{"index", "score"}, ...]``: TEI;
* ``{"data": [{"index", "score"}]}``: vLLM's older ``/v1/score``-like shape.

Results may come in any order and (with ``top_n``) may leave documents out: a missing index is an
error, because every candidate must be scored. A reply that breaks these rules (a vector of another
dimension, NaN or infinity, more or fewer vectors or scores than inputs, an index out of range or
repeated) raises :class:`BadReply`, whose message names the reply (endpoint, batch, first input).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from ..endpoint.models import token_count

EncodingFormat = Literal["float", "base64"]
RerankField = Literal["documents", "texts"]


class BadReply(ValueError):
    """A reply that does not follow the wire format; the message says what and where."""


# -- requests ------------------------------------------------------------------------------------


def embeddings_body(
    model: str, texts: list[str], encoding_format: EncodingFormat = "float", dimensions: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": texts, "encoding_format": encoding_format}
    if dimensions is not None:
        body["dimensions"] = dimensions
    return body


def rerank_body(model: str, query: str, documents: list[str], field: RerankField = "documents") -> dict[str, Any]:
    if field == "texts":  # Hugging Face TEI
        return {"query": query, "texts": documents, "raw_scores": False}
    return {"model": model, "query": query, "documents": documents}


# -- replies -------------------------------------------------------------------------------------


class _Usage(BaseModel):
    """Token counts as a server sent them; one that is not a whole number >= 0 is None (an unreadable
    count must not fail the vectors it came with)."""

    prompt_tokens: int | None = None
    total_tokens: int | None = None

    @field_validator("prompt_tokens", "total_tokens", mode="wrap")
    @classmethod
    def _count(cls, value: Any, handler: Any) -> int | None:
        return token_count(value)


def _usage_object(value: Any) -> Any:
    """A reply's `usage`: an object, else None (a list or a string there is no reason to refuse the reply)."""
    return value if isinstance(value, dict) else None


class _EmbeddingRow(BaseModel):
    index: int | None = None
    embedding: list[float] | str


class _EmbeddingReply(BaseModel):
    data: list[_EmbeddingRow]
    model: str | None = None
    usage: _Usage | None = None

    _usage = field_validator("usage", mode="before")(_usage_object)


class Embeddings(BaseModel):
    """A validated embeddings reply: `vectors[i]` is input i's vector (float32), all of one dimension."""

    model_config = {"arbitrary_types_allowed": True}

    vectors: Any  # np.ndarray, shape (inputs, dimension), float32
    model: str | None = None
    prompt_tokens: int = 0


def _where(what: str, texts: list[str]) -> str:
    first = texts[0] if texts else ""
    shown = first if len(first) <= 60 else first[:59] + "…"
    return f"the {what} reply for {len(texts)} input(s) (first: {shown!r})"


def _decode_vector(value: list[float] | str, row: int, where: str) -> np.ndarray:
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise BadReply(f"{where}: row {row}'s embedding is neither a list of floats nor base64") from None
        if len(raw) % 4:
            raise BadReply(f"{where}: row {row}'s base64 embedding is {len(raw)} bytes, not whole float32 values")
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)
    return np.asarray(value, dtype=np.float32)


def read_embeddings(data: bytes, texts: list[str], dimensions: int | None = None) -> Embeddings:
    """Validate an embeddings reply to the request for `texts`; BadReply names the problem."""
    where = _where("/embeddings", texts)
    try:
        reply = _EmbeddingReply.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise BadReply(f"{where} is not an embeddings list ({place}: {first['msg']})") from None
    if len(reply.data) != len(texts):
        raise BadReply(f"{where} has {len(reply.data)} vector(s), expected {len(texts)} (one per input)")
    order = [row.index if row.index is not None else i for i, row in enumerate(reply.data)]
    if sorted(order) != list(range(len(texts))):
        raise BadReply(f"{where} has indices {sorted(order)[:10]}, expected 0..{len(texts) - 1} once each")
    vectors: list[np.ndarray] = [np.empty(0, np.float32)] * len(texts)
    for row, index in zip(reply.data, order, strict=True):
        vectors[index] = _decode_vector(row.embedding, index, where)
    dims = {len(v) for v in vectors}
    if len(dims) != 1 or 0 in dims:
        sizes = [len(v) for v in vectors]
        raise BadReply(f"{where} has vectors of varying or zero dimension: {sizes[:10]} (input index order)")
    dim = dims.pop()
    if dimensions is not None and dim != dimensions:
        raise BadReply(f"{where} has {dim}-dimensional vectors, but `dimensions` asked for {dimensions}")
    matrix = np.vstack(vectors)
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise BadReply(f"{where}: the vector of input {at} ({texts[at][:60]!r}) holds NaN or infinity")
    tokens = (reply.usage.prompt_tokens or reply.usage.total_tokens or 0) if reply.usage else 0
    return Embeddings(vectors=matrix, model=reply.model, prompt_tokens=tokens)


class _RerankRow(BaseModel):
    index: int
    relevance_score: float | None = None
    score: float | None = None


class _RerankReply(BaseModel):
    results: list[_RerankRow] | None = None
    data: list[_RerankRow] | None = None
    usage: _Usage | None = None

    _usage = field_validator("usage", mode="before")(_usage_object)
    model: str | None = None


class Rerank(BaseModel):
    """A validated rerank reply: `scores[i]` is document i's relevance score (input order)."""

    scores: list[float]
    tokens: int = 0
    shape: str = Field(description="which reply shape it had: results, data or list")


def read_rerank(data: bytes, query: str, documents: list[str]) -> Rerank:
    """Validate a rerank reply (any accepted shape) to `query` over `documents`; BadReply names the problem."""
    shown = query if len(query) <= 60 else query[:59] + "…"
    where = f"the /rerank reply for query {shown!r} over {len(documents)} document(s)"
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        raise BadReply(f"{where} is not JSON: {data[:120]!r}") from None
    shape = "list"
    try:
        if isinstance(payload, list):
            rows = [_RerankRow.model_validate(row) for row in payload]
            usage = None
        else:
            reply = _RerankReply.model_validate(payload)
            shape = "results" if reply.results is not None else "data"
            found = reply.results if reply.results is not None else reply.data
            if found is None:
                raise BadReply(
                    f"{where} has neither `results` (Cohere, Jina, vLLM, llama.cpp) nor `data`, nor is it a list (TEI)"
                )
            rows, usage = found, reply.usage
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise BadReply(f"{where} is not a rerank result list ({place}: {first['msg']})") from None
    scores: list[float | None] = [None] * len(documents)
    for row in rows:
        if not 0 <= row.index < len(documents):
            raise BadReply(f"{where}: index {row.index} is out of range for {len(documents)} document(s)")
        if scores[row.index] is not None:
            raise BadReply(f"{where}: index {row.index} is scored twice")
        value = row.relevance_score if row.relevance_score is not None else row.score
        if value is None or not math.isfinite(value):
            raise BadReply(f"{where}: document {row.index} has no finite `relevance_score` / `score` ({value!r})")
        scores[row.index] = value
    missing = [i for i, s in enumerate(scores) if s is None]
    if missing:
        raise BadReply(
            f"{where} scores {len(documents) - len(missing)} of {len(documents)} documents (missing index "
            f"{missing[0]}); every candidate must be scored (do not send top_n)"
        )
    tokens = (usage.total_tokens or usage.prompt_tokens or 0) if usage else 0
    return Rerank(scores=[float(s) for s in scores if s is not None], tokens=tokens, shape=shape)
