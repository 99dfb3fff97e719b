"""Fixtures for hand-written tests: `llm` (a client bound to the configured endpoint) and
`llm_endpoint` (the resolved settings). Both skip the test when no --llm-model is given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pytest

if TYPE_CHECKING:  # annotations only: a run without --llm-model never builds the wire models
    from .endpoint.models import ChatResponse
    from .settings import EndpointSettings


class LLM:
    """Chat with the configured model. Calls go through the run's dispatcher: they share its
    concurrency bound and its durable cache (pass `cache=False` to always ask the model)."""

    def __init__(self, plugin: Any) -> None:
        self._runtime = plugin.runtime
        self.settings: EndpointSettings = plugin.settings.endpoint

    def body(self, prompt: str | list[dict[str, Any]], **gen: Any) -> dict[str, Any]:
        from .options import check_gen_field

        for key, value in gen.items():  # `max_token=8` would be ignored by the server without a word
            check_gen_field(f"llm.chat({key}={value!r})", key, value, flag="")
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        body: dict[str, Any] = {"model": self.settings.model, "messages": messages, **self.settings.gen, **gen}
        if self.settings.stream and "stream" not in gen:
            body["stream"] = True
        return body

    def chat(self, prompt: str | list[dict[str, Any]], *, cache: bool = True, **gen: Any) -> ChatResponse:
        """Send one chat request (a user prompt or a message list); generation keys override --llm-gen."""
        return self._runtime.dispatcher.call(self.body(prompt, **gen), use_cache=cache)

    async def achat(self, prompt: str | list[dict[str, Any]], *, cache: bool = True, **gen: Any) -> ChatResponse:
        """Awaitable `chat`, usable from async tests on any event loop."""
        return await self._runtime.dispatcher.acall(self.body(prompt, **gen), use_cache=cache)

    def openai_client(self) -> Any:
        """An `openai.OpenAI` client for the same endpoint, for code that wants the SDK itself."""
        import openai

        key = self.settings.api_key.get_secret_value() if self.settings.api_key else "EMPTY"
        query = self.settings.base_url_query.get_secret_value() if self.settings.base_url_query else ""
        auth = {k: v for k, v in self.settings.headers().items() if k == "Authorization" and v.startswith("Basic ")}
        return openai.OpenAI(
            base_url=self.settings.require_base_url(),
            api_key=key,
            timeout=self.settings.timeout_s,
            default_query=dict(parse_qsl(query, keep_blank_values=True)) or None,
            default_headers=auth or None,
        )


def _plugin(config: pytest.Config) -> Any:
    plugin = config.pluginmanager.get_plugin("llmeval-evaluation")
    if plugin is None:
        pytest.skip("no --llm-model given: pass --llm-model and --llm-base-url to run tests that talk to a model")
    return plugin


@pytest.fixture(scope="session")
def llm_endpoint(pytestconfig: pytest.Config) -> EndpointSettings:
    """The resolved endpoint settings (model, base_url, generation parameters; the key stays secret)."""
    return _plugin(pytestconfig).settings.endpoint


@pytest.fixture(scope="session")
def llm(pytestconfig: pytest.Config) -> LLM:
    """A client bound to the configured endpoint: `llm.chat(...)`, `await llm.achat(...)`."""
    return LLM(_plugin(pytestconfig))


@pytest.fixture(scope="session")
def llm_server(pytestconfig: pytest.Config) -> Any:
    """Where the model is served (`base_url`, `model`, `log_path`) and whether the plugin started it
    (`managed`: --llm-serve or a local model name without --llm-base-url)."""
    _plugin(pytestconfig)
    serving = pytestconfig.pluginmanager.get_plugin("llmeval-serving")
    assert serving is not None, "plugin.py registers llmeval-serving before llmeval-evaluation"
    return serving.info
