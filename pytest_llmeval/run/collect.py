"""Collection of the sample items, on every process that collects (the only one, or each xdist worker).

`SampleCollection` builds one item per sample of each selected benchmark subset (and of
`--llm-collection`), reports subsets a local file has no rows for, offers the built items to
`pytest_llmeval_collected` (early stop reorders them there) and counts what -k/-m deselected.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence

import pytest

from ..engine.build import build_items
from ..engine.nodes import SampleItem, keep_rootdir_hooks
from ..errors import ConfigError, DatasetError, LLMEvalError, SubsetAbsentError
from .scope import Evaluation


class SampleCollection:
    def __init__(self, evaluation: Evaluation, keep: Callable[[str], bool] | None = None) -> None:
        """`keep(nodeid)`: whether this process builds a sample's item (an xdist worker's share,
        `engine.distribution.ShareFilter`); None builds all."""
        self.evaluation = evaluation
        self.keep = keep

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool | None:
        # What start-up made (modules, classes, the settings) lives until exit: frozen now, the full
        # collection after the items are built scans only what collection made (30 ms less at 1,319).
        # Collected first (cheap: the plugin's start-up is frozen already, `plugin.py`), so that the
        # garbage of the plugins configured after it is not frozen with the rest.
        gc.collect()
        gc.freeze()
        order_new_first_without_files(session.config)
        if runs_items(session.config):
            # the HTTP child imports on the other core while the datasets are read and the items
            # built, so it takes the first request at once (stopped again if -k/-m leave no sample)
            self.evaluation.runtime.start_client_process_early()
        if not self.evaluation.samples_only:
            return None
        session.perform_collect([])  # no test files; pytest_collection_modifyitems adds the samples
        return True

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if any(isinstance(item, SampleItem) for item in session.items):
            keep_rootdir_hooks(session)
            # The items live until exit: keep the cyclic GC from rescanning them on every full
            # collection during the run and at interpreter exit (seconds after a 50k-sample run).
            # Collected first: garbage cycles left by reading the dataset would be frozen with them
            # and never freed (about 0.3 KB per sample, measured with tracemalloc).
            gc.collect()
            gc.freeze()

    @pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
    def pytest_stop_unused_client_process(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Once -k/-m have deselected: with no sample item of this run left, the HTTP child
        started at the beginning of collection (--llm-client-process) is stopped."""
        runtime = self.evaluation.runtime
        if not any(isinstance(item, SampleItem) and item.runtime is runtime for item in items):
            runtime.stop_unused_client_process()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        evaluation = self.evaluation
        try:
            evaluation.resolve_selection(final=True)  # conftests below the rootdir may have registered benchmarks
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        for name, subsets in evaluation.selection.items():
            absent: list[SubsetAbsentError] = []  # subsets a local file of some subsets has no rows for
            failed: dict[str, list[str]] = {}  # a data error's text -> the subsets that hit it
            for subset in subsets:
                try:
                    built = build_items(
                        session,
                        evaluation.benchmark_instances,
                        {name: [subset]},
                        evaluation.settings,
                        evaluation.runtime,
                        selected=evaluation.selection,
                        plan=evaluation.shard_plan,
                        keep=self.keep,
                    )
                    items.extend(built)
                    # pytest counts collected items from collect reports: without this one the
                    # header says "collected 0 items" and -k prints a negative "selected" count
                    config.hook.pytest_collectreport(
                        report=pytest.CollectReport(
                            f"{name}/{subset}",
                            "passed",
                            None,
                            list[pytest.Item | pytest.Collector](built),
                        )
                    )
                except ConfigError as exc:  # a missing --llm-dataset path and the like: a usage error
                    raise pytest.UsageError(str(exc)) from None
                except SubsetAbsentError as exc:
                    absent.append(exc)
                except DatasetError as exc:
                    if exc.hub_unreachable:  # one error per benchmark, not one per subset
                        report = pytest.CollectReport(name, "failed", f"llmeval: {exc}", [])
                        config.hook.pytest_collectreport(report=report)
                        break
                    failed.setdefault(str(exc), []).append(subset)
            report_data_errors(config, name, failed)
            if absent:
                self.report_absent_subsets(config, name, len(subsets), absent)
        if evaluation.collection is not None:
            try:
                built = evaluation.collection.build_items(
                    session, evaluation.benchmark_instances, evaluation.runtime, evaluation.shard_plan, keep=self.keep
                )
            except LLMEvalError as exc:
                raise pytest.UsageError(str(exc)) from None
            items.extend(built)
            # counted in the header ("collected N items") like the benchmark subsets above
            config.hook.pytest_collectreport(
                report=pytest.CollectReport(
                    evaluation.collection.nodeid_root,
                    "passed",
                    None,
                    list[pytest.Item | pytest.Collector](built),
                )
            )
        config.hook.pytest_llmeval_collected(items=items, config=config)

    def report_absent_subsets(
        self,
        config: pytest.Config,
        name: str,
        selected: int,
        absent: list[SubsetAbsentError],
    ) -> None:
        """A local file that covers some of the selected subsets runs those: one line names the
        subsets it has no rows for. When it covers none, each subset's error stands (never an
        empty run)."""
        if len(absent) == selected:
            for exc in absent:
                config.hook.pytest_collectreport(
                    report=pytest.CollectReport(f"{name}/{exc.subset}", "failed", f"llmeval: {exc}", [])
                )
            return
        names = [exc.subset for exc in absent]
        shown = ", ".join(names[:16]) + (f", +{len(names) - 16} more" if len(names) > 16 else "")
        assert self.evaluation.runtime.notify is not None
        self.evaluation.runtime.notify(
            f"llmeval: {name}: {len(names)} of {selected} selected subsets have no rows in "
            f"{absent[0].source}, so they do not run: {shown}"
        )

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        self.evaluation.deselected.update(item.benchmark.name for item in items if isinstance(item, SampleItem))


