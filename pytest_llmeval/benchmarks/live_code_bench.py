"""LiveCodeBench (code generation): recent LeetCode, AtCoder and Codeforces problems
(livecodebench/code_generation_lite).

Rows have `question_title`, `question_content`, `platform`, `question_id`, `contest_id`,
`contest_date` (ISO, e.g. `2024-08-03T00:00:00`), `starter_code` (empty for stdin problems),
`difficulty` (`easy`/`medium`/`hard`), `public_test_cases` (a JSON string), `private_test_cases`
(base64 of zlib of a pickled JSON string, or plain JSON) and `metadata` (a JSON string; `func_name`
for LeetCode-style functional problems). Each test is `{"input", "output", "testtype"}`.

Subsets are the dataset's versions; the release files are `test.jsonl` (v1) and `test2.jsonl` ..
`test6.jsonl` (v2..v6):

* `release_v1` .. `release_v6`: cumulative, v1 up to that version (release_v5: 880 problems,
  release_v6: 1,055); `release_latest` = every file known here (= release_v6);
* `v1` .. `v6`: the problems added by that version only (v5: 167, v6: 175);
* `vA_vB` (A < B, e.g. `v5_v6`): versions A to B.

Only `release_latest` runs by default; choose with `--llm-bench-arg live_code_bench.subset_list=v5_v6`.
`start_date` / `end_date` (`YYYY-MM-DD`, inclusive, on `contest_date`) keep problems of a window,
e.g. `--llm-bench-arg live_code_bench.start_date=2025-01-01` (the usual guard against contamination).

Scoring: the last fenced Python block of the reply (for a functional problem, the last one that
defines its `func_name`: a usage block after the solution is not the solution) runs against the
public then the private tests in the sandbox (`execution.code.check_livecodebench`: stdin/stdout
programs, or `Solution().<func_name>` calls), stopping at the first failure; `pass_at_1` is 1 when
all pass, also reported per difficulty (`pass_at_1_easy`, `pass_at_1_medium`, `pass_at_1_hard`).
`timeout_s` (default 6) is the CPU limit per test. Private tests stay compressed in memory until the sample is scored.

Numbers in stdout are compared exactly (`0.333333` is not `0.3333333333`), as LiveCodeBench's own
grader does, so scores stay comparable with the published ones. Many statements accept an error
("within 1e-6"); `--llm-bench-arg live_code_bench.float_tolerance=1e-6` accepts numbers (not both
integers) whose absolute or relative error is at most that, as the contest judge would. Scores with
it are no longer the reference protocol's: say so when you report them.

Data: the hub repository is script-based, which `datasets` >= 4 no longer runs, so the release files
are read directly (`hf://datasets/livecodebench/code_generation_lite/test5.jsonl`); with
`--llm-hub modelscope`, the selected version's files of `AI-ModelScope/code_generation_lite` are
downloaded (only those) into the `modelscope` client's cache. Offline, pass a
folder holding those files (a clone or `snapshot_download` of the repository) with
`--llm-dataset live_code_bench=DIR`: each subset reads its version's files from it. A single file
(`--llm-dataset live_code_bench=FILE`) is used whole for whichever subset is selected.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import pickle
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ConfigError, DatasetError
from ..execution.code import check_livecodebench
from ..scoring.code import extract_code
from .base import Benchmark, DatasetSource, RecordLoader, Sample, Score
from .breakdown import breakdown_names, mean_over_carriers, with_breakdown
from .hubs import hf_load, hub_for, modelscope_snapshot
from .humaneval import sandbox_limits
from .loading import is_saved_dataset, read_path
from .protocols import Protocol
from .reference_prompts import LCB_FORMAT_STARTER, LCB_FORMAT_STDIN, LCB_SYSTEM, LCB_USER, SOURCE
from .registry import register_benchmark
from .rows import safe_sample_id

REPO = "livecodebench/code_generation_lite"
VERSION_FILES = {f"v{n}": "test.jsonl" if n == 1 else f"test{n}.jsonl" for n in range(1, 7)}
_NUMBERS = range(1, len(VERSION_FILES) + 1)


def version_files(subset: str) -> list[str]:
    """The release files of a version subset (see the module docstring)."""
    if subset == "release_latest":
        return list(VERSION_FILES.values())
    if subset.startswith("release_v"):
        newest = int(subset.removeprefix("release_v"))
        return [VERSION_FILES[f"v{n}"] for n in range(1, newest + 1)]
    first, _, last = subset.partition("_")  # "v5_v6" or "v5"
    start, end = int(first[1:]), int(last[1:] if last else first[1:])
    return [VERSION_FILES[f"v{n}"] for n in range(start, end + 1)]


SUBSETS: tuple[str, ...] = (
    "release_latest",
    *(f"release_v{n}" for n in _NUMBERS),
    *(f"v{n}" for n in _NUMBERS),
    *(f"v{a}_v{b}" for a in _NUMBERS for b in _NUMBERS if a < b),
)

PROMPT = (
    "Solve the following programming problem with a correct and efficient Python 3 solution.\n\n"
    "### Problem\n{problem}\n\n### Your answer\n{format}"
)
FORMAT_STDIN = (
    "Write a complete program that reads the input from standard input and prints the answer to standard "
    "output. Reply with the whole program in a single ```python code block."
)
FORMAT_STARTER = (
    "Complete the starter code below, keeping its class and method names. Reply with the whole solution "
    "in a single ```python code block.\n\n```python\n{starter}\n```"
)


def _date_arg(benchmark: Benchmark, key: str) -> dt.date | None:
    raw = benchmark.args.get(key, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{benchmark.name}.{key} must be a date YYYY-MM-DD, got {raw!r}") from None


def _tolerance_arg(benchmark: Benchmark) -> float | None:
    raw = benchmark.args.get("float_tolerance", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise ConfigError(
            f"{benchmark.name}.float_tolerance must be a number between 0 and 1 (e.g. 1e-6), got {raw!r}; "
            "leave it empty for the exact comparison"
        )
    return value


@register_benchmark
class LiveCodeBench(Benchmark):
    name = "live_code_bench"
    description = "Recent contest problems run against hidden tests in the sandbox; pass_at_1 (+ per difficulty)."
    source = DatasetSource(path=REPO, split="test", modelscope="AI-ModelScope/code_generation_lite")
    subsets = SUBSETS
    tags = ("code",)
    metrics = ("pass_at_1", *breakdown_names("pass_at_1", ("easy", "medium", "hard")))
    task_type = "code"
    default_args = {
        "subset_list": "release_latest",
        "start_date": "",
        "end_date": "",
        "timeout_s": "6",
        "float_tolerance": "",
    }
    generation = {"temperature": 0.0, "max_tokens": 8192}
    # evalscope: its system prompt, then the problem with its format block (starter code or stdin/stdout)
    protocols = {
        "evalscope": Protocol(name="evalscope", template=LCB_USER, system_prompt=LCB_SYSTEM, source=SOURCE),
        "native": Protocol(name="native", template=PROMPT, source="pytest-llmbench"),
    }

    def __init__(self, args: Mapping[str, str] | None = None) -> None:
        super().__init__(args)
        self.start_date = _date_arg(self, "start_date")
        self.end_date = _date_arg(self, "end_date")
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ConfigError(f"{self.name}.start_date {self.start_date} is after end_date {self.end_date}")
        self.limits = sandbox_limits(self)
        self.float_tolerance = _tolerance_arg(self)

    def selected_subsets(self) -> list[str]:
        chosen = super().selected_subsets()
        unknown = [s for s in chosen if s not in self.subsets]
        if unknown:
            raise ConfigError(
                f"{self.name}.subset_list names unknown version {unknown[0]!r}; use release_v1..release_v6, "
                "release_latest, v1..v6 or a range such as v5_v6"
            )
        return chosen

    # -- data --------------------------------------------------------------------------------

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        index = 0
        for record, where in self._rows(subset, loader):
            if not self.in_window(record):
                continue
            yield loader.to_sample(self, record, index, subset, where)
            index += 1

    def in_window(self, record: Mapping[str, Any]) -> bool:
        if self.start_date is None and self.end_date is None:
            return True
        raw = str(record.get("contest_date") or "")
        try:
            day = dt.datetime.fromisoformat(raw).date()
        except ValueError:
            raise DatasetError(
                f"contest_date {raw!r} is not an ISO date; it is needed by start_date/end_date"
            ) from None
        return (self.start_date is None or day >= self.start_date) and (self.end_date is None or day <= self.end_date)

    def _rows(self, subset: str, loader: RecordLoader) -> Iterator[tuple[Mapping[str, Any], str]]:
        local = loader.override(self.name, subset)
        if local is not None and local.per_subset:
            yield from loader.records(self, subset)
            return
        if local is None:
            if self.source is not None and hub_for(self.source, loader.hub) == "modelscope":
                yield from _modelscope_rows(self, subset)
            else:
                yield from _hub_rows(self, subset)
            return
        path = local.path
        if path.is_dir() and not is_saved_dataset(path) and any((path / f).is_file() for f in VERSION_FILES.values()):
            yield from _version_rows(path, subset, REPO)
        elif path.is_file():
            yield from read_path(path, split=self.source.split if self.source else "test")
        else:
            yield from loader.records(self, subset)

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        public = _tests(record["public_test_cases"])
        private = record["private_test_cases"]
        if not isinstance(private, str):
            private = json.dumps(private)
        meta = record.get("metadata") or {}
        meta = json.loads(meta) if isinstance(meta, str) and meta.strip() else (meta if isinstance(meta, dict) else {})
        starter = str(record.get("starter_code") or "").strip("\n")
        answer_format = FORMAT_STARTER.format(starter=starter) if starter.strip() else FORMAT_STDIN
        difficulty = str(record.get("difficulty") or "").strip().lower()
        title = str(record.get("question_title") or "")
        assert self.protocol is not None  # LiveCodeBench declares its protocols: one is always chosen
        return Sample(
            id=safe_sample_id(record.get("question_id"), index),
            subset=subset,
            input=self.protocol.render(
                {
                    "question": str(record["question_content"]),
                    "problem": str(record["question_content"]).strip(),
                    "format": answer_format,
                    "format_block": LCB_FORMAT_STARTER.format(starter=record["starter_code"])
                    if record.get("starter_code")
                    else LCB_FORMAT_STDIN,
                }
            ),
            target="passes all tests",
            metadata={
                "question": f"{title} ({record.get('platform', '')}, {str(record.get('contest_date', ''))[:10]})",
                "public_tests": public,
                "private_tests": private,
                "func_name": meta.get("func_name"),
                "platform": record.get("platform"),
                "difficulty": difficulty,
                "contest_date": str(record.get("contest_date") or ""),
                "breakdown": [difficulty] if difficulty in ("easy", "medium", "hard") else [],
            },
        )

    # -- scoring -----------------------------------------------------------------------------

    def score(self, sample: Sample, output: str) -> Score:
        meta = sample.metadata
        tests = list(meta["public_tests"]) + decode_lcb_private_tests(meta["private_tests"])
        # a functional problem's solution is the block defining its method; a later usage block is not
        code = extract_code(output, entry_point=meta.get("func_name") or None)
        verdict = check_livecodebench(code, tests, meta.get("func_name"), self.limits, tolerance=self.float_tolerance)
        failure = verdict.first_failure
        explanation = None
        if failure is not None:
            explanation = (
                f"test {failure.test_index + 1}/{verdict.n_total} {failure.status}: "
                f"expected {failure.expected!r}, got {failure.got!r}"
                + (f" ({failure.reason})" if failure.reason else "")
            )
        return Score(
            passed=verdict.passed,
            metrics=with_breakdown({"pass_at_1": float(verdict.passed)}, sample, primary="pass_at_1"),
            extracted=f"{verdict.n_passed}/{verdict.n_total} tests passed",
            explanation=explanation,
        )

    @classmethod
    def aggregate(cls, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        return mean_over_carriers(per_sample)


def _tests(raw: Any) -> list[dict[str, Any]]:
    """Public tests: a JSON string (as stored) or an already parsed list."""
    return decode_lcb_private_tests(raw if isinstance(raw, str) else json.dumps(raw))


def _version_rows(folder: Path, subset: str, repo: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    """The rows of `subset`'s release files in a folder holding them (a clone or a snapshot)."""
    for name in version_files(subset):
        if not (folder / name).is_file():
            raise DatasetError(
                f"folder has no {name}, which subset {subset!r} needs; download it from {repo} "
                "or choose another version with --llm-bench-arg live_code_bench.subset_list=...",
                source=str(folder),
            )
        yield from read_path(folder / name)


