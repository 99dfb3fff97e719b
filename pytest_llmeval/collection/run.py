"""Running a collection file (`--llm-collection PATH`): one pytest item per record.

Each record becomes a `SampleItem` of its own benchmark (that benchmark's request defaults and
scorer), with node id `collection/<dataset>/<subset>::<index>` and the marks `collection`, each group
of its path, its task type, its tags and its dataset (all as mark names: non-word characters become
`_`, so the group `Math&Science` is the mark `Math_Science`; a name pytest or another plugin acts on,
such as `skip`, `xfail` or `timeout`, gets the prefix `llm_`: see `engine.selection.mark_name`).
`--llm-shuffle`/`--llm-limit` apply per dataset and subset, as for plain benchmarks. The records also
count in their benchmark's result.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..benchmarks.base import Benchmark, Sample
from ..engine.selection import foreign_marks, ini_marker_lines, mark_name
from ..engine.sharding import ShardPlan, content_key, shard_positions
from ..errors import CollectionError
from ..settings import RunSettings
from .records import CollectionRecord, read_collection, record_sample
from .results import CollectionTally, RecordMeta

if TYPE_CHECKING:
    from ..engine.nodes import SampleItem
    from ..engine.runtime import EvalRuntime

MARK = "collection"


def collection_mark(text: str, reserved: AbstractSet[str] = frozenset()) -> str | None:
    """A group, task type, tag or dataset as a mark name (pytest refuses a leading `_`; a reserved
    name gets the prefix `llm_`); None if nothing is left."""
    base = re.sub(r"\W", "_", text.strip()).strip("_")
    return mark_name(base, reserved) if base else None


class CollectionRun:
    """The records of one collection file and what the run needs to know about them."""

    def __init__(self, source: str, records: list[tuple[CollectionRecord, str]]) -> None:
        self.source = source
        self.records = records
        self.skipped: dict[str, int] = {}
        self._registered: set[str] = set()

    @classmethod
    def load(cls, raw: str, base_dir: Path, hub: str = "auto") -> CollectionRun:
        """A collection file, or a hub id (`org/name`: the reference system publishes its
        collections on ModelScope, the default for `--llm-hub auto`; `--llm-hub huggingface` reads
        a Hugging Face dataset repository). A hub repository must hold one `.jsonl` file."""
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        if not path.exists() and raw.count("/") == 1 and not raw.endswith((".jsonl", ".json")):
            path = collection_from_hub(raw, hub)
        records = list(read_collection(path))
        if not records:  # else the run ends "no tests ran", naming nothing
            raise CollectionError(
                f"--llm-collection {raw!r} holds no records; build it with "
                "python -m pytest_llmeval.collection build SCHEMA -n N (N >= 1) -o FILE"
            )
        return cls(raw, records)

    # -- before items exist ------------------------------------------------------------------

    @property
    def dataset_names(self) -> list[str]:
        return sorted({record.dataset_name for record, _ in self.records})

    def check_known(self, benchmarks: Mapping[str, type[Benchmark]], skip_unknown: bool) -> None:
        """Records of unregistered benchmarks: a CollectionError naming them, or (skip_unknown) dropped
        and counted in `skipped`."""
        unknown: dict[str, int] = defaultdict(int)
        runnable = set(benchmarks)
        for record, _ in self.records:
            if record.dataset_name not in runnable:
                unknown[record.dataset_name] += 1
        if not unknown:
            return
        names = ", ".join(f"{name!r} ({count} records)" for name, count in sorted(unknown.items()))
        if not skip_unknown:
            raise CollectionError(
                f"collection {self.source} has records of benchmarks this plugin does not have: {names}. "
                "Register them (see docs/benchmarks.md), or pass --llm-collection-skip-unknown to skip those "
                "records (they are counted in the report)"
            )
        self.skipped = dict(unknown)
        self.records = [(record, where) for record, where in self.records if record.dataset_name in runnable]

    def marks(self) -> dict[str, str]:
        """mark name -> what it is, for the markers ini (so --strict-markers accepts them)."""
        marks = {MARK: "every item of --llm-collection"}
        named: dict[tuple[str, str], None] = {}
        for record, _ in self.records:
            named.update(
                dict.fromkeys(
                    [
                        *((g, "collection group") for g in record.categories),
                        (record.task_type or "general", "collection task type"),
                        *((t, "collection tag") for t in record.tags),
                        (record.dataset_name, "collection dataset"),
                    ]
                )
            )
        for text, what in named:
            mark = collection_mark(text)
            if mark is not None:
                marks.setdefault(mark, what)
        self._registered.update(marks)
        return marks

    def groups(self) -> set[tuple[str, str]]:
        """(kind, name) of every row the report will have: for checking threshold rules up front."""
        keys: set[tuple[str, str]] = {("all", "(all)")}
        for record, _ in self.records:
            for depth in range(1, len(record.categories) + 1):
                keys.add(("group", "/".join(record.categories[:depth])))
            keys.add(("task_type", record.task_type or "general"))
            keys.update(("tag", tag) for tag in record.tags)
            keys.add(("dataset", record.dataset_name))
        return keys

    # -- items -------------------------------------------------------------------------------

    def chosen(self, settings: RunSettings) -> list[tuple[CollectionRecord, str]]:
        """The records to run after --llm-shuffle and --llm-limit (per dataset and subset), in file order."""
        if not settings.limit:
            return list(self.records)
        by_part: dict[tuple[str, str], list[int]] = defaultdict(list)
        for position, (record, _) in enumerate(self.records):
            by_part[(record.dataset_name, record.subset_name)].append(position)
        keep: set[int] = set()
        for (dataset, subset), positions in by_part.items():
            if settings.shuffle:
                positions = list(positions)
                random.Random(f"{settings.seed}:collection:{dataset}:{subset}").shuffle(positions)
            keep.update(positions[: settings.limit])
        return [entry for position, entry in enumerate(self.records) if position in keep]

    @staticmethod
    def shard_share(chosen: list[tuple[CollectionRecord, str]], plan: ShardPlan) -> list[tuple[CollectionRecord, str]]:
        """`--llm-shard`: this shard's records, split per dataset and subset (engine/sharding.py), in file order."""
        by_group: dict[str, list[int]] = defaultdict(list)
        for position, (record, _) in enumerate(chosen):
            by_group[f"{MARK}/{record.dataset_name}/{record.subset_name}"].append(position)
        keep: set[int] = set()
        for group, positions in by_group.items():
            plan.add_group(group, (content_key(str(chosen[p][0].index), chosen[p][0]) for p in positions))
            ids = [str(chosen[p][0].index) for p in positions]
            keep.update(positions[i] for i in shard_positions(group, ids, plan.spec))
        return [entry for position, entry in enumerate(chosen) if position in keep]

    def build_items(
        self,
        session: pytest.Session,
        benchmarks: Mapping[str, Benchmark],
        settings: RunSettings,
        runtime: EvalRuntime,
        plan: ShardPlan | None = None,
        keep: Callable[[str], bool] | None = None,
    ) -> list[SampleItem]:
        """One item per chosen record; `keep(nodeid)` says which this process builds (an xdist
        worker's share, `engine.distribution.ShareFilter`), None all."""
        from ..engine.nodes import RECORD_ERROR, SampleItem
        from ..engine.store import SampleStore

        store = SampleStore()

        items: list[SampleItem] = []
        marks_of: dict[tuple[str, ...], list[pytest.MarkDecorator]] = {}  # 10k records share a few mark sets
        paths: dict[tuple[str, str], Path] = {}
        root = Path(session.config.rootpath) / MARK
        # every plugin has registered its marks by now: none of them may come from the data
        config = session.config
        reserved = foreign_marks(config.getini("markers"), ini_marker_lines(config))
        chosen = self.chosen(settings)
        for record, where in chosen if plan is None else self.shard_share(chosen, plan):
            benchmark = benchmarks[record.dataset_name]
            try:
                sample = record_sample(record, benchmark)
            except (ValueError, TypeError) as exc:  # this record fails alone (engine.runtime.request_body)
                sample = Sample(
                    id=str(record.index),
                    subset=record.subset_name or "default",
                    input="",
                    target="",
                    metadata={
                        RECORD_ERROR: f"{where}: record {record.index} cannot become a "
                        f"{record.dataset_name!r} sample: {exc}"
                    },
                )
            subset = mark_name(sample.subset)
            nodeid = f"{MARK}/{record.dataset_name}/{subset}::{record.index}"
            if keep is not None and not keep(nodeid):
                continue
            item = SampleItem.from_parent(
                session,
                name=sample.id,
                nodeid=nodeid,
                path=paths.setdefault((record.dataset_name, subset), root / record.dataset_name / subset),
                benchmark=benchmark,
                store=store,
                index=store.add(sample),
                runtime=runtime,
            )
            texts = (*record.categories, record.task_type or "general", "", *record.tags, record.dataset_name)
            marks = marks_of.get(texts)
            if marks is None:
                names = [
                    name for name in dict.fromkeys([MARK, *(collection_mark(t, reserved) for t in texts if t)]) if name
                ]
                for name in names:
                    if name.startswith("llm_") and name not in self._registered:
                        self._registered.add(name)  # renamed only now (a plugin's mark): --strict-markers
                        config.addinivalue_line("markers", f"{name}: llmeval collection name")
                marks = marks_of[texts] = [getattr(pytest.mark, name) for name in names]
            for mark in marks:
                item.add_marker(mark)
            items.append(item)
        return items

    def collector(self) -> CollectionTally:
        meta = {
            record.index: RecordMeta(
                dataset=record.dataset_name,
                task_type=record.task_type or "general",
                categories=tuple(record.categories),
                tags=tuple(dict.fromkeys(record.tags)),
                subset=record.subset_name or "default",
                weight=record.weight,
            )
            for record, _ in self.records
        }
        return CollectionTally(meta, self.source, self.skipped)

    def release(self) -> None:
        """Drop the prompts once items exist (meta for aggregation is kept by the collector)."""
        self.records = []


