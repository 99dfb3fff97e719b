"""Resolved configuration: what the options, ini file, environment and `.env` add up to.

These models are the boundary between pytest's option parsing and the rest of the plugin; nothing
else reads `config.getoption` directly.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from .errors import ConfigError
from .media.store import MediaOptions

CHAT_SUFFIX = "/chat/completions"
COMPLETIONS_SUFFIX = "/completions"
MODELS_SUFFIX = "/models"
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # --llm-max-response-bytes
SHOWN_FAILURES = 3  # wrong answers per benchmark in the summary when --llm-show-failures is unset (and no -v)


class BaseURL(BaseModel):
    """An endpoint URL split into what may be shown and what must stay secret.

    `public` is `scheme://host[:port]/path` (no user info, no query): the only form that is ever
    printed or stored. `auth` holds `user:password` from the user info (`http://user:pass@host/v1`)
    and `query` the query string (`?api-key=...`); both are secrets, sent with every request.
    """

    model_config = ConfigDict(frozen=True)

    public: str
    auth: SecretStr | None = None
    query: SecretStr | None = None

    def url(self, suffix: str = "") -> str:
        """The URL to send to, with `suffix` (such as `/chat/completions`) inserted before the query.
        Contains the query secret: never print it; print `public + suffix` instead."""
        query = self.query.get_secret_value() if self.query is not None else ""
        return self.public + suffix + (f"?{query}" if query else "")

    def full(self) -> str:
        """The URL as the user wrote it (user info and query included), to hand on to another endpoint."""
        parts = urlsplit(self.url())
        netloc = parts.netloc
        if self.auth is not None:
            user, _, password = self.auth.get_secret_value().partition(":")
            netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def redact_url(text: str) -> str:
    """`text` with the user info and query of every URL in it masked (for error messages)."""
    text = re.sub(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s'\"]*@", r"\1***@", text)
    return re.sub(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s'\"?]*)\?[^\s'\"#]*", r"\1?***", text)


def split_base_url(url: str) -> BaseURL:
    """Accept both `http://host:8000/v1` and the full `.../v1/chat/completions`, with optional user
    info and query; return the parts. A URL without a scheme or host is a usage error naming the
    expected form (the URL in the message has its secrets masked)."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port, parts = None, None, urlsplit("")
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"bad --llm-base-url {redact_url(url)!r}: expected an http(s) URL such as http://localhost:8000/v1"
        )
    path = parts.path.rstrip("/")
    if path.endswith(CHAT_SUFFIX):
        path = path[: -len(CHAT_SUFFIX)].rstrip("/")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    auth = None
    if parts.username is not None or parts.password is not None:
        auth = SecretStr(f"{unquote(parts.username or '')}:{unquote(parts.password or '')}")
    return BaseURL(
        public=urlunsplit((parts.scheme, netloc, path, "", "")),
        auth=auth,
        query=SecretStr(parts.query) if parts.query else None,
    )


def normalize_base_url(url: str) -> str:
    """The public form of `url` (see `split_base_url`): `http://host:8000/v1`."""
    return split_base_url(url).public


