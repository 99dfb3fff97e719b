"""A serving SLO as a test: the load the endpoint takes while users still get a fast first token.
Run from this folder (`cd conftest_examples/serving_capacity`):

    pytest --llm-model MODEL --llm-base-url URL -s

The search doubles the concurrency from 1 while p90 TTFT <= 500 ms and mean TPOT <= 100 ms hold (3
repeats per level, a majority must pass), then bisects between the last level that passed and the
first that did not (docs/perf.md, "The capacity an SLO allows").
"""

from __future__ import annotations


def test_eight_users_get_their_first_token_within_half_a_second(llm_capacity):
    capacity = llm_capacity("p90_ttft<=500ms,tpot<=100ms", parallel=(1, 16), prompt_tokens=64, output_tokens=16)
    print(capacity.describe())
    assert capacity.max_concurrency >= 8
