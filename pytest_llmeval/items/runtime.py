"""Per-process evaluation state: the dispatcher, the prefetch plan, and sample scoring."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from ..endpoint.cache import ResponseCache, request_key
from ..endpoint.dispatcher import Dispatcher, PrefetchPlan, RequestSkipped
from ..endpoint.models import ChatResponse
from ..errors import LLMEvalError
from ..results import SampleRecord
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
        # --llm-early-stop: asked before a sample's request is sent; True skips the sample
        self.skip_sample: Callable[[SampleItem], bool] | None = None

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
        builders = [lambda item=item: self.request_body(item) for item in samples]
        if self.skip_sample is None:
            self._plan = self.dispatcher.prefetch(builders)
            return
        skip = self.skip_sample
        self._plan = self.dispatcher.prefetch(builders, skip=lambda index: skip(samples[index]))

    def preflight_if_needed(self, samples: Sequence[SampleItem]) -> None:
        """One clear error up front when the endpoint is missing, instead of one per item; skipped
        when the cache already holds every response (an offline re-score needs no server)."""
        cache = self.dispatcher.cache
        if cache is not None and not cache.missing(request_key(self.request_body(i)) for i in samples):
            return
        self.preflight()

    def preflight(self) -> None:
        try:
            self.dispatcher.list_models()
        except LLMEvalError as exc:
            pytest.exit(f"llmeval: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)

    # -- per item ----------------------------------------------------------------------------

    def response_for(self, item: SampleItem) -> ChatResponse:
        """The item's response; pytest.skip when --llm-early-stop left its request unsent."""
        index = self._plan_index.get(item.nodeid)
        if self._plan is None or index is None:  # not planned (e.g. rescheduled after an xdist crash)
            if self.skip_sample is not None and self.skip_sample(item):
                self._skip_early(item)
            return self.dispatcher.call(self.request_body(item), use_cache=self.settings.use_cache)
        try:
            return self._plan.result(index)
        except RequestSkipped:
            self._skip_early(item)
            raise  # unreachable: _skip_early raises

    @staticmethod
    def _skip_early(item: SampleItem) -> None:
        item.skipped_early = True
        pytest.skip(f"skipped by --llm-early-stop: the thresholds on {item.benchmark.name} are already decided")

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
            messages=item.benchmark.messages(item.sample),
            target=item.sample.target,
            **fields,
        )

    def close(self) -> None:
        if self._judge is not None:
            self._judge.close()
        if self._dispatcher is not None:
            self._dispatcher.close()
