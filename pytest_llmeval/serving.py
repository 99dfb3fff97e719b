"""Starts the model server for a run, when the user asked for one, and stops it at the end.

Two ways in: `--llm-serve "CMD --port {port} --served-model-name {model}"` runs any server command;
`--llm-model smollm2-135m` (or `gemma3-270m`, or a `.gguf` path) with no `--llm-base-url` serves
that model with llama.cpp. Under xdist the controller starts the server once and hands its URL to
the workers, which never start their own. The server is stopped at unconfigure (also after Ctrl-C
and failed runs), by atexit, and by a watchdog if pytest itself is killed.

A started server that dies mid-run stops the run with one message (``ServerDiedError``: exit code or
signal by name, command, log tail), exit status 2: without xdist the item that saw it calls
``pytest.exit``; under xdist the controller's monitor sets the scheduler's ``shouldstop`` (workers
also set ``session.shouldstop``, since ``pytest.exit`` inside a worker's item crashes xdist).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import BaseModel

from .engine.distribution import is_xdist_controller
from .errors import ConfigError, LLMEvalError, SandboxUnavailableError, ServerDiedError
from .redact import register_secret
from .settings import RunSettings

WORKER_URL_KEY = "llmeval_base_url"
WORKER_MODEL_KEY = "llmeval_served_model"
WORKER_SERVER_KEY = "llmeval_managed_server"  # {pid, exit_path, command, log_path} when we started it


class ServerInfo(BaseModel):
    """What the `llm_server` fixture gives: where the model is served and whether we started it."""

    base_url: str | None
    model: str
    managed: bool
    log_path: Path | None = None
    command: list[str] | None = None


class ServingPlugin:
    """Holds the started server for the session (registered as "llmeval-serving").

    Without xdist the server starts just before the first test runs, and only when something needs
    it: a run whose every answer is in the cache (a re-score) and `--collect-only` never start it.
    Its port is chosen at configure time, so the endpoint URL every plugin holds is right from the
    start."""

    def __init__(
        self, settings: RunSettings, server: Any = None, *, deferred: bool = False, note: str | None = None
    ) -> None:
        self.settings = settings
        self.server = server
        self.deferred = deferred and server is not None  # not started yet: start_if_needed does it
        self.note = note  # said beside the "serving" line, e.g. why one request is in flight
        self.config: pytest.Config | None = None
        if server is not None:
            server.on_death.append(self._server_died)

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        if self.deferred and not session.config.option.collectonly and not session.testsfailed:
            self.start_if_needed(session)
        return (yield)

    def start_if_needed(self, session: pytest.Session) -> None:
        """Start the deferred server unless every item is a sample whose answers are all cached."""
        from .engine.nodes import SampleItem
        from .retrieval.runtime import is_vector_task

        self.deferred = False
        evaluation = session.config.pluginmanager.get_plugin("llmeval-evaluation")
        samples = [item for item in session.items if isinstance(item, SampleItem)]
        if (
            evaluation is not None
            and samples
            and len(samples) == len(session.items)
            # an embedding task's vectors are known to be cached only once its corpus is read: serve
            and not any(is_vector_task(item.benchmark) for item in samples)
            and not evaluation.runtime.answers_missing(samples)
        ):
            self._say(f"llmeval: every answer is in the cache; {self.settings.endpoint.model} is not served")
            evaluation.runtime.endpoint_unstarted = True
            self.server.on_death.clear()
            self.server = None
            return
        try:
            self.server.start()
        except LLMEvalError as exc:
            self.server = None
            raise pytest.UsageError(f"llmeval: could not start the model server: {exc}") from None
        self._say(self.serving_line())

    def _say(self, line: str) -> None:
        terminal = self.config.pluginmanager.get_plugin("terminalreporter") if self.config is not None else None
        if terminal is not None and self.config is not None and self.config.get_verbosity() >= 0:
            terminal.ensure_newline()
            terminal.write_line(line)

    def serving_line(self) -> str:
        assert self.server is not None
        note = f"; {self.note}" if self.note else ""
        endpoint = self.settings.endpoint
        return f"llmeval: serving {endpoint.model} at {endpoint.base_url} (log: {self.server.log_path}){note}"

    def _server_died(self, death: ServerDiedError) -> None:
        """Monitor thread: under xdist, make the controller stop scheduling and end the run."""
        dsession = self.config.pluginmanager.get_plugin("dsession") if self.config is not None else None
        if dsession is not None and not getattr(dsession, "shouldstop", False):
            dsession.shouldstop = f"llmeval: {death}"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        return self._stop_run_if_fatal(item, (yield from _delegate()))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        return self._stop_run_if_fatal(item, (yield from _delegate()))

    def _stop_run_if_fatal(self, item: pytest.Item, outcome: BaseException | None) -> None:
        if isinstance(outcome, SandboxUnavailableError):  # one usage error for the run, not one per sample
            if hasattr(item.config, "workerinput"):
                item.session.shouldstop = f"llmeval: {outcome}"
                raise outcome
            pytest.exit(f"llmeval: {outcome}", returncode=pytest.ExitCode.USAGE_ERROR)
        if isinstance(outcome, ServerDiedError):
            message = f"llmeval: {outcome}"
            if hasattr(item.config, "workerinput"):
                # pytest.exit inside a worker's item crashes xdist; stop after this item instead.
                item.session.shouldstop = message
                short = ServerDiedError(outcome.returncode, outcome.command, outcome.log_tail, outcome.log_path)
                short.args = ("the model server died; the run was stopped (the reason is printed at the end)",)
                raise short from None
            pytest.exit(message, returncode=pytest.ExitCode.INTERRUPTED)
        if outcome is not None:
            raise outcome

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
        if self.server is None or self.deferred:
            return None  # a deferred server says so when it starts
        return self.serving_line()

    def workerinput(self) -> dict[str, Any]:
        """What xdist workers need to use this endpoint instead of starting their own."""
        info: dict[str, Any] = {
            WORKER_URL_KEY: self.settings.endpoint.base_url,
            WORKER_MODEL_KEY: self.settings.endpoint.model,
        }
        if self.server is not None:
            info[WORKER_SERVER_KEY] = {
                "pid": self.server.pid,
                "exit_path": str(self.server.exit_path),
                "command": self.server.command,
                "log_path": str(self.server.log_path),
            }
        return info

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


# llama-cpp-python's server answers one request at a time (one llama.cpp context behind a lock):
# more in flight only wait inside the server, where their wait would count as request time.
EMBEDDED_SLOTS = 1


@dataclass
class Serving:
    """What `serve_if_asked` decided: the settings pointing at the endpoint, the server (None when
    the user runs it), whether its start waits for the first test (`deferred`), and a note for the
    header."""

    settings: RunSettings
    server: Any = None
    deferred: bool = False
    note: str | None = None
    text_only: bool = False  # the embedded llama.cpp models read no images or audio


def check_text_only(model: str, names: Iterable[str]) -> None:
    """One usage error, before any request, when a run would send images or audio (the benchmarks
    or collection datasets `names`) to a text-only model the plugin serves: the server would answer
    each with an HTTP 500 that says nothing of the cause."""
    from .benchmarks.multimodal import MultimodalBenchmark
    from .benchmarks.registry import all_benchmarks

    benchmarks = all_benchmarks()
    media = sorted({n for n in names if n in benchmarks and issubclass(benchmarks[n], MultimodalBenchmark)})
    if media:
        raise ConfigError(
            f"{', '.join(media)} send{'s' if len(media) == 1 else ''} images (or audio) with each question, but "
            f"{model} (served by the plugin with llama.cpp) reads text only; evaluate a vision model behind "
            f"--llm-base-url (e.g. vLLM or SGLang serving Qwen3-VL), or leave {media[0]} out of -m"
        )


def serve_if_asked(config: pytest.Config, settings: RunSettings) -> Serving:
    """Settings pointing at the right endpoint, and the ManagedServer we start (or None).

    Without xdist the server is created with a port chosen now and started later, by
    `ServingPlugin.start_if_needed`; under xdist the controller starts it now, since the workers
    send requests as soon as they have collected. The embedded llama.cpp server has one slot, so
    the requests in flight are capped to it (said in the header)."""
    key = settings.endpoint.api_key
    register_secret(key.get_secret_value() if key is not None else None)  # before a server can print it
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get(WORKER_URL_KEY):
        managed = workerinput.get(WORKER_SERVER_KEY)
        if managed:
            from .endpoint.server import RemoteServerWatch, watch_remote_server

            watch_remote_server(
                workerinput[WORKER_URL_KEY],
                RemoteServerWatch(
                    int(managed["pid"]), Path(managed["exit_path"]), list(managed["command"]), Path(managed["log_path"])
                ),
            )
        return Serving(_pointing_at(settings, workerinput[WORKER_URL_KEY], workerinput[WORKER_MODEL_KEY]))
    if config.option.collectonly:
        return Serving(settings)

    from .endpoint.local_models import is_local_model_name, llama_server_command, resolve_local_model
    from .endpoint.server import ManagedServer, ServerSpec, free_port, server_url

    if settings.arena is not None:  # the arena starts the models it names (arena/plugin.py)
        return Serving(settings)
    model = settings.endpoint.model
    note = None
    text_only = False
    if settings.serve.command:
        # a command with a fixed port ("ollama serve"): --llm-base-url says which port it listens on
        fixed = urlsplit(settings.endpoint.base_url).port if settings.endpoint.base_url else None
        spec = ServerSpec(
            command=settings.serve.command,
            model=model,
            ready_timeout_s=settings.serve.timeout_s,
            log_path=_log_path(settings),
            port=fixed,
        )
    elif settings.endpoint.base_url is None and is_local_model_name(model):
        local = resolve_local_model(model)
        model = local.served_name
        spec = ServerSpec(
            command=llama_server_command(local),
            model=model,
            ready_timeout_s=settings.serve.timeout_s,
            log_path=_log_path(settings),
        )
        text_only = True
        if settings.endpoint.concurrency > EMBEDDED_SLOTS:
            settings = settings.model_copy(
                update={"endpoint": settings.endpoint.model_copy(update={"concurrency": EMBEDDED_SLOTS})}
            )
            note = (
                f"{EMBEDDED_SLOTS} request in flight per process: the embedded llama.cpp server answers one at a time "
                "(more would only queue inside it)"
            )
    elif settings.endpoint.base_url is None:
        raise ConfigError(
            f"no endpoint for --llm-model {model!r}: pass --llm-base-url (or set OPENAI_BASE_URL), "
            "--llm-serve CMD to start a server, or a local model name "
            "(smollm2-135m, gemma3-270m, all-minilm-l6-v2, a .gguf path)"
        )
    else:
        return Serving(settings)
    if not is_xdist_controller(config) and (
        spec.port is not None or spec.has_port_placeholder()
    ):  # else start() says what is wrong
        port = spec.port
        if port is None:  # chosen now, so that every plugin holds the right URL before the start
            port = free_port(spec.host)
            spec = spec.model_copy(update={"port": port})
        server = ManagedServer(spec)
        return Serving(
            _pointing_at(settings, server_url(spec.host, port), model),
            server,
            deferred=True,
            note=note,
            text_only=text_only,
        )
    try:
        server = ManagedServer(spec).start()
    except LLMEvalError as exc:
        raise ConfigError(f"could not start the model server: {exc}") from None
    return Serving(_pointing_at(settings, server.base_url, model), server, note=note, text_only=text_only)


def _pointing_at(settings: RunSettings, base_url: str, model: str) -> RunSettings:
    endpoint = settings.endpoint.model_copy(update={"base_url": base_url, "model": model})
    return settings.model_copy(update={"endpoint": endpoint})


def _log_path(settings: RunSettings) -> Path | None:
    if settings.cache_dir is None:
        return None
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    return settings.cache_dir / "server.log"


def _delegate() -> Generator[None, None, BaseException | None]:
    """Run the wrapped hook; give back the exception it raised (or None)."""
    try:
        yield
    except BaseException as exc:  # re-raised by _stop_run_if_fatal unless it is a server death
        return exc
    return None
