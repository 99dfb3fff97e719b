"""Merge the shards of a run (`--llm-shard I/N` on N machines) into the result one machine computes::

    python -m pytest_llmeval.report merge shard-*/results.json -o results.json [--samples all.jsonl] [--gate]

How: the merge never averages the shards' aggregates. It reads every shard's samples JSONL and feeds
the records, in one order, to the same record-stream plugins a run registers (`run/aggregation`,
`run/thresholds`, `run/collection_tables`, `run/efficiency`, through the `pytest_llmeval_*` hooks of
`hooks.py` on a plugin manager of their own), then lets `gating.budget.decide` judge the
result. So metrics, error bars, breakdowns, collection tables and reasoning-efficiency figures are
the one-machine numbers; the aggregates do not depend on record order (`report/aggregate.py` sorts
by sample id, the collection table by record index, means use `math.fsum`).

A feature joins the merge by being a record-stream plugin (`pytest_llmeval_sample_record` +
`pytest_llmeval_assemble`) whose per-sample inputs are in the `SampleRecord` and whose settings are
in `ShardInfo.replay`; it adds one factory to `replay_features` (docs/scaling.md).

Refused, naming the shard and the difference (`RebuildError`, exit status 2): a results JSON
without `extra.shard`, shards of different configurations (model, generation config, dataset and
selection options, plugin version, the samples read: `population_digest`), a shard given twice,
a missing shard, a samples file that is missing or holds other records than its results JSON says.

Exit status: 0 passed, 1 failed (with `--gate`: the gates' verdict as the run would have printed it;
without gates: any wrong answer or error fails, as pytest's exit status would), 2 refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
import pytest
from pydantic import ValidationError

from .. import hooks
from ..benchmarks.base import Benchmark
from ..benchmarks.registry import all_benchmarks
from ..errors import LLMEvalError, RebuildError
from ..files import FileProblem
from ..gating.budget import Verdict, decide
from ..gating.thresholds import ThresholdMode, parse_threshold
from ..report.samples import SamplesWriter, read_records, read_run_result
from ..results import RunResult, SampleRecord
from .aggregation import Aggregation
from .shard import SHARD_KEY, ShardInfo
from .thresholds import ThresholdGate


@dataclass
class Shard:
    path: Path  # its results JSON
    result: RunResult
    info: ShardInfo
    samples: Path

    @property
    def label(self) -> str:
        return f"shard {self.info.index}/{self.info.count} ({self.path})"


def load_shard(path: Path) -> Shard:
    try:
        result = read_run_result(path)
    except FileProblem as problem:
        raise RebuildError(f"{problem.after(path)}; pass each shard's --llm-results file") from None
    raw = result.extra.get(SHARD_KEY)
    if raw is None:
        raise RebuildError(
            f"{path} is not a shard's results JSON (it has no extra.shard): run each part with --llm-shard I/N"
        )
    try:
        info = ShardInfo.model_validate(raw)
    except ValidationError as exc:
        raise RebuildError(f"{path}: extra.shard is not readable ({exc.errors()[0]['msg']})") from None
    return Shard(path, result, info, samples_of(path, info))


def samples_of(path: Path, info: ShardInfo) -> Path:
    """The shard's samples JSONL: where it was written, else beside its results JSON (a CI artifact
    is downloaded to another folder)."""
    written = Path(info.samples_file) if info.samples_file else None
    candidates = [p for p in (written, path.parent / written.name if written else None) if p is not None]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    shown = ", ".join(str(p) for p in candidates) or "(none recorded)"
    raise RebuildError(
        f"shard {info.index}/{info.count} ({path}): its samples JSONL is not at {shown}; "
        "keep each shard's --llm-samples file beside its results JSON"
    )


def check_shards(shards: Sequence[Shard]) -> None:
    """One run's shards, each once, none missing; else a RebuildError naming which."""
    if not shards:
        raise RebuildError("no shard given: pass every shard's results JSON (shard-*/results.json)")
    first = shards[0]
    for shard in shards[1:]:
        for key in sorted(set(first.info.config) | set(shard.info.config)):
            mine, theirs = first.info.config.get(key), shard.info.config.get(key)
            if mine != theirs:
                raise RebuildError(
                    f"{shard.label} and {first.label} are not shards of one run: their {key} differ "
                    f"({short(theirs)} vs {short(mine)}); merge only shards run with the same options"
                )
        if shard.info.population_digest != first.info.population_digest:
            raise RebuildError(
                f"{shard.label} and {first.label} are not shards of one run: they read different data "
                f"({shard.info.population:,} vs {first.info.population:,} samples, or the same number with other "
                "contents); run every shard on the same dataset files"
            )
    seen: dict[int, Shard] = {}
    for shard in shards:
        if shard.info.index in seen:
            raise RebuildError(
                f"shard {shard.info.index}/{shard.info.count} is given twice: {seen[shard.info.index].path} "
                f"and {shard.path}; pass each shard once"
            )
        seen[shard.info.index] = shard
    count = first.info.count
    missing = [index for index in range(1, count + 1) if index not in seen]
    if missing:
        names = ", ".join(f"{index}/{count}" for index in missing)
        raise RebuildError(
            f"shard{'s' if len(missing) > 1 else ''} {names} missing (given: "
            f"{', '.join(f'{i}/{count}' for i in sorted(seen))}); pass every shard's results JSON"
        )


