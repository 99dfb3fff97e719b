"""LiveCodeBench's stored tests (plain JSON, or base64 of zlib of a pickled JSON string): decoded without
unpickling anything but a string, with a clear error for every malformed field."""

from __future__ import annotations

import base64
import json
import os
import pickle
import zlib
from pathlib import Path

import pytest

from pytest_llmeval.benchmarks.live_code_bench import decode_lcb_private_tests
from pytest_llmeval.errors import DatasetError

LCB_TESTS = [
    {"input": "3\n1 2 3\n", "output": "6\n", "testtype": "stdin"},
    {"input": "1\n5\n", "output": "5\n", "testtype": "stdin"},
]


def _compress(payload: object) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(payload))).decode()


def test_decode_plain_json_tests() -> None:
    assert decode_lcb_private_tests(json.dumps(LCB_TESTS)) == LCB_TESTS


def test_decode_compressed_pickled_tests() -> None:
    assert decode_lcb_private_tests(_compress(json.dumps(LCB_TESTS))) == LCB_TESTS


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (self.marker,))


def test_decode_refuses_a_pickle_that_would_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    with pytest.raises(DatasetError, match="not a plain string"):
        decode_lcb_private_tests(_compress(_Exploit(str(marker))))
    assert not marker.exists()


def test_decode_rejects_garbage_and_malformed_tests() -> None:
    with pytest.raises(DatasetError, match="neither a JSON list nor base64"):
        decode_lcb_private_tests("not base64 at all!")
    with pytest.raises(DatasetError, match="expected a pickled JSON string"):
        decode_lcb_private_tests(_compress([1, 2]))
    with pytest.raises(DatasetError, match="testtype"):
        decode_lcb_private_tests(json.dumps([{"input": "1", "output": "1", "testtype": "interactive"}]))


def test_decode_stops_at_max_bytes() -> None:
    with pytest.raises(DatasetError, match="max_bytes"):
        decode_lcb_private_tests(_compress(json.dumps(LCB_TESTS * 100)), max_bytes=100)
