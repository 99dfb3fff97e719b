"""Fixtures of the endpoint tests: raw loopback sockets that fail in the ways a transport can."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from tests.endpoint.test_transport_errors import RawServer


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    """Start RawServers that answer each connection with `handle(conn)`; all are closed after the test."""
    servers: list[RawServer] = []

    def start(handle: Callable[[socket.socket], None]) -> RawServer:
        servers.append(RawServer(handle))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
