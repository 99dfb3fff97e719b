"""Which dataset hub a benchmark's rows come from, and fetching them (`--llm-hub`).

* `huggingface`: `datasets.load_dataset(path, config, split)` (its cache and `HF_HUB_OFFLINE` apply).
* `modelscope`: the `modelscope` client (the optional extra `pytest-llmbench[modelscope]`) downloads
  the dataset repository's data files into its own cache (`MODELSCOPE_CACHE`, default
  `~/.cache/modelscope`); the files are then read by the plugin's own readers (`loading.py`), so a
  bad row is reported as `file:line` exactly as for a local file. A snapshot already in the cache is
  used without any request (`local_files_only` first); only a cache miss asks the hub
  (`MODELSCOPE_ENDPOINT` points the client at another endpoint).
* `auto` (default): each benchmark's canonical home (`DatasetSource.home`): ModelScope for IQuiz,
  whose data lives only there; Hugging Face for the others.

Offline: before the first request of a run the hub's host is probed with one TCP connection (3 s
timeout), so an unreachable hub fails in about a second instead of after ~25 s of the clients' own
retries; `HF_HUB_OFFLINE=1` / `MODELSCOPE_OFFLINE=1` skip even that and use the caches only. After a
hub was found unreachable, later loads in the same run fail at once, and the plugin reports one error
per benchmark (`DatasetError.hub_unreachable`), naming both hubs and `--llm-dataset`. Hugging Face found
unreachable turns `datasets` offline for the run (its cache may still serve), never ModelScope: a
network that lets only ModelScope through still serves it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from ..errors import DatasetError
from .base import Benchmark, DatasetSource
from .files import _listing, read_paths, snapshot_files
from .hub_limits import HubBudget, HubLimitError, HubLimits, hf_budget, modelscope_client_limits, safe_repo_path

Hub = Literal["huggingface", "modelscope"]
HUB_NAMES = {"huggingface": "Hugging Face hub", "modelscope": "ModelScope hub"}
DATA_PATTERNS = [
    "*.jsonl",
    "*.json",
    "*.csv",
    "*.tsv",
    "*.parquet",
    "*.gz",
    "*.bz2",
    "*.xz",
    "**/*.jsonl",
    "**/*.json",
    "**/*.csv",
    "**/*.tsv",
    "**/*.parquet",
    "**/*.gz",
    "**/*.bz2",
    "**/*.xz",
]
PROBE_TIMEOUT_S = 3.0
_unreachable: dict[str, str] = {}  # hub -> why, once found out of reach in this process
_forced_offline: set[str] = set()  # offline variables this process set itself (HF found unreachable)

Located = tuple[Any, str]


def hub_for(source: DatasetSource, choice: str) -> Hub:
    """The hub a benchmark is read from under `--llm-hub choice`."""
    if choice == "auto":
        return "modelscope" if source.home == "modelscope" else "huggingface"
    if choice == "modelscope" and not source.modelscope:
        return "huggingface"  # no ModelScope copy is known: the Hugging Face id is the only one
    return choice  # type: ignore[return-value]


def hub_rows(
    benchmark: Benchmark, subset: str, split: str, choice: str, fix: str, *, strict: bool = False
) -> tuple[Iterator[Located], bool]:
    """(rows of `subset`'s data, whether they already are only that subset's rows). When False the
    caller filters them on the subset field. `strict`: a ModelScope snapshot's file must name `split`
    (see `files.snapshot_files`)."""
    source = benchmark.source
    assert source is not None
    hub = hub_for(source, choice)
    config = subset if source.subset_mode == "config" else source.config
    other = _other_hub_hint(source, hub)
    if hub == "modelscope":
        return modelscope_rows(benchmark, subset, config, split, fix + other, strict=strict)
    dataset = load_hf_split(source, config, split, fix + other)
    label = f"{source.path}[{config or 'default'}/{split}]"
    rows = ((record, f"{label} row {index}") for index, record in enumerate(dataset))
    return rows, source.subset_mode != "field"


def _other_hub_hint(source: DatasetSource, hub: Hub) -> str:
    if hub == "huggingface" and source.modelscope:
        return f"; or read it from ModelScope ({source.modelscope}) with --llm-hub modelscope"
    if hub == "modelscope" and source.home != "modelscope":
        return f"; or read it from Hugging Face ({source.path}) with --llm-hub huggingface"
    return ""


def _offline(*names: str) -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in names)


def _user_offline(*names: str) -> bool:
    """`_offline`, counting only variables the user set: Hugging Face found unreachable in this
    run turns `datasets` offline, which must not also refuse a reachable ModelScope."""
    return _offline(*(name for name in names if name not in _forced_offline))


def probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None when a TCP connection to the URL's host opens within `timeout` seconds, else why not."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


def _unreachable_error(hub: Hub, name: str, why: str, fix: str) -> DatasetError:
    # The other hub is offered only when the dataset is there too: `fix` then ends with the
    # `--llm-hub` hint of `_other_hub_hint` (iquiz lives on ModelScope alone).
    other = "ModelScope hub" if hub == "huggingface" else "Hugging Face hub"
    where = f"the {HUB_NAMES[hub]} or the {other}" if "--llm-hub" in fix else f"the {HUB_NAMES[hub]}"
    return DatasetError(
        f"cannot load {name}: the {HUB_NAMES[hub]} is not reachable ({why}) and the dataset is not in its cache. "
        f"Download it where {where} is reachable and {fix}",
        hub_unreachable=True,
    )


# -- Hugging Face -------------------------------------------------------------------------------


def _hf_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def _go_offline_hf() -> None:
    """Make `datasets` use its cache without network retries (as HF_HUB_OFFLINE=1 would)."""
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if not _offline(name):
            _forced_offline.add(name)
            os.environ[name] = "1"
    _sync_hf_offline_switches()


def forget_unreachable_hubs() -> None:
    """Undo what finding a hub out of reach did to this process (`_unreachable`, the offline switches of
    `_go_offline_hf`): called when a run ends, so a later run in the same process (`pytest.main` again,
    a notebook) probes the hubs afresh instead of inheriting an outage it never saw."""
    _unreachable.clear()
    if not _forced_offline:
        return
    for name in _forced_offline:
        os.environ.pop(name, None)
    _forced_offline.clear()
    _sync_hf_offline_switches()


def _sync_hf_offline_switches() -> None:
    """huggingface_hub and `datasets` read their offline variables once, when imported: set the copies
    they keep to what the environment says now."""
    try:
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = _offline("HF_HUB_OFFLINE")
    except (ImportError, AttributeError):
        pass
    try:
        import datasets.config as datasets_config

        datasets_config.HF_HUB_OFFLINE = _offline("HF_HUB_OFFLINE")
        if hasattr(datasets_config, "HF_DATASETS_OFFLINE"):
            datasets_config.HF_DATASETS_OFFLINE = _offline("HF_DATASETS_OFFLINE")
    except ImportError:
        pass


def load_hf_split(source: DatasetSource, config: str | None, split: str, fix: str) -> Any:
    """One split from the Hugging Face hub through `datasets` (its cache and offline mode apply).
    Any failure becomes one DatasetError that names the dataset and ends with `fix`."""
    name = source.path + (f" (config {config!r})" if config else "") + f" split {split!r}"

    def load() -> Any:
        import datasets

        return datasets.load_dataset(source.path, name=config, split=split)

    return hf_load(name, fix, load)


def hf_load(name: str, fix: str, load: Callable[[], Any]) -> Any:
    """`load()` (a `datasets` call that reads from the Hugging Face hub), after the reachability
    probe: an unreachable hub turns `datasets` offline (its cache may still hold the data) instead of
    waiting through its retries. Any failure becomes one DatasetError naming `name`, ending with `fix`."""
    offline = _offline("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    if not offline and "huggingface" not in _unreachable:
        why = probe(_hf_endpoint())
        if why is not None:
            _unreachable["huggingface"] = why
    if "huggingface" in _unreachable and not offline:
        _go_offline_hf()  # the cache may still hold it; no retries against a dead host
        offline = True
    try:
        with hf_budget(name, fix):  # the hub limits: time, size, requests (hub_limits.py)
            return load()
    except DatasetError:
        raise
    except Exception as exc:  # network, auth, missing config: all end the same way for the user
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        text = str(exc).lower()
        if offline or "offline" in text or (isinstance(exc, (ConnectionError, OSError)) and "reach" in text):
            why = _unreachable.get("huggingface") or ("HF_HUB_OFFLINE is set" if offline else detail)
            _unreachable.setdefault("huggingface", why)
            raise _unreachable_error("huggingface", name, why, fix) from None
        raise DatasetError(
            f"cannot load {name} from the Hugging Face hub ({detail}). Download it where the hub is reachable "
            f"(datasets save_to_disk, or the repository's jsonl/parquet files) and {fix}",
        ) from None


# -- ModelScope ---------------------------------------------------------------------------------


def _ms_endpoint() -> str:
    endpoint = (
        os.environ.get("MODELSCOPE_ENDPOINT") or os.environ.get("MODELSCOPE_DOMAIN") or "https://www.modelscope.cn"
    )
    return endpoint if "://" in endpoint else f"https://{endpoint}"


def modelscope_snapshot(dataset_id: str, fix: str, patterns: Sequence[str] = DATA_PATTERNS) -> Path:
    """The local snapshot folder of a ModelScope dataset's files matching `patterns` (default: every
    data file): from the client's cache when it is there and holds every file `patterns` names without
    a wildcard (no request), else downloaded into it under the hub limits (`hub_limits`): the
    listing is read and every path and size in it checked before the client downloads the files."""
    modelscope_client_limits()  # before the client is first imported: it reads them then
    try:
        from modelscope_hub.compat.snapshot_download import dataset_snapshot_download
    except ImportError:
        try:
            import modelscope  # noqa: F401
        except ImportError:
            raise DatasetError(
                f"{dataset_id} lives on the ModelScope hub and the `modelscope` client is not installed: "
                "pip install 'pytest-llmbench[modelscope]'"
                f"; or {fix}",
                hub_unreachable=True,  # the same for every subset: one error per benchmark
            ) from None
        raise DatasetError(
            f"the installed `modelscope` client is too old to download {dataset_id} "
            "(needs modelscope >= 1.38): pip install -U 'pytest-llmbench[modelscope]'",
            hub_unreachable=True,
        ) from None
    name = f"{dataset_id} (ModelScope)"
    # The cached folder is returned as soon as it holds anything, so a named file (a pattern without
    # wildcards) missing from it, e.g. another version of a release, means asking the hub.
    named = [p for p in patterns if not any(c in p for c in "*?[")]
    try:
        cached = Path(dataset_snapshot_download(dataset_id, allow_patterns=list(patterns), local_files_only=True))
        if all((cached / name).is_file() for name in named):
            return _inside_only(cached, name, fix)
    except DatasetError:
        raise
    except Exception:
        pass  # not in the cache: ask the hub
    if _user_offline("MODELSCOPE_OFFLINE", "HF_HUB_OFFLINE"):
        raise _unreachable_error("modelscope", name, "offline mode is set (MODELSCOPE_OFFLINE / HF_HUB_OFFLINE)", fix)
    if "modelscope" not in _unreachable:
        why = probe(_ms_endpoint())
        if why is not None:
            _unreachable["modelscope"] = why
    if "modelscope" in _unreachable:
        raise _unreachable_error("modelscope", name, _unreachable["modelscope"], fix)
    budget = HubBudget(HubLimits.from_env(), "ModelScope hub", name, fix)
    try:
        from modelscope_hub.api import HubApi

        endpoint = (
            _ms_endpoint()
            if _ms_endpoint_set()
            else HubApi().resolve_endpoint_for_read(dataset_id, repo_type="dataset")
        )
        listing = _modelscope_listing(endpoint, dataset_id, budget, fix)
        chosen = _checked_entries(listing, patterns, dataset_id, budget, fix)
        folder = _modelscope_download(endpoint, dataset_id, patterns, chosen, budget)
    except DatasetError:
        raise
    except Exception as exc:
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        lost = isinstance(exc, (ConnectionError, OSError)) or type(exc).__name__ in ("ConnectError", "ReadError")
        if lost and "404" not in str(exc) and "403" not in str(exc):
            _unreachable["modelscope"] = detail
            raise _unreachable_error("modelscope", name, detail, fix) from None
        raise DatasetError(
            f"cannot download {name} from the ModelScope hub ({detail}). Download it where the hub is reachable "
            f"and {fix}"
        ) from None
    return _inside_only(folder, name, fix)


MS_PAGE_SIZE = 200


def _ms_endpoint_set() -> bool:
    return bool(os.environ.get("MODELSCOPE_ENDPOINT") or os.environ.get("MODELSCOPE_DOMAIN"))


def _modelscope_listing(endpoint: str, dataset_id: str, budget: HubBudget, fix: str) -> list[dict[str, Any]]:
    """Every entry of the dataset repository's file tree (the route the `modelscope` client pages
    through), read under `budget`: a page that trickles, a page that never ends or pages without end
    stop at a limit instead of hanging."""
    import httpx

    url = f"{endpoint.rstrip('/')}/api/v1/datasets/{dataset_id}/repo/tree"
    token = os.environ.get("MODELSCOPE_API_TOKEN")
    entries: list[dict[str, Any]] = []
    with httpx.Client(follow_redirects=True, cookies={"m_session_id": token} if token else None) as client:
        for page in range(1, budget.limits.max_requests + 2):
            budget.request()
            params: dict[str, str | int] = {
                "Revision": "master",
                "Recursive": "True",
                "PageNumber": page,
                "PageSize": MS_PAGE_SIZE,
            }
            body = bytearray()
            try:
                with client.stream("GET", url, params=params, timeout=budget.read_timeout()) as response:
                    for chunk in response.iter_bytes():
                        budget.receive(len(chunk), listing=True)
                        body += chunk
            except httpx.TimeoutException:
                raise budget.stalled() from None
            if response.status_code == 404:
                raise DatasetError(
                    f"cannot download {dataset_id} from the ModelScope hub: it has no such dataset "
                    f"(404 at {url}). Check the id, or {fix}"
                )
            response.raise_for_status()
            try:
                data = json.loads(bytes(body)).get("Data")
            except (ValueError, AttributeError, RecursionError):
                data = None
            files = data if isinstance(data, list) else (data or {}).get("Files") if isinstance(data, dict) else None
            if not isinstance(files, list):
                raise DatasetError(
                    f"the ModelScope hub answered the listing of {dataset_id} with something that is "
                    f"not a file list (HTTP {response.status_code}); {fix}"
                )
            entries.extend(f for f in files if isinstance(f, dict))
            if len(files) < MS_PAGE_SIZE:
                return entries
    raise AssertionError("unreachable: budget.request() stops the loop")  # pragma: no cover


def _checked_entries(
    entries: list[dict[str, Any]], patterns: Sequence[str], dataset_id: str, budget: HubBudget, fix: str
) -> list[dict[str, Any]]:
    """The listed files that `patterns` select, after every listed path was checked
    (`safe_repo_path`) and the selected files' sizes, which the client enforces, fit the budget."""
    from fnmatch import fnmatch

    chosen: list[dict[str, Any]] = []
    for entry in entries:
        if (entry.get("Type") or entry.get("type") or "blob") == "tree":
            continue
        path = safe_repo_path(entry.get("Path") or entry.get("path"), "ModelScope hub", dataset_id, fix)
        if not any(fnmatch(path, pattern) for pattern in patterns):
            continue
        size = entry.get("Size", entry.get("size"))
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise DatasetError(
                f"the ModelScope listing of {dataset_id} gives no size for {path!r} (got {size!r}), so "
                f"its download could not be bounded; {fix}"
            )
        chosen.append({**entry, "Path": path, "Size": size})
    budget.declared(sum(entry["Size"] for entry in chosen))
    return chosen


