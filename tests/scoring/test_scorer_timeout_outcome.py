"""A symbolic comparison that runs out of time is a `scorer_timeout` error of the sample, in a real run."""

from __future__ import annotations

import json

from tests.benchmarks.data import MATH500_ROWS
from tests.conftest import write_jsonl
from tests.core.test_evaluation import run


def test_pathological_answer_is_a_scorer_timeout_error_not_a_wrong_answer(pytester, start_server, tmp_path):
    # 513^2 - 487^2 = 26000 (level 2), and "6! has 30 divisors" once in every other level (no empty subset)
    rows = [MATH500_ROWS[1]] + [
        {**MATH500_ROWS[2], "level": level, "unique_id": f"test/number_theory/{level}.json"} for level in (1, 3, 4, 5)
    ]
    server = start_server(
        rules=[
            {"contains": "513", "reply": "So the answer is $\\boxed{10^{10^{10^{10}}}}$."},
            {"contains": "divisors", "reply": "The answer is $\\boxed{30}$."},
        ]
    )
    data = write_jsonl(tmp_path / "math500.jsonl", rows)
    samples = tmp_path / "samples.jsonl"
    result = run(pytester, server, "-m", "math_500", "--llm-dataset", f"math_500={data}", "--llm-samples", str(samples))
    # like any scorer crash, it fails the call phase as an llmeval error (not "wrong answer") and
    # counts in the errors column, not in the score
    result.stdout.fnmatch_lines(
        ["*llmeval error: the symbolic comparison of*scorer_timeout*", "*math_500*(all)*acc*1.0000*4*1*"]
    )
    assert "wrong answer: expected" not in result.stdout.str()
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    timed_out = [r for r in records if r["target"] == "26000"]
    assert len(timed_out) == 1 and timed_out[0]["error_kind"] == "scorer_timeout" and timed_out[0]["passed"] is None
    assert "not a wrong answer" in timed_out[0]["error"]
    assert [r["passed"] for r in records if r["target"] == "30"] == [True] * 4
