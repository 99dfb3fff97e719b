"""The prompts of an arena run: one reader per source (`--llm-arena-prompts SPEC`).

* `path/question.jsonl` in ArenaHard's release layout: v0.1 rows `{"question_id", "cluster",
  "turns": [{"content": ...}]}`, v2 rows `{"uid", "category", "subcategory", "prompt"}`;
* `path/alpaca_eval.json` in AlpacaEval's release layout: a JSON list of `{"instruction", "dataset",
  "output", "generator"}` (the reference `output` is not used: the baseline answers);
* a user JSONL: one prompt a line, `{"id": ..., "prompt": "..."}` (or `"messages": [...]`,
  `"instruction"`, `"question"`); a missing id is the line number;
* `hf:OWNER/NAME[:SPLIT]`: such rows from a Hugging Face dataset repository (`read_hub`);
* `bench:NAME[.SUBSET]`: the prompts of a generative benchmark of the registry, as that
  benchmark sends them (its protocol and few-shot examples included).

A relative path is read from the folder pytest was started in. A row without a prompt is a
`DatasetError` naming file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..errors import ConfigError, DatasetError

MAX_FILE_BYTES = 256 * 1024 * 1024


class ArenaPrompt(BaseModel):
    id: str
    messages: list[dict[str, Any]]
    category: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def question(self) -> str:
        """What the judge is shown as the user prompt: every user turn, in order."""
        turns = [m.get("content") for m in self.messages if m.get("role") == "user"]
        return "\n\n".join(t if isinstance(t, str) else json.dumps(t) for t in turns)


def _row_prompt(row: dict[str, Any], where: str) -> ArenaPrompt:
    ident = row.get("uid", row.get("question_id", row.get("id")))
    category = row.get("category") or row.get("cluster") or row.get("dataset")
    if isinstance(row.get("messages"), list):
        messages = [dict(m) for m in row["messages"]]
    elif isinstance(row.get("turns"), list):  # ArenaHard v0.1: only the first turn is judged there too
        turns = [t.get("content") if isinstance(t, dict) else t for t in row["turns"]]
        messages = [{"role": "user", "content": str(turns[0])}] if turns else []
    else:
        text = next(
            (row[k] for k in ("prompt", "instruction", "question", "input") if isinstance(row.get(k), str)), None
        )
        messages = [{"role": "user", "content": text}] if text else []
    if not messages:
        raise DatasetError(f"{where}: no prompt (expected `prompt`, `instruction`, `turns` or `messages`)")
    return ArenaPrompt(
        id=str(ident) if ident is not None else "",
        messages=messages,
        category=str(category) if category else None,
    )


def read_file(path: Path) -> Iterator[ArenaPrompt]:
    if not path.is_file():
        raise ConfigError(f"--llm-arena-prompts {path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"--llm-arena-prompts {path}: larger than {MAX_FILE_BYTES:,} bytes")
    if path.suffix == ".json":
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise DatasetError(f"{path}: not a JSON file ({exc})") from None
        if not isinstance(rows, list):
            raise DatasetError(f"{path}: expected a JSON list of prompts (AlpacaEval's layout)")
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise DatasetError(f"{path}: item {index} is not an object")
            prompt = _row_prompt(row, f"{path}: item {index}")
            yield prompt if prompt.id else prompt.model_copy(update={"id": str(index)})
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                raise DatasetError(f"{path}:{number}: not a JSON line") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{number}: not a JSON object")
            prompt = _row_prompt(row, f"{path}:{number}")
            yield prompt if prompt.id else prompt.model_copy(update={"id": str(number)})


def read_benchmark(spec: str, loader: Any) -> Iterator[ArenaPrompt]:
    """`bench:NAME[.SUBSET]`: a registered benchmark's prompts, as it sends them."""
    from ..benchmarks.registry import all_benchmarks

    name, _, subset = spec.partition(".")
    benchmarks = all_benchmarks()
    if name not in benchmarks or name == "arena":
        raise ConfigError(f"--llm-arena-prompts bench:{spec}: no benchmark {name!r}; known: {', '.join(benchmarks)}")
    bench = benchmarks[name]()
    for sub in [subset] if subset else bench.selected_subsets():
        for sample in bench.load(sub, loader):
            category = sub if len(bench.subsets) > 1 else None
            yield ArenaPrompt(
                id=f"{sub}.{sample.id}" if category else sample.id, messages=bench.messages(sample), category=category
            )


def read_hub(spec: str) -> Iterator[ArenaPrompt]:
    """`hf:OWNER/NAME[:SPLIT]`: a Hugging Face dataset repository of prompt rows (ArenaHard's or
    AlpacaEval's fields, or the user JSONL's), read by the project's hub loader (`benchmarks.hubs`:
    its cache, offline mode and limits apply). SPLIT defaults to `train`, the split `datasets`
    gives a repository of plain data files."""
    from ..benchmarks.base import DatasetSource
    from ..benchmarks.hubs import load_hf_split

    repo, _, split = spec.partition(":")
    split = split or "train"
    fix = "pass the downloaded file with --llm-arena-prompts PATH"
    dataset = load_hf_split(DatasetSource(path=repo, split=split), None, split, fix)
    for index, row in enumerate(dataset):
        prompt = _row_prompt(dict(row), f"{repo} split {split} row {index}")
        yield prompt if prompt.id else prompt.model_copy(update={"id": str(index)})


def read_prompts(spec: str, base_dir: Path, loader: Any) -> Iterator[ArenaPrompt]:
    if spec.startswith("hf:"):
        yield from read_hub(spec.removeprefix("hf:"))
        return
    if spec.startswith("bench:"):
        yield from read_benchmark(spec.removeprefix("bench:"), loader)
        return
    path = Path(spec).expanduser()
    yield from read_file(path if path.is_absolute() else base_dir / path)
