"""What a dataset hub may do to this machine: the files it names, how long it may take, how much it
may send. A hub is untrusted input like any dataset row (docs/security.md, "Dataset hubs").

* Paths (`safe_repo_path`): every file name a hub's listing gives must be a plain relative path
  inside the dataset's folder: no absolute path (`/tmp/x.jsonl`, `C:/x`), no `..` segment, no
  backslash (a Windows separator: `..\\x`), no NUL or other control character, no empty segment, no
  `:` and nothing that becomes one of those after Unicode (NFKC) normalisation. One such name refuses
  the whole download before anything is written: a listing that lies about one path is not trusted
  for the others.
* Time, size and requests (`HubLimits`, one budget per download: one dataset split, one snapshot,
  one set of release files), each overridable by an environment variable:

  ==========================  =========  ===============================================
  variable                    default    stops the download when
  ==========================  =========  ===============================================
  LLMEVAL_HUB_TIMEOUT         3600 (s)   it takes longer, however slowly bytes trickle
  LLMEVAL_HUB_STALL_TIMEOUT   60 (s)     no byte arrives for that long
  LLMEVAL_HUB_MAX_BYTES       8G         the hub sends more (listings and files together)
  LLMEVAL_HUB_MAX_LISTING     256M       its JSON answers (listings, info) hold more: they
                                         are kept in memory, files are not
  LLMEVAL_HUB_MAX_REQUESTS    20000      it needs more requests (an endless listing)
  ==========================  =========  ===============================================

  Sizes take a `K`/`M`/`G` suffix (powers of 1024). The error names the limit that stopped the
  download and the variable that raises it.

Hugging Face: `huggingface_hub` sends every request of `datasets` and `snapshot_download` through
one shared HTTP client built by a factory it lets users replace (`set_client_factory`); ours wraps
its transport so that each request and each chunk of a body is checked against the budget of the
download in progress (requests outside a download pass unchanged). `hf_xet` downloads bypass that
client, so they are turned off while the budget is on (`HF_HUB_DISABLE_XET=0` lets them through,
uncounted). ModelScope: `hubs.modelscope_snapshot` lists the repository itself under the budget,
checks every path and size before the `modelscope` client downloads exactly the listed files (the
client refuses a file larger than its listed size), and the client's own per-file time limits
(`MODELSCOPE_DOWNLOAD_TOTAL_TIMEOUT`, `MODELSCOPE_DOWNLOAD_TIMEOUT`) default to ours.
"""

from __future__ import annotations

import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, DatasetError, HubLimitError

DEFAULT_TIMEOUT_S = 3600.0
DEFAULT_STALL_S = 60.0
DEFAULT_MAX_BYTES = 8 * 1024**3
DEFAULT_MAX_REQUESTS = 20_000
DEFAULT_MAX_LISTING = 256 * 1024**2
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


