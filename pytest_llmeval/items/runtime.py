"""Per-process evaluation state: the dispatcher, the prefetch plan, and sample scoring."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from ..endpoint.cache import ResponseCache, request_key
from ..endpoint.dispatcher import Dispatcher, PrefetchPlan
from ..endpoint.models import ChatResponse
from ..errors import LLMEvalError
from ..report.models import SampleRecord
from ..scoring.response import answers_of, score_generations
from ..settings import RunSettings
from .nodes import SampleItem


class EvalRuntime:
    """Owns what one process needs to run sample items and the `llm` fixture."""

    def __init__(self, settings: RunSettings, notify: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.notify = notify  # one-line notices (a damaged cache moved aside); default stderr
        self._dispatcher: Dispatcher | None = None
        self._plan: PrefetchPlan | None = None
        self._plan_index: dict[str, int] = {}
        self._judge: Any = None

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            self._dispatcher = Dispatcher(self.settings.endpoint, self._cache())
        return self._dispatcher

    def judge(self) -> Any:
        """The LLM judge (`--llm-judge-model`), created on first use with its own dispatcher and
        the shared cache; its endpoint defaults to the one under test."""
        if self._judge is None:
            from ..scoring.judge import Judge

            settings = self.settings.judge
            assert settings is not None
            if settings.base_url is None:
                endpoint = self.settings.endpoint  # the same URL, its user info and query included
                settings = settings.model_copy(update={"base_url": endpoint.base_url, "base_url_auth": endpoint.base_url_auth,
                                                       "base_url_query": endpoint.base_url_query})
            self._judge = Judge(settings, Dispatcher(settings, self._cache()))
        return self._judge

    def _cache(self) -> ResponseCache | None:
        if not (self.settings.use_cache and self.settings.cache_dir):
            return None
        return ResponseCache(self.settings.cache_dir, notify=self.notify)

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
            messages=item.benchmark.messages(item.sample),
            target=item.sample.target,
            **fields,
        )

    def close(self) -> None:
        if self._judge is not None:
            self._judge.close()
        if self._dispatcher is not None:
            self._dispatcher.close()