def report_data_errors(config: pytest.Config, name: str, failed: dict[str, list[str]]) -> None:
    """One collection error per distinct data error of benchmark `name`: a file's own fault (a row
    without the subset field, a bad line) hits every selected subset the same way and is said once,
    naming the subsets, not once per subset (57 times for MMLU)."""
    for message, subsets in failed.items():
        if len(subsets) == 1:
            where, text = f"{name}/{subsets[0]}", f"llmeval: {message}"
        else:
            shown = ", ".join(subsets[:8]) + (f", +{len(subsets) - 8} more" if len(subsets) > 8 else "")
            where, text = name, f"llmeval: {message} (the same for {len(subsets)} subsets: {shown})"
        config.hook.pytest_collectreport(report=pytest.CollectReport(where, "failed", text, []))


def order_new_first_without_files(config: pytest.Config) -> None:
    """`--nf` puts new tests first, each group ordered by its file's modification time, which it
    reads with `item.path.stat()`: a sample item has no file (its path names a folder that does
    not exist), so pytest raised FileNotFoundError (an INTERNALERROR). pytest's `--nf` plugin then
    orders a path it cannot read as time 0: samples after files, each group in collection order."""
    new_first = config.pluginmanager.get_plugin("nfplugin")
    if new_first is None or not getattr(new_first, "active", False) or not hasattr(new_first, "_get_increasing_order"):
        return

    def increasing_order(items: Sequence[pytest.Item]) -> list[pytest.Item]:
        return sorted(items, key=_modified, reverse=True)

    new_first._get_increasing_order = increasing_order


def _modified(item: pytest.Item) -> float:
    try:
        return item.path.stat().st_mtime
    except OSError:
        return 0.0


def runs_items(config: pytest.Config) -> bool:
    """Whether this session runs its items (not --collect-only, --fixtures or --fixtures-per-test)."""
    option = config.option
    return not (
        option.collectonly or getattr(option, "showfixtures", False) or getattr(option, "show_fixtures_per_test", False)
    )