def short(value: Any, width: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def natural_key(nodeid: str) -> list[Any]:
    """`gsm8k/main::10` after `gsm8k/main::9`: one order for every merge."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", nodeid)]


class NoScope:
    """The merge has no benchmark instances: each benchmark's protocol comes from the shards."""

    benchmark_instances: dict[str, Benchmark] = {}


def replay_features(info: ShardInfo) -> list[object]:
    """The record-stream plugins that rebuild the result's sections (what `run.register` would add)."""
    replay = info.replay
    from ..collection.wiring import CollectionPart

    plain = CollectionPart.plain_thresholds(replay.thresholds)
    features: list[object] = [Aggregation(NoScope())]
    if plain:
        mode: ThresholdMode = "ci" if replay.threshold_mode == "ci" else "point"
        features.append(ThresholdGate([parse_threshold(text) for text in plain], mode))
    tables = collection_feature(info) if replay.collection_path is not None else None
    if tables is not None:
        features.append(tables)
    features.append(usage_feature(info, tables.part if tables is not None else None))  # `usage`
    if replay.think_eval_markers is not None:
        from .efficiency import EfficiencyFigures

        features.append(EfficiencyFigures(replay.think_eval_markers))
    return features


def usage_feature(info: ShardInfo, collection: object | None) -> object:
    """`usage`: tokens (and cost, priced with the shards' --llm-prices file) of every shard's records."""
    from ..spend import load_prices
    from .spending import UsageReplay

    path = info.replay.prices_path
    try:
        prices = load_prices(Path(path)) if path is not None else None
    except LLMEvalError as exc:
        raise RebuildError(
            f"the shards were priced with --llm-prices {path}: {exc}; run the merge where that file is"
        ) from None
    return UsageReplay(str(info.config.get("model", "")), prices, collection)


def collection_feature(info: ShardInfo) -> Any:
    """`--llm-collection`'s tables: the collection file is read again (the groups of each record)."""
    from ..collection.run import CollectionRun
    from ..collection.wiring import CollectionPart
    from ..gating.collection_rules import is_collection_rule, parse_collection_rule, resolve_group
    from ..settings import EndpointSettings, RunSettings
    from .collection_tables import CollectionTables

    replay = info.replay
    assert replay.collection_path is not None
    try:
        run = CollectionRun.load(replay.collection_path, Path.cwd())
        run.source = replay.collection_source or run.source
        run.check_known(all_benchmarks(), replay.collection_skip_unknown)
        rules = [
            resolve_group(parse_collection_rule(text), run.groups())
            for text in replay.thresholds
            if is_collection_rule(text)
        ]
    except LLMEvalError as exc:
        raise RebuildError(
            f"the shards ran --llm-collection {replay.collection_source}, read again from "
            f"{replay.collection_path}: {exc}; run the merge where that file is"
        ) from None
    settings = RunSettings(endpoint=EndpointSettings(model=str(info.config.get("model", ""))))
    return CollectionTables(CollectionPart(run, rules, settings))


@dataclass
class Merged:
    result: RunResult
    verdict: Verdict
    gated: bool  # a threshold decided (the run's exit status is then the verdict's)
    failed_samples: int  # wrong answers and errors (pytest's own rule when no gate decided)

    @property
    def exit_status(self) -> int:
        """What pytest's exit status would have been for the one-machine run: the verdict when a
        gate decided; otherwise any wrong answer, error or missing sample fails."""
        if self.gated:
            return 0 if self.verdict.passed else 1
        return 1 if self.failed_samples or not self.result.complete else 0


def merge(shards: Sequence[Shard], samples_out: Path | None = None) -> Merged:
    """The merged result and its verdict (RebuildError when the shards are not one run's)."""
    check_shards(shards)
    first = min(shards, key=lambda s: s.info.index)
    manager = pytest.PytestPluginManager()  # reads `pytest_*` methods as hooks, as a run does
    manager.add_hookspecs(hooks)
    for feature in replay_features(first.info):
        manager.register(feature)
    records: list[SampleRecord] = []
    for shard in shards:
        own = list(read_records(shard.samples))
        expected = shard.result.samples_scored + shard.result.samples_errored
        if len(own) != expected:
            raise RebuildError(
                f"{shard.samples} holds {len(own):,} sample records but {shard.label} scored or errored "
                f"{expected:,}; pass the samples JSONL this shard wrote"
            )
        records.extend(own)
    records.sort(key=lambda record: natural_key(record.nodeid))
    if len({record.nodeid for record in records}) != len(records):
        raise RebuildError("the shards hold the same sample twice: they were not split by one --llm-shard N")
    writer = SamplesWriter(samples_out) if samples_out is not None else None
    failed = 0
    for record in records:
        manager.hook.pytest_llmeval_sample_record(record=record)
        failed += record.error is not None or record.passed is False
        if writer is not None:
            writer.write(record)
    if writer is not None:
        writer.close()
    result = assemble(shards, first, manager, samples_out)
    other_failures = sum(s.info.replay.other_failures for s in shards)
    verdict = decide(result, max_errors=first.info.replay.max_errors, other_failures=other_failures, votes=[])
    result.passed = verdict.passed
    return Merged(result, verdict, bool(result.thresholds), failed + other_failures)


def assemble(
    shards: Sequence[Shard], first: Shard, manager: pluggy.PluginManager, samples_out: Path | None
) -> RunResult:
    """The merged `RunResult`: the sections from the replayed records, the counts from the shards."""
    result = RunResult(
        model=first.result.model,
        base_url=first.result.base_url,
        started=min(s.result.started for s in shards),
        duration_s=max(s.result.duration_s for s in shards),  # the shards ran side by side
        generation=dict(first.result.generation),
    )
    manager.hook.pytest_llmeval_assemble(result=result, config=None)
    for name, bench in result.benchmarks.items():  # how each benchmark asked and read (equal on every shard)
        ran = next((s.result.benchmarks[name] for s in shards if name in s.result.benchmarks), None)
        if ran is not None:
            bench.protocol, bench.answer_parser, bench.output_type = ran.protocol, ran.answer_parser, ran.output_type
    planned = [s.result.samples_planned for s in shards]
    result.samples_planned = None if any(p is None for p in planned) else sum(p for p in planned if p is not None)
    result.samples_scored = sum(bench.count for bench in result.benchmarks.values())
    result.samples_errored = sum(bench.errors for bench in result.benchmarks.values())
    deselected: dict[str, int] = {}
    for shard in shards:
        for name, count in shard.result.samples_deselected.items():
            deselected[name] = deselected.get(name, 0) + count
    result.samples_deselected = dict(sorted(deselected.items()))
    result.interrupted = any(s.result.interrupted for s in shards)
    done = result.samples_scored + result.samples_errored
    result.complete = all(s.result.complete for s in shards) and (
        result.samples_planned is None or done >= result.samples_planned
    )
    result.samples_path = str(samples_out) if samples_out is not None else None
    merged: dict[str, Any] = {
        "count": first.info.count,
        "shards": [
            {"index": s.info.index, "results": str(s.path), "samples": str(s.samples), "base_url": s.result.base_url}
            for s in sorted(shards, key=lambda s: s.info.index)
        ],
    }
    if any(s.info.replay.max_drop_voted for s in shards):
        merged["note"] = "--llm-max-drop is not replayed by the merge: compare the merged result (--llm-compare)"
    result.extra["merged"] = merged
    return result


def main(argv: Sequence[str]) -> int:
    import argparse
    import sys

    from ..report.terminal import score_lines, verdict_line

    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmeval.report merge",
        description="Merge the results of a run split with --llm-shard I/N into what one machine computes.",
    )
    parser.add_argument("files", type=Path, nargs="+", metavar="RESULTS_JSON", help="every shard's --llm-results file")
    parser.add_argument("-o", "--output", type=Path, default=Path("results.json"), help="merged results JSON")
    parser.add_argument("--samples", type=Path, default=None, help="also write the merged samples JSONL here")
    parser.add_argument(
        "--gate",
        action="store_true",
        help="exit with the run's status: 1 when the merged run fails its gates (--llm-threshold, "
        "--llm-max-errors, completeness), as one machine's pytest would",
    )
    args = parser.parse_args(list(argv))
    try:
        shards = [load_shard(path) for path in args.files]
        merged = merge(shards, args.samples)
        result, verdict = merged.result, merged.verdict
        args.output.parent.mkdir(parents=True, exist_ok=True)
        from ..redact import redact

        args.output.write_text(redact(result.model_dump_json(indent=2)), encoding="utf-8")
    except RebuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write -o {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    status = merged.exit_status
    print("\n".join(score_lines(result)))
    print(
        f"merged {len(shards)} shards ({result.samples_scored:,} scored, {result.samples_errored:,} errors) "
        f"into {args.output}"
    )
    if merged.gated:
        print(verdict_line(verdict.passed, verdict.reasons, status, verdict.undecided))
    return status if args.gate else 0