@dataclass(frozen=True)
class HubLimits:
    """The limits of one hub download (see the module docstring for the variables)."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    stall_s: float = DEFAULT_STALL_S
    max_bytes: int = DEFAULT_MAX_BYTES
    max_requests: int = DEFAULT_MAX_REQUESTS
    max_listing: int = DEFAULT_MAX_LISTING

    @classmethod
    def from_env(cls) -> HubLimits:
        return cls(
            timeout_s=_seconds("LLMEVAL_HUB_TIMEOUT", DEFAULT_TIMEOUT_S),
            stall_s=_seconds("LLMEVAL_HUB_STALL_TIMEOUT", DEFAULT_STALL_S),
            max_bytes=_size("LLMEVAL_HUB_MAX_BYTES", DEFAULT_MAX_BYTES),
            max_requests=int(_size("LLMEVAL_HUB_MAX_REQUESTS", DEFAULT_MAX_REQUESTS)),
            max_listing=_size("LLMEVAL_HUB_MAX_LISTING", DEFAULT_MAX_LISTING),
        )


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw.removesuffix("s"))
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name}={raw!r}: expected a positive number of seconds, e.g. {name}={int(default)}")
    return value


def _size(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?", raw, re.IGNORECASE)
    value = int(float(match.group(1)) * _UNITS[match.group(2).upper()]) if match else 0
    if value <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a positive whole number, optionally with K, M or G (e.g. 8G)")
    return value


def _human(size: int) -> str:
    for unit in ("G", "M", "K"):
        if size >= _UNITS[unit] and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return f"{size:,} bytes"


# -- paths ---------------------------------------------------------------------------------------


def safe_repo_path(name: Any, hub: str, repo: str, fix: str) -> str:
    """`name` (a file path from `hub`'s listing of `repo`) when it is a plain relative path inside
    the repository, else a DatasetError that names it and why (see the module docstring)."""
    why = _path_problem(name)
    if why is None:
        return name
    shown = repr(name[:160]) if isinstance(name, str) else type(name).__name__
    raise DatasetError(
        f"the {hub} listing of {repo} names the file {shown}, {why}; a hub may name files inside the dataset's "
        f"folder only, so the download was refused before anything was written. Use a trusted copy of the "
        f"dataset and {fix}"
    )


def _path_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return "which is not a file name"
    if len(name) > 1024:
        return "which is longer than 1024 characters"
    for form in dict.fromkeys((name, unicodedata.normalize("NFKC", name))):
        if any(ord(c) < 32 or ord(c) == 127 for c in form):
            return "which holds a NUL or another control character"
        if "\\" in form:
            return "which holds a backslash (a Windows path separator, as in ..\\x)"
        if form.startswith("/") or re.match(r"[A-Za-z]:", form):
            return "which is an absolute path"
        if ":" in form:
            return "which holds a ':' (a drive or a stream name on Windows)"
        segments = form.split("/")
        if ".." in segments:
            return "which climbs out of the dataset's folder ('..')"
        if any(s in ("", ".") for s in segments):
            return "which has an empty or '.' segment"
        if any(len(s.encode("utf-8")) > 255 for s in segments):
            return "which has a segment longer than 255 bytes"
    return None


# -- time, size and requests ---------------------------------------------------------------------


class HubBudget:
    """The running count of one download against its `HubLimits`. Once a limit is hit every later
    check fails the same way (`tripped`), whatever the client made of the first failure."""

    def __init__(self, limits: HubLimits, hub: str, what: str, fix: str) -> None:
        self.limits = limits
        self.hub, self.what, self.fix = hub, what, fix
        self.started = time.monotonic()
        self.deadline = self.started + limits.timeout_s
        self.received = 0
        self.listed = 0  # bytes of JSON answers, which the clients hold in memory
        self.requests = 0
        self.tripped: HubLimitError | None = None
        self._lock = threading.Lock()

    def _trip(self, why: str, variable: str, advice: str) -> HubLimitError:
        if self.tripped is None:
            self.tripped = HubLimitError(
                f"the download of {self.what} from the {self.hub} was stopped: {why} ({variable}). {advice}, "
                f"or download the dataset where the hub is trusted and {self.fix}"
            )
        return self.tripped

    def check(self) -> None:
        """Raise when a limit was hit or the deadline has passed."""
        if self.tripped is not None:
            raise self.tripped
        if time.monotonic() > self.deadline:
            raise self.timed_out()

    def timed_out(self) -> HubLimitError:
        return self._trip(
            f"it took longer than {self.limits.timeout_s:g} s",
            "LLMEVAL_HUB_TIMEOUT",
            "Raise LLMEVAL_HUB_TIMEOUT for a slow network",
        )

    def request(self) -> None:
        with self._lock:
            self.check()
            self.requests += 1
            if self.requests > self.limits.max_requests:
                raise self._trip(
                    f"it needed more than {self.limits.max_requests:,} requests (an endless listing?)",
                    "LLMEVAL_HUB_MAX_REQUESTS",
                    "Raise LLMEVAL_HUB_MAX_REQUESTS for a dataset of many files",
                )

    def receive(self, count: int, listing: bool = False) -> None:
        with self._lock:
            self.received += count
            self.listed += count if listing else 0
            if self.listed > self.limits.max_listing:
                raise self._trip(
                    f"its listings and other JSON answers passed {_human(self.limits.max_listing)}",
                    "LLMEVAL_HUB_MAX_LISTING",
                    "Raise LLMEVAL_HUB_MAX_LISTING for a repository of very many files",
                )
            if self.received > self.limits.max_bytes:
                raise self._trip(
                    f"the hub sent more than {_human(self.limits.max_bytes)}",
                    "LLMEVAL_HUB_MAX_BYTES",
                    "Raise LLMEVAL_HUB_MAX_BYTES (e.g. 16G) for a larger dataset",
                )
        self.check()

    def declared(self, total: int) -> None:
        """A listing announcing `total` bytes of files: refused up front when over the size limit."""
        if total > self.limits.max_bytes:
            raise self._trip(
                f"its listing announces {total:,} bytes, over {_human(self.limits.max_bytes)}",
                "LLMEVAL_HUB_MAX_BYTES",
                "Raise LLMEVAL_HUB_MAX_BYTES (e.g. 16G) for a larger dataset",
            )

    def stalled(self) -> HubLimitError:
        return self._trip(
            f"no byte arrived for {self.limits.stall_s:g} s",
            "LLMEVAL_HUB_STALL_TIMEOUT",
            "Raise LLMEVAL_HUB_STALL_TIMEOUT for a slow network",
        )

    def read_timeout(self) -> float:
        """How long one network read may wait: the stall limit, never past the deadline."""
        return max(0.001, min(self.limits.stall_s, self.deadline - time.monotonic()))


_active: HubBudget | None = None  # the Hugging Face download in progress (loads run one at a time)


@contextmanager
def hf_budget(what: str, fix: str) -> Iterator[HubBudget]:
    """Apply the limits to every Hugging Face request made inside the block (see the module
    docstring). A limit hit inside raises HubLimitError at the end of the block, whatever exception
    the client turned it into."""
    global _active
    budget = HubBudget(HubLimits.from_env(), "Hugging Face hub", what, fix)
    _install_hf_transport()
    previous, _active = _active, budget
    try:
        yield budget
    except Exception:
        if budget.tripped is not None:
            raise budget.tripped from None
        raise
    finally:
        _active = previous
    if budget.tripped is not None:
        raise budget.tripped


_installed = False


def _install_hf_transport() -> None:
    """Make `huggingface_hub`'s shared client pass its requests through `_LimitedTransport`."""
    global _installed
    if _installed:
        return
    try:
        import huggingface_hub
        from huggingface_hub import constants
        from huggingface_hub.utils import _http
    except ImportError:  # pragma: no cover - datasets depends on it
        return
    default_factory = getattr(_http, "default_client_factory", None)
    if default_factory is None or not hasattr(huggingface_hub, "set_client_factory"):
        return  # an older client without the factory: its own timeouts only

    def limited_client() -> Any:
        client = default_factory()
        module = __import__(type(client).__module__.split(".")[0])
        return type(client)(
            event_hooks=client.event_hooks,
            follow_redirects=client.follow_redirects,
            timeout=client.timeout,
            transport=_limited_transport(module),
        )

    huggingface_hub.set_client_factory(limited_client)
    if os.environ.get("HF_HUB_DISABLE_XET", "").strip() == "":  # every byte through the limits
        constants.HF_HUB_DISABLE_XET = True
    _installed = True


def _limited_transport(httpx_module: Any) -> Any:
    """An `httpx`-style transport checking each request and chunk against the active budget."""

    class CountingStream(httpx_module.SyncByteStream):
        def __init__(self, inner: Any, budget: HubBudget, listing: bool) -> None:
            self.inner, self.budget, self.listing = inner, budget, listing

        def __iter__(self) -> Iterator[bytes]:
            try:
                for chunk in self.inner:
                    self.budget.receive(len(chunk), self.listing)
                    yield chunk
            except httpx_module.TimeoutException:
                raise self.budget.stalled() from None

        def close(self) -> None:
            self.inner.close()

    class LimitedTransport(httpx_module.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx_module.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            budget = _active
            if budget is None:
                return self.inner.handle_request(request)
            budget.request()
            wait = budget.read_timeout()
            timeouts = dict(request.extensions.get("timeout") or {})
            for key in ("connect", "read", "write", "pool"):
                timeouts[key] = min(timeouts.get(key) or wait, wait)
            request.extensions["timeout"] = timeouts
            try:
                response = self.inner.handle_request(request)
            except httpx_module.TimeoutException:
                raise budget.stalled() from None
            listing = "json" in response.headers.get("content-type", "")
            response.stream = CountingStream(response.stream, budget, listing)
            return response

        def close(self) -> None:
            self.inner.close()

    return LimitedTransport()


def modelscope_client_limits() -> None:
    """Default the `modelscope` client's own per-file time limits to ours (its variables, read
    when it is first imported; values the user set win)."""
    limits = HubLimits.from_env()
    os.environ.setdefault("MODELSCOPE_DOWNLOAD_TOTAL_TIMEOUT", str(max(1, int(limits.timeout_s))))
    os.environ.setdefault("MODELSCOPE_DOWNLOAD_TIMEOUT", str(max(1, int(limits.stall_s))))
    os.environ.setdefault("MODELSCOPE_REPO_TREE_LIST_TIMEOUT_SECONDS", str(max(1, int(limits.timeout_s))))
