"""A hostile dataset hub, on loopback, against the real hub clients (docs/security.md, "Dataset
hubs"): file names that write outside the dataset's folder, answers that trickle forever, listings
without end, files larger than allowed. Each attack is refused with the limit or rule that stopped
it named, and nothing is written outside the cache."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.testing.modelscope_hub import ModelScopeStandIn
from tests.conftest import IQUIZ_ROWS, IQUIZ_RULES
from tests.core.test_evaluation import chat_requests, run

pytest.importorskip("modelscope")


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


IQ = jsonl(IQUIZ_ROWS["IQ"])
EQ = jsonl(IQUIZ_ROWS["EQ"])


def iquiz(**extra: bytes) -> dict[str, dict[str, bytes]]:
    return {"AI-ModelScope/IQuiz": {"IQ/test.jsonl": IQ, "EQ/test.jsonl": EQ, **extra}}


@pytest.fixture
def ms_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms-cache"))
    for name in (
        "MODELSCOPE_OFFLINE",
        "MODELSCOPE_DOMAIN",
        "HF_HUB_OFFLINE",
        "HF_DATASETS_OFFLINE",
        "MODELSCOPE_DOWNLOAD_TOTAL_TIMEOUT",
        "MODELSCOPE_DOWNLOAD_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _load(name: str, subset: str, hub: str, queue: Any) -> None:
    import datasets  # noqa: F401 (imported before the download's clock starts, as in a warm run)

    from pytest_llmeval.benchmarks import get_benchmark
    from pytest_llmeval.benchmarks.loading import DatasetLoader

    try:
        samples = list(get_benchmark(name)({}).load(subset, DatasetLoader({}, hub=hub)))
        queue.put(("ok", len(samples)))
    except Exception as exc:
        queue.put((type(exc).__name__, str(exc)))


def load_in_child(name: str, subset: str, timeout: float = 180, hub: str = "modelscope") -> tuple[str, Any]:
    """Load one subset from `hub` in a fresh process (the hub clients read their settings when
    first imported), as a run would; a child still busy after `timeout` is killed and reported as
    hanging."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_load, args=(name, subset, hub, queue))
    child.start()
    try:
        return queue.get(timeout=timeout)
    except Exception:
        return "hang", f"no answer within {timeout} s"
    finally:
        child.kill()
        child.join(10)


def cache_files(tmp_path: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "ms-cache").rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "name",
    [
        "{abs}",  # the reported attack: an absolute path in a listing entry
        "../escaped.jsonl",
        "IQ/../../../escaped.jsonl",
        "..\\..\\escaped.jsonl",  # a Windows traversal
        "IQ/a\x00b.jsonl",
        "\uff0e\uff0e/escaped.jsonl",  # fullwidth dots: '../escaped.jsonl' after NFKC normalisation
        "C:/escaped.jsonl",
    ],
    ids=["absolute", "dotdot", "inner-dotdot", "backslash", "nul", "fullwidth", "drive"],
)
def test_a_listing_naming_a_file_outside_the_dataset_is_refused_before_any_write(ms_env, tmp_path, name):
    target = tmp_path / "outside" / "escaped.jsonl"
    target.parent.mkdir()
    name = name.replace("{abs}", str(target))
    with ModelScopeStandIn(iquiz(**{name: b'{"pwned": true}\n'})) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        kind, message = load_in_child("iquiz", "IQ")
        downloads = [r for r in hub.requests if "FilePath=" in r]
    assert kind == "DatasetError" and "names the file" in message and "refused before anything was written" in message
    assert not target.exists() and not list(tmp_path.rglob("escaped.jsonl"))
    assert downloads == []  # nothing was fetched at all: the listing is not trusted for the other files


def test_an_absolute_path_in_a_listing_fails_the_run_with_one_clear_error(pytester, start_server, ms_env, tmp_path):
    target = tmp_path / "outside" / "x.jsonl"
    target.parent.mkdir()
    server = start_server(rules=IQUIZ_RULES)
    with ModelScopeStandIn(iquiz(**{str(target): b'{"pwned": true}\n'})) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        result = run(pytester, server, "-m", "iquiz", "--llm-no-cache")
    out = result.stdout.str()
    assert "which is an absolute path" in out and "--llm-dataset iquiz=PATH" in out
    assert "Traceback" not in out and not target.exists()
    assert chat_requests(server) == 0