def collection_from_hub(repo_id: str, hub: str) -> Path:
    """The collection `.jsonl` of a hub dataset repository, downloaded into the hub client's cache
    (a second run asks nothing). Raises CollectionError (no single `.jsonl` in it) or DatasetError
    (hub unreachable, client missing), each naming `--llm-collection PATH` as the way round."""
    from ..errors import DatasetError

    fix = "download the collection .jsonl where the hub is reachable and pass its path: --llm-collection PATH"
    try:
        if hub == "huggingface":
            folder = _huggingface_snapshot(repo_id, fix)
        else:
            from ..benchmarks.hubs import modelscope_snapshot

            folder = modelscope_snapshot(repo_id, fix)
    except DatasetError as exc:  # found before any item exists: a usage error of the run
        raise CollectionError(f"--llm-collection {repo_id!r}: {exc}") from None
    files = sorted(p for p in folder.rglob("*.jsonl") if p.is_file())
    if len(files) != 1:
        found = ", ".join(str(p.relative_to(folder)) for p in files) or "no .jsonl file"
        raise CollectionError(
            f"--llm-collection {repo_id!r}: the hub repository holds {found}; a collection is one "
            f".jsonl file: download it and pass its path (--llm-collection PATH)"
        )
    return files[0]


def _huggingface_snapshot(repo_id: str, fix: str) -> Path:
    from ..errors import DatasetError

    try:
        from huggingface_hub import snapshot_download

        from ..benchmarks.hub_limits import hf_budget

        with hf_budget(f"collection {repo_id}", fix):  # the hub limits: time, size, requests
            return Path(snapshot_download(repo_id, repo_type="dataset", allow_patterns=["*.jsonl", "**/*.jsonl"]))
    except DatasetError:
        raise
    except Exception as exc:  # offline, unknown repo, no access: one clear error
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DatasetError(
            f"cannot download collection {repo_id} from the Hugging Face hub ({detail}); {fix}"
        ) from None
