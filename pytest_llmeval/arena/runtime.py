"""The arena's items and their runtime: answers of every contestant and the judge's two verdicts.

`ArenaBenchmark` is the benchmark `arena` of an arena run (made per run by `arena_benchmark`, with
the candidates as its subsets): one sample per (prompt, candidate), node id
`arena/<candidate>::<prompt id>`, marks `arena` and the candidate's mark name.

`ArenaRuntime` is the `SampleRuntime` of those items (`engine.nodes`). When the run starts it
launches one pipeline per pair on an asyncio loop of its own, in run order and at most `window`
pairs ahead of the item pytest runs: the candidate's and the baseline's answers (each model has its
own `Dispatcher`, so its own `--llm-concurrency` bound, and the shared response cache; a baseline
answer asked for by several candidates is one request), then, the moment both are there, the two
judge requests (candidate as A, then baseline as A) on the judge's dispatcher. Answers and verdicts
of different pairs overlap, so the wall time is about the longest chain, not the sum.

A failed answer or judge request is the pair's *error* (pytest error, counted in `errors`); a
judge reply without a verdict label is re-asked once (`judging.reask_messages`), then is the pair's
`JudgeError`. A pair whose candidate loses fails its item with both verdicts in the message. The
replies a pair got count in the token tally also when it errors (`error_record`). With a spending
budget each pair is admitted whole or not at all (arena/budget.py); one not admitted is skipped
as unsent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pytest

from ..benchmarks.base import Benchmark, RecordLoader, Sample
from ..endpoint.cache import ResponseCache
from ..endpoint.dispatcher import Dispatcher, EventLoopThread, copy_outcome
from ..endpoint.models import ChatResponse, Usage
from ..engine.nodes import SampleItem
from ..errors import JudgeError, LLMEvalError
from ..results import SampleRecord
from ..settings import EndpointSettings, RunSettings
from ..spend import BudgetReached, PriceTable, SpendingLimit
from ..spend.limit import Reservation, completion_bound
from .budget import PairBudget, judge_gen, judge_provision
from .config import ArenaConfig, ArenaModel
from .judging import JudgeTemplate, judge_messages, rationale, reask_messages
from .prompts import read_prompts
from .verdicts import combine, parse_label

EMBEDDED_SLOTS = 1  # llama-cpp-python's server answers one request at a time
ORDERS = ("candidate_first", "baseline_first")


class ArenaBenchmark(Benchmark):
    name = "arena"
    description = "pairwise comparison of candidate models against a baseline, judged by a model"
    metrics = ("winrate", "win", "tie", "loss", "inconsistent")
    fraction_metrics: ClassVar[set[str]] = {"winrate", "win", "tie", "loss", "inconsistent", "lc_winrate"}
    # fitted over all pairs after the run (plugin.ArenaFigures), not per sample: gateable, not averaged
    fitted_metrics = ("lc_winrate", "elo")
    task_type = "arena"
    arena: ClassVar[ArenaConfig]
    base_dir: ClassVar[Any] = None

    @classmethod
    def has_metric(cls, metric: str) -> bool:
        return metric in cls.fitted_metrics or super().has_metric(metric)

    @classmethod
    def metric_names(cls) -> list[str]:
        return [*super().metric_names(), *cls.fitted_metrics]

    def __init__(self, args: Any = None) -> None:
        super().__init__(args)
        self.item_runtime: ArenaRuntime | None = None  # engine.build gives the items this runtime

    def load(self, subset: str, loader: RecordLoader) -> Any:
        spec = self.arena.prompts
        if not spec:
            from ..errors import ConfigError

            raise ConfigError(
                "the arena has no prompts: pass --llm-arena-prompts FILE.jsonl (ArenaHard question.jsonl, "
                "AlpacaEval's JSON, a JSONL of {id, prompt}) or bench:NAME for a benchmark's prompts"
            )
        for prompt in read_prompts(spec, self.base_dir, loader):
            yield Sample(
                id=prompt.id,
                subset=subset,
                input=prompt.messages,
                metadata={"question": prompt.question, "category": prompt.category},
            )

    def failure_headline(self, target: Any, extracted: str | None, explanation: str | None) -> str:
        return f"the judge preferred the baseline: {explanation or ''}".rstrip(": ")


def arena_benchmark(config: ArenaConfig, base_dir: Any) -> type[ArenaBenchmark]:
    """The run's `arena` benchmark class: its subsets are the candidates."""
    return type(
        "ArenaBenchmark",
        (ArenaBenchmark,),
        {
            "subsets": tuple(m.name for m in config.candidates),
            "arena": config,
            "base_dir": base_dir,
            "__qualname__": ArenaBenchmark.__qualname__,
            "__module__": __name__,
        },
    )


