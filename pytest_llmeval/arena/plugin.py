"""What an arena run adds to the evaluation run, in one place (`run.register` only delegates).

`ArenaPart.create` (every process, before the `Evaluation` is made): parses the arena options,
registers the run's `arena` benchmark (its subsets are the candidates, so `-m arena`, `-m NAME`,
`-k` and `--llm-threshold "arena.NAME.winrate>=0.5"` work as for any benchmark) and, on the
controller, starts the embedded models (`smollm2-135m`, `gemma3-270m`, `.gguf`) the arena names;
xdist workers get their URLs in `workerinput`. `attach` gives the benchmark instance its
`ArenaRuntime`. `ArenaResults` (where reports arrive) keeps each pair's outcome and answer lengths
and, when the result is assembled, puts the arena figures (`statistics`) in `extra["arena"]`, the
bootstrap interval on each candidate's `winrate` (what `--llm-threshold-mode ci` reads), and
prints the arena table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..benchmarks.registry import register_benchmark, unregister_benchmark
from ..engine.distribution import is_xdist_controller
from ..errors import ConfigError, LLMEvalError
from ..results import MetricUncertainty, RunResult, SampleRecord
from ..settings import RunSettings, split_base_url
from ..spend import load_prices
from .budget import check_budget
from .config import ArenaConfig, build_config
from .runtime import ArenaRuntime, arena_benchmark

URLS_KEY = "llmeval_arena_urls"


def config_from_settings(settings: RunSettings, base_dir: Path) -> ArenaConfig:
    options = settings.arena
    assert options is not None
    return build_config(
        models=options.models,
        baseline=options.baseline,
        judge=options.judge,
        prompts=options.prompts,
        config_file=options.config_file,
        judge_template=options.judge_template,
        scale=options.scale,
        self_judge=options.self_judge,
        bootstrap=options.bootstrap,
        seed=settings.seed,
        base_dir=base_dir,
    )


class ArenaPart:
    def __init__(self, config: ArenaConfig, settings: RunSettings, urls: dict[str, str], servers: list[Any]) -> None:
        self.config = config
        self.settings = settings
        self.urls = urls
        self.servers = servers
        self.runtime = ArenaRuntime(config, settings, urls, settings.judge)

    @classmethod
    def create(cls, config: pytest.Config, settings: RunSettings) -> ArenaPart | None:
        if settings.arena is None:
            return None
        base_dir = Path(config.invocation_params.dir)
        if not config.option.markexpr and config.args_source != pytest.Config.ArgsSource.ARGS:
            config.option.markexpr = "arena"  # no test paths given: the arena's items run without -m
        arena = config_from_settings(settings, base_dir)
        check_judge(arena, settings)
        prices = load_prices(settings.prices, settings.prices_origin) if settings.prices is not None else None
        check_budget(arena, settings, prices)
        unregister_benchmark("arena")
        register_benchmark(arena_benchmark(arena, base_dir))
        workerinput = getattr(config, "workerinput", None)
        servers: list[Any] = []
        if workerinput is not None:
            urls = dict(workerinput.get(URLS_KEY) or {})
        elif config.option.collectonly:
            urls = {}
        else:
            urls = start_servers(arena, settings, servers)
        part = cls(arena, settings, urls, servers)
        part.runtime.prices = prices
        config.pluginmanager.register(part, "llmeval-arena")
        return part

    def attach(self, instances: dict[str, Any], runtime: Any) -> None:
        """Give the `arena` benchmark its runtime; early stop asks the run's runtime (`runtime`)."""
        instances["arena"].item_runtime = self.runtime
        self.runtime.skip_sample = lambda item: bool(runtime.skip_sample is not None and runtime.skip_sample(item))
        self.runtime.spending_limit = lambda: runtime.spending_limit  # run.spending.BudgetGuard sets it

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """The xdist controller checks the arena's servers once, so that workers don't each fail."""
        config = session.config
        if is_xdist_controller(config) and config.pluginmanager.hasplugin("dsession"):
            self.runtime.preflight()
            self.runtime.close()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:  # xdist: the workers reach the same servers
        node.workerinput[URLS_KEY] = dict(self.urls)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.runtime.close()
        for server in self.servers:
            server.stop()
        unregister_benchmark("arena")


