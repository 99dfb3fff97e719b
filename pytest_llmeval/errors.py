"""Every error a user can see, in one place, so each reads the same way: what went wrong, then the fix.

Hierarchy (``kind`` is the ``error_kind`` a sample gets in the results; see docs/errors.md)::

    LLMEvalError
    ├── ConfigError            bad option / threshold / benchmark name (usage error, exit 4, nothing was sent)
    │   ├── UnknownBenchmarkError    a benchmark name nobody registered
    │   ├── ThresholdError           an --llm-threshold expression that does not parse or names nothing known
    │   ├── SandboxUnavailableError  generated code must be isolated (bubblewrap) and cannot be here
    │   ├── CollectionError          a collection schema or file that cannot be used
    │   ├── InstructionSpecError     an IFEval instruction id or its arguments are wrong
    │   │                            (also a ValueError; a sample error)
    │   └── LocalModelError          a --llm-model that cannot be served locally, or no local backend
    ├── DatasetError           a dataset could not be loaded or a row is malformed (names file:line)
    │   ├── SubsetAbsentError        a selected subset has no row in a file of some subsets (said once, not an error)
    │   ├── HubLimitError            a hub download stopped by a time, size or request limit (names the variable)
    │   ├── MediaError               (kind ``media``) an image/audio of one sample unreadable or over a limit
    │   └── BadRecordError           (kind ``bad_record``) a collection record whose prompt cannot be sent
    ├── ServerDiedError        (kind ``server_died``) a server the plugin started died mid-run (stops the run)
    ├── ScorerTimeoutError     (kind ``scorer_timeout``) a scorer ran out of time (an error, never wrong)
    ├── ServerStartError       the managed model server could not be started (usage error, exit 4)
    │   ├── ServerCommandError       empty command, executable not found, or no way to pass the port
    │   ├── PortInUseError           the asked-for port is taken
    │   ├── ServerExitedError        the server exited before it was ready
    │   └── ServerReadyTimeoutError  the server was not ready within --llm-serve-timeout
    ├── PerfRunError           a perf run produced no usable figure
    ├── RebuildError           bad input files of ``python -m pytest_llmeval.report`` (exit 2)
    ├── FakeServerError        the fake test server failed (also a RuntimeError)
    └── EndpointError          (kind ``endpoint``) no usable answer from the model: an *error*, never a wrong answer
        ├── EndpointUnreachableError           (kind ``unreachable``; the subclasses name the cause)
        │   ├── ConnectionRefusedEndpointError (``connection_refused``: nothing listens on the port)
        │   ├── ConnectionResetEndpointError   (``connection_reset``: the peer reset the TCP connection)
        │   ├── ServerDisconnectedError        (``disconnected``: closed before the response was complete)
        │   ├── DNSResolutionError             (``dns``: the host name does not resolve)
        │   └── TLSEndpointError               (``tls``: handshake or certificate failure)
        ├── AuthenticationError  (``auth``) 401/403: set --llm-api-key or OPENAI_API_KEY
        ├── RequestTimeoutError  (``timeout``) no complete answer within --llm-timeout
        ├── ServerError          (``http_status``) HTTP status >= 400 that survived retries; ``retry_after``
        │   └── EndpointNotFoundError  (``not_found``) 404: the URL is wrong (names the URL and the fix)
        ├── BadResponseError     (``bad_response``) 200 but the body is not a usable chat completion
        ├── JudgeError           (``judge``) the judge model gave no usable verdict
        ├── MissingChoicesError  (``missing_choices``) fewer generations than `n` asked for (use --llm-repeats)
        └── NoPromptLogprobsError  (``no_prompt_logprobs``) the server returns no prompt logprobs

    WrongAnswer (AssertionError, not an LLMEvalError): the answer was scored wrong, a test *failure*.

Internal control-flow exceptions that never reach a user stay next to their code, each saying why:
``_GiveUp`` (scoring/math_equiv.py), ``_Timeout`` (execution/symbolic.py), ``LoadTimeout`` (the code sandbox's child),
``RequestFailed`` (perf/backend.py), ``RequestSkipped`` (endpoint/dispatcher.py), ``BudgetReached``
(spend/limit.py: a request the budget refuses, its sample left unsent) and ``HttpError``
(testing/_http.py).
"""

from __future__ import annotations

from pathlib import Path

from .terminal_text import printable

