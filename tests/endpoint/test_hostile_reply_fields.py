"""A reply that is JSON but holds the wrong types (a list where the answer text belongs, a number as the
finish reason, a usage object of strings) fails its own sample as a `bad_response` (or, for a usage
that cannot be read, is used without it), and whatever such a field quotes, the API key included,
reaches nothing the plugin prints or writes: a real loopback server answering each question its own
hostile way, in real runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_jsonl
from tests.core.loopback import JsonHandler, ThreadedServer
from tests.runs import dataset, llm_args, output_of, read_jsonl

KEY = "sk-proj-HostileFields0123456789abcdef"


def _message(content: Any, finish: Any = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}]
    } | extra


# question keyword -> the whole (non-streamed) reply; `KEY` is replaced by the request's bearer key
REPLIES: dict[str, Any] = {
    "listed": _message(["KEY"]),  # content as a list quoting the key
    "numbered": _message("The answer is 5.", finish=["KEY"]),  # finish_reason a list
    "counted": _message("The answer is 5.", usage={"prompt_tokens": "KEY", "completion_tokens": -3}),
    "quoted": _message("The answer is 5.", finish="KEY", model="KEY"),  # strings, cached as they came
    "fine": _message("The answer is 5."),
}
# question keyword -> the stream's data events
STREAMS: dict[str, list[Any]] = {
    "listed": [{"choices": [{"index": 0, "delta": {"content": ["KEY"]}, "finish_reason": None}]}],
    "numbered": [{"choices": [{"index": "KEY", "delta": {"content": "5"}, "finish_reason": "stop"}]}],
    "counted": [
        {"choices": [{"index": 0, "delta": {"content": "The answer is 5."}, "finish_reason": "stop"}]},
        {"choices": [], "usage": ["KEY"], "model": ["KEY"]},
    ],
    "quoted": [
        {"model": "KEY", "choices": [{"index": 0, "delta": {"content": "The answer is 5."}, "finish_reason": "KEY"}]}
    ],
    "fine": [{"choices": [{"index": 0, "delta": {"content": "The answer is 5."}, "finish_reason": "stop"}]}],
}


def _quoting(value: Any, key: str) -> Any:
    return json.loads(json.dumps(value).replace("KEY", key))


class HostileServer(ThreadedServer):
    def __init__(self) -> None:
        class Handler(JsonHandler):
            def do_GET(self) -> None:
                self._reply(json.dumps({"object": "list", "data": [{"id": "m"}]}).encode())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                text = json.dumps(body["messages"])
                word = next(w for w in REPLIES if w in text)
                if body.get("stream"):
                    events = [_quoting(e, key) for e in STREAMS[word]]
                    data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
                    self._reply(data + b"data: [DONE]\n\n", "text/event-stream")
                else:
                    self._reply(json.dumps(_quoting(REPLIES[word], key)).encode())

        super().__init__(Handler)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


def _run(pytester: pytest.Pytester, server: HostileServer, tmp_path: Path, *args: str) -> tuple[str, dict[str, Any]]:
    words = list(REPLIES)
    data = write_jsonl(tmp_path / "gsm8k.jsonl", [{"question": f"{w}: 2 + 3?", "answer": "#### 5"} for w in words])
    samples, junit = tmp_path / "s.jsonl", tmp_path / "junit.xml"
    result = pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="m"),
        *dataset("gsm8k", data),
        "--llm-api-key",
        KEY,
        "--llm-samples",
        str(samples),
        "--junitxml",
        str(junit),
        "--llm-retries",
        "0",
        "-rA",
        *args,
    )
    written = output_of(result) + junit.read_text() + samples.read_text()
    cache = pytester.path / ".pytest_cache" / "llmeval"
    written += "".join(p.read_bytes().decode("latin-1") for p in cache.rglob("*") if p.is_file())
    assert KEY not in written and KEY[8:30] not in written
    by_word = {words[int(r["id"])]: r for r in read_jsonl(samples)}
    return output_of(result), by_word


@pytest.mark.parametrize("stream", [[], ["--llm-stream"]], ids=["whole", "streamed"])
def test_fields_of_the_wrong_type_fail_their_sample_as_a_bad_response_and_leak_nothing(
    pytester, server, tmp_path, stream
):
    output, records = _run(pytester, server, tmp_path, *stream)
    for word in ("listed", "numbered"):
        assert records[word]["error_kind"] == "bad_response", records[word]
        assert "not a string" in records[word]["error"] or "whole-number" in records[word]["error"]
    # an unreadable usage object leaves the answer usable
    for word in ("counted", "fine"):
        assert records[word]["error"] is None and records[word]["passed"] is True, records[word]
    assert "ValidationError" not in output and "TypeError" not in output


@pytest.mark.parametrize("stream", [[], ["--llm-stream"]], ids=["whole", "streamed"])
def test_a_key_in_the_finish_reason_or_model_name_is_redacted_before_the_cache(pytester, server, tmp_path, stream):
    """Every text of a reply is cached, not only the answer: the key a server puts in `finish_reason`
    or `model` is `[REDACTED]` there (`_run` searches the cache, samples, JUnit XML and output)."""
    _, records = _run(pytester, server, tmp_path, *stream)
    assert records["quoted"]["passed"] is True and records["quoted"]["finish_reason"] == "[REDACTED]"
