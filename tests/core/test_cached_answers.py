"""A run whose every answer is cached (a re-score) reads them on pytest's thread, a chunk at a time;
any other run prefetches on the dispatcher's thread as before (`engine/cached_answers.py`)."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import write_jsonl
from tests.runs import chat_requests, dataset, run

READS_PROBE = """
import json, os, threading
import pytest
from pytest_llmeval.endpoint.cache import ResponseCache
from pytest_llmeval.endpoint.dispatcher import Dispatcher

seen = {"chunks": [], "prefetches": 0}
get_many, prefetch = ResponseCache.get_many, Dispatcher.prefetch

def counting_get_many(self, keys):
    keys = list(keys)
    seen["chunks"].append([threading.current_thread() is threading.main_thread(), len(keys)])
    return get_many(self, keys)

def counting_prefetch(self, *args, **kwargs):
    seen["prefetches"] += 1
    return prefetch(self, *args, **kwargs)

ResponseCache.get_many, Dispatcher.prefetch = counting_get_many, counting_prefetch

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    with open(os.environ["READS_PROBE_FILE"], "w") as out:
        json.dump(seen, out)
"""


def rows(count: int) -> list[dict[str, str]]:
    return [{"question": f"What is {i} plus 0?", "answer": f"#### {i}"} for i in range(count)]


def right_for_evens(start_server, count: int):
    return start_server(
        rules=[
            {"contains": f"What is {i} plus", "reply": f"\\boxed{{{i if i % 2 == 0 else -1}}}"} for i in range(count)
        ]
    )


def probe_run(pytester, server, monkeypatch, tmp_path, name: str, *args: str):
    probe = tmp_path / f"{name}.json"
    monkeypatch.setenv("READS_PROBE_FILE", str(probe))
    results = tmp_path / f"{name}-results.json"
    outcome = run(pytester, server, *args, "--llm-results", str(results))
    return outcome, json.loads(probe.read_text()), json.loads(results.read_text())


def test_a_rescore_reads_every_answer_on_pytests_thread_a_chunk_at_a_time(
    pytester, start_server, tmp_path, monkeypatch
):
    count = 600  # three chunks of 256
    server = right_for_evens(start_server, count)
    data = write_jsonl(tmp_path / "g.jsonl", rows(count))
    pytester.makeconftest(READS_PROBE)
    first, first_reads, first_result = probe_run(
        pytester, server, monkeypatch, tmp_path, "first", *dataset("gsm8k", data)
    )
    first.assert_outcomes(passed=count // 2, failed=count // 2)
    assert first_reads == {"chunks": [], "prefetches": 1} and chat_requests(server) == count

    again, reads, result = probe_run(pytester, server, monkeypatch, tmp_path, "again", *dataset("gsm8k", data))
    again.assert_outcomes(passed=count // 2, failed=count // 2)
    assert chat_requests(server) == count  # nothing asked again
    assert reads == {"chunks": [[True, 256], [True, 256], [True, 88]], "prefetches": 0}
    assert result["requests"]["cached"] == count and result["requests"]["sent"] == 0
    assert result["benchmarks"] == first_result["benchmarks"]


def test_a_partly_cached_run_prefetches_and_sends_only_what_is_missing(pytester, start_server, tmp_path, monkeypatch):
    count = 40
    server = right_for_evens(start_server, count)
    half = write_jsonl(tmp_path / "half.jsonl", rows(count // 2))
    whole = write_jsonl(tmp_path / "whole.jsonl", rows(count))
    pytester.makeconftest(READS_PROBE)
    probe_run(pytester, server, monkeypatch, tmp_path, "half", *dataset("gsm8k", half))
    assert chat_requests(server) == count // 2
    outcome, reads, result = probe_run(pytester, server, monkeypatch, tmp_path, "whole", *dataset("gsm8k", whole))
    outcome.assert_outcomes(passed=count // 2, failed=count // 2)
    assert chat_requests(server) == count  # the second half only
    assert reads == {"chunks": [], "prefetches": 1}
    assert result["requests"]["cached"] == count // 2


def test_an_unreadable_cached_answer_is_asked_for_again(pytester, start_server, tmp_path, monkeypatch):
    """A row that became unreadable since it was written still counts as present when the run
    decides to read from the cache: that one answer is asked for, with the cache's notice."""
    count = 10
    server = right_for_evens(start_server, count)
    data = write_jsonl(tmp_path / "g.jsonl", rows(count))
    pytester.makeconftest(READS_PROBE)
    probe_run(pytester, server, monkeypatch, tmp_path, "first", *dataset("gsm8k", data))
    (cache_file,) = pytester.path.rglob("*.sqlite3")
    with sqlite3.connect(cache_file) as db:
        db.execute("UPDATE responses SET response = '{not json' WHERE rowid = (SELECT MIN(rowid) FROM responses)")
    outcome, reads, result = probe_run(pytester, server, monkeypatch, tmp_path, "again", *dataset("gsm8k", data))
    outcome.assert_outcomes(passed=count // 2, failed=count // 2)
    assert chat_requests(server) == count + 1 and reads["prefetches"] == 0
    assert result["samples_scored"] == count and result["requests"]["cached"] == count - 1
    assert "has unreadable rows, read as cache misses" in outcome.stdout.str() + outcome.stderr.str()


def test_a_sample_that_cannot_become_a_request_fails_alone_when_the_rest_is_cached(
    pytester, start_server, tmp_path, monkeypatch
):
    from tests.core.test_item_cost import UNBUILDABLE

    count = 300  # the bad sample in the first chunk, two chunks
    server = start_server(fixed_reply="abc")
    data = write_jsonl(pytester.path / "rows.jsonl", [{"id": i, "q": f"say abc {i}", "a": "abc"} for i in range(count)])
    pytester.makeconftest(UNBUILDABLE.replace("{error}", "ValueError") + READS_PROBE)
    args = dataset("unbuildable", data)
    probe_run(pytester, server, monkeypatch, tmp_path, "first", *args)[0].assert_outcomes(passed=count - 1, errors=1)
    outcome, reads, _ = probe_run(pytester, server, monkeypatch, tmp_path, "again", *args)
    outcome.assert_outcomes(passed=count - 1, errors=1)
    outcome.stdout.fnmatch_lines(["*sample 3 cannot become a request*"])
    assert chat_requests(server) == count - 1 and reads["prefetches"] == 0 and len(reads["chunks"]) == 2


def test_answers_whose_rows_do_not_parse_are_asked_for_concurrently(pytester, start_server, tmp_path):
    """Every key present (the run reads from the cache) but no row parses (a cache written by
    another version, or damaged): a chunk's answers are asked for all at once, with the
    dispatcher's concurrency, never one by one (48 x 0.2 s)."""
    count = 48
    server = start_server(fixed_reply="\\boxed{1}", latency_s=0.2)
    data = write_jsonl(tmp_path / "g.jsonl", rows(count))
    run(pytester, server, *dataset("gsm8k", data)).assert_outcomes(passed=1, failed=count - 1)
    (cache_file,) = pytester.path.rglob("*.sqlite3")
    with sqlite3.connect(cache_file) as db:
        db.execute("UPDATE responses SET response = '{not json'")
    server.reset()
    outcome = run(pytester, server, *dataset("gsm8k", data))
    outcome.assert_outcomes(passed=1, failed=count - 1)
    stats = server.stats()
    assert stats["chat_requests"] == count and stats["max_in_flight"] > 4


RSS_PROBE = """
import json, os, resource, pytest

marks = {}

def pytest_collection_finish(session):
    with open("/proc/self/status") as status:
        marks["collected"] = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    marks["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(os.environ["RSS_PROBE_FILE"], "w") as out:
        json.dump(marks, out)
"""


def test_a_rescore_holds_no_more_answers_than_a_first_run(pytester, start_server, tmp_path, monkeypatch):
    """A chunk is counted in requests, not samples: with --llm-repeats 8 and 30 KB answers, 256
    samples' chunk would hold 2,048 answers (~120 MB) where a first run's window holds 256."""
    count, repeats = 256, 8
    reply = "Let me think. " + " ".join(["abcdefghijklmnopqrstuvwxyz0123456789"] * 800) + " \\boxed{1}"
    server = start_server(fixed_reply=reply)
    data = write_jsonl(tmp_path / "g.jsonl", rows(count))
    pytester.makeconftest(RSS_PROBE)
    growth = {}
    for name in ("first", "rescore"):
        probe = tmp_path / f"{name}.json"
        monkeypatch.setenv("RSS_PROBE_FILE", str(probe))
        outcome = run(pytester, server, *dataset("gsm8k", data), "--llm-repeats", str(repeats))
        outcome.assert_outcomes(passed=1, failed=count - 1)
        marks = json.loads(probe.read_text())
        growth[name] = marks["peak"] - marks["collected"]
    assert chat_requests(server) == count * repeats
    assert growth["rescore"] < growth["first"] + 30_000, growth  # KB


KEPT_REPORT_PROBE = """
import json, os, pytest

def pytest_terminal_summary(terminalreporter, config):
    report = terminalreporter.stats["passed"][0]
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    again = pytest.TestReport._from_json(report._to_json())
    with open(os.environ["KEPT_PROBE_FILE"], "w") as out:
        json.dump({"class": type(report).__name__, "fields": sorted(data), "again": [again.nodeid, again.outcome],
                   "record": report.llmeval}, out)
"""


def test_a_kept_report_serializes_like_the_report_it_replaced(pytester, start_server, tmp_path, monkeypatch):
    """Its fields are slots, not `__dict__` (what pytest serializes): `_to_json` makes them one."""
    server = start_server(fixed_reply="\\boxed{1}")
    data = write_jsonl(tmp_path / "g.jsonl", rows(4))
    probe = tmp_path / "kept.json"
    monkeypatch.setenv("KEPT_PROBE_FILE", str(probe))
    pytester.makeconftest(KEPT_REPORT_PROBE)
    run(pytester, server, *dataset("gsm8k", data)).assert_outcomes(passed=1, failed=3)
    found = json.loads(probe.read_text())
    assert found["class"] == "KeptReport" and found["record"] is None
    assert found["again"] == ["gsm8k/main::0001", "passed"]
    assert {"nodeid", "outcome", "when", "location", "longrepr", "duration"} <= set(found["fields"])
