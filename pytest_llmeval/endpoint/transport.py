"""Name a failed HTTP exchange by what really happened, from the exception's cause chain.

The exception class the transport raises is not trusted: ``httpx-aiohttp`` maps every
``aiohttp.ClientConnectionError`` (a refused connection included) to ``httpx.ConnectTimeout``, and
httpx's own transport calls a reset a ``ReadError``. What the operating system or the peer did is
in the chain of ``__cause__`` / ``__context__`` below it (``ConnectionRefusedError``,
``ConnectionResetError``, ``socket.gaierror``, ``ssl.SSLError``, aiohttp's
``ServerDisconnectedError`` ...); this module walks that chain and builds one of the errors of
:mod:`pytest_llmeval.errors`:

=====================  ================================================================
kind                   cause found in the chain
=====================  ================================================================
``tls``                ``ssl.SSLError`` (certificate verification included), aiohttp TLS errors
``dns``                ``socket.gaierror``, aiohttp ``ClientConnectorDNSError``
``connection_refused`` ``ConnectionRefusedError``
``connection_reset``   ``ConnectionResetError``, ``BrokenPipeError``, ``ConnectionAbortedError``
``disconnected``       aiohttp ``ServerDisconnectedError`` / ``ClientPayloadError``,
                       ``httpx.RemoteProtocolError``, ``asyncio.IncompleteReadError``
``timeout``            only when none of the above: a timeout class, with the time that
                       really elapsed (never the configured limit alone)
``unreachable``        anything else from the transport
=====================  ================================================================
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Iterator

import httpx

from ..errors import (
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

try:  # aiohttp is a dependency of httpx-aiohttp; the stock httpx transport works without it
    import aiohttp
except ImportError:  # pragma: no cover
    aiohttp = None  # type: ignore[assignment]

_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})


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


def _kind(chain: list[BaseException]) -> str | None:
    for exc in chain:
        if isinstance(exc, ssl.SSLError) or (
            aiohttp is not None and isinstance(exc, (aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch))
        ):
            return "tls"
    for exc in chain:
        if isinstance(exc, socket.gaierror) or (
            aiohttp is not None and type(exc).__name__ == "ClientConnectorDNSError"
        ):
            return "dns"
    for exc in chain:
        if isinstance(exc, ConnectionRefusedError) or (
            isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED
        ):
            return "connection_refused"
    for exc in chain:
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)) or (
            isinstance(exc, OSError) and exc.errno in _RESET_ERRNOS
        ):
            return "connection_reset"
    for exc in chain:
        if isinstance(exc, (httpx.RemoteProtocolError, asyncio.IncompleteReadError)) or (
            aiohttp is not None and isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError))
        ):
            return "disconnected"
    for exc in chain:
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError, httpx.TimeoutException)) or (
            aiohttp is not None and isinstance(exc, aiohttp.ServerTimeoutError)
        ):
            return "timeout"
    return None


def _detail(chain: list[BaseException]) -> str:
    """The deepest message that says something, for the error text."""
    for exc in reversed(chain):
        text = redact(str(exc).strip())
        if text:
            return f"{type(exc).__name__}: {text}"
    return type(chain[0]).__name__


def transport_error(exc: BaseException, url: str, elapsed_s: float, timeout_s: float) -> EndpointError:
    """The :class:`EndpointError` that names why ``exc`` (raised while talking to ``url``) happened.

    ``elapsed_s`` is the wall time the request really took (seconds), ``timeout_s`` the configured
    ``--llm-timeout``; both appear in a timeout's message.
    """
    chain = list(cause_chain(exc))
    kind = _kind(chain)
    detail = _detail(chain)
    if kind == "tls":
        return TLSEndpointError(f"TLS handshake with {url} failed ({detail}); check the certificate and https/http")
    if kind == "dns":
        return DNSResolutionError(f"the host of {url} does not resolve ({detail}); check --llm-base-url")
    if kind == "connection_refused":
        return ConnectionRefusedEndpointError(
            f"connection to {url} refused: nothing listens there; check --llm-base-url and that the server is running"
        )
    if kind == "connection_reset":
        return ConnectionResetEndpointError(
            f"connection to {url} was reset by the server after {elapsed_s:.1f} s ({detail})"
        )
    if kind == "disconnected":
        return ServerDisconnectedError(
            f"the server closed the connection to {url} before the response was complete, after {elapsed_s:.1f} s "
            f"({detail})"
        )
    if kind == "timeout":
        return RequestTimeoutError(
            f"no complete answer within {timeout_s:g} s (--llm-timeout): gave up after {elapsed_s:.1f} s "
            f"waiting for {url}"
        )
    return EndpointUnreachableError(f"connection to {url} failed ({detail})")
