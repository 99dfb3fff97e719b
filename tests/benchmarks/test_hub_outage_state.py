"""A hub found out of reach changes the process (the offline switches of `datasets`, a memo of the
outage) for the rest of that run only: a second run in the same process probes the hubs again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# A run through pytest.main, then what the next pytest.main of that process would find (a notebook's
# second run). In a child process: pytester's in-process runs drop the modules a run imported,
# multiprocessing's among them, which breaks later tests of the same process.
TWO_RUNS = """
import json, os
import pytest
args = ["--llm-model", "m", "--llm-base-url", "http://127.0.0.1:9/v1", "-m", "gsm8k", "-p", "no:cacheprovider", "-q"]
pytest.main(args)
from pytest_llmeval.benchmarks import hubs
state = {
    "offline": [n for n in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if n in os.environ],
    "memo": dict(hubs._unreachable),
}
print("STATE " + json.dumps(state))
"""


def test_an_outage_found_by_one_run_is_not_inherited_by_the_next_in_the_same_process(pytester):
    pytester.makeini("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(
        HF_HOME=str(pytester.path / "hf"),
        HF_ENDPOINT="http://127.0.0.1:9",  # nothing listens: the probe fails at once
        MODELSCOPE_DOMAIN="127.0.0.1:9",
    )
    child = subprocess.run(
        [sys.executable, "-c", TWO_RUNS], cwd=pytester.path, env=env, capture_output=True, text=True, timeout=300
    )
    assert "hub is not reachable" in child.stdout + child.stderr, child.stdout[-3000:] + child.stderr[-3000:]
    state = json.loads(child.stdout.rsplit("STATE ", 1)[1])
    # the run turned `datasets` offline to use its cache without retries; that ends with the run, and the
    # next run probes again instead of reusing this run's verdict
    assert state == {"offline": [], "memo": {}}
