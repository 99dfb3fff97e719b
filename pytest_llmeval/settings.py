"""Resolved configuration: what the options, ini file, environment and `.env` add up to.

These models are the boundary between pytest's option parsing and the rest of the plugin; nothing
else reads `config.getoption` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from .errors import ConfigError
from .media.store import MediaOptions

CHAT_SUFFIX = "/chat/completions"


def normalize_base_url(url: str) -> str:
    """Accept both `http://host:8000/v1` and the full `.../v1/chat/completions`; return the former.

    A URL without a scheme or host is a usage error naming the expected form.
    """
    cleaned = url.strip().rstrip("/")
    if cleaned.endswith(CHAT_SUFFIX):
        cleaned = cleaned[: -len(CHAT_SUFFIX)]
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"bad --llm-base-url {url!r}: expected an http(s) URL such as http://localhost:8000/v1"
        )
    return cleaned


class EndpointSettings(BaseModel):
    """Where requests go and how they are sent. The API key is a SecretStr: it never prints."""

    model_config = ConfigDict(frozen=True)

    model: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=600.0, gt=0)
    retries: int = Field(default=3, ge=0)
    concurrency: int = Field(default=16, ge=1)
    stream: bool = False
    gen: dict[str, Any] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _normalize(cls, value: str | None) -> str | None:
        return normalize_base_url(value) if value else None

    @property
    def chat_url(self) -> str:
        return f"{self.require_base_url()}{CHAT_SUFFIX}"

    @property
    def models_url(self) -> str:
        return f"{self.require_base_url()}/models"

    def require_base_url(self) -> str:
        if not self.base_url:
            raise ConfigError(
                "no endpoint: pass --llm-base-url (or set OPENAI_BASE_URL), or --llm-serve to start a server"
            )
        return self.base_url

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key is not None and self.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        return headers

    def public_dict(self) -> dict[str, Any]:
        """What may be written to results and reports: everything but the key."""
        return self.model_dump(exclude={"api_key"})


class ServeSettings(BaseModel):
    """A server the plugin starts itself (`--llm-serve`, or a local model name without a base URL)."""

    command: str | None = None
    timeout_s: float = 600.0


class RunSettings(BaseModel):
    """Everything one evaluation run needs, resolved once in `pytest_configure`."""

    endpoint: EndpointSettings
    judge: EndpointSettings | None = None  # --llm-judge-model: grades answers rules cannot check
    serve: ServeSettings = Field(default_factory=ServeSettings)
    limit: int | None = Field(default=None, ge=1)
    shuffle: bool = False
    seed: int = 42
    datasets: dict[str, str] = Field(default_factory=dict)
    bench_args: dict[str, dict[str, str]] = Field(default_factory=dict)
    thresholds: list[str] = Field(default_factory=list)
    max_errors: int = Field(default=0, ge=0)
    results_path: Path | None = None
    samples_path: Path | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    keep_thinking: bool = False
    collection: str | None = None  # --llm-collection: a collection .jsonl (docs/collections.md)
    collection_skip_unknown: bool = False
    think_eval: bool = False  # --llm-think-eval: reasoning-efficiency figures per sample
    thought_markers: list[str] | None = None  # None: scoring.efficiency.DEFAULT_THOUGHT_MARKERS
    tokenizer: Path | None = None
    media: MediaOptions = Field(default_factory=MediaOptions)  # --llm-image-max-side / --llm-image-format
    repeats: int = Field(default=1, ge=1, le=1024)  # --llm-repeats: requests per sample
