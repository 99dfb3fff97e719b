"""`--llm-think-eval` against hostile reasoning: a megabyte that is one paragraph, thousands of
answer cues that never end, `\\boxed{` that never close, a run of spaces after `=`. Each used to take
quadratic (or worse) time, and the default extractor quadratic memory: a 60 KB paragraph took 51 s,
240 KB 3.9 GB.

No timing asserts: the work is counted (characters handed to the extractor), and the big attacks run
in a child process under RLIMIT_AS 1 GiB and RLIMIT_CPU, whose bound is a hundred times what the
linear code needs, so the old code is stopped by the kernel instead of eating the machine."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmeval.scoring.boxed import iter_boxed, last_boxed
from pytest_llmeval.scoring.efficiency import MAX_STATED_ANSWER, ThoughtSplitter, first_correct_offset, stated_answer

ROOT = Path(__file__).resolve().parents[2]
SPLITTER = ThoughtSplitter()


def test_a_long_paragraph_is_read_a_bounded_number_of_times():
    # one step (no paragraph break, no marker) of 17,500 sentences; the answer is stated mid-way
    reasoning = "x is 7. " * 12_500 + "So the answer is 42. " + "Checking again. " * 5_000
    read = 0

    def extract(text: str) -> str | None:
        nonlocal read
        read += len(text)
        return stated_answer(text)

    offset = first_correct_offset(reasoning, SPLITTER.step_ends(reasoning), extract, lambda answer: answer == "42")
    assert offset == reasoning.index("42.") + 3  # at the sentence that states it, not the step's end
    assert read <= 2 * len(reasoning)  # reading growing prefixes handed the extractor ~600 MB here


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # thousands of cues that never reach an end: each was read up to the end of the line
        ("the answer is 42. " + "the answer is 1, " * 20_000 + "$x", "42"),
        ("= " + " " * 200_000 + "$$", None),  # a run of spaces: the old regex backtracked cubically
        ("the answer is " + "9" * (MAX_STATED_ANSWER + 1) + ".", None),  # longer than an answer is
        ("答案是 5。\n" + "答案是，" * 20_000 + "$x", "5"),
    ],
    ids=["open-cues", "spaces-after-equals", "over-long", "open-chinese-cues"],
)
def test_stated_answer_on_long_hostile_text(text, expected):
    assert stated_answer(text) == expected


def test_boxes_that_never_close_are_skipped_and_the_closed_one_found():
    text = "\\boxed{1 " * 20_000 + "\\boxed{42} and \\boxed 7. \\{ \\boxed{\\{x\\}}"
    assert [content for _, _, content in iter_boxed(text)][-3:] == ["42", "7", "\\{x\\}"]
    assert last_boxed("\\boxed{1 " * 20_000) is None


CHILD = r"""
import json, sys
from pytest_llmeval.benchmarks.registry import get_benchmark
from pytest_llmeval.endpoint.models import ChatResponse, Choice, Usage
from pytest_llmeval.efficiency import EfficiencyAnalyser

bench_name, unit = sys.argv[1], sys.argv[2]
bench = get_benchmark(bench_name)()
record = {"question": "q", "problem": "p", "answer": "#### 42" if bench_name == "gsm8k" else "42",
          "solution": "\\boxed{42}", "unique_id": "u", "level": 1, "subject": "s"}
sample = bench.record_to_sample(record, 0, bench.subsets[0])
reasoning = unit * (1_000_000 // len(unit)) + "so the answer is 42. Let me check: yes."
answer = "The answer is \\boxed{42}."
response = ChatResponse(
    choices=[Choice(text=answer, reasoning=reasoning)], usage=Usage(completion_tokens=len(reasoning))
)
figures = EfficiencyAnalyser().analyse(bench, sample, response, [(answer, reasoning)])[0]
print(json.dumps(figures))
"""


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))
    resource.setrlimit(resource.RLIMIT_CPU, (120, 120))


@pytest.mark.parametrize(
    ("benchmark", "unit"),
    [("gsm8k", "x is 7. "), ("math_500", "x = 7. "), ("math_500", "\\boxed{1 ")],
    ids=["default-extractor", "stated-answers", "open-boxes"],
)
def test_one_megabyte_paragraph_is_analysed_within_bounds(benchmark, unit):
    # The default extractor hands every piece to the benchmark's scorer and remembers each verdict:
    # with growing prefixes that memory alone was quadratic (250 MB at 60 KB, 3.9 GB at 240 KB).
    process = subprocess.run(
        [sys.executable, "-c", CHILD, benchmark, unit],
        capture_output=True,
        text=True,
        preexec_fn=_bounded,
        cwd=ROOT,
        timeout=1800,
    )
    assert process.returncode == 0, (
        f"killed or failed under 1 GiB / 120 s CPU: {process.returncode} {process.stderr[-500:]}"
    )
    figures = json.loads(process.stdout.strip().splitlines()[-1])
    assert figures["status"] == "correct"
    # found at the sentence that states it, before "Let me check: yes."
    assert figures["reflection_tokens"] > 0 and 0.99 < figures["efficiency"] < 1.0