def _modelscope_download(
    endpoint: str, dataset_id: str, patterns: Sequence[str], files: list[dict[str, Any]], budget: HubBudget
) -> Path:
    """The `modelscope` client downloads exactly the checked `files` (it lists nothing itself and
    refuses a file over its listed size) in a child process (`_ms_download`), killed when the
    budget's deadline passes: the client alone would hold a trickling file for many minutes."""
    import subprocess

    from ..processes import spawn_module, stop_group

    request = json.dumps({"endpoint": endpoint, "dataset_id": dataset_id, "patterns": list(patterns), "files": files})
    proc = spawn_module(
        "pytest_llmeval.benchmarks._ms_download", stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
    )  # its progress bars go to our stderr, as before
    try:
        out, _ = proc.communicate(request.encode(), timeout=max(0.001, budget.deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        stop_group(proc, grace_s=1.0)
        raise budget.timed_out() from None
    finally:
        if proc.poll() is None:
            stop_group(proc, grace_s=1.0)
    try:
        answer = json.loads(out.decode("utf-8", "replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise DatasetError(
            f"cannot download {budget.what}: the download process ended without an answer "
            f"(exit status {proc.returncode}); {budget.fix}"
        ) from None
    if "folder" in answer:
        return Path(answer["folder"])
    failures: dict[str, str] = answer.get("failures") or {"": str(answer.get("error"))}
    for path, kind in failures.items():
        what = f" ({path})" if path else ""
        if kind == "FileSizeMismatchError":
            raise HubLimitError(
                f"the download of {budget.what} was stopped: the hub sent a file{what} of another size "
                f"than its listing announced; {budget.fix}"
            )
        if "Deadline" in kind:  # the client's per-file limit, which defaults to ours
            raise budget.timed_out()
        if "TooSlow" in kind or "Timeout" in kind:
            raise budget.stalled()
    kind, message = str(answer.get("error")), str(answer.get("message", ""))
    if kind in ("NetworkError", "ConnectionError"):
        raise ConnectionError(message)  # the caller's "unreachable" path
    raise DatasetError(
        f"cannot download {budget.what} from the ModelScope hub ({kind}: {message[:200]}). Download "
        f"it where the hub is reachable and {budget.fix}"
    )


def _inside_only(folder: Path, name: str, fix: str) -> Path:
    """`folder` when no file in it is a link to somewhere outside it (what a hub wrote, or a cache
    someone else wrote into, is read only from inside the snapshot)."""
    root = folder.resolve()
    for path in folder.rglob("*"):
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            raise DatasetError(
                f"the snapshot of {name} holds {path.relative_to(folder)!s}, a link to "
                f"{path.resolve()!s} outside it; remove the snapshot folder {folder} and {fix}"
            )
    return folder


def modelscope_rows(
    benchmark: Benchmark, subset: str, config: str | None, split: str, fix: str, *, strict: bool = False
) -> tuple[Iterator[Located], bool]:
    source = benchmark.source
    assert source is not None and source.modelscope
    folder = modelscope_snapshot(source.modelscope, fix)
    names = [n for n in (config, subset) if n]
    files = snapshot_files(folder, split, names, strict=strict) if names else []
    if files:
        return read_paths(files, split), True
    whole = snapshot_files(folder, split, (), only_file=len(benchmark.subsets) == 1, strict=strict)
    if not whole:
        raise DatasetError(
            f"the ModelScope snapshot of {source.modelscope} has no {split!r} file"
            + (f" for {config!r}" if config else "")
            + f" (it holds: {_listing(folder)}); {fix}",
            source=str(folder),
        )
    return read_paths(whole, split), len(benchmark.subsets) == 1
