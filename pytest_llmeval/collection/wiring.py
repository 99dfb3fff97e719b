"""What the evaluation plugin does for `--llm-collection`, in one place (the plugin only delegates).

`CollectionPart.create` reads the file and the collection threshold rules when pytest starts (so a
bad file, an unknown benchmark or a rule naming a missing group is a usage error before any request),
registers the marks, builds the items at collection time, collects the scored records on the
aggregating process and produces the `collection` results section with the rules' outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..benchmarks.base import Benchmark
from ..errors import ThresholdError
from ..gating.collection_rules import (
    CollectionRule,
    evaluate_collection_rule,
    is_collection_rule,
    parse_collection_rule,
    resolve_group,
)
from ..results import SampleRecord, ThresholdOutcome
from ..settings import RunSettings
from .results import CollectionResult
from .run import MARK, CollectionRun
from .vectors import attach_corpora, check_models

if TYPE_CHECKING:
    from ..engine.nodes import SampleItem
    from ..engine.runtime import EvalRuntime
    from ..engine.sharding import ShardPlan


class CollectionPart:
    def __init__(self, run: CollectionRun, rules: list[CollectionRule], settings: RunSettings) -> None:
        self.run = run
        self.rules = rules
        self.settings = settings
        self.collector = run.collector()

    @classmethod
    def create(
        cls, config: pytest.Config, settings: RunSettings, benchmarks: Mapping[str, type[Benchmark]]
    ) -> CollectionPart | None:
        texts = [t for t in settings.thresholds if is_collection_rule(t)]
        if settings.collection is None:
            if texts:
                raise ThresholdError(
                    f"--llm-threshold {texts[0]!r} gates a collection: pass --llm-collection SUITE.jsonl"
                )
            return None
        run = CollectionRun.load(settings.collection, Path(config.invocation_params.dir), settings.hub)
        run.check_known(benchmarks, settings.collection_skip_unknown)
        check_models(run.source, run.dataset_names, benchmarks, settings)  # embedding tasks beside chat ones
        rows = run.groups()
        rules = [resolve_group(parse_collection_rule(t), rows) for t in texts]
        for mark, what in run.marks().items():
            config.addinivalue_line("markers", f"{mark}: llmeval {what}")
        return cls(run, rules, settings)

    @staticmethod
    def plain_thresholds(thresholds: list[str]) -> list[str]:
        """The --llm-threshold rules that are not collection rules."""
        return [t for t in thresholds if not is_collection_rule(t)]

    @property
    def dataset_names(self) -> set[str]:
        return set(self.run.dataset_names) | {meta.dataset for meta in self.collector.meta.values()}

    @property
    def nodeid_root(self) -> str:
        return MARK  # node ids are collection/<dataset>/<subset>::<index>

    def build_items(
        self,
        session: pytest.Session,
        benchmarks: Mapping[str, Benchmark],
        runtime: EvalRuntime,
        plan: ShardPlan | None = None,
        keep: Callable[[str], bool] | None = None,
    ) -> list[SampleItem]:
        attach_corpora(self.run.records, benchmarks, self.settings, Path(session.config.invocation_params.dir))
        items = self.run.build_items(session, benchmarks, self.settings, runtime, plan, keep=keep)
        self.run.release()
        return items

    def add(self, record: SampleRecord) -> None:
        self.collector.add(record)

    def build(self, benchmarks: Mapping[str, type[Benchmark]]) -> tuple[dict[str, Any], list[ThresholdOutcome]]:
        result = self.collector.build(benchmarks)
        outcomes = []
        for rule in self.rules:
            row = result.row(rule.kind, rule.name)  # type: ignore[arg-type]
            others = {"weighted": row.weighted, "macro_subsets": row.macro_subsets} if row else None
            outcomes.append(
                evaluate_collection_rule(rule, row.micro if row else None, row.macro if row else None, others)
            )
        return result.model_dump(mode="json"), outcomes


def collection_section(payload: dict[str, Any] | None) -> list[str]:
    """Terminal lines of a results JSON's `collection` section (empty when there is none)."""
    if not payload:
        return []
    from .results import collection_lines

    return collection_lines(CollectionResult.model_validate(payload))
