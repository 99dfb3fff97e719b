"""The report script's data (report/payload.py): one key table that the builders and report.js share."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_llmeval.report.html import render_page, script_text
from pytest_llmeval.report.payload import KEYS, KEYS_PLACEHOLDER, NAMES, SampleDetail, on_page
from pytest_llmeval.results import BenchmarkResult, RunResult, SampleRecord

SCRIPT = Path(__file__).resolve().parents[2] / "pytest_llmeval" / "report" / "assets" / "report.js"


def test_the_script_reads_only_declared_keys_and_every_declared_key():
    source = SCRIPT.read_text(encoding="utf-8")
    read = set(re.findall(r"\bK\.([A-Za-z_]+)", source))
    assert read == set(KEYS), (read - set(KEYS), set(KEYS) - read)
    # no detail field is read by a bare one-letter key any more (`s.o`, `s['xf']`)
    assert not re.search(r"\bs\.[a-z]{1,2}\b|\bs\[['\"]", source)
    assert source.count(KEYS_PLACEHOLDER) == 1


def test_the_page_carries_the_key_table_and_the_keys_it_names():
    assert json.dumps(KEYS, separators=(",", ":")) in script_text() and KEYS_PLACEHOLDER not in script_text()
    record = SampleRecord(
        nodeid="b/main::1",
        benchmark="b",
        subset="main",
        id="1",
        output="out",
        reasoning="why",
        passed=True,
        metrics={"acc": 1.0, "_pooled": 2.0},
        latency_s=0.5,
        cached=True,
        messages=[{"role": "user", "content": "q"}],
    )
    result = RunResult(
        model="m",
        base_url=None,
        started="s",
        duration_s=1.0,
        benchmarks={"b": BenchmarkResult(count=1, metrics={"acc": 1.0})},
    )
    page = render_page(result, [record])
    data = json.loads(page.split('id="llmeval-samples-data">')[1].split("</script>")[0])
    page_detail = data["samples"][0]
    assert set(page_detail) <= set(NAMES)  # every key on the page is a declared one
    detail = {NAMES[key]: value for key, value in page_detail.items()}
    assert set(detail) <= set(SampleDetail.__annotations__)
    assert (detail["output"], detail["reasoning"], detail["latency_s"], detail["cached"]) == ("out", "why", 0.5, True)
    assert detail["metrics"] == {"acc": 1.0}  # internal `_...` counters are left out
    assert page_detail["o"] == "out" and "x" not in page_detail  # short keys, None left out


def test_an_undeclared_field_is_an_error_not_a_dropped_field():
    assert on_page({"run_outputs": ["a", None], "explanation": None}) == {"ro": ["a", None]}
    with pytest.raises(KeyError, match="outptu"):
        on_page({"outptu": "typo"})