class EndpointSettings(BaseModel):
    """Where requests go and how they are sent. The API key is a SecretStr: it never prints.

    `base_url` is the public form of the endpoint URL; user info and query parameters given with it
    are kept apart as secrets (`base_url_auth`, `base_url_query`) and only used to send requests.
    """

    model_config = ConfigDict(frozen=True)

    model: str
    base_url: str | None = None
    base_url_auth: SecretStr | None = None
    base_url_query: SecretStr | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=600.0, gt=0)
    retries: int = Field(default=3, ge=0)
    concurrency: int = Field(default=16, gt=0)
    stream: bool = False
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1)  # a longer body is a bad_response
    gen: dict[str, Any] = Field(default_factory=dict)
    # --llm-fixed-concurrency turns it off: the in-flight limit follows 429/503 answers (endpoint/adaptive.py)
    adaptive_concurrency: bool = True
    # several --llm-base-url: every replica of the one model (the first is `base_url`); () for one endpoint
    replicas: tuple[BaseURL, ...] = ()
    # --llm-client-process: the eval requests' HTTP in a child process (endpoint/pool_process.py);
    # auto: when this process may use 2 CPUs or more
    client_process: Literal["auto", "on", "off"] = "auto"

    def uses_client_process(self) -> bool:
        """Whether the evaluation's chat requests go through a child process (`client_process`)."""
        if self.client_process != "auto":
            return self.client_process == "on"
        return len(os.sched_getaffinity(0)) >= 2 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) >= 2

    @model_validator(mode="before")
    @classmethod
    def _split_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("base_url"), str) and data["base_url"]:
            parts = split_base_url(data["base_url"])
            data = {**data, "base_url": parts.public}
            if parts.auth is not None:
                data.setdefault("base_url_auth", parts.auth)
            if parts.query is not None:
                data.setdefault("base_url_query", parts.query)
        elif isinstance(data, dict) and not data.get("base_url"):
            data = {**data, "base_url": None}
        return data

    @property
    def url_parts(self) -> BaseURL:
        return BaseURL(public=self.require_base_url(), auth=self.base_url_auth, query=self.base_url_query)

    @property
    def chat_url(self) -> str:
        """Where chat requests are sent (may hold a query secret: print `public_chat_url`)."""
        return self.url_parts.url(CHAT_SUFFIX)

    @property
    def completions_url(self) -> str:
        """Where text-completion requests (log-likelihood scoring) are sent."""
        return self.url_parts.url(COMPLETIONS_SUFFIX)

    @property
    def models_url(self) -> str:
        """Where the model list is asked for (may hold a query secret: print `public_models_url`)."""
        return self.url_parts.url(MODELS_SUFFIX)

    @property
    def public_chat_url(self) -> str:
        return self.require_base_url() + CHAT_SUFFIX

    @property
    def public_models_url(self) -> str:
        return self.require_base_url() + MODELS_SUFFIX

    def full_base_url(self) -> str | None:
        """The endpoint URL with its secrets, to configure another endpoint (the judge) the same way."""
        return self.url_parts.full() if self.base_url else None

    def require_base_url(self) -> str:
        if not self.base_url:
            raise ConfigError(
                "no endpoint: pass --llm-base-url (or set OPENAI_BASE_URL), or --llm-serve to start a server"
            )
        return self.base_url

    def headers(self) -> dict[str, str]:
        """Request headers. The API key goes as `Bearer`; without one, user info from the base URL
        goes as HTTP Basic auth (RFC 7617)."""
        headers = {"Content-Type": "application/json"}
        if self.api_key is not None and self.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        elif self.base_url_auth is not None:
            token = base64.b64encode(self.base_url_auth.get_secret_value().encode("utf-8")).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return headers

    def public_dict(self) -> dict[str, Any]:
        """What may be written to results and reports: everything but the key and the URL secrets."""
        data = self.model_dump(exclude={"api_key", "base_url_auth", "base_url_query", "replicas"})
        if self.replicas:
            data["replicas"] = [replica.public for replica in self.replicas]
        return data

    def replica_endpoints(self) -> list[EndpointSettings]:
        """One endpoint per replica (the same model and settings, its own URL); [self] without replicas."""
        if not self.replicas:
            return [self]
        return [
            self.model_copy(
                update={"base_url": r.public, "base_url_auth": r.auth, "base_url_query": r.query, "replicas": ()}
            )
            for r in self.replicas
        ]


class ServeSettings(BaseModel):
    """A server the plugin starts itself (`--llm-serve`, or a local model name without a base URL)."""

    command: str | None = None
    timeout_s: float = Field(default=600.0, gt=0)


class CompareSettings(BaseModel):
    """`--llm-compare OLD.json` with its gates: `--llm-max-drop X` fails the run when a metric fell by
    more than X (a score difference); `--llm-significance ALPHA` counts such a drop only when a paired
    test also finds it significant at level ALPHA (report/compare.py)."""

    path: Path | None = None
    max_drop: float | None = Field(default=None, ge=0)
    significance: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _needs(self) -> CompareSettings:
        if self.significance is not None and self.max_drop is None:
            raise ConfigError("--llm-significance needs --llm-max-drop X: it says when a drop larger than X counts")
        if self.max_drop is not None and self.path is None:
            raise ConfigError("--llm-max-drop needs --llm-compare OLD_RESULTS.json: the run to compare against")
        return self


class ArenaOptions(BaseModel):
    """The arena options as given (`--llm-arena-*`); `arena.config.build_config` reads them (docs/arena.md)."""

    models: list[str] = Field(default_factory=list)
    baseline: str | None = None
    judge: str | None = None
    prompts: str | None = None
    config_file: Path | None = None
    judge_template: Path | None = None
    scale: str | None = None
    self_judge: bool = False
    bootstrap: int | None = Field(default=None, ge=0)


