"""Starts the model server for a run, when the user asked for one, and stops it at the end.

Two ways in: `--llm-serve "CMD --port {port} --served-model-name {model}"` runs any server command;
`--llm-model smollm2-135m` (or `gemma3-270m`, or a `.gguf` path) with no `--llm-base-url` serves
that model with llama.cpp. Under xdist the controller starts the server once and hands its URL to
the workers, which never start their own. The server is stopped at unconfigure (also after Ctrl-C
and failed runs), by atexit, and by a watchdog if pytest itself is killed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from .errors import ConfigError, LLMEvalError
from .settings import RunSettings

WORKER_URL_KEY = "llmeval_base_url"
WORKER_MODEL_KEY = "llmeval_served_model"


class ServerInfo(BaseModel):
    """What the `llm_server` fixture gives: where the model is served and whether we started it."""

    base_url: str | None
    model: str
    managed: bool
    log_path: Path | None = None
    command: list[str] | None = None


class ServingPlugin:
    """Holds the started server for the session (registered as "llmeval-serving")."""

    def __init__(self, settings: RunSettings, server: Any = None) -> None:
        self.settings = settings
        self.server = server

    @property
    def info(self) -> ServerInfo:
        return ServerInfo(
            base_url=self.settings.endpoint.base_url,
            model=self.settings.endpoint.model,
            managed=self.server is not None,
            log_path=self.server.log_path if self.server is not None else None,
            command=self.server.command if self.server is not None else None,
        )

    def pytest_report_header(self, config: pytest.Config) -> str | None:
        if self.server is None:
            return None
        return f"llmeval: serving {self.settings.endpoint.model} at {self.settings.endpoint.base_url} (log: {self.server.log_path})"

    def workerinput(self) -> dict[str, Any]:
        """What xdist workers need to use this endpoint instead of starting their own."""
        return {WORKER_URL_KEY: self.settings.endpoint.base_url, WORKER_MODEL_KEY: self.settings.endpoint.model}

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def serve_if_asked(config: pytest.Config, settings: RunSettings) -> tuple[RunSettings, Any]:
    """Settings pointing at the right endpoint, and the ManagedServer we started (or None)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get(WORKER_URL_KEY):
        return _pointing_at(settings, workerinput[WORKER_URL_KEY], workerinput[WORKER_MODEL_KEY]), None
    if config.option.collectonly:
        return settings, None

    from .endpoint.local_models import is_local_model_name, llama_server_command, resolve_local_model
    from .endpoint.server import ManagedServer, ServerSpec

    model = settings.endpoint.model
    if settings.serve.command:
        spec = ServerSpec(command=settings.serve.command, model=model, ready_timeout_s=settings.serve.timeout_s,
                          log_path=_log_path(settings))
    elif settings.endpoint.base_url is None and is_local_model_name(model):
        local = resolve_local_model(model)
        model = local.served_name
        spec = ServerSpec(command=llama_server_command(local), model=model, ready_timeout_s=settings.serve.timeout_s,
                          log_path=_log_path(settings))
    elif settings.endpoint.base_url is None:
        raise ConfigError(
            f"no endpoint for --llm-model {model!r}: pass --llm-base-url (or set OPENAI_BASE_URL), "
            "--llm-serve CMD to start a server, or a local model name (smollm2-135m, gemma3-270m, a .gguf path)"
        )
    else:
        return settings, None
    try:
        server = ManagedServer(spec).start()
    except LLMEvalError as exc:
        raise ConfigError(f"could not start the model server: {exc}") from None
    return _pointing_at(settings, server.base_url, model), server


def _pointing_at(settings: RunSettings, base_url: str, model: str) -> RunSettings:
    endpoint = settings.endpoint.model_copy(update={"base_url": base_url, "model": model})
    return settings.model_copy(update={"endpoint": endpoint})


def _log_path(settings: RunSettings) -> Path | None:
    if settings.cache_dir is None:
        return None
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    return settings.cache_dir / "server.log"
