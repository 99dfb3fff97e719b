"""Every error a user can see, in one place, so each reads the same way: what went wrong, then the fix.

Hierarchy::

    LLMEvalError
    ├── ConfigError            bad option / threshold / benchmark name (usage error, nothing was sent)
    │   ├── UnknownBenchmarkError
    │   ├── ThresholdError
    │   └── CollectionError    a collection schema or file that cannot be used
    ├── DatasetError           a dataset could not be loaded or a row is malformed (names file:line)
    └── EndpointError          the model endpoint did not give a usable answer (an *error* outcome, never a wrong answer)
        ├── EndpointUnreachableError
        ├── AuthenticationError
        ├── RequestTimeoutError
        ├── ServerError        HTTP status >= 400 that survived retries
        ├── BadResponseError   200 but the body is not a usable chat completion
        └── MissingChoicesError fewer generations than `n` asked for (use --llm-repeats)
"""

from __future__ import annotations


class LLMEvalError(Exception):
    """Base class of the plugin's own errors."""


class ConfigError(LLMEvalError):
    """A usage error found before any request is sent."""


class UnknownBenchmarkError(ConfigError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown benchmark {name!r}; known benchmarks: {', '.join(sorted(known))} "
            "(pytest --llm-list shows them with subsets and metrics)"
        )
        self.name = name


class ThresholdError(ConfigError):
    """A --llm-threshold expression that cannot be parsed or names nothing known."""


class DatasetError(LLMEvalError):
    """A dataset that cannot be read, or a row in it that cannot become a sample."""

    def __init__(
        self, message: str, *, source: str | None = None, line: int | None = None, hub_unreachable: bool = False
    ) -> None:
        where = f"{source}:{line}: " if source and line else (f"{source}: " if source else "")
        super().__init__(where + message)
        self.source = source
        self.line = line
        self.hub_unreachable = hub_unreachable  # then every other subset would fail the same way


class EndpointError(LLMEvalError):
    """The endpoint failed to answer; surfaces as a pytest *error*, counted apart from wrong answers."""

    kind = "endpoint"

    def __init__(self, message: str, *, status: int | None = None, snippet: str | None = None) -> None:
        details = message
        if status is not None:
            details += f" (HTTP {status})"
        if snippet:
            details += f": {snippet[:300]!r}"
        super().__init__(details)
        self.status = status
        self.snippet = snippet


class EndpointUnreachableError(EndpointError):
    kind = "unreachable"


class AuthenticationError(EndpointError):
    kind = "auth"

    def __init__(self, base_url: str, status: int | None = 401) -> None:
        super().__init__(
            f"authentication failed at {base_url}, set --llm-api-key or OPENAI_API_KEY", status=status
        )


class RequestTimeoutError(EndpointError):
    kind = "timeout"


class ServerError(EndpointError):
    kind = "http_status"


class BadResponseError(EndpointError):
    kind = "bad_response"


class CollectionError(ConfigError):
    """A collection schema or collection file that cannot be used (bad field, unknown benchmark)."""


class MissingChoicesError(EndpointError):
    """The server returned fewer generations than the request's `n` asked for (llama.cpp's server
    ignores `n`): the sample errors instead of being scored on fewer generations than reported."""

    kind = "missing_choices"

    def __init__(self, asked: int, got: int) -> None:
        super().__init__(
            f"asked for n={asked} generations, the server returned {got}; this server ignores n: "
            f"use --llm-repeats {asked} instead of --llm-gen n={asked} (separate requests, same pass@k)"
        )
        self.asked = asked
        self.got = got
