"""Many endpoint errors must not make a run slow: an errored sample's report is its message, and
pytest must not render (parse the source of) the traceback of every errored sample first.

Not timed: the run counts the `compile` audit events (each source parse of pytest's traceback
rendering is one) during the test loop, and a run where a third of the samples fail with 500 must
parse no more than a run where none fails.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import write_jsonl
from tests.core.test_evaluation import run

SAMPLES = 12
FAILING = 4

COUNTING_CONFTEST = """
import json, sys
import pytest

compiles = []

def _audit(event, args):
    if event == "compile" and counting:
        compiles.append(1)

counting = False
sys.addaudithook(_audit)

@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    global counting
    counting = True
    try:
        return (yield)
    finally:
        counting = False
        with open("compiles.json", "w") as out:
            json.dump(len(compiles), out)
"""


def _compiles(pytester: pytest.Pytester, server, failing: int) -> int:
    rows = [
        {"question": f"Q{i} {'BOOM' if i < failing else 'fine'}: how many?", "answer": f"{i}\n#### {i}"}
        for i in range(SAMPLES)
    ]
    data = write_jsonl(pytester.path / f"g{failing}.jsonl", rows)
    result = run(
        pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-retries", "0", "--llm-no-cache"
    )
    result.assert_outcomes(failed=SAMPLES - failing, errors=failing)
    if failing:
        result.stdout.fnmatch_lines(["*llmeval error: server answered 500*"])
    return int(json.loads((pytester.path / "compiles.json").read_text()))


def test_errored_samples_are_reported_without_rendering_tracebacks(pytester, start_server):
    server = start_server(fixed_reply="The answer is 99", fail_rules=[{"contains": "BOOM", "status": 500}])
    pytester.makeconftest(COUNTING_CONFTEST)
    clean = _compiles(pytester, server, failing=0)
    errored = _compiles(pytester, server, failing=FAILING)
    # before the fix: ~18-36 source parses per errored sample (one per traceback frame)
    assert errored <= clean + FAILING, (clean, errored)