class PairResult:
    """What one pair produced: both answers and the judge's replies in the two orders. Filled in as
    the replies arrive, so that a pair that errors still counts what it was sent (`error_record`)."""

    def __init__(self) -> None:
        self.candidate: ChatResponse | None = None
        self.baseline: ChatResponse | None = None
        self.judged: dict[str, dict[str, Any]] = {}
        self.judge_id = ""
        self.judge_responses: list[ChatResponse] = []  # every judge reply, a label-less one included

    @property
    def judge_usage(self) -> Usage:
        total = Usage()
        for response in self.judge_responses:
            total = _add(total, response.usage)
        return total


class ArenaRuntime:
    """Runs the arena items of this process (the `SampleRuntime` of `ArenaBenchmark` items)."""

    def __init__(
        self,
        config: ArenaConfig,
        settings: RunSettings,
        urls: dict[str, str],
        judge_settings: EndpointSettings | None,
    ) -> None:
        """`urls`: the base URL of each embedded model (by its `local` name), served by the plugin;
        `judge_settings`: the run's --llm-judge-model, when the arena names no judge."""
        self.config = config
        self.settings = settings
        self.urls = urls
        self.template = JudgeTemplate.load(config.judge_template)
        self.judge_model = config.judge
        self.fallback_judge = judge_settings
        self._dispatchers: dict[str, Dispatcher] = {}
        self._lock = threading.Lock()
        self._futures: dict[str, concurrent.futures.Future[PairResult]] = {}
        self._answers: dict[tuple[str, str], asyncio.Future[ChatResponse]] = {}
        self._rooms: dict[str, asyncio.Semaphore] = {}  # the window slot each launched pair holds
        self._results: dict[str, PairResult] = {}  # from a pair's start to its item's record
        self._counted: set[str] = set()  # prompts whose shared baseline answer a record already counts
        # one loop thread for the pipeline and every model's dispatcher: an answer's completion, the
        # judge requests it starts and their replies never hop between threads (bench/arena_pipeline.py)
        self._loop_thread: EventLoopThread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._producer: concurrent.futures.Future[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()  # pairs and answers under way (cancelled at close)
        self.skip_sample: Callable[[SampleItem], bool] | None = None  # --llm-early-stop (the run's runtime)
        # --llm-max-tokens-budget / --llm-max-cost: the process's limit (set by run.spending's BudgetGuard
        # on the run's runtime, read when the pipeline starts) and the price table
        self.spending_limit: Callable[[], SpendingLimit | None] = lambda: None
        self.prices: PriceTable | None = None
        self.budget: PairBudget | None = None
        self._answer_holds: dict[tuple[str, str], Reservation] = {}  # admitted answers not yet asked

    # -- endpoints ---------------------------------------------------------------------------

    def endpoint(self, model: ArenaModel) -> EndpointSettings:
        base = self.settings.endpoint
        url = model.base_url or self.urls.get(model.local or "")
        if url is None:
            raise LLMEvalError(f"arena model {model.name!r}: its server {model.local!r} was not started")
        return EndpointSettings(
            model=model.model,
            base_url=url,
            api_key=model.api_key,
            timeout_s=base.timeout_s,
            retries=base.retries,
            concurrency=EMBEDDED_SLOTS if model.local else base.concurrency,
            stream=base.stream,
            max_response_bytes=base.max_response_bytes,
            gen={**base.gen, **model.gen},
        )

    def judge_endpoint(self) -> EndpointSettings:
        if self.judge_model is not None:
            settings = self.endpoint(self.judge_model)
            return settings.model_copy(update={"gen": judge_gen(self.judge_model)})
        if self.fallback_judge is None:
            raise LLMEvalError("the arena has no judge: pass --llm-arena-judge NAME=URL or --llm-judge-model")
        return self.fallback_judge

    def dispatcher(self, name: str, settings: Callable[[], EndpointSettings]) -> Dispatcher:
        with self._lock:
            if name not in self._dispatchers:
                cache = (
                    ResponseCache(self.settings.cache_dir)
                    if self.settings.use_cache and self.settings.cache_dir
                    else None
                )
                self._dispatchers[name] = Dispatcher(settings(), cache, loop=self._shared_loop())
            return self._dispatchers[name]

    def _shared_loop(self) -> EventLoopThread:
        if self._loop_thread is None:
            self._loop_thread = EventLoopThread("llmeval-arena")
            self._loop = self._loop_thread.loop
        return self._loop_thread

    def model_dispatcher(self, model: ArenaModel) -> Dispatcher:
        return self.dispatcher("model:" + model.name, lambda: self.endpoint(model))

    def judge_dispatcher(self) -> Dispatcher:
        return self.dispatcher("judge", self.judge_endpoint)

    def answer_body(self, model: ArenaModel, sample: Sample) -> dict[str, Any]:
        settings = self.endpoint(model)
        body: dict[str, Any] = {"model": settings.model, "messages": list(sample.input), **settings.gen}
        if settings.stream:
            body["stream"] = True
        return body

    # -- the pipeline ------------------------------------------------------------------------

    def start(self, items: Sequence[pytest.Item], preflight: bool = True) -> None:
        mine = [item for item in items if isinstance(item, SampleItem) and item.runtime is self]
        if not mine:
            return
        if preflight:
            self.preflight()
        else:  # made here, on this thread: a dispatcher is never built on the loop it runs on
            for model in self.config.models:
                self.model_dispatcher(model)
            self.judge_dispatcher()
        limit = self.spending_limit()
        if self.budget is None and limit is not None:
            self.budget = PairBudget(limit, self.prices)
        loop = self._shared_loop().loop
        for item in mine:
            self._futures[item.nodeid] = concurrent.futures.Future()
        window = max(4 * self.settings.endpoint.concurrency, 64)
        self._producer = asyncio.run_coroutine_threadsafe(self._produce(mine, window), loop)

    def preflight(self) -> None:
        """One usage error up front when a contestant's or the judge's server does not answer."""
        checks: list[tuple[str, Dispatcher]] = [(m.name, self.model_dispatcher(m)) for m in self.config.models]
        try:
            checks.append(("the judge", self.judge_dispatcher()))
        except LLMEvalError as exc:
            raise pytest.UsageError(f"llmeval: {exc}") from None
        for name, dispatcher in checks:
            try:
                dispatcher.list_models()
            except LLMEvalError as exc:
                who, flag = (
                    (f"the arena judge {self._judge_name()!r}", "--llm-arena-judge")
                    if name == "the judge"
                    else (f"arena model {name!r}", "--llm-arena-model")
                )
                raise pytest.UsageError(f"llmeval: {_retarget(exc, who, flag)}") from None

    async def _produce(self, items: list[SampleItem], window: int) -> None:
        """Pairs in run order, at most `window` ahead of the item pytest runs (a slot is freed when
        an item takes its result), so that `--llm-early-stop` can still leave the rest unsent."""
        room = asyncio.Semaphore(window)
        pairs = asyncio.Semaphore(self.settings.endpoint.concurrency)
        for item in items:
            await room.acquire()
            future = self._futures[item.nodeid]
            self._rooms[item.nodeid] = room
            if self.skip_sample is not None and self.skip_sample(item):
                future.set_result(None)  # type: ignore[arg-type]
                continue
            provision = None
            if self.budget is not None:
                await pairs.acquire()  # with a budget, at most C pairs hold reservations at a time
                try:
                    provision = self._admit(item)
                except BudgetReached as exc:  # unsent, as every later pair (the limit refuses from now on)
                    pairs.release()
                    future.set_exception(exc)
                    continue
            task = self._spawn(self._pair(item, provision))
            task.add_done_callback(functools.partial(copy_outcome, future))
            if self.budget is not None:
                task.add_done_callback(lambda _: pairs.release())

    def _admit(self, item: SampleItem) -> Reservation:
        """Hold the pair's answers not asked yet and its judge provision (arena/budget.py)."""
        assert self.budget is not None
        sample = item.sample
        contestants = [self._candidate(item), self.config.baseline_model]
        asked = [
            m
            for m in contestants
            if (m.name, sample.id) not in self._answers and (m.name, sample.id) not in self._answer_holds
        ]
        bodies = {m.name: self.answer_body(m, sample) for m in contestants}
        judge = self.judge_dispatcher().settings
        empty = judge_messages(self.template, self.config.scale, self._question(item), "", "")
        provision = judge_provision(
            len(json.dumps(empty, ensure_ascii=False, separators=(",", ":")).encode("utf-8")),
            [completion_bound(bodies[m.name]) or 0 for m in contestants],
            completion_bound(judge.gen) or 0,
        )
        holds, judge_hold = self.budget.admit([(bodies[m.name], m.model) for m in asked], provision, judge.model)
        for model, hold in zip(asked, holds, strict=True):
            self._answer_holds[(model.name, sample.id)] = hold
        return judge_hold

    def _candidate(self, item: SampleItem) -> ArenaModel:
        return next(m for m in self.config.candidates if m.name == item.sample.subset)

    @staticmethod
    def _question(item: SampleItem) -> str:
        return str(item.sample.metadata.get("question") or "")

    async def _answer(self, model: ArenaModel, sample: Sample) -> ChatResponse:
        key = (model.name, sample.id)
        shared = self._answers.get(key)
        if shared is None:
            body = self.answer_body(model, sample)
            dispatcher = self.model_dispatcher(model)
            hold = self._answer_holds.pop(key, None)
            shared = self._answers[key] = self._spawn(
                _ask(dispatcher, body, f"arena model {model.name!r}", "--llm-arena-model", self.budget, hold)
            )
        return await asyncio.shield(shared)

    async def _pair(self, item: SampleItem, provision: Reservation | None = None) -> PairResult:
        config = self.config
        result = self._results[item.nodeid] = PairResult()
        answers = await asyncio.gather(
            self._answer(self._candidate(item), item.sample),
            self._answer(config.baseline_model, item.sample),
            return_exceptions=True,  # both are waited for, so that one that came is counted
        )
        result.candidate, result.baseline = (a if isinstance(a, ChatResponse) else None for a in answers)
        judge = self.judge_dispatcher().settings
        result.judge_id = judge.model
        if result.candidate is None or result.baseline is None:
            if self.budget is not None:
                self.budget.release(provision)
            raise next(a for a in answers if isinstance(a, BaseException))
        cand, base = result.candidate.text, result.baseline.text
        question = self._question(item)
        bodies = [
            {"model": judge.model, "messages": judge_messages(self.template, config.scale, question, a, b), **judge.gen}
            for a, b in ((cand, base), (base, cand))  # candidate as A, then the baseline as A
        ]
        holds: list[Reservation | None] = [None, None]
        if self.budget is not None and provision is not None:
            holds = list(self.budget.exchange(provision, bodies, judge.model))
        verdicts = await asyncio.gather(
            *(self._judge(body, hold, result.judge_responses) for body, hold in zip(bodies, holds, strict=True)),
            return_exceptions=True,  # both orders finish, so that every reply is counted
        )
        for order, verdict in zip(ORDERS, verdicts, strict=True):
            if isinstance(verdict, BaseException):
                raise verdict
            result.judged[order] = verdict
        return result

    async def _judge(
        self, body: dict[str, Any], hold: Reservation | None, responses: list[ChatResponse]
    ) -> dict[str, Any]:
        """One order's verdict; every reply the judge gives is appended to `responses` as it arrives."""
        dispatcher = self.judge_dispatcher()
        settings = dispatcher.settings
        messages = body["messages"]
        who = f"the arena judge {self._judge_name()!r}"
        first = await _ask(dispatcher, body, who, "--llm-arena-judge", self.budget, hold)
        responses.append(first)
        label = parse_label(first.text, self.config.scale)
        reply, reasked = first.text, False
        if label is None:  # asked once more in the same conversation (cached like any request)
            again = {**body, "messages": reask_messages(messages, first.text, self.config.scale)}
            hold = self.budget.reserve(again, settings.model) if self.budget is not None else None
            second = await _ask(dispatcher, again, who, "--llm-arena-judge", self.budget, hold)
            responses.append(second)
            reasked = True
            label = parse_label(second.text, self.config.scale)
            reply = f"{first.text}\n\n[asked again for the label]\n{second.text}"
            if label is None:
                raise JudgeError(
                    f"{who} (model {settings.model!r}) gave no verdict label ({', '.join(self._labels())}), "
                    "also when asked again",
                    snippet=second.text or first.text,
                )
        return {"label": label, "rationale": rationale(reply), "reasked": reasked}

    def _judge_name(self) -> str:
        return self.judge_model.name if self.judge_model is not None else self.judge_dispatcher().settings.model

    def _labels(self) -> list[str]:
        from .verdicts import SCALES

        return [f"[[{label}]]" for label in SCALES[self.config.scale]]

    # -- per item ----------------------------------------------------------------------------

    def response_for(self, item: SampleItem) -> ChatResponse:
        future = self._futures.get(item.nodeid)
        if future is None:  # not planned (rescheduled after an xdist crash): run it now
            if self.skip_sample is not None and self.skip_sample(item):
                self._skip(item)
            self.start([item], preflight=False)
            future = self._futures[item.nodeid]
        try:
            result = future.result()
        except BudgetReached as exc:  # not admitted (or its judgement refused): unsent, the run incomplete
            self._results.pop(item.nodeid, None)
            item.skipped_budget = exc.reason
            pytest.skip(f"not sent: {exc.reason}")
        finally:
            room = self._rooms.pop(item.nodeid, None)
            if room is not None and self._loop is not None:
                self._loop.call_soon_threadsafe(room.release)
        if result is None:
            self._skip(item)
        self._results[item.nodeid] = result
        assert result.candidate is not None
        return result.candidate

    @staticmethod
    def _skip(item: SampleItem) -> None:
        item.skipped_early = True
        pytest.skip("skipped by --llm-early-stop: the thresholds on arena are already decided")

    def _spend(self, item: SampleItem, result: PairResult) -> list[dict[str, Any]]:
        """Per model, the requests a pair's record stands for (spend/tally.py). The baseline answer is
        asked once per prompt and shared by every candidate's pair: the first record of the prompt (in
        this process) counts it, so request and token counts are what was sent."""
        spend = []
        if result.candidate is not None:
            spend.append(_spent(self._candidate(item).model, [result.candidate]))
        if result.baseline is not None and item.sample.id not in self._counted:
            self._counted.add(item.sample.id)
            spend.append(_spent(self.config.baseline_model.model, [result.baseline]))
        if result.judge_responses:
            spend.append(_spent(result.judge_id, result.judge_responses))
        return spend

    def error_record(self, item: SampleItem, error: BaseException) -> SampleRecord:
        """A pair that errored: no verdict, but the replies it got count in the token tally (a judge
        reply without a label, the other order's verdict, the answers)."""
        result = self._results.pop(item.nodeid, None)
        spend = self._spend(item, result) if result is not None else []
        usage = result.judge_usage if result is not None else Usage()
        return SampleRecord(
            nodeid=item.nodeid,
            benchmark=item.benchmark.name,
            subset=item.sample.subset,
            id=item.sample.id,
            messages=list(item.sample.input),  # type: ignore[arg-type]
            target=f"baseline {self.config.baseline}",
            error=str(error),
            error_kind=getattr(error, "kind", type(error).__name__),
            usage=_total_usage(spend) if spend else None,
            cached=bool(spend) and all(entry["cached"] == entry["requests"] for entry in spend),
            requests=sum(entry["requests"] for entry in spend),
            requests_cached=sum(entry["cached"] for entry in spend),
            arena={
                "candidate": item.sample.subset,
                "baseline": self.config.baseline,
                "judge_tokens": {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens},
                "spend": spend,
            }
            if spend
            else None,
        )

    def score(self, item: SampleItem, response: ChatResponse) -> SampleRecord:
        result = self._results.pop(item.nodeid)
        config = self.config
        first, second = result.judged["candidate_first"], result.judged["baseline_first"]
        pair = combine(first["label"], second["label"], config.scale)
        spend = self._spend(item, result)
        assert result.candidate is not None and result.baseline is not None
        cand_text, base_text = result.candidate.text, result.baseline.text
        judge_usage = result.judge_usage
        detail = {
            "candidate": item.sample.subset,
            "baseline": config.baseline,
            "question": item.sample.metadata.get("question"),
            "category": item.sample.metadata.get("category"),
            "candidate_answer": cand_text,
            "baseline_answer": base_text,
            "candidate_len": len(cand_text),
            "baseline_len": len(base_text),
            "verdicts": {order: {**result.judged[order]} for order in ORDERS},
            "scores": {"candidate_first": pair.candidate_first, "baseline_first": pair.baseline_first},
            "outcome": pair.outcome,
            "inconsistent": pair.inconsistent,
            "judge_tokens": {"prompt": judge_usage.prompt_tokens, "completion": judge_usage.completion_tokens},
            "spend": spend,  # per model: the requests this record stands for (spend/tally.py)
        }
        explanation = f"{pair.outcome}; candidate as A: [[{first['label']}]], baseline as A: [[{second['label']}]]" + (
            " (the orders disagree: counted as a tie)" if pair.inconsistent else ""
        )
        return SampleRecord(
            nodeid=item.nodeid,
            benchmark=item.benchmark.name,
            subset=item.sample.subset,
            id=item.sample.id,
            messages=list(item.sample.input),  # type: ignore[arg-type]
            output=cand_text,
            extracted=pair.outcome,
            target=f"baseline {config.baseline}",
            passed=pair.outcome != "loss",
            metrics={
                "winrate": pair.value,
                "win": float(pair.outcome == "win"),
                "tie": float(pair.outcome == "tie"),
                "loss": float(pair.outcome == "loss"),
                "inconsistent": float(pair.inconsistent),
            },
            explanation=explanation,
            latency_s=result.candidate.latency_s,
            usage=_total_usage(spend),
            cached=all(entry["cached"] == entry["requests"] for entry in spend),
            requests=sum(entry["requests"] for entry in spend),
            requests_cached=sum(entry["cached"] for entry in spend),
            finish_reason=result.candidate.choices[0].finish_reason if result.candidate.choices else None,
            arena=detail,
        )

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.cancel()
            self._producer = None
        if self._loop is not None and self._loop_thread is not None and self._loop_thread.thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._cancel_all(), self._loop).result(timeout=30)
            except Exception:
                pass
        for dispatcher in self._dispatchers.values():  # cancels their requests in flight, on the shared loop
            dispatcher.close()
        self._dispatchers.clear()
        if self._loop_thread is not None:
            self._loop_thread.stop()
            self._loop_thread = None
            self._loop = None


