"""Shared fixtures: a real OpenAI-compatible server on loopback and small benchmark files."""

from __future__ import annotations

import json
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig

# math-verify's parser picks its ANTLR grammar by reading the installed runtime's version from the
# distribution metadata at import time; a later test in the same worker that changes what
# importlib.metadata sees made that lookup fail in CI (ImportError "Unsupported ANTLR version ").
# Import it once, when the tests load. httpx-aiohttp (the perf path's httpx-over-aiohttp backend) and httpcore2
# (the openai client's transport) read versions from the metadata at import time in the same way
# and failed there with PackageNotFoundError.
for _reads_metadata in ("math_verify", "httpx_aiohttp", "httpcore2"):
    try:
        __import__(_reads_metadata)
    except ImportError:
        pass

# Parquet files the tests read are copied as JSON lines on first read (benchmarks/parquet_rows.py):
# into a folder of the tests' own, never the user's cache (subprocess runs inherit it).
os.environ.setdefault("LLMEVAL_ROWS_CACHE", tempfile.mkdtemp(prefix="llmeval-rows-"))

pytest_plugins = ["pytester"]

GSM8K_ROWS = [
    {"question": "Tom has 2 apples and buys 3 more. How many apples?", "answer": "2 + 3 = 5\n#### 5"},
    {"question": "A box holds 250 pens. How many pens are in 4 boxes?", "answer": "250 * 4 = 1000\n#### 1,000"},
    {"question": "Sara reads 12 pages a day for 3 days. How many pages?", "answer": "12 * 3 = 36\n#### 36"},
    {"question": "A bus has 40 seats and 7 are empty. How many are taken?", "answer": "40 - 7 = 33\n#### 33"},
]

# The fake model: right on the first three questions, wrong on the bus question.
GSM8K_RULES = [
    {"contains": "apples", "reply": "2 + 3 = 5. The answer is \\boxed{5}."},
    {"contains": "pens", "reply": "250 times 4 is 1,000 pens.\n\\boxed{1,000}"},
    {"contains": "pages", "reply": "12 * 3 = 36, so the final answer is 36"},
    {"contains": "bus", "reply": "40 + 7 = 47. \\boxed{47}"},
]

IQUIZ_ROWS = {
    "IQ": [
        {"question": "1, 2, 4, 8, ? 下一个数是多少？", "choices": ["10", "12", "16", "18"], "answer": "C", "level": 1},
        {"question": "哪个图形与众不同？", "choices": ["圆", "正方形", "三角形", "苹果"], "answer": "D", "level": 2},
    ],
    "EQ": [
        {
            "question": "朋友失恋了，你应该怎么做？",
            "choices": ["嘲笑他", "陪伴倾听", "不理他", "讲大道理"],
            "answer": "B",
            "level": 1,
        },
        {
            "question": "同事抢了你的功劳，最好的做法是？",
            "choices": ["当众争吵", "私下沟通", "报复", "辞职"],
            "answer": "B",
            "level": 2,
        },
    ],
}

IQUIZ_RULES = [
    {"contains": "下一个数", "reply": "每次乘以2，所以是16。\n答案是：C"},
    {"contains": "与众不同", "reply": "前三个都是几何图形。\n答案是：A"},
    {"contains": "失恋", "reply": "应该陪伴。答案是：B"},
    {"contains": "功劳", "reply": "The answer is (B)"},
]


def pytest_configure(config: pytest.Config) -> None:
    # A suite started in the background (`nohup`, `cmd &` in a script) inherits SIGINT ignored, and
    # every child would too: the Ctrl-C tests could not interrupt anything. A handler (not "ignore")
    # here resets to the default in each child at exec.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester whose runs have the test's own folder as pytest's rootdir (`--rootdir` through
    PYTEST_ADDOPTS), and with it their own default response cache, `.pytest_cache/llmeval`. Without
    it pytest takes the common ancestor of the folder and of every existing path on the command line
    (a tokenizer in tmp_path, the results file of an earlier run): a folder the tests of one worker
    share, where one test is answered from another test's cache."""
    monkeypatch.setenv("PYTEST_ADDOPTS", f"--rootdir={pytester.path}")
    return pytester


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def gsm8k_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "data" / "gsm8k.jsonl", GSM8K_ROWS)


@pytest.fixture
def iquiz_dir(tmp_path: Path) -> Path:
    for subset, rows in IQUIZ_ROWS.items():
        write_jsonl(tmp_path / "data" / "iquiz" / f"{subset}.jsonl", rows)
    return tmp_path / "data" / "iquiz"


@pytest.fixture
def start_server() -> Iterator[Callable[..., FakeOpenAIServer]]:
    """Start fake servers with any FakeServerConfig fields; all are stopped after the test."""
    servers: list[FakeOpenAIServer] = []

    def start(**fields: Any) -> FakeOpenAIServer:
        server = FakeOpenAIServer(FakeServerConfig(**fields)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def model_server(start_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return start_server(rules=GSM8K_RULES + IQUIZ_RULES)
