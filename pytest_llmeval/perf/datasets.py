"""Prompts of a perf run.

* `random`: texts of `prompt_tokens` tokens (a [min, max] pair draws uniformly per request), the
  first `prefix_length` tokens shared by all prompts (the total is prefix + prompt_tokens). Exact
  with a tokenizer (`--llm-tokenizer` or `tokenizer=`); without one the text is made of common
  English words (about one token each in GPT, Llama and Qwen vocabularies) and the run says its
  lengths are approximate.
* `random_vl`: a `random` text plus `image_num` random images (`image_width` x `image_height`,
  `image_format`) as base64 data URLs in OpenAI content parts.
* `openqa`: JSONL lines with a `question` field (EvalScope's open_qa.jsonl), `dataset_path=`.
* `line_by_line`: one prompt per non-blank line of a text file.
* `jsonl`: lines with `messages` (an OpenAI chat list) or a `prompt`/`question`/`text` string.
* any registered benchmark name: its prompts (`benchmark_messages`, built by the pytest process,
  honouring --llm-dataset and --llm-bench-arg).

File datasets are used in file order and cycled when the run needs more requests than lines.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DatasetError
from .images import data_url
from .load import Workload
from .tokenizer import HFTokenizer, exact_prompt

# Short, frequent English words: each is a single token (with its leading space) in the common
# BPE vocabularies, so N words is close to N tokens when no tokenizer is given.
WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this have from or one had by "
    "word but not what all were we when your can said there use an each which she do how their if will up "
    "other about out many then them these so some her would make like him into time has look two more write "
    "go see number no way could people my than first water been call who oil its now find long down day did "
    "get come made may part over new sound take only little work know place year live me back give most very "
    "after thing our just name good sentence man think say great where help through much before line right too "
    "mean old any same tell boy follow came want show also around form three small set put end does another "
    "well large must big even such because turn here why ask went men read need land different home us move "
    "try kind hand picture again change off play spell air away animal house point page letter mother answer"
).split()

APPROXIMATE_NOTE = (
    "no tokenizer given (--llm-tokenizer PATH or tokenizer=...): prompt lengths are approximate "
    "(one common English word is about one token)"
)


@dataclass(slots=True)
class Prompt:
    messages: list[dict[str, Any]]
    text: str  # the prompt's text parts, for counting tokens when the server sends no usage
    tokens: int  # the dataset's own token count (exact when `exact`)
    exact: bool


def _random_texts(
    workload: Workload, count: int, tokenizer: HFTokenizer | None, rng: random.Random
) -> Iterator[tuple[str, int, bool]]:
    low, high = workload.prompt_tokens
    prefix = workload.prefix_length
    if tokenizer is not None:
        prefix_ids: list[int] = []
        if prefix:
            prefix_text, _ = exact_prompt(tokenizer, prefix, rng)
            prefix_ids = tokenizer.encode(prefix_text)
        for _ in range(count):
            length = prefix + rng.randint(low, high)
            text, real = exact_prompt(tokenizer, length, rng, prefix_ids)
            yield text, real, real == length
        return
    prefix_words = rng.choices(WORDS, k=prefix)
    for _ in range(count):
        words = prefix_words + rng.choices(WORDS, k=rng.randint(low, high))
        yield " ".join(words), len(words), False


def _file_texts(workload: Workload) -> list[dict[str, Any] | str]:
    assert workload.dataset_path is not None  # checked by make_spec
    path = Path(workload.dataset_path).expanduser()
    items: list[dict[str, Any] | str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            if workload.dataset == "line_by_line":
                items.append(line)
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise DatasetError(f"not a JSON line ({exc})", source=str(path), line=number) from None
            if not isinstance(row, dict):
                raise DatasetError("each line must be a JSON object", source=str(path), line=number)
            if workload.dataset == "openqa":
                if not isinstance(row.get("question"), str):
                    raise DatasetError("openqa lines need a 'question' string", source=str(path), line=number)
                items.append(row["question"])
            elif isinstance(row.get("messages"), list):
                items.append({"messages": row["messages"]})
            else:
                text = next((row[k] for k in ("prompt", "question", "text") if isinstance(row.get(k), str)), None)
                if text is None:
                    raise DatasetError(
                        "jsonl lines need 'messages' or a 'prompt'/'question'/'text' string",
                        source=str(path),
                        line=number,
                    )
                items.append(text)
    if not items:
        raise DatasetError("the file holds no prompts", source=str(path))
    return items


def message_text(messages: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "\n".join(parts)


def _counted(messages: list[dict[str, Any]], tokenizer: HFTokenizer | None) -> Prompt:
    text = message_text(messages)
    if tokenizer is not None:
        return Prompt(messages, text, tokenizer.count(text), True)
    return Prompt(messages, text, max(1, round(len(text) / 4)), False)  # ~4 characters per token


def build_prompts(
    workload: Workload,
    count: int,
    tokenizer: HFTokenizer | None,
    seed: int,
    given: list[list[dict[str, Any]]] | None = None,
) -> list[Prompt]:
    """`count` prompts for one level. `given` are prebuilt message lists (benchmark datasets)."""
    rng = random.Random(seed)
    if given is not None:
        if not given:
            raise ConfigError(f"perf: benchmark {workload.dataset!r} yielded no prompts")
        return [_counted(list(m), tokenizer) for m in islice(cycle(given), count)]
    if workload.random:
        prompts = []
        for text, tokens, exact in _random_texts(workload, count, tokenizer, rng):
            content: str | list[dict[str, Any]] = text
            if workload.dataset == "random_vl":
                content = [{"type": "text", "text": text}] + [
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": data_url(workload.image_width, workload.image_height, workload.image_format, rng)
                        },
                    }
                    for _ in range(workload.image_num)
                ]
            prompts.append(Prompt([{"role": "user", "content": content}], text, tokens, exact))
        return prompts
    items = _file_texts(workload)
    prompts = []
    for item in islice(cycle(items), count):
        messages = item["messages"] if isinstance(item, dict) else [{"role": "user", "content": item}]
        prompts.append(_counted(messages, tokenizer))
    return prompts


def benchmark_messages(
    name: str,
    subset: str | None,
    count: int,
    datasets: Mapping[str, str],
    bench_args: Mapping[str, Mapping[str, str]],
    base_dir: Path,
) -> list[list[dict[str, Any]]]:
    """Up to `count` prompts (message lists) of a registered benchmark, subsets in order.
    Raises ConfigError for an unknown name or subset, DatasetError for unreadable data."""
    from ..benchmarks.loading import DatasetLoader
    from ..benchmarks.registry import all_benchmarks

    benchmarks = all_benchmarks()
    if name not in benchmarks:
        raise ConfigError(
            f"perf: unknown dataset {name!r}; use random, random_vl, openqa, line_by_line, jsonl "
            f"or a benchmark name ({', '.join(sorted(benchmarks))})"
        )
    bench = benchmarks[name](dict(bench_args.get(name, {})))
    subsets = [subset] if subset else bench.selected_subsets()
    unknown = [s for s in subsets if s not in bench.subsets]
    if unknown:
        raise ConfigError(f"perf: benchmark {name!r} has no subset {unknown[0]!r}; subsets: {', '.join(bench.subsets)}")
    loader = DatasetLoader(dict(datasets), base_dir=base_dir)
    out: list[list[dict[str, Any]]] = []
    for sub in subsets:
        for sample in bench.load(sub, loader):
            out.append([dict(m) for m in bench.messages(sample)])
            if len(out) >= count:
                return out
    return out
