"""The eval client's HTTP exchanges in a child process: an `HttpPool` (endpoint/native.py) behind two pipes.

Why: the dispatcher's event loop shares the GIL with pytest's main thread. Measured with
`bench/eval_throughput.py` (5,000 samples, zero-latency loopback server, 2 cores): answers over
HTTP cost 1.57x a bare pytest run against 1.17x with every answer cached. Per request the
dispatcher thread used 150 µs of CPU where the same client alone uses 63 µs (`bench/client_cpu.py`),
and the main thread 90 µs more: each socket syscall hands the GIL over, and pytest's capture
syscalls hand it back. Here the sockets live in a child process with its own GIL; the dispatcher
thread only writes request frames and reads answer frames, many per system call.

What stays in the parent (`endpoint/client.py`): retries, timeouts (a cancelled request is
cancelled in the child, whose connection is then dropped), status handling, the wire format's
parsing, redaction, the dead-server check. What the child does is exactly `HttpPool.request`:
connection reuse, the response-size cap, inflating, and the failures it raises, which come back
as the same exception classes with the same cause chain (`transport.py` names them as before).

Frames: a 4-byte big-endian length, then a pickled tuple. Both ends are this module, started by
this process; nothing a server sends is unpickled, its bytes travel as `bytes` values.

    parent -> child   ("config", {HttpPool's arguments, httpx_tls})      first, once
                      ("request", id, target, head, body, streamed)
                      ("cancel", id)
    child -> parent   ("ready", -1)                                      once its pool is made
                      ("piece", id, read_time, data)                  streamed bodies, as read
                      ("done", id, status, reason, raw_head, body)
                      ("fail", id, status, [pickled exception, its cause, ...])

The child writes what is ready at most once per `FLUSH_INTERVAL_S` (the first answer after a
quiet spell at once), so a burst of answers costs the parent one read. Read times are the child's
`time.perf_counter()`: CLOCK_MONOTONIC, the same clock in both processes on Linux.

Lifetime: the child runs in its own session (a terminal's Ctrl-C goes to pytest, not to it) and
exits when its input pipe closes: at `aclose`, or when the parent dies in any way. If the child
dies first, its requests in flight and every later one run in this process (a plain `HttpPool`),
and `death` says how it ended.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from . import native

MODULE = "pytest_llmeval.endpoint.pool_process"
FLUSH_INTERVAL_S = 0.0005
_LENGTH = struct.Struct("!I")
_MAX_CHAIN = 8
_START_WAIT_S = 10.0  # spawning the child and connecting its two pipes: milliseconds


def encode_frame(message: tuple[Any, ...]) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


class FrameReader:
    """Splits the bytes of a pipe into the messages of `encode_frame`."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[Any, ...]]:
        buffer = self.buffer
        buffer += data
        messages, offset, end = [], 0, len(buffer)
        with memoryview(buffer) as view:
            while end - offset >= 4:
                (size,) = _LENGTH.unpack_from(view, offset)
                if end - offset - 4 < size:
                    break
                messages.append(pickle.loads(view[offset + 4 : offset + 4 + size]))
                offset += 4 + size
        del buffer[:offset]
        return messages


class _Outbox:
    """Frames to one pipe, joined into one write: at the end of this loop turn (`interval` 0) or,
    in the child, at most once per `interval` seconds."""

    def __init__(self, transport: asyncio.WriteTransport, interval: float = 0.0) -> None:
        self.transport = transport
        self.interval = interval
        self.frames: list[bytes] = []
        self.scheduled = False
        self.last_flush = 0.0

    def send(self, message: tuple[Any, ...]) -> None:
        self.frames.append(encode_frame(message))
        if self.scheduled:
            return
        self.scheduled = True
        loop = asyncio.get_running_loop()
        wait = self.last_flush + self.interval - time.perf_counter()
        if wait > 0:
            loop.call_later(wait, self.flush)
        else:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        self.last_flush = time.perf_counter()
        if self.frames and not self.transport.is_closing():
            self.transport.write(b"".join(self.frames))
        self.frames.clear()