def _modelscope_rows(benchmark: Benchmark, subset: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    """`subset`'s release files from the ModelScope copy (`--llm-hub modelscope`): only those files
    are downloaded (each is hundreds of MB), into the client's cache."""
    source = benchmark.source
    assert source is not None and source.modelscope
    fix = (
        f"pass --llm-dataset {benchmark.name}=DIR (the folder holding test.jsonl ... test6.jsonl); "
        f"or read it from Hugging Face ({REPO}) with --llm-hub huggingface"
    )
    folder = modelscope_snapshot(source.modelscope, fix, patterns=version_files(subset))
    yield from _version_rows(folder, subset, source.modelscope)


def _hub_rows(benchmark: Benchmark, subset: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    names = version_files(subset)
    files = [f"hf://datasets/{REPO}/{name}" for name in names]

    def load() -> Any:
        import datasets

        return datasets.load_dataset("json", data_files=files, split="train")

    fix = (
        f"pass --llm-dataset {benchmark.name}=DIR (the folder holding test.jsonl ... test6.jsonl); or read it "
        "from ModelScope (AI-ModelScope/code_generation_lite) with --llm-hub modelscope"
    )
    dataset = hf_load(f"{', '.join(names)} of {REPO}", fix, load)
    for index, record in enumerate(dataset):
        yield record, f"{REPO}[{subset}] row {index}"


# -- the tests' storage format (decoded here, the only place that reads it) ----------------------------


class _LCBTest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: str
    output: str
    testtype: Literal["stdin", "functional"]


class _OnlyStrUnpickler(pickle.Unpickler):
    """Unpickles plain data only: any class or function reference (the way pickles run code) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only a pickled str is accepted")


def decode_lcb_private_tests(s: str, *, max_bytes: int = 1 << 30) -> list[dict[str, Any]]:
    """LiveCodeBench ``private_test_cases`` -> ``[{"input", "output", "testtype"}, ...]``.

    Accepts the plain JSON list (as ``public_test_cases`` is stored) and the compressed form: base64 of zlib of a
    pickle of that JSON string. The pickle is read with an unpickler that refuses every global, so it can only
    produce plain data (never run code), and the result must be a ``str``. Decompression stops at ``max_bytes``
    (a guard against decompression bombs). Raises :class:`~pytest_llmeval.errors.DatasetError` naming what is
    wrong with the field.
    """
    text = s.strip()
    if text.startswith("["):
        try:
            return _validate_lcb_tests(json.loads(text))
        except (ValueError, RecursionError) as exc:
            raise DatasetError(f"LiveCodeBench tests look like JSON but do not parse: {exc}") from None
    try:
        compressed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DatasetError(
            "LiveCodeBench tests are neither a JSON list nor base64 (expected base64(zlib(pickle(json))))"
        ) from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, max_bytes)
    except zlib.error as exc:
        raise DatasetError(f"LiveCodeBench tests: base64 decoded but is not zlib data ({exc})") from None
    if inflater.unconsumed_tail:
        raise DatasetError(f"LiveCodeBench tests inflate to more than max_bytes={max_bytes}; raise max_bytes")
    if raw.lstrip().startswith(b"["):
        payload: Any = raw.decode("utf-8")
    else:
        try:
            payload = _OnlyStrUnpickler(io.BytesIO(raw)).load()
        except Exception as exc:
            raise DatasetError(f"LiveCodeBench tests: the decompressed pickle is not a plain string ({exc})") from None
    if not isinstance(payload, str):
        raise DatasetError(f"LiveCodeBench tests: expected a pickled JSON string, got {type(payload).__name__}")
    try:
        return _validate_lcb_tests(json.loads(payload))
    except (ValueError, RecursionError) as exc:
        raise DatasetError(f"LiveCodeBench tests: the unpickled string is not JSON ({exc})") from None


def _validate_lcb_tests(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise DatasetError(f"LiveCodeBench tests: expected a JSON list of tests, got {type(value).__name__}")
    try:
        return [_LCBTest.model_validate(item).model_dump() for item in value]
    except ValidationError as exc:
        raise DatasetError(
            "LiveCodeBench tests: each test needs string 'input' and 'output' and testtype 'stdin' or "
            f"'functional' ({exc.errors()[0]['loc']}: {exc.errors()[0]['msg']})"
        ) from None
