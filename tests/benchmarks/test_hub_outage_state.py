"""A hub found out of reach changes the process (the offline switches of `datasets`, a memo of the
outage) for the rest of that run only: a second run in the same process probes the hubs again."""

from __future__ import annotations

import os


def test_an_outage_found_by_one_run_is_not_inherited_by_the_next_in_the_same_process(pytester, monkeypatch):
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(pytester.path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: the probe fails at once
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "127.0.0.1:9")
    pytester.makeini("[pytest]\n")
    args = ("--llm-model", "m", "--llm-base-url", "http://127.0.0.1:9/v1", "-m", "gsm8k", "-p", "no:cacheprovider")

    first = pytester.runpytest_inprocess(*args)
    assert "hub is not reachable" in first.stdout.str() + first.stderr.str()
    # the run turned `datasets` offline to use its cache without retries; that ends with the run
    assert "HF_HUB_OFFLINE" not in os.environ and "HF_DATASETS_OFFLINE" not in os.environ

    from pytest_llmeval.benchmarks import hubs

    assert not hubs._unreachable  # the next run probes again instead of reusing this run's verdict