class _Inbox(asyncio.Protocol):
    def __init__(self, on_message: Callable[[tuple[Any, ...]], None], on_closed: Callable[[], None]) -> None:
        self.reader = FrameReader()
        self.on_message = on_message
        self.on_closed = on_closed

    def data_received(self, data: bytes) -> None:
        for message in self.reader.feed(data):
            self.on_message(message)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.on_closed()


# -- exceptions across the pipe -------------------------------------------------------------------


def portable_chain(exc: BaseException) -> list[bytes]:
    """`exc` and what caused it (``__cause__``, else ``__context__``), each pickled alone; one that
    does not survive a round trip travels as an OSError with its class name and message."""
    chain: list[bytes] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < _MAX_CHAIN:
        seen.add(id(current))
        try:
            data = pickle.dumps(current, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.loads(data)
        except Exception:
            data = pickle.dumps(OSError(f"{type(current).__name__}: {current}"))
        chain.append(data)
        current = current.__cause__ or current.__context__
    return chain


def rebuild_chain(chain: list[bytes]) -> BaseException:
    """The exception of `portable_chain`, each one the ``__cause__`` of the one before."""
    found = [pickle.loads(data) for data in chain]
    for outer, inner in itertools.pairwise(found):
        outer.__cause__ = inner
    return found[0] if found else OSError("the HTTP process sent an empty failure")


# -- the parent's side ----------------------------------------------------------------------------


class WorkerGone(Exception):
    """The child ended (or its pipe broke) before answering: the request is run in this process."""


class _Pending:
    __slots__ = ("done", "response", "streamed")

    def __init__(self, done: asyncio.Future[None], response: native.Response) -> None:
        self.done = done
        self.response = response
        self.streamed = False  # a piece of its body was handed to the response's sink


class ProcessPool:
    """`HttpPool`'s interface as the eval client uses it (`new_response`, `request`, `aclose`),
    with the exchanges made by a child process. Create and use it inside one event loop;
    `start_soon` starts the child ahead of the first request."""

    def __init__(
        self,
        connections: int,
        max_response_bytes: int,
        *,
        httpx_tls: bool = False,
        on_death: Callable[[str], None] | None = None,
        **options: Any,
    ) -> None:
        """`connections`, `max_response_bytes` and `options` (`connect_timeout`, `inflate`,
        `keepalive_expiry`) are `HttpPool`'s, for the child's pool; `httpx_tls`: its TLS context is
        httpx's (`native.httpx_ssl_context`). `on_death`: told (on the loop's thread) how the child
        ended, if it ends before `aclose`."""
        self.on_death = on_death
        self.pool_arguments: dict[str, Any] = {
            "connections": connections,
            "max_response_bytes": max_response_bytes,
            "httpx_tls": httpx_tls,
            **options,
        }
        self.max_response_bytes = max_response_bytes
        self.inflate = bool(options.get("inflate", False))
        self.death: str | None = None  # how the child ended, when it ended before `aclose`
        self._process: subprocess.Popen[bytes] | None = None
        self._outbox: _Outbox | None = None
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count()
        self._local: native.HttpPool | None = None
        self._starting: asyncio.Future[None] | None = None
        self._child_ready: asyncio.Future[None] | None = None  # its "ready": its pool is made
        self._closing = False

    def start_soon(self) -> None:
        """Start the child now, without waiting for it (it takes ~60 ms to import, on another core);
        else the first request starts it. Call on the pool's loop."""
        if self._starting is None:
            self._child_ready = asyncio.get_running_loop().create_future()
            self._starting = asyncio.ensure_future(self._start())

    async def ready(self) -> None:
        """Wait until the child can take requests (or has failed to start): a caller that times its
        requests calls this first, so that the child's start-up is not counted as latency."""
        starting = self._starting
        if starting is not None and starting.done() and not starting.cancelled() and starting.exception() is None:
            return  # the child is up, or said why not (`death`): every request after the first
        if self.death is None:
            self.start_soon()  # nothing when started already
            assert self._starting is not None
            await asyncio.shield(self._starting)

    async def _start(self) -> None:
        from ..processes import spawn_module  # psutil: only when a child is started

        loop = asyncio.get_running_loop()
        to_child, from_parent = os.pipe()[::-1]
        from_child, to_parent = os.pipe()
        try:
            try:
                self._process = spawn_module(
                    MODULE,
                    [str(from_parent), str(to_parent)],
                    pass_fds=(from_parent, to_parent),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            finally:
                os.close(from_parent)
                os.close(to_parent)
            write, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(to_child, "wb", buffering=0))
            await loop.connect_read_pipe(
                lambda: _Inbox(self._received, self._closed), os.fdopen(from_child, "rb", buffering=0)
            )
        except OSError as exc:  # no process or no pipe (out of memory, of processes, of descriptors)
            self.death = f"the HTTP process did not start ({exc})"
            if self.on_death is not None:
                self.on_death(self.death)
            for fd in (to_child, from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            return
        self._outbox = _Outbox(write)
        if self._closing:  # `aclose` came while the pipes were connected: the child's EOF now, no config
            write.close()
            return
        self._outbox.send(("config", self.pool_arguments))
        assert self._child_ready is not None
        await self._child_ready  # its pool made: the requests' clocks may start

    def new_response(self, sink: native.BodySink | None = None) -> native.Response:
        return native.Response(asyncio.get_running_loop().create_future(), self.max_response_bytes, sink, self.inflate)

    async def request(
        self, where: native.Target, head: bytes, body: bytes = b"", response: native.Response | None = None
    ) -> native.Response:
        """As `HttpPool.request`: the complete response, or what failed raised."""
        if response is None:
            response = self.new_response()
        await self.ready()
        if self._outbox is None or self.death is not None:
            return await self._fallback().request(where, head, body, response)
        index = next(self._ids)
        pending = self._pending[index] = _Pending(response.future, response)
        self._outbox.send(("request", index, tuple(where), head, body, response.sink is not None))
        try:
            await pending.done
        except WorkerGone:
            if pending.streamed:  # part of a stream was handed on: sending it again would repeat it
                raise native.ServerClosedConnection(f"the HTTP process ended mid-answer ({self.death})") from None
            response.future = asyncio.get_running_loop().create_future()  # the old one holds WorkerGone
            return await self._fallback().request(where, head, body, response)
        except asyncio.CancelledError:
            if self._outbox is not None and self.death is None:
                self._outbox.send(("cancel", index))
            raise
        finally:
            self._pending.pop(index, None)
        return response

    def _received(self, message: tuple[Any, ...]) -> None:
        if message[0] == "ready":
            if self._child_ready is not None and not self._child_ready.done():
                self._child_ready.set_result(None)
            return
        pending = self._pending.get(message[1])
        if pending is None or pending.done.done():  # cancelled meanwhile
            return
        done, response = pending.done, pending.response
        kind = message[0]
        if kind == "piece":
            pending.streamed = True
            try:
                assert response.sink is not None
                response.sink(message[3], message[2])
            except Exception as exc:  # the stream's reader refused it: the request fails with that
                done.set_exception(exc)
                assert self._outbox is not None
                self._outbox.send(("cancel", message[1]))
        elif kind == "done":
            _, _, response.status, response.reason, response.raw_head, content = message
            response.body = [(time.perf_counter(), content)] if content else []
            response.complete = True
            done.set_result(None)
        elif kind == "fail":
            response.status = message[2]
            done.set_exception(rebuild_chain(message[3]))

    def _closed(self) -> None:
        """The child's pipe closed: expected at `aclose`; else the child is gone."""
        if self._closing:
            if self._child_ready is not None and not self._child_ready.done():
                self._child_ready.set_result(None)  # a start that waits for it ends
            return
        code = self._process.poll() if self._process is not None else None
        if code is None and self._process is not None:
            try:
                code = self._process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self.death = _describe_exit(code)
        if self._child_ready is not None and not self._child_ready.done():
            self._child_ready.set_result(None)  # `_start` returns; the requests run here
        for pending in list(self._pending.values()):
            if not pending.done.done():
                pending.done.set_exception(WorkerGone(self.death))
        if self.on_death is not None:
            self.on_death(self.death)

    def _fallback(self) -> native.HttpPool:
        if self._local is None:
            self._local = _http_pool(self.pool_arguments)
        return self._local

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def aclose(self) -> None:
        self._closing = True
        starting = self._starting
        if starting is not None and not starting.done() and self._outbox is None:
            # Closed while the child is being started (an evaluation whose -k/-m left no sample stops
            # it right after collection): let `_start` spawn it and connect its pipes, so that it is
            # told to exit (EOF) instead of being left behind, or waited on for 5 s and killed.
            await asyncio.wait({starting}, timeout=_START_WAIT_S)
        if self._outbox is not None:
            self._outbox.flush()
            self._outbox.transport.close()  # the child's EOF: it cancels what is left and exits
        if self._process is not None:
            if self._child_ready is not None and not self._child_ready.done():
                # It never said ready, so it took no request: still importing (~60 ms, which a short
                # run, every answer from the cache, would wait for). Stopped now.
                self._process.kill()
            try:
                await asyncio.to_thread(self._process.wait, 5.0)
            except subprocess.TimeoutExpired:
                self._process.kill()
                await asyncio.to_thread(self._process.wait)
        if self._local is not None:
            await self._local.aclose()


def _http_pool(arguments: dict[str, Any]) -> native.HttpPool:
    """The `HttpPool` of `ProcessPool.pool_arguments`: the child's, or this process's after it died."""
    arguments = dict(arguments)
    httpx_tls = arguments.pop("httpx_tls")
    return native.HttpPool(ssl_context=native.httpx_ssl_context() if httpx_tls else None, **arguments)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "the HTTP process closed its pipe"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the HTTP process was killed by {name}"
    return f"the HTTP process exited with status {code}"


# -- the child's side -----------------------------------------------------------------------------


class _Child:
    def __init__(self, outbox: _Outbox) -> None:
        self.outbox = outbox
        self.pool: native.HttpPool | None = None
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.finished = asyncio.get_running_loop().create_future()

    def received(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "request":
            _, index, where, head, body, streamed = message
            self.tasks[index] = asyncio.get_running_loop().create_task(
                self.exchange(index, native.Target(*where), head, body, streamed)
            )
        elif kind == "cancel":
            cancelled = self.tasks.pop(message[1], None)
            if cancelled is not None:
                cancelled.cancel()
        elif kind == "config":
            self.pool = _http_pool(message[1])
            self.outbox.send(("ready", -1))

    async def exchange(self, index: int, where: native.Target, head: bytes, body: bytes, streamed: bool) -> None:
        assert self.pool is not None
        send = self.outbox.send
        sink = (lambda data, now: send(("piece", index, now, data))) if streamed else None
        response = self.pool.new_response(sink)
        try:
            await self.pool.request(where, head, body, response)
        except asyncio.CancelledError:
            return
        except BaseException as exc:
            send(("fail", index, response.status, portable_chain(exc)))
        else:
            send(("done", index, response.status, response.reason, response.raw_head, response.content()))
        finally:
            self.tasks.pop(index, None)

    def closed(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


async def _serve(from_parent: int, to_parent: int) -> None:
    loop = asyncio.get_running_loop()
    write, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(to_parent, "wb", buffering=0))
    child = _Child(_Outbox(write, FLUSH_INTERVAL_S))
    await loop.connect_read_pipe(
        lambda: _Inbox(child.received, child.closed), os.fdopen(from_parent, "rb", buffering=0)
    )
    await child.finished
    for task in list(child.tasks.values()):
        task.cancel()
    await asyncio.gather(*child.tasks.values(), return_exceptions=True)
    if child.pool is not None:
        await child.pool.aclose()


def main(argv: list[str]) -> None:
    """``python -m pytest_llmeval.endpoint.pool_process FROM_PARENT TO_PARENT`` (two pipe fds)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(int(argv[0]), int(argv[1])))
    # Its sockets are closed and its answers sent: nothing is left to flush, and the interpreter's
    # own teardown (modules, objects) would only keep the parent waiting in `aclose`.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