def check_judge(arena: ArenaConfig, settings: RunSettings) -> None:
    """An arena needs a judge: its own, or the run's `--llm-judge-model` (which, when it is a
    contestant's model behind the same URL, needs `--llm-arena-self-judge` as an arena judge would)."""
    if arena.judge is not None:
        return
    judge = settings.judge
    if judge is None:
        raise ConfigError(
            "the arena has no judge: pass --llm-arena-judge NAME=URL (or an arena model's NAME), or --llm-judge-model"
        )
    if arena.self_judge:
        return
    for model in arena.models:
        if model.base_url is not None and (split_base_url(model.base_url).public, model.model) == (
            judge.base_url,
            judge.model,
        ):
            raise ConfigError(
                f"the judge --llm-judge-model {judge.model!r} is also the contestant {model.name!r}: a judge prefers "
                "its own answers; use another judge, or pass --llm-arena-self-judge to accept that"
            )


def start_servers(arena: ArenaConfig, settings: RunSettings, servers: list[Any]) -> dict[str, str]:
    """Start one llama.cpp server per embedded model the arena names (judge included)."""
    from ..endpoint.local_models import llama_server_command, resolve_local_model
    from ..endpoint.server import ManagedServer, ServerSpec

    urls: dict[str, str] = {}
    wanted = [m.local for m in [*arena.models, *([arena.judge] if arena.judge else [])] if m.local]
    for local in dict.fromkeys(wanted):
        try:
            model = resolve_local_model(local)
            spec = ServerSpec(
                command=llama_server_command(model), model=model.served_name, ready_timeout_s=settings.serve.timeout_s
            )
            server = ManagedServer(spec).start()
        except LLMEvalError as exc:
            for started in servers:
                started.stop()
            raise ConfigError(f"could not start the arena model {local!r}: {exc}") from None
        servers.append(server)
        urls[local] = server.base_url
    return urls


