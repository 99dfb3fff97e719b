"""One table names every failed HTTP exchange, for the eval client and the perf load generator alike.

The exception class a transport raises is not trusted: ``httpx-aiohttp`` maps every
``aiohttp.ClientConnectionError`` (a refused connection included) to ``httpx.ConnectTimeout``, and
httpx's own transport calls a reset a ``ReadError``. What the operating system or the peer did is
in the chain of ``__cause__`` / ``__context__`` below it (``ConnectionRefusedError``,
``ConnectionResetError``, ``socket.gaierror``, ``ssl.SSLError``, aiohttp's
``ServerDisconnectedError`` ...). :func:`failure_kind` walks that chain against :func:`causes`
(first row that matches wins, rows in this order); :data:`KINDS` then says what each kind is to a
user of the eval client (an error of :mod:`pytest_llmeval.errors`, built by :func:`transport_error`)
and to the perf load generator (a counted error kind, from :func:`perf_failure`):

======================  ==========================================================  ======================
kind                    cause found in the chain                                    perf error kind
======================  ==========================================================  ======================
``tls``                 ``ssl.SSLError`` (certificate verification included),      ``connection_error``
                        aiohttp TLS errors
``dns``                 ``socket.gaierror``, aiohttp ``ClientConnectorDNSError``    ``connection_error``
``connection_refused``  ``ConnectionRefusedError``                                  ``connection_error``
``connection_reset``    ``ConnectionResetError``, ``BrokenPipeError``,              ``connection_reset``
                        ``ConnectionAbortedError``
``disconnected``        ``ServerClosedConnection`` (the native client),             ``connection_reset``
                        aiohttp ``ServerDisconnectedError`` / ``ClientPayloadError``,
                        ``httpx.RemoteProtocolError``, ``asyncio.IncompleteReadError``
``timeout``             only when none of the above: a timeout class, with the      ``timeout``
                        time that really elapsed (never the configured limit alone)
``unreachable``         any other OSError / httpx / aiohttp transport error         ``connection_error``
======================  ==========================================================  ======================

Failures our own readers name (:class:`TransportFailure`: a malformed HTTP response, a bad stream;
``ResponseTooLarge`` from `endpoint/response_cap.py`) keep their kind: to the eval client they are a
``BadResponseError``; perf counts them under that kind (``bad_response``, ``response_too_large``...).
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from ..errors import (
    BadResponseError,
    ConnectionRefusedEndpointError,
    ConnectionResetEndpointError,
    DNSResolutionError,
    EndpointError,
    EndpointUnreachableError,
    RequestTimeoutError,
    ServerDisconnectedError,
    TLSEndpointError,
)
from ..redact import redact
from .response_cap import ERROR_KIND as TOO_LARGE_KIND
from .response_cap import ResponseTooLarge


class TransportFailure(Exception):
    """A failure our own code recognised and named (``kind``: ``bad_response``, ``stream_error``,
    ``incomplete_stream``, ``no_output``, ``http_<status>``, ``response_too_large``...). Internal:
    the eval client turns it into an error of errors.py, perf counts it under ``kind``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple[Any, ...]:  # to cross a pipe (endpoint/pool_process.py)
        return (type(self), (self.kind, str(self)))


class ServerClosedConnection(Exception):
    """The native client's: the server closed the connection cleanly before the response was complete."""


_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})


