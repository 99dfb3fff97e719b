"""What every process of a run shares: the settings, the runtime, the selected benchmarks.

`Evaluation` is registered as the plugin named `llmeval-evaluation` (the fixtures, the serving and
report plugins find the runtime, the settings and the media store through it). It decides nothing
about roles: the role plugins (`controller`, `runner`, `worker`) and the features around them get it
handed in. Its only hook removes the run's temporary media folder at the very end.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from ..benchmarks.base import Benchmark
from ..benchmarks.multimodal import MultimodalBenchmark
from ..benchmarks.output_types import check_output_type, check_selected, output_type_args
from ..benchmarks.protocols import protocol_args
from ..benchmarks.registry import all_benchmarks
from ..collection.wiring import CollectionPart
from ..engine.distribution import is_sample_nodeid
from ..engine.runtime import EvalRuntime
from ..engine.selection import (
    check_dataset_names,
    check_mark_names,
    check_subset_list,
    mark_name,
    registered_marks,
    select,
)
from ..engine.sharding import ShardPlan, ShardSpec
from ..errors import ConfigError
from ..gating.thresholds import ThresholdRule, check_rule, parse_threshold
from ..media import MediaStore
from ..media.store import temporary_media_folder
from ..settings import RunSettings


class Evaluation:
    """The selection (benchmark instances, what -m selects, `--llm-collection`), the threshold rules,
    the runtime and the media store of one process."""

    def __init__(
        self,
        config: pytest.Config,
        settings: RunSettings,
        notify: Callable[[str], None],
        media_root: Path | None = None,
    ) -> None:
        """`notify` writes one-line notices (the controller's terminal, or a worker's stderr);
        `media_root` is the controller's temporary media folder an xdist worker shares."""
        self.config = config
        self.settings = settings
        self.runtime = EvalRuntime(settings, notify=notify)
        self.rules: list[ThresholdRule] = [
            parse_threshold(t) for t in CollectionPart.plain_thresholds(settings.thresholds)
        ]
        self.collection = CollectionPart.create(config, settings, all_benchmarks())  # --llm-collection
        self.benchmark_instances: dict[str, Benchmark] = {}
        self.selection: dict[str, list[str]] = {}  # {benchmark: [subset, ...]} that -m selects
        self.deselected: Counter[str] = Counter()  # {benchmark: sample items -k/-m/--lf/--deselect removed}
        self.samples_only = False  # collect no test files, only the samples (decided by the role)
        self._media_root = media_root
        self._media: MediaStore | None = None
        self._media_tmp: tempfile.TemporaryDirectory[str] | None = None  # --llm-no-cache's media folder
        self._markers: set[str] = set()
        # --llm-shard: this process's split, filled as items are built (engine/sharding.py)
        self.shard_plan = ShardPlan(ShardSpec(*settings.shard)) if settings.shard else None
        self.resolve_selection()

    def resolve_selection(self, final: bool = False) -> None:
        """Instantiate the benchmarks with their arguments, decide what -m selects, check gates."""
        benchmarks = all_benchmarks()
        # before collection, conftests below the rootdir may not have registered their benchmarks yet:
        # only a name close to a known one is an error then (and it is, even under xdist)
        check_dataset_names(self.settings.datasets, benchmarks, only_close=not final)
        unknown = set(self.settings.bench_args) - set(benchmarks)
        if unknown:
            raise ConfigError(
                f"--llm-bench-arg names unknown benchmark {min(unknown)!r}; known: {', '.join(benchmarks)}"
            )
        having = sorted(name for name, cls in benchmarks.items() if cls.loglik_form)
        for name, args in self.settings.bench_args.items():  # BENCH=multiple_choice on a benchmark without the form
            if name in benchmarks and args.get("output_type"):
                check_output_type(name, args["output_type"], benchmarks[name].loglik_form, having)
        for name, cls in benchmarks.items():
            if name not in self.benchmark_instances:
                args = protocol_args(
                    name,
                    cls.protocols,
                    self.settings.bench_args.get(name),
                    self.settings.protocol,
                    self.settings.answer_parser,
                )
                args = output_type_args(args, self.settings.output_type, cls.loglik_form)
                instance = self.benchmark_instances[name] = cls(args)
                if self.settings.judge is not None:
                    instance.judge_factory = self.runtime.judge
                if isinstance(instance, MultimodalBenchmark):
                    instance.media_store = self.media_store()
        subsets_of = {name: bench.selected_subsets() for name, bench in self.benchmark_instances.items()}
        for name, chosen in subsets_of.items():
            check_subset_list(self.benchmark_instances[name], chosen)
        check_mark_names(
            self.config.option.markexpr,
            benchmarks,
            registered_marks(self.config.getini("markers")),
            self.collection.run.marks() if self.collection is not None else (),
        )
        # with --llm-collection, -m narrows the collection's items only (its marks name datasets too)
        self.selection = select(self.config.option.markexpr, benchmarks, subsets_of) if self.collection is None else {}
        check_selected(list(self.selection), benchmarks, self.settings.output_type)
        collected = self.collection.dataset_names if self.collection is not None else set()
        n = self.settings.endpoint.gen.get("n", 1)
        generations = (n if isinstance(n, int) and n > 1 else 1) * self.settings.repeats
        for rule in self.rules:
            check_rule(rule, benchmarks, set(self.selection) | collected, generations)
        needing = [name for name in self.selection if benchmarks[name].needs_judge]
        if needing and self.settings.judge is None:
            raise ConfigError(
                f"benchmark {needing[0]!r} is graded by a judge model: pass --llm-judge-model NAME "
                "(and --llm-judge-base-url when it is served elsewhere)"
            )
        self.register_markers(benchmarks)

    def register_markers(self, benchmarks: Mapping[str, type[Benchmark]]) -> None:
        for name, cls in benchmarks.items():
            groups = {tag for subset in cls.subsets for tag in cls.subset_tags(subset)}
            for mark, what in [
                (mark_name(name), "benchmark"),
                *((mark_name(s), f"subset of {name}") for s in cls.subsets),
                *((mark_name(t), "benchmark tag") for t in (*cls.tags, *sorted(groups))),
            ]:
                if mark not in self._markers:
                    self._markers.add(mark)
                    self.config.addinivalue_line("markers", f"{mark}: llmeval {what}")

    def media_store(self) -> MediaStore:
        """Images and audio of this run's samples, spooled once (content-addressed) beside the
        response cache, or, with --llm-no-cache, in a private temporary folder: the controller's,
        shared by its xdist workers (so the report's thumbnails find the files), removed when the
        run ends."""
        if self._media is None:
            if self.settings.use_cache and self.settings.cache_dir is not None:
                root = self.settings.cache_dir / "media"
            elif self._media_root is not None:
                root = self._media_root
            else:
                self._media_tmp = temporary_media_folder()  # removed at the end, and on SIGTERM
                root = Path(self._media_tmp.name)
            self._media = MediaStore(root, self.settings.media)
        return self._media

    def shared_media_root(self) -> Path | None:
        """The temporary media folder xdist workers must share (--llm-no-cache); None with a cache."""
        if self.settings.use_cache and self.settings.cache_dir is not None:
            return None
        return self.media_store().root

    def sample_names(self) -> list[str]:
        """The first part of every sample item's node id: selected benchmarks, and `collection`."""
        return [
            *self.selection,
            *([self.collection.nodeid_root] if self.collection is not None else []),
        ]

    def is_sample(self, nodeid: str) -> bool:
        return is_sample_nodeid(nodeid, self.sample_names())

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from ..benchmarks.hubs import forget_unreachable_hubs

        forget_unreachable_hubs()
        if self._media_tmp is not None:  # the report's previews were made as the results arrived
            self._media_tmp.cleanup()
            self._media_tmp = None