def _add(total: Usage, usage: Usage) -> Usage:
    return Usage(
        prompt_tokens=total.prompt_tokens + usage.prompt_tokens,
        completion_tokens=total.completion_tokens + usage.completion_tokens,
        total_tokens=total.total_tokens + usage.total_tokens,
    )


def _spent(model: str, responses: list[ChatResponse]) -> dict[str, Any]:
    """One model's share of a record: requests (of which from the cache) and tokens."""
    return {
        "model": model,
        "requests": len(responses),
        "cached": sum(int(r.cached) for r in responses),
        "cached_prompt_tokens": sum(r.usage.prompt_tokens for r in responses if r.cached),
        "cached_completion_tokens": sum(r.usage.completion_tokens for r in responses if r.cached),
        "prompt_tokens": sum(r.usage.prompt_tokens for r in responses if not r.cached),
        "completion_tokens": sum(r.usage.completion_tokens for r in responses if not r.cached),
        "reasoning_tokens": sum(r.usage.reasoning_tokens or 0 for r in responses if not r.cached),
    }


def _total_usage(spend: list[dict[str, Any]]) -> Usage:
    prompt = sum(e["prompt_tokens"] + e["cached_prompt_tokens"] for e in spend)
    completion = sum(e["completion_tokens"] + e["cached_completion_tokens"] for e in spend)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


