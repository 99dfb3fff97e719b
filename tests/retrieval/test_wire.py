"""The embeddings reply reader on replies no test server sends: each breaks the format one way."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from pytest_llmeval.retrieval.wire import BadReply, read_embeddings


def _reply(*rows: object) -> bytes:
    return json.dumps({"data": [{"index": i, "embedding": r} for i, r in enumerate(rows)]}).encode()


def test_rows_are_put_back_in_index_order() -> None:
    data = json.dumps({"data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}]})
    assert read_embeddings(data.encode(), ["a", "b"]).vectors.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_base64_is_little_endian_float32() -> None:
    packed = base64.b64encode(np.array([0.5, -2.0], dtype="<f4").tobytes()).decode()
    assert read_embeddings(_reply(packed), ["a"]).vectors.tolist() == [[0.5, -2.0]]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (_reply([1.0, 2.0]), "has 2-dimensional vectors, but `dimensions` asked for 3"),
        (_reply(base64.b64encode(b"abcde").decode()), "is 5 bytes, not whole float32 values"),
        (_reply("not base64 !"), "neither a list of floats nor base64"),
        (b'{"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}', "indices [0, 0]"),
        (b'{"object": "error"}', "is not an embeddings list (data: Field required)"),
        (_reply([]), "varying or zero dimension"),
    ],
)
def test_a_broken_reply_names_the_problem(data: bytes, says: str) -> None:
    texts = ["only input"] if b'"index": 0, "embedding": [1.0]}, {"index": 0' not in data else ["a", "b"]
    with pytest.raises(BadReply) as caught:
        read_embeddings(data, texts, dimensions=3 if b"[1.0, 2.0]" in data else None)
    assert says in str(caught.value) and "the /embeddings reply for" in str(caught.value)
