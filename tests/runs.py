"""One way for the tests to run the plugin in a pytester subprocess against a loopback server, and
to read back what such a run wrote.

`run(pytester, server, *args)` is `pytest --llm-model fake-model --llm-base-url <server> -p no:randomly
<args>` in the test's own folder (no:randomly: the item order, and with it the order of the
requests, is the file's); `dataset("gsm8k", path)` is the `-m gsm8k --llm-dataset gsm8k=<path>` pair
that selects one benchmark's items and names its file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_llmeval.perf.runner import PerfJob

NO_RANDOMLY = ("-p", "no:randomly")


def llm_args(base_url: str, *args: str, model: str = "fake-model") -> tuple[str, ...]:
    """The command line of a run against `base_url` (an OpenAI-compatible `/v1` URL) with `args` after it."""
    return ("--llm-model", model, "--llm-base-url", base_url, *NO_RANDOMLY, *args)


def run(pytester: pytest.Pytester, server: Any, *args: str, model: str = "fake-model") -> pytest.RunResult:
    """Run the plugin against `server` (anything with a `base_url`) in a pytester subprocess."""
    return pytester.runpytest_subprocess(*llm_args(server.base_url, *args, model=model))


def dataset(name: str, path: Path | str, *, mark: str | None = None) -> tuple[str, ...]:
    """`-m <mark> --llm-dataset <name>=<path>`: run only that benchmark's items (mark defaults to the name)."""
    return ("-m", mark or name, "--llm-dataset", f"{name}={path}")


def run_first_sample(pytester: pytest.Pytester, server: Any, data: Path, samples: Path, *args: str) -> pytest.RunResult:
    """Run only the first gsm8k sample of `data` (`--llm-limit 1`), its record written to `samples`."""
    return run(pytester, server, *dataset("gsm8k", data), "--llm-limit", "1", "--llm-samples", str(samples), *args)


def chat_requests(server: Any) -> int:
    """How many chat completions the fake server has been asked for."""
    return int(server.stats()["chat_requests"])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file (a samples file of a run), blank lines skipped."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def output_of(result: pytest.RunResult) -> str:
    """Everything a pytester run printed, stdout then stderr."""
    return result.stdout.str() + result.stderr.str()


def output_args(
    *, results: Path | None = None, samples: Path | None = None, html: Path | None = None
) -> tuple[str, ...]:
    """The options that write a run's results JSON, samples JSONL and self-contained HTML report
    (pytest-html) to the paths given; an omitted path is not written."""
    args: list[str] = []
    if html is not None:
        args += [f"--html={html}", "--self-contained-html"]
    if results is not None:
        args += ["--llm-results", str(results)]
    if samples is not None:
        args += ["--llm-samples", str(samples)]
    return tuple(args)


def perf_job(server: Any, tokenizer: Path | None = None, **load: Any) -> PerfJob:
    """A load-generator job (pytest_llmeval.perf.runner.PerfJob) against `server`'s chat route with
    the load fields `load` (make_spec's names: prompt_tokens, output_tokens, ...), 30 s per request."""
    from pytest_llmeval.perf.load import make_spec
    from pytest_llmeval.perf.runner import PerfJob

    return PerfJob(
        spec=make_spec(load),
        model="fake-model",
        chat_url=server.base_url + "/chat/completions",
        models_url=server.base_url + "/models",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=30.0,
        tokenizer=str(tokenizer) if tokenizer else None,
    )
