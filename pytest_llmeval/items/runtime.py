"""Per-process evaluation state: the dispatcher, the prefetch plan, and sample scoring."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ..endpoint.cache import ResponseCache, request_key
from ..endpoint.dispatcher import Dispatcher, PrefetchPlan
from ..endpoint.models import ChatResponse
from ..errors import LLMEvalError
from ..media import summarise_messages
from ..report.models import SampleRecord
from ..scoring.response import answers_of, score_generations
from ..settings import RunSettings
from .nodes import SampleItem


class EvalRuntime:
    """Owns what one process needs to run sample items and the `llm` fixture."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self._dispatcher: Dispatcher | None = None
        self._plan: PrefetchPlan | None = None
        self._plan_index: dict[str, int] = {}
        self._judge: Any = None

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            cache = ResponseCache(self.settings.cache_dir) if self.settings.use_cache and self.settings.cache_dir else None
            self._dispatcher = Dispatcher(self.settings.endpoint, cache)
        return self._dispatcher

    def judge(self) -> Any:
        """The LLM judge (`--llm-judge-model`), created on first use with its own dispatcher and
        the shared cache; its endpoint defaults to the one under test."""
        if self._judge is None:
            from ..scoring.judge import Judge

            settings = self.settings.judge
            assert settings is not None
            if settings.base_url is None:
                settings = settings.model_copy(update={"base_url": self.settings.endpoint.base_url})
            cache = ResponseCache(self.settings.cache_dir) if self.settings.use_cache and self.settings.cache_dir else None
            self._judge = Judge(settings, Dispatcher(settings, cache))
        return self._judge

    def request_body(self, item: SampleItem) -> dict[str, Any]:
        endpoint = self.settings.endpoint
        body: dict[str, Any] = {"model": endpoint.model, "messages": item.benchmark.messages(item.sample)}
        body.update(item.benchmark.generation_defaults())
        body.update(endpoint.gen)
        if endpoint.stream:
            body["stream"] = True
        return body

    # -- before the first item ---------------------------------------------------------------

    def start(self, items: Sequence[pytest.Item], preflight: bool = True) -> None:
        """Begin requesting the responses of `items` (this process's share, in run order)."""
        samples = [item for item in items if isinstance(item, SampleItem)]
        if not samples:
            return
        if preflight:
            self.preflight_if_needed(samples)
        self._plan_index = {item.nodeid: index for index, item in enumerate(samples)}
        self._plan = self.dispatcher.prefetch([lambda item=item: self.request_body(item) for item in samples])

    def preflight_if_needed(self, samples: Sequence[SampleItem]) -> None:
        """One clear error up front when the endpoint is missing, instead of one per item; skipped
        when the cache already holds every response (an offline re-score needs no server)."""
        cache = self.dispatcher.cache
        if cache is not None and not cache.missing(key for key in map(self._key_or_none, samples) if key is not None):
            return
        self.preflight()

    def _key_or_none(self, item: SampleItem) -> str | None:
        """The cache key of an item's request; None when the sample cannot become a request (it
        errors alone when its turn comes, e.g. an unreadable image)."""
        try:
            return request_key(self.request_body(item))
        except LLMEvalError:
            return None

    def preflight(self) -> None:
        try:
            self.dispatcher.list_models()
        except LLMEvalError as exc:
            pytest.exit(f"llmeval: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)

    # -- per item ----------------------------------------------------------------------------

    def response_for(self, item: SampleItem) -> ChatResponse:
        index = self._plan_index.get(item.nodeid)
        if self._plan is None or index is None:  # not planned (e.g. rescheduled after an xdist crash)
            return self.dispatcher.call(self.request_body(item), use_cache=self.settings.use_cache)
        return self._plan.result(index)

    def score(self, item: SampleItem, response: ChatResponse) -> SampleRecord:
        answers = answers_of(response, self.settings.keep_thinking)
        verdict = score_generations(item.benchmark, item.sample, [answer for answer, _ in answers])
        first_answer, first_reasoning = answers[0] if answers else ("", None)
        return self._record(
            item,
            output=first_answer,
            outputs=[answer for answer, _ in answers] if len(answers) > 1 else None,
            reasoning=first_reasoning,
            extracted=verdict.extracted,
            passed=verdict.passed,
            metrics=verdict.metrics,
            explanation=verdict.explanation,
            latency_s=response.latency_s,
            ttft_s=response.ttft_s,
            usage=response.usage,
            cached=response.cached,
        )

    def error_record(self, item: SampleItem, error: BaseException) -> SampleRecord:
        return self._record(item, error=str(error), error_kind=getattr(error, "kind", type(error).__name__))

    @staticmethod
    def _record(item: SampleItem, **fields: Any) -> SampleRecord:
        return SampleRecord(
            nodeid=item.nodeid,
            benchmark=item.benchmark.name,
            subset=item.sample.subset,
            id=item.sample.id,
            messages=_recorded_messages(item),
            target=item.sample.target,
            **fields,
        )

    def close(self) -> None:
        if self._judge is not None:
            self._judge.close()
        if self._dispatcher is not None:
            self._dispatcher.close()


def _recorded_messages(item: SampleItem) -> list[dict[str, Any]]:
    """The messages as the samples JSONL keeps them: media as hash/size/format, never bytes; a
    sample whose media could not be read keeps its text prompt."""
    if "segments" not in item.sample.metadata:
        return item.benchmark.messages(item.sample)
    try:
        return summarise_messages(item.benchmark.messages(item.sample))
    except LLMEvalError:
        return [{"role": "user", "content": item.sample.input}]