def _loaded(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """The exception classes `names` of `module` when something in this process imported it, else ().

    No exception of a library nobody imported can be in a cause chain, so the table never imports
    one: httpx and aiohttp (with rich, through httpx) cost about 20 MB of memory in every process,
    and the eval and perf clients do not use them (endpoint/native.py); the hub downloads and the
    httpx-over-aiohttp perf backend do.
    """
    found = sys.modules.get(module)
    return tuple(getattr(found, name) for name in names if hasattr(found, name)) if found is not None else ()


def _aiohttp(*names: str) -> tuple[type[BaseException], ...]:
    return _loaded("aiohttp", *names)


def _httpx(*names: str) -> tuple[type[BaseException], ...]:
    return _loaded("httpx", *names)


def _errno_in(codes: frozenset[int]) -> Callable[[BaseException], bool]:
    return lambda exc: isinstance(exc, OSError) and exc.errno in codes


class Cause(NamedTuple):
    kind: str
    classes: tuple[type[BaseException], ...]
    test: Callable[[BaseException], bool] | None = None  # for what a class alone does not say


def causes() -> tuple[Cause, ...]:
    """The table: first row with a match anywhere in the cause chain wins. Built when a failure is
    named (rarely), from the libraries loaded then (`_loaded`)."""
    return (
        Cause("tls", (ssl.SSLError, *_aiohttp("ClientSSLError", "ServerFingerprintMismatch"))),
        Cause("dns", (socket.gaierror, *_aiohttp("ClientConnectorDNSError"))),
        Cause("connection_refused", (ConnectionRefusedError,), _errno_in(frozenset({errno.ECONNREFUSED}))),
        Cause(
            "connection_reset",
            (ConnectionResetError, BrokenPipeError, ConnectionAbortedError),
            _errno_in(_RESET_ERRNOS),
        ),
        Cause(
            "disconnected",
            (
                ServerClosedConnection,
                *_httpx("RemoteProtocolError"),
                asyncio.IncompleteReadError,
                *_aiohttp("ServerDisconnectedError", "ClientPayloadError"),
            ),
        ),
        Cause(
            "timeout",
            (TimeoutError, asyncio.TimeoutError, *_httpx("TimeoutException"), *_aiohttp("ServerTimeoutError")),
        ),
        Cause("unreachable", (OSError, *_httpx("TransportError"), *_aiohttp("ClientError"))),
    )


class Kind(NamedTuple):
    error: type[EndpointError]  # what the eval client raises
    message: str  # its text: {url}, {detail}, {elapsed} (seconds the request took), {timeout} (--llm-timeout)
    perf_kind: str  # what the perf load generator counts
    perf_message: str  # its text: {detail}


KINDS: dict[str, Kind] = {
    "tls": Kind(
        TLSEndpointError,
        "TLS handshake with {url} failed ({detail}); check the certificate and https/http",
        "connection_error",
        "cannot connect: {detail}",
    ),
    "dns": Kind(
        DNSResolutionError,
        "the host of {url} does not resolve ({detail}); check --llm-base-url",
        "connection_error",
        "cannot connect: {detail}",
    ),
    "connection_refused": Kind(
        ConnectionRefusedEndpointError,
        "connection to {url} refused: nothing listens there; check --llm-base-url and that the server is running",
        "connection_error",
        "cannot connect: {detail}",
    ),
    "connection_reset": Kind(
        ConnectionResetEndpointError,
        "connection to {url} was reset by the server after {elapsed:.1f} s ({detail})",
        "connection_reset",
        "connection reset: {detail}",
    ),
    "disconnected": Kind(
        ServerDisconnectedError,
        "the server closed the connection to {url} before the response was complete, after {elapsed:.1f} s ({detail})",
        "connection_reset",
        "connection closed by the server: {detail}",
    ),
    "timeout": Kind(
        RequestTimeoutError,
        "no complete answer within {timeout:g} s (--llm-timeout): gave up after {elapsed:.1f} s waiting for {url}",
        "timeout",
        "timed out",
    ),
    "unreachable": Kind(
        EndpointUnreachableError,
        "connection to {url} failed ({detail})",
        "connection_error",
        "cannot connect: {detail}",
    ),
}


def cause_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception below it (``__cause__`` first, then ``__context__``), once each."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for below in (current.__cause__, current.__context__, getattr(current, "os_error", None)):
            if isinstance(below, BaseException):
                stack.append(below)


def failure_kind(exc: BaseException) -> str | None:
    """The :func:`causes` kind of a transport exception; None when nothing in its chain is a
    transport failure (a bug of ours, not the network's)."""
    chain = list(cause_chain(exc))
    for cause in causes():
        for below in chain:
            if isinstance(below, cause.classes) or (cause.test is not None and cause.test(below)):
                return cause.kind
    return None


def _detail(exc: BaseException) -> str:
    """The deepest message that says something, for the error text."""
    chain = list(cause_chain(exc))
    for below in reversed(chain):
        text = redact(str(below).strip())
        if text:
            return f"{type(below).__name__}: {text}"
    return type(chain[0]).__name__


def transport_error(exc: BaseException, url: str, elapsed_s: float, timeout_s: float) -> EndpointError:
    """The :class:`EndpointError` that names why ``exc`` (raised while talking to ``url``) happened.

    ``elapsed_s`` is the wall time the request really took (seconds), ``timeout_s`` the configured
    ``--llm-timeout``; both appear in a timeout's message.
    """
    if isinstance(exc, ResponseTooLarge):
        return BadResponseError(str(exc))
    if isinstance(exc, TransportFailure):
        return BadResponseError(redact(str(exc)))
    entry = KINDS[failure_kind(exc) or "unreachable"]
    return entry.error(entry.message.format(url=url, detail=_detail(exc), elapsed=elapsed_s, timeout=timeout_s))


def perf_failure(exc: BaseException) -> tuple[str, str]:
    """(perf error kind, message) of any exception a perf request raised."""
    if isinstance(exc, TransportFailure):
        return exc.kind, str(exc)
    if isinstance(exc, ResponseTooLarge):
        return TOO_LARGE_KIND, str(exc)
    kind = failure_kind(exc)
    if kind is None:
        return "error", f"{type(exc).__name__}: {str(exc) or type(exc).__name__}"
    entry = KINDS[kind]
    return entry.perf_kind, entry.perf_message.format(detail=_detail(exc))
