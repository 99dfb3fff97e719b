"""Reading rows when a benchmark's subset names are not the dataset's own names.

Subsets are pytest marks and threshold paths, so they must be word characters: MMLU-Pro's category
`computer science` is the subset `computer_science`, AI2 ARC's configuration `ARC-Easy` is the
subset `arc_easy`. `records_for_label` reads the rows of such a subset from the hub under the
dataset's name (the *label*) and from local files under either name. `shared_records` serves
benchmarks whose subsets are different views of the same rows (TruthfulQA's mc1 and mc2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .base import Benchmark, RecordLoader
from .loading import find_subset_file, is_saved_dataset, read_path

Located = tuple[Mapping[str, Any], str]


def split_of(benchmark: Benchmark) -> str:
    return benchmark.source.split if benchmark.source else "test"


def _is_subset_folder(path: Path) -> bool:
    return path.is_dir() and not is_saved_dataset(path)


def records_for_label(benchmark: Benchmark, subset: str, label: str, loader: RecordLoader) -> Iterator[Located]:
    """Rows of `subset`, which the dataset calls `label` (a configuration or subset-field value).

    * hub: configuration `label`, or the rows whose subset field equals `label`;
    * `--llm-dataset NAME.SUBSET=PATH` or `NAME.LABEL=PATH`: every row of PATH;
    * `--llm-dataset NAME=DIR`: `DIR/SUBSET.jsonl` (or `.json/.csv/.parquet`, or `DIR/SUBSET/`) if it
      exists, else `DIR/LABEL.jsonl` and so on;
    * `--llm-dataset NAME=FILE`: the rows whose subset field equals `label`, as in the real dataset.
    """
    if label == subset:
        yield from loader.records(benchmark, subset)
        return
    name = benchmark.name
    wanted = label
    own = loader.override(name, subset)
    whole = loader.override(name, label)
    # NAME=DIR and no NAME.LABEL: DIR may hold a file named after the subset
    if (own is not None and own.per_subset) or (
        whole is not None
        and not whole.per_subset
        and _is_subset_folder(whole.path)
        and find_subset_file(whole.path, subset, split_of(benchmark)) is not None
    ):
        wanted = subset
    yield from loader.records(benchmark, wanted)


def shared_records(benchmark: Benchmark, subset: str, loader: RecordLoader) -> Iterator[Located]:
    """All rows of the benchmark's one dataset, whatever the subset (the subsets are views of them).

    A local file passed as `--llm-dataset NAME=FILE` is read whole for every subset (its rows need no
    subset field); `NAME.SUBSET=PATH` and a folder with `SUBSET.jsonl` still give a subset its own rows.
    """
    name = benchmark.name
    local = loader.override(name, subset)
    if local is None or local.per_subset:
        yield from loader.records(benchmark, subset)
        return
    path = local.path
    if not path.exists():
        yield from loader.records(benchmark, subset)  # the loader raises its usual "does not exist" error
        return
    if _is_subset_folder(path):
        found = find_subset_file(path, subset, split_of(benchmark))
        if found is None:
            raise DatasetError(
                f"folder has no file for subset {subset!r} of {name!r}; pass the dataset file itself with "
                f"--llm-dataset {name}=FILE (every subset reads the same rows)",
                source=str(path),
            )
        path = found
    yield from read_path(path, split=split_of(benchmark))


_UNSAFE_ID = re.compile(r"[^\w.\-]+")


def safe_sample_id(raw: Any, index: int) -> str:
    """A dataset id usable in a pytest node id (`test/algebra/12.json` -> `test_algebra_12`); the row
    index (`0042`) when the dataset has none."""
    text = "" if raw is None else str(raw).strip().removesuffix(".json")
    text = _UNSAFE_ID.sub("_", text).strip("_")
    return text or f"{index:04d}"


QUESTION_FIELDS = ("question", "problem", "Problem", "Question")
ANSWER_FIELDS = ("answer", "Answer")


def first_field(record: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The value of the first of `names` (a field and the aliases real copies of a dataset use,
    e.g. `question` / `problem` / `Problem`) that the row has; KeyError naming them all otherwise."""
    for name in names:
        if name in record:
            return record[name]
    raise KeyError(*names)  # the loader names the first and its aliases


def required_text(record: Mapping[str, Any], names: tuple[str, ...], what: str = "answer") -> str:
    """A non-empty text field (first of `names`): a null or empty gold value is a row error, never
    the text `'None'`."""
    value = first_field(record, names)
    if value is None or not str(value).strip():
        raise ValueError(f"the row's {what} ({names[0]!r}) is {'null' if value is None else 'empty'}")
    return str(value).strip()
