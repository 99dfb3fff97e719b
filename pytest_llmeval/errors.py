"""Every error a user can see, in one place, so each reads the same way: what went wrong, then the fix.

Hierarchy::

    LLMEvalError
    ├── ConfigError            bad option / threshold / benchmark name (usage error, nothing was sent)
    │   ├── UnknownBenchmarkError
    │   ├── ThresholdError
    │   ├── CollectionError    a collection schema or file that cannot be used
    │   └── SandboxUnavailableError  generated code must be isolated (bubblewrap) and cannot be here
    ├── DatasetError           a dataset could not be loaded or a row is malformed (names file:line)
    ├── ServerDiedError        a model server the plugin started exited or was killed mid-run (stops the run)
    ├── ScorerTimeoutError     a scorer ran out of its time limit (an error outcome ``scorer_timeout``, never wrong)
    └── EndpointError          the model endpoint did not give a usable answer (an *error* outcome, never a wrong answer)
        ├── EndpointUnreachableError           (kind ``unreachable``; the subclasses name the cause)
        │   ├── ConnectionRefusedEndpointError (``connection_refused``: nothing listens on the port)
        │   ├── ConnectionResetEndpointError   (``connection_reset``: the peer reset the TCP connection)
        │   ├── ServerDisconnectedError        (``disconnected``: closed before the response was complete)
        │   ├── DNSResolutionError             (``dns``: the host name does not resolve)
        │   └── TLSEndpointError               (``tls``: handshake or certificate failure)
        ├── AuthenticationError
        ├── RequestTimeoutError
        ├── ServerError        HTTP status >= 400 that survived retries
        │   └── EndpointNotFoundError   404: the URL is wrong (names the URL and the likely fix)
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


class SandboxUnavailableError(ConfigError):
    """Generated code must run isolated (bubblewrap) and cannot be here; the message names the fix and the
    explicit opt-out (``LLMEVAL_SANDBOX=rlimits``). Stops the run with one usage error."""


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
    retry_after: float | None = None  # seconds the server asked to wait (Retry-After), when it did

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
    """No HTTP answer at all: the transport failed (the subclasses name which way)."""

    kind = "unreachable"


class ConnectionRefusedEndpointError(EndpointUnreachableError):
    kind = "connection_refused"


class ConnectionResetEndpointError(EndpointUnreachableError):
    kind = "connection_reset"


class ServerDisconnectedError(EndpointUnreachableError):
    kind = "disconnected"


class DNSResolutionError(EndpointUnreachableError):
    kind = "dns"


class TLSEndpointError(EndpointUnreachableError):
    kind = "tls"


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


def base_url_hint(base_url: str) -> str:
    """The likely fix for a base URL that answers 404: add `/v1` when no version segment is there."""
    from urllib.parse import urlsplit

    path = urlsplit(base_url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if not (last.startswith("v") and last[1:].isdigit()):
        return f"did you mean --llm-base-url {base_url.rstrip('/')}/v1?"
    return "check --llm-base-url: it is the URL that /chat/completions is appended to (e.g. http://localhost:8000/v1)"


class EndpointNotFoundError(ServerError):
    """A 404 from the start-up probe or the first chat request: the base URL (or the model name)
    is wrong, and every other request would fail the same way, so the run stops."""

    kind = "not_found"

    def __init__(self, method: str, url: str, base_url: str, snippet: str | None = None) -> None:
        hint = base_url_hint(base_url)
        if method == "POST":  # the chat route: some servers answer 404 for an unknown model too
            hint += " (or, if the server names an unknown model, check --llm-model)"
        super().__init__(f"{method} {url} answered 404 Not Found; {hint}", snippet=snippet)
        self.status = 404
        self.url = url


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


_SIGNAL_HINTS = {
    "SIGILL": "illegal instruction: llama.cpp was built for another CPU; reinstall with ./install.sh "
    "(a portable build; see docs/serving.md)",
    "SIGKILL": "killed: often the kernel's out-of-memory killer (see dmesg) or another process",
    "SIGSEGV": "segmentation fault in the server",
    "SIGBUS": "bus error in the server",
    "SIGABRT": "the server aborted",
}


def describe_exit(returncode: int) -> str:
    """``exited with code N`` or ``was killed by SIGNAME (hint)`` for a ``Popen.returncode``."""
    import signal

    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"was killed by signal {-returncode}"
    hint = _SIGNAL_HINTS.get(name)
    return f"was killed by {name}" + (f" ({hint})" if hint else "")


class ServerDiedError(LLMEvalError):
    """A model server the plugin started ended while the run still needed it.

    Attributes: ``returncode`` (``Popen`` convention: negative = killed by that signal), ``command``
    (argv), ``log_tail`` (last lines of its log) and ``log_path``. Raised instead of a per-request
    transport error; the run stops with this one message (exit status 2, interrupted).
    """

    kind = "server_died"

    def __init__(self, returncode: int, command: list[str], log_tail: str, log_path: str | None) -> None:
        import shlex

        where = f"last lines of {log_path}" if log_path else "last lines of its log"
        super().__init__(
            f"the model server {describe_exit(returncode)} while requests were outstanding: "
            f"{shlex.join(command)}\n{where}:\n{log_tail or '(log is empty)'}"
        )
        self.returncode = returncode
        self.command = list(command)
        self.log_tail = log_tail
        self.log_path = log_path


class ScorerTimeoutError(LLMEvalError):
    """A scorer (the symbolic math comparison) did not reach a verdict within its time limit.

    The sample becomes an error of kind ``scorer_timeout``, never a wrong answer. Attributes:
    ``timeout_s`` (seconds; one-time warm-up such as importing sympy is not counted).
    """

    kind = "scorer_timeout"

    def __init__(self, what: str, timeout_s: float) -> None:
        super().__init__(
            f"{what} took longer than {timeout_s:g} s (one-time warm-up not counted); the sample is "
            "an error (scorer_timeout), not a wrong answer"
        )
        self.timeout_s = timeout_s