def test_a_trickling_file_is_stopped_by_the_deadline(ms_env, tmp_path):
    with ModelScopeStandIn(iquiz(), trickle={"IQ/test.jsonl"}) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        # long enough for the listing and the download process to start on a loaded machine
        ms_env.setenv("LLMEVAL_HUB_TIMEOUT", "15")
        kind, message = load_in_child("iquiz", "IQ")
        assert hub.trickled > 0  # the attack ran: bytes were arriving when the deadline hit
    assert kind == "HubLimitError" and "LLMEVAL_HUB_TIMEOUT" in message, (kind, message)
    assert "took longer than 15 s" in message


def test_a_trickling_listing_is_stopped_by_the_deadline(ms_env):
    with ModelScopeStandIn(iquiz(), trickle={"/tree"}) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        ms_env.setenv("LLMEVAL_HUB_TIMEOUT", "6")
        kind, message = load_in_child("iquiz", "IQ")
        assert hub.trickled > 0
    assert kind == "HubLimitError" and "took longer than 6 s (LLMEVAL_HUB_TIMEOUT)" in message, (kind, message)


def test_an_endless_listing_is_stopped_by_the_request_limit(ms_env):
    with ModelScopeStandIn(iquiz(), endless_listing=True) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        ms_env.setenv("LLMEVAL_HUB_MAX_REQUESTS", "25")
        kind, message = load_in_child("iquiz", "IQ")
        pages = [r for r in hub.requests if "/repo/tree" in r]
    assert kind == "HubLimitError" and "more than 25 requests" in message and "LLMEVAL_HUB_MAX_REQUESTS" in message
    assert len(pages) == 25


def test_a_modelscope_listing_too_large_for_memory_is_stopped_by_the_listing_limit(ms_env):
    with ModelScopeStandIn(iquiz(), endless_listing=True) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        ms_env.setenv("LLMEVAL_HUB_MAX_LISTING", "64K")
        kind, message = load_in_child("iquiz", "IQ")
    assert kind == "HubLimitError" and "passed 64K (LLMEVAL_HUB_MAX_LISTING)" in message, (kind, message)


def test_a_listing_announcing_too_many_bytes_is_refused_before_the_download(ms_env, tmp_path):
    with ModelScopeStandIn(iquiz(), sizes={"IQ/test.jsonl": 3 * 1024**3}) as hub:  # "3 GB"
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        ms_env.setenv("LLMEVAL_HUB_MAX_BYTES", "1M")
        kind, message = load_in_child("iquiz", "IQ")
        downloads = [r for r in hub.requests if "FilePath=" in r]
    assert kind == "HubLimitError" and "LLMEVAL_HUB_MAX_BYTES" in message and "over 1M" in message
    assert downloads == [] and cache_files(tmp_path) == []


def test_a_file_larger_than_its_listing_says_is_refused(ms_env, tmp_path):
    big = IQ + b" " * (2 * 1024 * 1024)  # 2 MB more than the listing's 10 bytes
    with ModelScopeStandIn(iquiz(**{"IQ/test.jsonl": big}), sizes={"IQ/test.jsonl": 10}) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        kind, message = load_in_child("iquiz", "IQ")
    assert kind == "HubLimitError" and "another size than its listing announced" in message, (kind, message)
    assert not any(p.stat().st_size > 1024 * 1024 for p in (tmp_path / "ms-cache").rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LLMEVAL_HUB_TIMEOUT", "soon", "positive number of seconds"),
        ("LLMEVAL_HUB_MAX_BYTES", "-3", "positive whole number"),
    ],
)
def test_a_bad_limit_value_names_the_variable(monkeypatch, name, value, message):
    from pytest_llmeval.benchmarks.hub_limits import HubLimits
    from pytest_llmeval.errors import ConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}=.*{message}"):
        HubLimits.from_env()


