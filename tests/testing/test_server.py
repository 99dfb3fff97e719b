"""The fake OpenAI server speaks the OpenAI wire format: checked with the real openai SDK and httpx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from pytest_llmeval.testing import FakeOpenAIServer, ReplyRule, canonical_body_sha256

QUESTION = "What is the capital of France ?"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(output_tokens=8) as srv:
        yield srv


@pytest.fixture
def client(server: FakeOpenAIServer) -> openai.OpenAI:
    server.reset()
    return openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)


def sse_events(response: httpx.Response) -> list[str]:
    """The ``data:`` payloads of an SSE response, in order."""
    return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]


def user(text: str) -> Any:  # Any: the SDK wants its TypedDict message params
    return [{"role": "user", "content": text}]


def test_models_lists_the_configured_model(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["fake-model"]


def test_non_stream_chat_echoes_output_tokens_words_with_usage(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="fake-model", messages=user("one two three"))
    assert reply.object == "chat.completion"
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "one two three one two three one two"
    assert choice.finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (3, 8, 11)


def test_stream_concatenates_to_the_non_stream_reply_with_usage_chunk(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(model="fake-model", messages=user(QUESTION))
    stream = client.chat.completions.create(
        model="fake-model", messages=user(QUESTION), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) == 8  # one chunk per token
    assert "".join(content) == full.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None and last.usage.completion_tokens == 8 and last.usage.prompt_tokens == 7


def test_stream_without_include_usage_has_no_usage_chunk_and_ends_with_done(server: FakeOpenAIServer) -> None:
    body = {"model": "m", "messages": user("hi"), "stream": True}
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["transfer-encoding"] == "chunked"
        events = sse_events(response)
    assert events[-1] == "[DONE]"
    parsed = [json.loads(e) for e in events[:-1]]
    assert all(p["choices"] for p in parsed)
    assert all("usage" not in p for p in parsed)


def test_httpx_non_stream_has_content_length_and_keeps_the_connection(server: FakeOpenAIServer) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        first = http.post("/chat/completions", json={"model": "m", "messages": user("a")})
        second = http.post("/chat/completions", json={"model": "m", "messages": user("b")})
    assert int(first.headers["content-length"]) == len(first.content)
    assert first.json()["choices"][0]["message"]["content"].startswith("a a")
    assert second.json()["choices"][0]["message"]["content"].startswith("b b")
    assert "connection" not in first.headers  # keep-alive is the HTTP/1.1 default


def test_n_choices_non_stream_and_stream(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m", messages=user("x y"), n=3)
    assert [c.index for c in reply.choices] == [0, 1, 2]
    assert reply.usage is not None and reply.usage.completion_tokens == 24
    chunks = list(client.chat.completions.create(model="m", messages=user("x y"), n=3, stream=True))
    texts: dict[int, str] = {}
    for c in chunks:
        for choice in c.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
    assert texts == dict.fromkeys(range(3), reply.choices[0].message.content)


def test_max_tokens_truncates_with_finish_reason_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m", messages=user("a b c"), max_tokens=3)
    assert reply.choices[0].message.content == "a b c"
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 3


@pytest.mark.parametrize("stream", [False, True])
def test_ignore_eos_yields_exactly_max_tokens(client: openai.OpenAI, stream: bool) -> None:
    kwargs: dict[str, Any] = {"model": "m", "messages": user("a b"), "max_tokens": 50}
    kwargs["extra_body"] = {"ignore_eos": True}
    if stream:
        chunks = list(client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kwargs))
        pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
        assert len(pieces) == 50
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 50
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert finish == ["length"]
    else:
        reply = client.chat.completions.create(**kwargs)
        assert len(reply.choices[0].message.content.split()) == 50
        assert reply.usage is not None and reply.usage.completion_tokens == 50
        assert reply.choices[0].finish_reason == "length"


def test_min_tokens_pads_a_short_reply(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m", messages=user("a"), max_tokens=4, extra_body={"min_tokens": 2})
    assert reply.choices[0].message.content == "a a a a"  # echo gives 8, max_tokens cuts to 4
    padded = client.chat.completions.create(model="m", messages=user("a"), extra_body={"min_tokens": 12})
    assert padded.usage is not None and padded.usage.completion_tokens == 12
    assert padded.choices[0].finish_reason == "stop"


def test_completions_endpoint_non_stream_and_stream(client: openai.OpenAI) -> None:
    done = client.completions.create(model="m", prompt="one two", max_tokens=3)
    assert done.choices[0].text == "one two one"
    assert done.choices[0].finish_reason == "length"
    assert done.usage is not None and done.usage.prompt_tokens == 2
    pieces = [
        c.choices[0].text for c in client.completions.create(model="m", prompt="one two", stream=True) if c.choices
    ]
    assert "".join(pieces) == "one two one two one two one two"


def test_stats_count_chat_requests_by_body_hash_ignoring_stream(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    body_a = {"model": "m", "messages": user("question A")}
    body_b = {"model": "m", "messages": user("question B"), "temperature": 0.0}
    client.chat.completions.create(**body_a)
    list(client.chat.completions.create(**body_a, stream=True, stream_options={"include_usage": True}))
    client.chat.completions.create(**body_b)
    client.models.list()
    stats = server.stats()
    assert stats["chat_by_body_sha256"] == {canonical_body_sha256(body_a): 2, canonical_body_sha256(body_b): 1}
    assert stats["total_requests"] == 4
    assert stats["endpoints"] == {"POST /v1/chat/completions": 3, "GET /v1/models": 1}
    assert stats["statuses"] == {"200": 4}
    server.reset()
    after = server.stats()
    assert after["total_requests"] == 0 and after["chat_by_body_sha256"] == {}


def test_stats_report_max_in_flight_of_concurrent_delayed_requests() -> None:
    import concurrent.futures

    with FakeOpenAIServer(latency_s=0.3) as srv:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [
                pool.submit(httpx.post, srv.base_url + "/chat/completions", json={"model": "m", "messages": user("q")})
                for _ in range(4)
            ]
            assert all(f.result().status_code == 200 for f in futures)
        stats = srv.stats()
    assert stats["max_in_flight"] == 4
    assert stats["in_flight"] == 0


def test_rules_responder_answers_per_question_with_reasoning() -> None:
    rules = [
        ReplyRule(contains="capital of France", reply="The answer is Paris.", reasoning="France -> Paris"),
        ReplyRule(contains="2+2", reply="The answer is 5."),
    ]
    with FakeOpenAIServer(rules=rules, default_reply="No idea.") as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key=srv.api_key, max_retries=0)

        def ask(text: str) -> Any:
            return client.chat.completions.create(model="m", messages=user(text)).choices[0].message

        france = ask("What is the capital of France?")
        assert france.content == "The answer is Paris."
        assert getattr(france, "reasoning_content", None) == "France -> Paris"
        assert ask("What is 2+2?").content == "The answer is 5."
        assert ask("Who wrote Hamlet?").content == "No idea."
        chunks = list(client.chat.completions.create(model="m", messages=user("capital of France"), stream=True))
        reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
        assert reasoning == "France -> Paris"


def test_rules_match_only_the_last_user_message() -> None:
    with FakeOpenAIServer(rules=[ReplyRule(contains="secret", reply="found")], default_reply="nope") as srv:
        messages = [
            {"role": "system", "content": "secret system prompt"},
            {"role": "user", "content": "hello"},
        ]
        reply = httpx.post(srv.base_url + "/chat/completions", json={"model": "m", "messages": messages}).json()
    assert reply["choices"][0]["message"]["content"] == "nope"


def test_think_option_prefixes_the_content() -> None:
    with FakeOpenAIServer(fixed_reply="42", think="pondering") as srv:
        reply = httpx.post(srv.base_url + "/chat/completions", json={"model": "m", "messages": user("q")}).json()
    assert reply["choices"][0]["message"]["content"] == "<think>\npondering\n</think>\n\n42"


def test_multimodal_content_parts_are_read_as_text(client: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "cat dog"}]}]
    reply = client.chat.completions.create(model="m", messages=messages, max_tokens=2)
    assert reply.choices[0].message.content == "cat dog"


def test_wrong_api_key_gets_401_with_openai_error_json() -> None:
    with FakeOpenAIServer(require_api_key="sk-right") as srv:
        wrong = openai.OpenAI(base_url=srv.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as info:
            wrong.chat.completions.create(model="m", messages=user("q"))
        assert "require_api_key" in str(info.value)
        raw = httpx.get(srv.base_url + "/models")
        assert raw.status_code == 401
        assert raw.json()["error"]["code"] == "invalid_api_key"
        right = openai.OpenAI(base_url=srv.base_url, api_key="sk-right", max_retries=0)
        assert right.chat.completions.create(model="m", messages=user("q")).choices
        assert srv.stats()["statuses"] == {"401": 2, "200": 1}


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"model": "m"}', "messages"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "q"}], "n": 0}', "n must be"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "q"}], "max_tokens": -3}', "max_tokens"),
    ],
)
def test_invalid_requests_get_400_naming_the_problem(server: FakeOpenAIServer, payload: bytes, needle: str) -> None:
    response = httpx.post(
        server.base_url + "/chat/completions", content=payload, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_unknown_route_404_and_wrong_method_405(server: FakeOpenAIServer) -> None:
    missing = httpx.get(server.base_url + "/audio/speech")  # (/embeddings is served: testing/_vectors.py)
    assert missing.status_code == 404
    assert "/v1/chat/completions" in missing.json()["error"]["message"]
    assert httpx.get(server.base_url + "/chat/completions").status_code == 405