class RunSettings(BaseModel):
    """Everything one evaluation run needs, resolved once in `pytest_configure`."""

    endpoint: EndpointSettings
    judge: EndpointSettings | None = None  # --llm-judge-model: grades answers rules cannot check
    serve: ServeSettings = Field(default_factory=ServeSettings)
    limit: int | None = Field(default=None, ge=1)
    shuffle: bool = False
    seed: int = 42
    datasets: dict[str, str] = Field(default_factory=dict)
    hub: str = "auto"  # --llm-hub: auto | huggingface | modelscope
    bench_args: dict[str, dict[str, str]] = Field(default_factory=dict)
    protocol: str | None = None  # --llm-protocol NAME: every benchmark that has it (benchmarks/protocols.py)
    answer_parser: str | None = None  # --llm-answer-parser: strict (default) | evalscope
    thresholds: list[str] = Field(default_factory=list)
    max_errors: int = Field(default=0, ge=0)  # endpoint errors tolerated when gates decide
    show_failures: int | None = None  # wrong answers shown per benchmark: see failures_shown
    threshold_mode: Literal["point", "ci"] = "point"
    early_stop: bool = False
    early_stop_alpha: float = Field(default=0.05, gt=0, lt=1)
    results_path: Path | None = None
    samples_path: Path | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    keep_thinking: bool = False
    collection: str | None = None  # --llm-collection: a collection .jsonl (docs/collections.md)
    collection_skip_unknown: bool = False
    think_eval: bool = False  # --llm-think-eval: reasoning-efficiency figures per sample
    thought_markers: list[str] | None = None  # None: scoring.efficiency.DEFAULT_THOUGHT_MARKERS
    tokenizer: Path | None = None  # --llm-tokenizer, absolute and checked to exist (perf and --llm-think-eval)
    perf_words: list[str] = Field(default_factory=list)  # --llm-perf KEY=VALUE words (perf/load.py parses them)
    perf_slo: str | None = None  # --llm-perf-slo: search the capacity this SLO allows (perf/capacity.py)
    compare: CompareSettings = Field(default_factory=CompareSettings)
    media: MediaOptions = Field(default_factory=MediaOptions)  # --llm-image-max-side / --llm-image-format
    repeats: int = Field(default=1, ge=1, le=1024)  # --llm-repeats: requests per sample
    output_type: str | None = (
        None  # --llm-output-type NAME: generate_until | multiple_choice (benchmarks/output_types.py)
    )
    chat_template_file: Path | None = None  # --llm-chat-template-file: Jinja template of log-likelihood contexts
    prices: Path | None = None  # --llm-prices: the price table file (spend/prices.py)
    prices_origin: str = "--llm-prices"  # how errors name where the file was given (command line or ini)
    max_tokens_budget: int | None = Field(default=None, ge=1)  # --llm-max-tokens-budget (spend/limit.py)
    max_cost: float | None = Field(default=None, gt=0)  # --llm-max-cost, USD
    mlflow_uri: str | None = None  # --llm-mlflow: tracking URI (trackers/mlflow_tracker.py)
    mlflow_experiment: str = "pytest-llmbench"  # --llm-mlflow-experiment
    wandb_project: str | None = None  # --llm-wandb: W&B project (trackers/wandb_tracker.py)
    tracker_run_name: str | None = None  # --llm-tracker-run-name
    arena: ArenaOptions | None = None  # --llm-arena-model ...: models head to head (docs/arena.md)
    shard: tuple[int, int] | None = None  # --llm-shard I/N: (I, N), I from 1 (engine/sharding.py)
    embedding_model: str | None = None  # --llm-embedding-model: every vector task's default `model`

    def failures_shown(self, verbosity: int) -> int | None:
        """Wrong answers (and errors) the summary shows per benchmark; None for all. Unset: SHOWN_FAILURES,
        or all with -v; a negative --llm-show-failures: all."""
        if self.show_failures is not None:
            return None if self.show_failures < 0 else self.show_failures
        return None if verbosity > 0 else SHOWN_FAILURES


def field_default(path: str) -> Any:
    """The default of a settings field named by its dotted path from `RunSettings`
    (`"endpoint.concurrency"` -> 16): the one place defaults are written is the models above."""
    model: type[BaseModel] = RunSettings
    *parents, name = path.split(".")
    for parent in parents:
        annotation = model.model_fields[parent].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise KeyError(path)
        model = annotation
    return model.model_fields[name].get_default(call_default_factory=True)