async def _ask(
    dispatcher: Dispatcher,
    body: dict[str, Any],
    who: str,
    flag: str,
    budget: PairBudget | None = None,
    hold: Reservation | None = None,
) -> ChatResponse:
    """One request of a contestant or the judge; its error names the arena's own options. `hold`: its
    reservation in the budget, settled with what the answer used."""
    try:
        response = await dispatcher.fetch(body)  # on the dispatcher's loop, which the arena shares
    except BaseException as exc:
        if budget is not None:
            budget.settle(hold, None)
        if isinstance(exc, LLMEvalError):
            raise _retarget(exc, who, flag) from None
        raise
    if budget is not None:
        budget.settle(hold, response)
    return response


def _retarget(exc: LLMEvalError, who: str, flag: str) -> LLMEvalError:
    """The endpoint's error, pointed at the arena's options: `--llm-api-key`/`--llm-base-url` do not
    apply to arena models (their key is `key=ENV` in the spec, their URL the spec's)."""
    text = str(exc)
    text = text.replace(
        "set --llm-api-key or OPENAI_API_KEY",
        f"set key=ENV in {flag} NAME=URL,key=ENV (ENV: the name of the variable holding the API key)",
    )
    text = text.replace("did you mean --llm-base-url", f"did you mean, in {flag} NAME=URL, the URL")
    text = text.replace("check --llm-base-url", f"check the URL of {who} ({flag} NAME=URL)")
    if not text.startswith(who):
        text = f"{who}: {text}"
    exc.args = (text, *exc.args[1:])
    return exc
