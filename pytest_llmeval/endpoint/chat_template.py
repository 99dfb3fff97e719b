"""The model's chat template, for log-likelihood contexts scored "with the chat template".

Some published tables score log-likelihood tasks with the chat template applied (SmolLM2's card:
lighteval with ``--use-chat-template``): the context is the user's turn, the generation prompt opens
the assistant's turn, and the continuation is scored as the assistant's first words. A completions
endpoint takes raw text, so the plugin renders the template itself: ``--llm-chat-template-file PATH``
(a Jinja chat template, as in a tokenizer's ``chat_template``), or, for a model the plugin serves
(``--llm-model smollm2-135m`` or a ``.gguf`` path), the template in the GGUF's metadata
(``tokenizer.chat_template``). Rendered with Jinja2's sandbox, like Hugging Face's
``apply_chat_template``: ``messages=[{"role": "user", "content": context}]``,
``add_generation_prompt=True``, ``bos_token``/``eos_token`` empty (the server adds a BOS itself when
the model wants one).

Errors: no template to be found is a ``ConfigError`` naming both ways to give one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def render_context(template: str, context: str) -> str:
    """`context` as the user's turn of `template`, with the assistant's turn opened."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ConfigError(f"the chat template refused the prompt: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(
        messages=[{"role": "user", "content": context}],
        add_generation_prompt=True,
        bos_token="",
        eos_token="",
    )


def gguf_chat_template(path: Path) -> str | None:
    """The chat template in a GGUF's metadata (None when it has none); reads the vocabulary only."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
    template = llm.metadata.get("tokenizer.chat_template")
    return template or None


def find_template(settings: Any) -> str:
    """The template text: the run's `--llm-chat-template-file`, else the served local model's GGUF."""
    path = getattr(settings, "chat_template_file", None)
    if path is not None:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--llm-chat-template-file {path}: cannot read it ({exc.strerror})") from None
    from .local_models import LocalModelError, is_local_model_name, resolve_local_model

    model = settings.endpoint.model
    if is_local_model_name(model):
        try:
            found = gguf_chat_template(resolve_local_model(model).path)
        except (LocalModelError, ImportError, ValueError) as exc:
            raise ConfigError(f"chat_template=on: cannot read the chat template of {model!r} ({exc})") from None
        if found:
            return found
    raise ConfigError(
        f"chat_template=on needs the chat template of {model!r}: pass --llm-chat-template-file PATH (a Jinja "
        "chat template, the tokenizer's chat_template) or serve a GGUF that holds one (--llm-model NAME.gguf)"
    )


def context_wrapper(settings: Any) -> Callable[[str], str]:
    """A function wrapping a log-likelihood context in the run's chat template (read once)."""
    template = find_template(settings)
    return lambda context: render_context(template, context)