__all__ = [
    "AuthenticationError",
    "BadRecordError",
    "BadResponseError",
    "CollectionError",
    "ConfigError",
    "ConnectionRefusedEndpointError",
    "ConnectionResetEndpointError",
    "DNSResolutionError",
    "DatasetError",
    "EndpointError",
    "EndpointNotFoundError",
    "EndpointUnreachableError",
    "FakeServerError",
    "HubLimitError",
    "InstructionSpecError",
    "JudgeError",
    "LLMEvalError",
    "LocalModelError",
    "MediaError",
    "MissingChoicesError",
    "NoPromptLogprobsError",
    "PerfRunError",
    "PortInUseError",
    "RebuildError",
    "RequestTimeoutError",
    "SandboxUnavailableError",
    "ScorerTimeoutError",
    "ServerCommandError",
    "ServerDiedError",
    "ServerDisconnectedError",
    "ServerError",
    "ServerExitedError",
    "ServerReadyTimeoutError",
    "ServerStartError",
    "SubsetAbsentError",
    "TLSEndpointError",
    "ThresholdError",
    "UnknownBenchmarkError",
    "WrongAnswer",
]


class LLMEvalError(Exception):
    """Base class of the plugin's own errors. Their messages quote data, server and model text (a row's field
    names, a value, a server's words), and pytest prints them as they are: each terminal control character
    in a message is kept as a visible escape (`terminal_text.printable`), so none can clear the screen."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(printable(arg) if isinstance(arg, str) else arg for arg in args))


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


class InstructionSpecError(ConfigError, ValueError):
    """An instruction id nobody knows, or arguments that do not fit the instruction (IFEval)."""


class LocalModelError(ConfigError):
    """A ``--llm-model`` value that cannot be served locally, or a missing local backend."""


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


class SubsetAbsentError(DatasetError):
    """A selected subset has no row in a local file whose rows do name their subset (a file of
    some subsets, e.g. MMLU-Pro's physics rows): the benchmark runs the subsets that are there and
    says which had no rows; only a benchmark that yields nothing at all is an error."""

    def __init__(self, message: str, *, subset: str, source: str | None = None) -> None:
        super().__init__(message)
        self.subset = subset
        self.source = source


class HubLimitError(DatasetError):
    """A hub download stopped by one of its limits (benchmarks/hub_limits.py); the message names it
    and its environment variable."""


class MediaError(DatasetError):
    """A medium of one sample could not be read or is over a limit: an error of that sample."""

    kind = "media"


class BadRecordError(DatasetError):
    """A collection record whose prompt cannot become a request (a malformed content part, media that
    are not base64): an error of that sample alone."""

    kind = "bad_record"


#: `error_kind`s of a sample that failed before any request left the machine (its input was bad)
BEFORE_REQUEST_KINDS = frozenset({MediaError.kind, BadRecordError.kind})


class EndpointError(LLMEvalError):
    """The endpoint failed to answer; surfaces as a pytest *error*, counted apart from wrong answers."""

    kind = "endpoint"
    #: Seconds the server asked to wait before a retry (its ``Retry-After`` header, RFC 9110 §10.2.3,
    #: read as at most 30 s), or None when it sent none or no usable one; the client's retry waits
    #: this long, at most min(30 s, --llm-timeout), instead of its jittered backoff.
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        snippet: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        details = message
        if status is not None:
            details += f" (HTTP {status})"
        if snippet:
            details += f": {snippet[:300]!r}"
        super().__init__(details)
        self.status = status
        self.snippet = snippet
        self.retry_after = retry_after


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
        super().__init__(f"authentication failed at {base_url}, set --llm-api-key or OPENAI_API_KEY", status=status)


class RequestTimeoutError(EndpointError):
    kind = "timeout"


class ServerError(EndpointError):
    """HTTP status >= 400 (other than 401/403) that survived the retries; ``status`` holds it and
    ``retry_after`` the server's ``Retry-After`` in seconds, if it sent one."""

    kind = "http_status"


def base_url_hint(base_url: str, suggestion: str | None = None) -> str:
    """The likely fix for a base URL that answers 404: `suggestion` (a base URL found to answer),
    else `/v1` added when no version segment is there."""
    from urllib.parse import urlsplit

    if suggestion is not None:
        return f"did you mean --llm-base-url {suggestion}? (its /models answers)"
    path = urlsplit(base_url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if not (last.startswith("v") and last[1:].isdigit()):
        return f"did you mean --llm-base-url {base_url.rstrip('/')}/v1?"
    return "check --llm-base-url: it is the URL that /chat/completions is appended to (e.g. http://localhost:8000/v1)"


class EndpointNotFoundError(ServerError):
    """A 404 from the start-up probe or the first chat request, or a 405/501 from the chat URL (a
    server that takes no POST there: a static file server, a web page): the base URL (or the model
    name) is wrong, and every other request would fail the same way, so the run stops."""

    kind = "not_found"

    def __init__(
        self,
        method: str,
        url: str,
        base_url: str,
        snippet: str | None = None,
        suggestion: str | None = None,
        *,
        status: int = 404,
        reason: str = "Not Found",
    ) -> None:
        hint = base_url_hint(base_url, suggestion)
        if method == "POST" and status == 404:  # the chat route: some servers answer 404 for an unknown model too
            hint += " (or, if the server names an unknown model, check --llm-model)"
        elif status != 404:
            hint = f"no OpenAI-compatible chat route is there: {hint}"
        super().__init__(f"{method} {url} answered {status} {reason}; {hint}", snippet=snippet)
        self.status = status
        self.url = url


class BadResponseError(EndpointError):
    kind = "bad_response"


class JudgeError(EndpointError):
    """The judge model answered neither CORRECT nor INCORRECT (a failed judge request is a transport error)."""

    kind = "judge"


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


class ServerStartError(LLMEvalError):
    """The managed model server could not be started (base class of the errors below)."""


class ServerCommandError(ServerStartError):
    """The command cannot be run: empty, executable not found, or no way to tell it its port."""


class PortInUseError(ServerStartError):
    """The port asked for is taken. Attributes: ``host``, ``port``."""

    def __init__(self, host: str, port: int, log_path: Path | None = None) -> None:
        where = f" (server log: {log_path})" if log_path else ""
        super().__init__(
            f"port {port} on {host} is already in use{where}; stop the process listening there, "
            "choose another port, or leave the port unset to pick a free one"
        )
        self.host = host
        self.port = port


class ServerExitedError(ServerStartError):
    """The server process ended before it answered ``/v1/models``. Attributes: ``returncode``
    (``Popen`` convention), ``log_tail``, ``log_path``."""

    def __init__(self, command: list[str], returncode: int, log_tail: str, log_path: Path) -> None:
        import shlex

        how = describe_exit(returncode)
        super().__init__(
            f"model server {how} before it was ready: {shlex.join(command)}\n"
            f"last lines of {log_path}:\n{log_tail or '(log is empty)'}"
        )
        self.returncode = returncode
        self.log_tail = log_tail
        self.log_path = log_path


class ServerReadyTimeoutError(ServerStartError):
    """The server did not answer ready within ``timeout_s`` seconds and was stopped. Attributes:
    ``timeout_s``, ``log_tail``, ``log_path``."""

    def __init__(self, url: str, timeout_s: float, log_tail: str, log_path: Path) -> None:
        super().__init__(
            f"model server did not answer GET {url} with 200 within {timeout_s:g} s and was stopped; "
            f"raise --llm-serve-timeout if it needs longer to load\n"
            f"last lines of {log_path}:\n{log_tail or '(log is empty)'}"
        )
        self.timeout_s = timeout_s
        self.log_tail = log_tail
        self.log_path = log_path


class PerfRunError(LLMEvalError):
    """A perf run that produced no usable figure (every request failed, or the worker died)."""


class RebuildError(LLMEvalError):
    """A problem with the input files of ``python -m pytest_llmeval.report``: the message names the
    file, the line and the fix (the command prints it and exits with status 2)."""


class FakeServerError(LLMEvalError, RuntimeError):
    """The fake server (``pytest_llmeval.testing``) could not start, died, or its control endpoints
    failed. Also a ``RuntimeError``, as it was before it moved here."""


class WrongAnswer(AssertionError):
    """The model answered, and the answer was scored as wrong (a pytest *failure*, not an error).

    Deliberately not an ``LLMEvalError``: it is an ``AssertionError`` so pytest reports a failed
    test rather than an error (a wrong answer is never an error, and an error never a wrong answer)."""


class NoPromptLogprobsError(EndpointError):
    """A completions server that returned no log-probabilities for the echoed prompt: log-likelihood
    scoring cannot work there, and scoring on nothing would be a silent chance-level result."""

    kind = "no_prompt_logprobs"

    def __init__(self, server: str, lacks: str) -> None:
        super().__init__(
            f"{server} returned {lacks}; log-likelihood scoring needs the log-probabilities of the echoed "
            f"prompt (POST /v1/completions with echo=true, logprobs=1): use a server that returns them "
            f"(vLLM, SGLang, llama-cpp-python's server, which --llm-serve starts) or the generative form"
        )
        self.server = server
        self.lacks = lacks
