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

The fix, applied only where the library is wrong (echo with logprobs, not streamed, no suffix, the
evaluated prompt's first token not the BOS): each echoed prompt token's ``token_logprobs`` entry (and
its ``top_logprobs``) is recomputed from the logits row before it, the log-softmax of the model's
scores, as llama.cpp's own perplexity tool reads them. The first token keeps its null (nothing
predicts it). Generated tokens' entries are left as the library gives them (log-likelihood scoring
reads only the echoed prompt). ``text_offset`` and ``tokens`` are untouched: the plugin takes the
boundary from them.
"""

from __future__ import annotations

import inspect
import runpy
import sys
from collections.abc import Iterator
from typing import Any

_MARK = "_llmeval_echo_fixed"


def _log_softmax(row: Any) -> Any:
    import numpy as np

    values = np.asarray(row, dtype=np.float64)
    shifted = values - values.max()
    return shifted - np.log(np.exp(shifted).sum())


def prompt_tokens(llm: Any, prompt: str | list[int]) -> list[int]:
    """The tokens the library evaluates for `prompt` (its own rule: a BOS only for a text prompt of a
    model that adds one; special tokens parsed)."""
    if not isinstance(prompt, str):
        return list(prompt)
    bos = llm.token_bos()
    head = [bos] if llm._model.add_bos_token() and bos != -1 else []
    return head + (
        llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if prompt
        else []
    )


def correct_echo(llm: Any, prompt: str | list[int], completion: Any, top: int) -> Any:
    """`completion` with the echoed prompt tokens' log-probabilities recomputed (see the module doc)."""
    tokens = prompt_tokens(llm, prompt)
    bos = llm.token_bos()
    if not tokens or tokens[0] == bos:
        return completion  # the library's alignment is right
    if list(llm.input_ids[: len(tokens)]) != tokens or llm.n_tokens < len(tokens):
        return completion  # not the evaluation we can read back: leave it
    logprobs = (completion.get("choices") or [{}])[0].get("logprobs")
    if not isinstance(logprobs, dict):
        return completion
    values = logprobs.get("token_logprobs")
    tops = logprobs.get("top_logprobs")
    if not isinstance(values, list):
        return completion
    scores = llm.scores
    entry = -1
    for idx, token in enumerate(tokens):
        if token == bos:  # the library skips BOS tokens in the echo
            continue
        entry += 1
        if entry >= len(values):
            break
        if idx == 0:
            continue  # nothing predicts the first token: it stays null
        row = _log_softmax(scores[idx - 1])
        values[entry] = float(row[token])
        if isinstance(tops, list) and entry < len(tops):
            best = row.argsort()[::-1][:top]
            text = llm.detokenize([token], prev_tokens=tokens[:idx]).decode(
                "utf-8", errors="ignore"
            )
            entry_top = {
                llm.detokenize([int(i)], prev_tokens=tokens[:idx]).decode(
                    "utf-8", errors="ignore"
                ): float(row[i])
                for i in best
            }
            entry_top[text] = float(row[token])
            tops[entry] = entry_top
    return completion


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
        chunks = original(self, *args, **kwargs)
        if (
            not call["echo"]
            or call["logprobs"] is None
            or call["stream"]
            or call["suffix"] is not None
        ):
            yield from chunks
            return
        for chunk in chunks:
            yield correct_echo(
                self, call["prompt"], chunk, max(int(call["logprobs"]), 1)
            )

    setattr(fixed, _MARK, True)
    Llama._create_completion = fixed  # type: ignore[method-assign]


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(
            "usage: python -m pytest_llmeval.endpoint.llama_serve llama_cpp.server [server args...]"
        )
    module = sys.argv.pop(1)
    install()
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