# -- the Hugging Face hub: `datasets` and `huggingface_hub` against a hostile stand-in ------------

GSM8K_CARD = b"""---
configs:
- config_name: main
  data_files:
  - split: test
    path: main/test*
  - split: train
    path: main/train*
---
"""


def gsm8k_repo(test: bytes | None = None) -> dict[str, dict[str, bytes]]:
    from tests.conftest import GSM8K_ROWS

    # the train rows are the default protocol's 4 few-shot examples
    return {
        "openai/gsm8k": {
            "README.md": GSM8K_CARD,
            "main/test.jsonl": test or jsonl(GSM8K_ROWS[:2]),
            "main/train.jsonl": jsonl(GSM8K_ROWS),
        }
    }


@pytest.fixture
def hf_env(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_XET"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_hugging_face_stand_in_serves_a_normal_load(hf_env):
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    with HuggingFaceStandIn(gsm8k_repo()) as hub:
        hf_env.setenv("HF_ENDPOINT", hub.url)
        assert load_in_child("gsm8k", "main", hub="huggingface") == ("ok", 2)


def test_a_trickling_hugging_face_file_is_stopped_by_the_deadline(hf_env):
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    with HuggingFaceStandIn(gsm8k_repo(), trickle={"main/test.jsonl"}) as hub:
        hf_env.setenv("HF_ENDPOINT", hub.url)
        hf_env.setenv("LLMEVAL_HUB_TIMEOUT", "12")  # long enough for the few requests before the file
        kind, message = load_in_child("gsm8k", "main", hub="huggingface")
        assert hub.trickled > 0  # the attack ran: bytes were arriving when the deadline hit
    assert kind == "HubLimitError" and "took longer than 12 s (LLMEVAL_HUB_TIMEOUT)" in message, (kind, message)


def test_an_endless_hugging_face_listing_is_stopped_by_the_request_limit(hf_env):
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    with HuggingFaceStandIn(gsm8k_repo(), endless_listing=True) as hub:
        hf_env.setenv("HF_ENDPOINT", hub.url)
        hf_env.setenv("LLMEVAL_HUB_MAX_REQUESTS", "40")
        kind, message = load_in_child("gsm8k", "main", hub="huggingface")
        pages = [r for r in hub.requests if "/tree/" in r]
    assert kind == "HubLimitError" and "more than 40 requests" in message, (kind, message)
    assert len(pages) < 40


def test_an_oversized_hugging_face_file_is_stopped_by_the_size_limit(hf_env, tmp_path):
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    big = jsonl([{"question": "x" * 1000, "answer": "#### 1"}] * 3000)  # about 3 MB
    with HuggingFaceStandIn(gsm8k_repo(big)) as hub:
        hf_env.setenv("HF_ENDPOINT", hub.url)
        hf_env.setenv("LLMEVAL_HUB_MAX_BYTES", "1M")
        kind, message = load_in_child("gsm8k", "main", hub="huggingface")
    assert kind == "HubLimitError" and "sent more than 1M (LLMEVAL_HUB_MAX_BYTES)" in message, (kind, message)
    assert not any(p.stat().st_size > 1024 * 1024 for p in (tmp_path / "hf").rglob("*") if p.is_file())


def test_a_hugging_face_listing_too_large_for_memory_is_stopped_by_the_listing_limit(hf_env):
    """Listings are held in memory by the clients (files are streamed to disk): an endless one is
    stopped by its own, smaller limit long before the size limit of the download."""
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    with HuggingFaceStandIn(gsm8k_repo(), endless_listing=True) as hub:
        hf_env.setenv("HF_ENDPOINT", hub.url)
        hf_env.setenv("LLMEVAL_HUB_MAX_LISTING", "64K")
        kind, message = load_in_child("gsm8k", "main", hub="huggingface")
    assert kind == "HubLimitError" and "passed 64K (LLMEVAL_HUB_MAX_LISTING)" in message, (kind, message)
