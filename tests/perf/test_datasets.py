"""Prompts: exact lengths under a tokenizer, shared prefixes, images, file datasets."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest

from pytest_llmeval.errors import ConfigError, DatasetError
from pytest_llmeval.perf.datasets import build_prompts
from pytest_llmeval.perf.load import make_spec
from pytest_llmeval.perf.tokenizer import exact_prompt, load_tokenizer


@pytest.mark.parametrize("kind", ["wordlevel_tokenizer", "bpe_tokenizer"])
def test_random_prompts_have_exact_token_lengths(kind: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(kind)
    tokenizer = load_tokenizer(path.parent)  # a folder holding tokenizer.json
    workload = make_spec({"prompt_tokens": [20, 60], "prefix_length": 8}).workload
    prompts = build_prompts(workload, 30, tokenizer, seed=1)
    lengths = [len(tokenizer.encode(p.text)) for p in prompts]
    assert all(p.exact for p in prompts)
    assert lengths == [p.tokens for p in prompts]
    assert all(28 <= n <= 68 for n in lengths)
    assert len(set(lengths)) > 5  # drawn uniformly, not one length
    first_words = {tuple(tokenizer.encode(p.text)[:6]) for p in prompts}
    assert len(first_words) == 1  # the shared prefix


def test_exact_prompt_lengths_with_bpe(bpe_tokenizer: Path) -> None:
    tokenizer = load_tokenizer(bpe_tokenizer)
    rng = random.Random(3)
    for length in (1, 2, 17, 300):
        text, real = exact_prompt(tokenizer, length, rng)
        assert real == length
        assert len(tokenizer.encode(text)) == length


def test_without_tokenizer_lengths_are_approximate_words() -> None:
    workload = make_spec({"prompt_tokens": 50}).workload
    prompts = build_prompts(workload, 3, None, seed=0)
    assert all(len(p.text.split()) == 50 and not p.exact for p in prompts)


def test_missing_tokenizer_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_tokenizer(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="tokenizer"):
        load_tokenizer(tmp_path / "empty")


def test_random_vl_images_are_data_urls_of_the_asked_size() -> None:
    workload = make_spec(
        {"dataset": "random_vl", "prompt_tokens": 5, "image_width": 32, "image_height": 16, "image_num": 2}
    ).workload
    prompts = build_prompts(workload, 2, None, seed=0)
    parts = prompts[0].messages[0]["content"]
    assert parts[0]["type"] == "text" and len(parts) == 3
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    png = base64.b64decode(url.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == 32 and int.from_bytes(png[20:24], "big") == 16
    assert parts[1] != parts[2] and prompts[0].messages != prompts[1].messages  # fresh noise each time
    bmp = make_spec({"dataset": "random_vl", "image_format": "bmp", "image_width": 3, "image_height": 2}).workload
    data = base64.b64decode(
        build_prompts(bmp, 1, None, 0)[0].messages[0]["content"][1]["image_url"]["url"].split(",")[1]
    )
    assert data[:2] == b"BM" and len(data) == 54 + 2 * 12  # rows padded to 4 bytes


def test_file_datasets(tmp_path: Path) -> None:
    openqa = tmp_path / "open_qa.jsonl"
    openqa.write_text('{"question": "why is the sky blue?"}\n\n{"question": "what is 2+2?"}\n', encoding="utf-8")
    prompts = build_prompts(make_spec({"dataset": "openqa", "dataset_path": str(openqa)}).workload, 3, None, 0)
    assert [p.messages[0]["content"] for p in prompts] == [
        "why is the sky blue?",
        "what is 2+2?",
        "why is the sky blue?",
    ]
    lines = tmp_path / "prompts.txt"
    lines.write_text("first prompt\n\nsecond prompt\n", encoding="utf-8")
    prompts = build_prompts(make_spec({"dataset": "line_by_line", "dataset_path": str(lines)}).workload, 2, None, 0)
    assert [p.text for p in prompts] == ["first prompt", "second prompt"]
    custom = tmp_path / "custom.jsonl"
    custom.write_text(
        json.dumps({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]})
        + "\n"
        + json.dumps({"prompt": "hello"})
        + "\n",
        encoding="utf-8",
    )
    prompts = build_prompts(make_spec({"dataset": "jsonl", "dataset_path": str(custom)}).workload, 2, None, 0)
    assert prompts[0].messages[0]["role"] == "system" and prompts[1].messages == [{"role": "user", "content": "hello"}]


def test_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\n{"answer": "no question"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: openqa lines need a 'question'"):
        build_prompts(make_spec({"dataset": "openqa", "dataset_path": str(bad)}).workload, 2, None, 0)