class ArenaResults:
    """The arena figures, from the record stream (where every report arrives)."""

    def __init__(self, part: ArenaPart, html: bool = False) -> None:
        self.config = part.config
        self.rows: list[dict[str, Any]] | None = [] if html else None  # the HTML report's pairs (--html)
        # {prompt id: {candidate: (outcome value, candidate length, baseline length)}}: plain tuples,
        # so a record costs no import (statistics pulls numpy; the first record would stall the run)
        self.pairs: dict[str, dict[str, tuple[float, int, int]]] = {}
        self.inconsistent: dict[str, int] = {}
        self.judge_tokens = {"prompt": 0, "completion": 0}
        self.summary: dict[str, Any] | None = None

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        if record.benchmark != "arena":
            return
        if self.rows is not None:
            from .report import pair_row

            self.rows.append(pair_row(record))
        if record.arena is None:
            return
        detail = record.arena
        for key in ("prompt", "completion"):  # an errored pair's judge replies too (a label-less one)
            self.judge_tokens[key] += int(detail["judge_tokens"][key])
        if record.error is not None:
            return
        self.pairs.setdefault(record.id, {})[record.subset] = (
            record.metrics["winrate"],
            detail["candidate_len"],
            detail["baseline_len"],
        )
        self.inconsistent[record.subset] = self.inconsistent.get(record.subset, 0) + int(detail["inconsistent"])

    def figures(self) -> dict[str, Any]:
        from . import statistics as st

        config = self.config
        per_prompt = {
            prompt: {candidate: st.Pair(*pair) for candidate, pair in by.items()} for prompt, by in self.pairs.items()
        }
        by_candidate: dict[str, list[Any]] = {}
        for prompt in sorted(per_prompt):
            for candidate, pair in per_prompt[prompt].items():
                by_candidate.setdefault(candidate, []).append(pair)

        names = [m.name for m in config.candidates]
        intervals = st.bootstrap(per_prompt, names, config.bootstrap, config.seed)
        ratings = st.bradley_terry({c: [p.value for p in ps] for c, ps in by_candidate.items()}, config.baseline)
        candidates: dict[str, Any] = {}
        for candidate in [m.name for m in config.candidates]:
            pairs = by_candidate.get(candidate, [])

            def ci(name: str, candidate: str = candidate) -> list[float | None]:
                interval = intervals.get(f"{candidate}.{name}")
                return [interval.low, interval.high] if interval else [None, None]

            candidates[candidate] = {
                "pairs": len(pairs),
                **st.counts(pairs),
                "inconsistent": self.inconsistent.get(candidate, 0),
                "winrate": st.win_rate(pairs),
                "winrate_ci": ci("winrate"),
                "lc_winrate": st.length_controlled_win_rate(pairs),
                "lc_winrate_ci": ci("lc_winrate"),
                "elo": ratings.get(candidate),
                "elo_ci": ci("elo"),
                "mean_len": sum(p.candidate_len for p in pairs) / len(pairs) if pairs else None,
            }
        return {
            "baseline": config.baseline,
            "judge": config.judge.name if config.judge else "--llm-judge-model",
            "scale": config.scale,
            "swap_rule": "opposite preferences in the two orders -> tie; else the sign of the summed scores",
            "bootstrap_rounds": config.bootstrap,
            "level": st.LEVEL,
            "baseline_elo": st.ANCHOR,
            "judge_tokens": dict(self.judge_tokens),
            "candidates": candidates,
        }

    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        # plain hook registered after the threshold gate: runs after Aggregation (tryfirst) and
        # before the gate, so `--llm-threshold-mode ci` reads the bootstrap interval
        if not self.pairs and "arena" not in result.benchmarks:
            return
        figures = self.summary = self.figures()
        result.extra["arena"] = figures
        bench = result.benchmarks.get("arena")
        if bench is None:
            return
        for candidate, row in figures["candidates"].items():
            group = bench.subsets.get(candidate)
            if group is None or row["winrate"] is None:
                continue
            # with one candidate the benchmark's row is that candidate's: it carries the same figures
            groups = [group, bench] if len(figures["candidates"]) == 1 else [group]
            for target in groups:
                target.metrics["lc_winrate"] = row["lc_winrate"]
                target.metrics["elo"] = row["elo"]
            for name in ("winrate", "lc_winrate", "elo"):
                if name != "winrate" and row[f"{name}_ci"][0] is None:
                    continue  # no bootstrap (--llm-arena-bootstrap 0): ci mode says there is no interval
                low, high = row[f"{name}_ci"]
                group.uncertainty[name] = MetricUncertainty(
                    se=(high - low) / (2 * 1.959964) if low is not None and high is not None else None,  # shown ±
                    ci_low=low,
                    ci_high=high,
                    n=row["pairs"],
                    method="bootstrap" if low is not None else "none",
                )

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        if self.summary is None or self.rows is None:
            return
        from .report import render_arena

        prefix.append(render_arena(self.summary, self.rows))

    @pytest.hookimpl(tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summary is None:
            return
        for line in arena_lines(self.summary):
            terminalreporter.write_line(line)


def _fmt(value: float | None, ci: list[float | None], scale: float = 100.0, digits: int = 1) -> str:
    if value is None:
        return "-"
    text = f"{value * scale:.{digits}f}"
    if ci[0] is not None and ci[1] is not None:
        text += f" [{ci[0] * scale:.{digits}f}, {ci[1] * scale:.{digits}f}]"
    return text


def arena_lines(summary: dict[str, Any]) -> list[str]:
    """The arena table of the terminal (also for a results JSON's `extra.arena`)."""
    from ..texttable import format_table

    rows = [
        [
            name,
            f"{row['win']}/{row['tie']}/{row['loss']}",
            _fmt(row["winrate"], row["winrate_ci"]),
            _fmt(row["lc_winrate"], row["lc_winrate_ci"]),
            _fmt(row["elo"], row["elo_ci"], scale=1.0, digits=0),
            str(row["inconsistent"]),
        ]
        for name, row in summary["candidates"].items()
        if row["pairs"]  # a candidate -m left out has no row
    ]
    rows.append([f"{summary['baseline']} (baseline)", "", "50.0", "50.0", f"{summary['baseline_elo']:.0f}", ""])
    tokens = summary["judge_tokens"]
    return [
        "",
        f"arena vs {summary['baseline']} (judge {summary['judge']}, scale {summary['scale']}, "
        f"95% bootstrap intervals over prompts, {summary['bootstrap_rounds']} rounds)",
        *format_table(["model", "W/T/L", "win rate %", "LC win rate %", "Elo (BT)", "swap-inconsistent"], rows),
        f"judge tokens: {tokens['prompt']:,} prompt, {tokens['completion']:,} completion",
    ]
