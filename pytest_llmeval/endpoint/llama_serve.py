"""llama-cpp-python's OpenAI server, with its echoed prompt log-probabilities put right for BOS-less models.

Run as ``python -m pytest_llmeval.endpoint.llama_serve llama_cpp.server --model ...``: it installs the
fix below, then runs the module named first (``llama_cpp.server``) with the remaining arguments.

The defect (measured with llama-cpp-python 0.3.36 and SmolLM2-135M, whose GGUF adds no BOS token):
``Llama._create_completion`` with ``echo=True, logprobs=N`` pairs echoed token *i* with the logits row
*i*, i.e. the distribution that predicts token *i+1*. That is right only when the prompt's first
token is a BOS it drops from the echo (Gemma); without one every value is shifted by one position:
`` Paris`` after "The capital of France is" reads -8.4526 where the model's log-probability of it is
-0.2644 (``bench/loglik_echo_shift.py`` prints both). Log-likelihood scoring summed over such values
is noise, silently.

The fix: for an echoed request with ``logprobs`` (not streamed, no suffix) the wrapper asks the
library for the completion *without* logprobs and builds the legacy ``logprobs`` object itself from
the model's scores: entry *i* is the log-softmax of the logits row before prompt token *i* at that
token (as llama.cpp's perplexity tool reads them), the first token's is null (nothing predicts it),
``tokens`` and ``text_offset`` are characters of the detokenized prefix *with* special tokens, so
they index the prompt text as sent (the library renders none and drops every BOS id: the offsets of a
chat-templated prompt then fall short of its text and a boundary read from them is wrong),
and ``top_logprobs`` holds the N best of the same row. This is right with or without a BOS token, and
about 3x faster than the library's path, which sorts the whole vocabulary in Python for every echoed
token (measured: 2.2 s of 3.2 s for a 31-token prompt with SmolLM2 on this CPU). Generated tokens
(re-tokenized from the generated text) get a value where their logits row was evaluated, else null.
"""

from __future__ import annotations

import inspect
import runpy
import sys
from collections.abc import Iterator
from typing import Any

_MARK = "_llmeval_echo_fixed"


def prompt_tokens(llm: Any, prompt: str | list[int]) -> list[int]:
    """The tokens the library evaluates for `prompt` (its own rule: a BOS only for a text prompt of a
    model that adds one; special tokens parsed)."""
    if not isinstance(prompt, str):
        return list(prompt)
    bos = llm.token_bos()
    head = [bos] if llm._model.add_bos_token() and bos != -1 else []
    return head + (llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True) if prompt else [])


def echo_logprobs(llm: Any, prompt: str | list[int], generated: str, top: int) -> dict[str, Any]:
    """The legacy ``logprobs`` object of an echoed completion, computed from the model's scores."""
    import numpy as np

    tokens = prompt_tokens(llm, prompt)
    bos = llm.token_bos()
    # a BOS the library put before a text prompt is not prompt text: the echo starts after it
    added = 1 if isinstance(prompt, str) and tokens and tokens[0] == bos and llm._model.add_bos_token() else 0
    if list(llm.input_ids[: len(tokens)]) != tokens or llm.n_tokens < len(tokens):
        raise RuntimeError("the evaluated tokens are not the prompt's: cannot read its log-probabilities back")
    extra = llm.tokenize(generated.encode("utf-8"), add_bos=False, special=True) if generated else []
    sequence = tokens + extra
    # Special tokens of the prompt text (a chat template's `<|im_start|>`, which is SmolLM2's BOS id)
    # are echoed and counted in the offsets like any text. The library drops every BOS id from the
    # echo and detokenizes without special tokens, so its offsets of a templated prompt fall short
    # of the prompt's text (" heat" at 49 of an 83-character context): measured, not followed here.
    positions = list(range(added, len(sequence)))
    shown = sequence[added:]
    skip = added
    rows = [p - 1 for p in positions if p >= 1 and p - 1 < llm.n_tokens]
    scores = np.asarray(llm.scores[rows], dtype=np.float64) if rows else np.zeros((0, 1))
    norms = scores.max(axis=1, keepdims=True) if rows else scores
    logsum = np.log(np.exp(scores - norms).sum(axis=1, keepdims=True)) + norms if rows else scores
    by_row = {row: i for i, row in enumerate(rows)}
    out: dict[str, list[Any]] = {
        "tokens": [],
        "text_offset": [],
        "token_logprobs": [],
        "top_logprobs": [],
    }
    for p in positions:
        at = p - skip
        out["tokens"].append(
            llm.detokenize([sequence[p]], prev_tokens=shown[:at], special=True).decode("utf-8", errors="ignore")
        )
        out["text_offset"].append(len(llm.detokenize(shown[:at], special=True).decode("utf-8", errors="ignore")))
        i = by_row.get(p - 1)
        if p == 0 or i is None:
            out["token_logprobs"].append(None)
            out["top_logprobs"].append(None)
            continue
        row = scores[i] - logsum[i]
        value = float(row[sequence[p]])
        best = np.argpartition(-row, top - 1)[:top] if top < row.size else np.arange(row.size)
        entry = {
            llm.detokenize([int(t)], prev_tokens=shown[:at], special=True).decode("utf-8", errors="ignore"): float(
                row[t]
            )
            for t in best
        }
        entry[out["tokens"][-1]] = value
        out["token_logprobs"].append(value)
        out["top_logprobs"].append(entry)
    if out["token_logprobs"]:  # OpenAI's convention: the first echoed token has none
        out["token_logprobs"][0] = None
        out["top_logprobs"][0] = None
    return out


def install() -> None:
    """Wrap ``Llama._create_completion`` once (idempotent)."""
    from llama_cpp import Llama

    original = Llama._create_completion
    if getattr(original, _MARK, False):
        return
    signature = inspect.signature(original)

    def fixed(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        call = bound.arguments
        if not call["echo"] or call["logprobs"] is None or call["stream"] or call["suffix"] is not None:
            yield from original(self, *args, **kwargs)
            return
        top = max(int(call["logprobs"]), 1)
        call["logprobs"] = None  # the library's own (shifted, slow) computation is skipped
        call.pop("self", None)
        for chunk in original(self, **call):
            choice: Any = chunk["choices"][0]
            prompt = call["prompt"]
            prompt_text = (
                prompt if isinstance(prompt, str) else self.detokenize(prompt).decode("utf-8", errors="ignore")
            )
            generated = choice["text"][len(prompt_text) :] if choice["text"].startswith(prompt_text) else ""
            choice["logprobs"] = echo_logprobs(self, prompt, generated, top)
            yield chunk

    setattr(fixed, _MARK, True)
    Llama._create_completion = fixed  # type: ignore[method-assign]


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m pytest_llmeval.endpoint.llama_serve llama_cpp.server [server args...]")
    module = sys.argv.pop(1)
    install()
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
