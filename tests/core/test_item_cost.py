"""Items cost little: an item holds its sample by reference, and an xdist worker builds only its share."""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.benchmarks.base import Sample
from pytest_llmeval.benchmarks.output_types import LOGLIK_KEY
from pytest_llmeval.engine.distribution import ShareFilter
from pytest_llmeval.engine.store import SampleStore
from tests.conftest import write_jsonl
from tests.core.test_evaluation import run
from tests.runs import llm_args


def plus_zero(start_server, tmp_path, count, reply=lambda i: i):
    """`count` GSM8K rows "What is i plus 0?" (answer i) and a server answering `reply(i)` in a box."""
    server = start_server(
        rules=[{"contains": f"What is {i} plus", "reply": f"\\boxed{{{reply(i)}}}"} for i in range(count)]
    )
    rows = [{"question": f"What is {i} plus 0?", "answer": f"#### {i}"} for i in range(count)]
    return server, write_jsonl(tmp_path / "g.jsonl", rows)


PROBE = """
import json, os

def pytest_collection_finish(session):
    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    names = [item.nodeid for item in session.items]
    held = sum(1 for item in session.items for value in vars(item).values() if type(value).__name__ == "Sample")
    with open(os.path.join(os.environ["ITEM_PROBE_DIR"], worker + ".json"), "w") as out:
        json.dump({"items": names, "samples_held": held}, out)
"""


def test_store_gives_back_equal_samples_and_keeps_no_object():
    store = SampleStore()
    plain = Sample(id="7", subset="main", input="What is 3+4?", target="7", metadata={"question": "What is 3+4?"})
    chat = Sample(id="8", subset="main", input=[{"role": "user", "content": "hi"}], choices=["a", "b"])
    loglik = Sample(id="9", subset="main", input="q", metadata={LOGLIK_KEY: {"contexts": ["a", "b", "c"]}})
    rows = [store.add(sample) for sample in (plain, chat, loglik)]
    assert [store.get(row) for row in rows] == [plain, chat, loglik]
    assert store.get(rows[0]) is not store.get(rows[0])  # decoded each time: nothing held as an object
    assert all(isinstance(row, bytes) for row in store._rows)
    assert store.loglik_requests(rows[2]) == 3 and store.loglik_requests(rows[0]) is None


def test_share_filter_deals_samples_by_position_and_takeover_by_node_id():
    second = ShareFilter("gw1", 2)
    assert [second(f"gsm8k/main::{i}") for i in range(6)] == [False, True, False, True, False, True]
    replacement = ShareFilter("gw2", 2, takeover=["gsm8k/main::3"])
    assert [replacement(f"gsm8k/main::{i}") for i in range(6)] == [False, False, False, True, False, False]


@pytest.mark.parametrize("workers", [None, "2"])
def test_items_hold_no_sample_and_workers_build_only_their_share(
    pytester, start_server, tmp_path, monkeypatch, workers
):
    count = 9
    server, data = plus_zero(start_server, tmp_path, count)
    probes = tmp_path / "probes"
    probes.mkdir()
    monkeypatch.setenv("ITEM_PROBE_DIR", str(probes))
    pytester.makeconftest(PROBE)
    results = tmp_path / "r.json"
    extra = ("-n", workers) if workers else ()
    run(pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-results", str(results), *extra)
    found = {path.stem: json.loads(path.read_text()) for path in probes.glob("*.json")}
    assert all(probe["samples_held"] == 0 for probe in found.values())
    collected = [nodeid for probe in found.values() for nodeid in probe["items"]]
    assert sorted(collected) == sorted(f"gsm8k/main::{i:04d}" for i in range(count))  # each item built once
    if workers:
        assert sorted(found) == ["gw0", "gw1"] and sorted(len(p["items"]) for p in found.values()) == [4, 5]
    result = json.loads(results.read_text())
    assert result["samples_planned"] == count and result["benchmarks"]["gsm8k"]["metrics"]["acc"] == 1.0
    assert sum(server.stats()["chat_by_body_sha256"].values()) == count


CONTAINERS_PROBE = """
import json, os

def pytest_sessionfinish(session):
    from pytest_llmeval.engine.nodes import SampleItem

    samples = [item for item in session.items if isinstance(item, SampleItem)]
    pytests = ("stash", "extra_keyword_matches", "keywords", "user_properties", "_report_sections", "_store")
    kept = sorted({name for item in samples for name in pytests if name in vars(item)})

    def held(item, slot):
        try:
            getattr(SampleItem, slot).__get__(item)
            return True
        except AttributeError:
            return False

    # what pytest and its plugins fill while an item runs is dropped once it ran
    slots = ("_stash", "_keywords", "_properties", "_sections")
    ran = sorted({slot for item in samples for slot in slots if held(item, slot)})
    stashed = sum(1 for item in samples if len(item.stash))  # a reader after the run gets an empty stash
    marks = sorted({mark.name for item in samples for mark in item.iter_markers()})
    keywords = sorted(set(samples[0].keywords))  # made again from the item's name and marks
    with open(os.environ["ITEM_PROBE_FILE"], "w") as out:
        json.dump(
            {"items": len(samples), "kept": kept, "ran": ran, "stashed": stashed, "marks": marks, "keywords": keywords},
            out,
        )
"""


def test_items_keep_no_per_item_containers_after_they_ran(pytester, start_server, tmp_path, monkeypatch):
    """pytest gives every node an empty keyword set and a stash its plugins fill while the item runs
    (logging, skipping, tmp_path): ~0.4 KB a sample for the whole run. A sample item makes them on
    first use and drops the stash once its run protocol is over; -k still matches its keywords."""
    count = 6
    server, data = plus_zero(start_server, tmp_path, count)
    probe = tmp_path / "probe.json"
    monkeypatch.setenv("ITEM_PROBE_FILE", str(probe))
    pytester.makeconftest(CONTAINERS_PROBE)
    results = tmp_path / "r.json"
    run(
        pytester,
        server,
        "-m",
        "gsm8k",
        "-k",
        "gsm8k and not 0003",
        "--llm-dataset",
        f"gsm8k={data}",
        "--llm-results",
        str(results),
    )
    found = json.loads(probe.read_text())
    assert found["items"] == count - 1 and found["kept"] == [] and found["ran"] == [] and found["stashed"] == 0
    assert "gsm8k" in found["marks"] and set(found["marks"]) <= set(found["keywords"])
    assert "0000" in found["keywords"]  # the item's own name
    result = json.loads(results.read_text())
    assert result["samples_scored"] == count - 1 and result["benchmarks"]["gsm8k"]["metrics"]["acc"] == 1.0


DECODES_PROBE = """
import itertools, json, os
from pytest_llmeval.engine.store import SampleStore

calls = itertools.count()  # next() is atomic: bodies are built on the dispatcher's thread
original = SampleStore.get

def counting_get(self, index):
    next(calls)
    return original(self, index)

SampleStore.get = counting_get

def pytest_sessionfinish(session):
    with open(os.environ["ITEM_PROBE_FILE"], "w") as out:
        json.dump({"decodes": next(calls)}, out)
"""


def test_a_sample_is_decoded_once_for_its_request_body(pytester, start_server, tmp_path, monkeypatch):
    """Each `item.sample` outside the item's run decodes its stored row (~7 us): the request body
    is built from one decode, then the item decodes once to run (pytest's location line reads the
    subset from the node id)."""
    count = 4
    server, data = plus_zero(start_server, tmp_path, count)
    probe = tmp_path / "probe.json"
    monkeypatch.setenv("ITEM_PROBE_FILE", str(probe))
    pytester.makeconftest(DECODES_PROBE)
    result = run(pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-no-cache")
    result.assert_outcomes(passed=count)
    assert json.loads(probe.read_text())["decodes"] <= 2 * count  # 17 for 4 samples before issue 31, then 12
    assert server.stats()["chat_requests"] == count


WORKER_REPORTS_PROBE = """
import json, os, pytest

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    role = getattr(session.config, "workerinput", {}).get("workerid", "main")
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    kept = sum(len(reports) for key, reports in terminal.stats.items() if key != "warnings")
    with open(os.path.join(os.environ["ITEM_PROBE_DIR"], role + ".json"), "w") as out:
        json.dump({"kept": kept}, out)
"""


def test_xdist_workers_keep_no_sample_reports(pytester, start_server, tmp_path, monkeypatch):
    """A worker's terminal reporter is never shown but kept every report it sent, each sample's with
    its record; the controller keeps what the terminal prints, and the results are unchanged."""
    count = 6
    server, data = plus_zero(start_server, tmp_path, count, reply=lambda i: i % 2)
    probes = tmp_path / "probes"
    probes.mkdir()
    monkeypatch.setenv("ITEM_PROBE_DIR", str(probes))
    pytester.makeconftest(WORKER_REPORTS_PROBE)
    results = tmp_path / "r.json"
    outcome = run(
        pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-results", str(results), "-n", "2"
    )
    outcome.assert_outcomes(passed=2, failed=4)  # 0 and 1 answered right
    found = {path.stem: json.loads(path.read_text())["kept"] for path in probes.glob("*.json")}
    assert found["gw0"] == 0 and found["gw1"] == 0 and found["main"] >= 4
    result = json.loads(results.read_text())
    assert result["samples_scored"] == count and result["benchmarks"]["gsm8k"]["metrics"]["acc"] == 2 / count
    assert server.stats()["chat_requests"] == count


KEPT_REPORTS_PROBE = """
import json, os, pytest

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    reports = [r for key, kept in terminal.stats.items() if key in ("passed", "failed") for r in kept]
    found = [
        {
            "class": type(r).__name__, "is_report": isinstance(r, pytest.TestReport), "nodeid": r.nodeid,
            "outcome": r.outcome, "when": r.when, "text": r.longreprtext, "keywords": dict(r.keywords),
            "record": getattr(r, "llmeval", None) is not None, "has_dict": bool(getattr(r, "__dict__", None)),
            "path": id(r.location[0]), "domain": r.location[2], "duration": r.duration >= 0,
        }
        for r in reports
    ]
    with open(os.environ["ITEM_PROBE_FILE"], "w") as out:
        json.dump(found, out)
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_the_terminal_keeps_each_sample_report_compact(pytester, start_server, tmp_path, monkeypatch, workers):
    """pytest's terminal keeps every report until the end (~0.6 KB each; ~2 KB as xdist's controller
    unserialized it): a sample's, once its record was consumed, is a `KeptReport` in its place,
    with what the terminal shows of it (node id, outcome, failure text) and pytest's counts intact."""
    count = 6
    server, data = plus_zero(start_server, tmp_path, count, reply=lambda i: i % 2)
    probe = tmp_path / "probe.json"
    monkeypatch.setenv("ITEM_PROBE_FILE", str(probe))
    pytester.makeconftest(KEPT_REPORTS_PROBE)
    outcome = run(pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", *workers)
    outcome.assert_outcomes(passed=2, failed=4)  # 0 and 1 answered right
    outcome.stdout.fnmatch_lines(["*gsm8k: 4 of 6 samples answered wrong*", "*4 failed, 2 passed*"])
    found = json.loads(probe.read_text())
    assert sorted(r["nodeid"] for r in found) == [f"gsm8k/main::{i:04d}" for i in range(count)]
    assert {r["class"] for r in found} == {"KeptReport"} and all(r["is_report"] for r in found)
    assert all(r["when"] == "call" and r["duration"] and not r["record"] and r["keywords"] == {} for r in found)
    assert not any(r["has_dict"] for r in found)  # every field in a slot
    assert len({r["path"] for r in found}) == 1  # one location path string for the subset's samples
    failed = {r["nodeid"]: r["text"] for r in found if r["outcome"] == "failed"}
    assert sorted(failed) == [f"gsm8k/main::{i:04d}" for i in range(2, count)]
    assert all("wrong answer" in text and "[gw" not in text for text in failed.values())
    assert all(r["domain"].endswith(r["nodeid"].rpartition("::")[2]) for r in found)


IMPORTS_PROBE = """
import json, os, sys, pytest

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    prefixes = (
        "numpy", "pytest_llmeval.arena", "pytest_llmeval.perf.capacity", "pytest_llmeval.perf.runner",
        "tenacity", "psutil",
    )
    found = sorted(name for name in sys.modules if name.startswith(prefixes))
    with open(os.environ["ITEM_PROBE_FILE"], "w") as out:
        json.dump({"imported": found}, out)
"""


def test_an_ordinary_run_imports_no_numpy_arena_or_load_generator(pytester, start_server, tmp_path, monkeypatch):
    """numpy (~13 MB, ~50 ms), the arena and the perf load generator are imported only by what
    uses them: an accuracy run's error bars (Wilson, CLT) are computed without numpy, and its
    interval is the one numpy computed before (checked against scipy in tests/stats). Nor are
    tenacity (the first retry imports it) and psutil (a server that looks dead, a process tree to
    stop): ~10 ms of start-up together."""
    count = 5
    server, data = plus_zero(start_server, tmp_path, count, reply=lambda i: i % 3)
    probe = tmp_path / "probe.json"
    monkeypatch.setenv("ITEM_PROBE_FILE", str(probe))
    pytester.makeconftest(IMPORTS_PROBE)
    results = tmp_path / "r.json"
    run(pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-results", str(results))
    assert json.loads(probe.read_text())["imported"] == []
    acc = json.loads(results.read_text())["benchmarks"]["gsm8k"]["uncertainty"]["acc"]
    assert acc["method"] == "wilson" and acc["n"] == count
    # 3 of 5 right (0, 1, 2): the Wilson 95% interval, as scipy's binomtest gives it
    assert acc["ci_low"] == pytest.approx(0.2307, abs=1e-4) and acc["ci_high"] == pytest.approx(0.8824, abs=1e-4)


SERIALIZE_PROBE = """
import json, os, pytest

seen = []
configs = []


def pytest_configure(config):
    configs.append(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report):
    if report.when == "call":
        config = configs[0]
        data = config.hook.pytest_report_to_serializable(config=config, report=report)
        seen.append(json.loads(json.dumps(data)).get("llmeval"))


def pytest_sessionfinish(session):
    with open(os.environ["ITEM_PROBE_FILE"], "w") as out:
        json.dump(seen, out)
"""


def test_a_sample_report_serializes_its_record_as_json(pytester, start_server, tmp_path, monkeypatch):
    """A single process hands the record object from the runner to the record stream (no JSON
    round trip, ~30 us a sample); a serialized report (xdist, pytest-reportlog) still carries it
    as JSON, with what the results file says of the sample. The probe is a rootdir conftest's
    per-item hook: pytest hid those from sample items (their folder does not exist) before."""
    server = start_server(rules=[{"contains": "What is 1 plus", "reply": "\\boxed{1}"}])
    data = write_jsonl(tmp_path / "g.jsonl", [{"question": "What is 1 plus 0?", "answer": "#### 1"}])
    probe = tmp_path / "probe.json"
    monkeypatch.setenv("ITEM_PROBE_FILE", str(probe))
    pytester.makeconftest(SERIALIZE_PROBE)
    samples = tmp_path / "s.jsonl"
    run(pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-samples", str(samples))
    (serialized,) = json.loads(probe.read_text())
    written = json.loads(samples.read_text().splitlines()[0])
    assert serialized["id"] == written["id"] == "0000" and serialized["passed"] is True
    assert serialized["extracted"] == written["extracted"] == "1" and serialized["metrics"] == written["metrics"]


GARBAGE_PROBE = """
import gc, json, os, sys
import pytest

SEEN = []
KEPT_CALLS = []

@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the cyclic collector frees from now on is kept in gc.garbage

def pytest_exception_interact(node, call, report):
    SEEN.append(call.excinfo.traceback[-1].name)  # where the wrong answer was raised

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    if call.excinfo is not None:
        KEPT_CALLS.append(call)  # a user's hook that keeps the call past the item's protocol
    return (yield)

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    gc.collect()
    gc.set_debug(0)
    tb = sys.last_traceback
    caller = tb.tb_frame.f_back  # where pdb's "up" goes from the top of the last failure
    while tb.tb_next is not None:
        tb = tb.tb_next
    found = {
        "exceptions": sorted(type(o).__name__ for o in gc.garbage if isinstance(o, BaseException)),
        "frames": sum(1 for o in gc.garbage if type(o).__name__ == "frame"),
        "interact": SEEN,
        "kept_calls": [type(call.excinfo.value).__name__ for call in KEPT_CALLS],
        "post_mortem_locals": sorted(tb.tb_frame.f_locals),  # what pdb.pm() shows of the last failure
        "post_mortem_caller_locals": len(caller.f_locals),
    }
    gc.garbage.clear()
    with open(os.environ["GARBAGE_PROBE"], "w") as out:
        json.dump(found, out)
"""


def test_a_wrong_answer_leaves_no_garbage_cycle(pytester, start_server, tmp_path, monkeypatch):
    """pytest keeps a failed phase's exception in a cycle (the catching frame holds it, its traceback
    holds the frame): each wrong answer left ~80 objects to the cyclic collector. The runner frees
    them once the item's protocol is over, after every hook has seen the traceback, and leaves the
    last failure whole for `pdb.pm()`."""
    count = 6
    server, data = plus_zero(start_server, tmp_path, count, reply=lambda i: i + 1)  # every answer wrong
    probe = tmp_path / "garbage.json"
    monkeypatch.setenv("GARBAGE_PROBE", str(probe))
    pytester.makeconftest(GARBAGE_PROBE)
    result = run(pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*gsm8k/main::0000: wrong answer: expected '0', extracted '1'", f"*{count} failed*"])
    found = json.loads(probe.read_text())
    assert found["interact"] == ["runtest"] * count  # the hooks saw each wrong answer's traceback
    assert found["kept_calls"] == ["WrongAnswer"] * count
    assert "record" in found["post_mortem_locals"] and found["post_mortem_caller_locals"] > 0
    assert found["exceptions"] == [] and found["frames"] == 0


UNBUILDABLE = """
from pytest_llmeval import Benchmark, DatasetSource, Sample, Score, register_benchmark
from pytest_llmeval.errors import BadRecordError

ERROR = {error}


@register_benchmark
class Unbuildable(Benchmark):
    name = "unbuildable"
    source = DatasetSource(path="unbuildable/rows")
    metrics = ("acc",)

    def record_to_sample(self, record, index, subset):
        return Sample(id=str(record["id"]), subset=subset, input=record["q"], target=record["a"])

    def messages(self, sample):
        if sample.id == "3":
            raise ERROR("sample 3 cannot become a request")
        return super().messages(sample)

    def score(self, sample, output):
        passed = sample.target in output
        return Score(passed=passed, metrics={"acc": float(passed)})
"""


@pytest.mark.parametrize(
    ("error", "count"),
    [
        ("BadRecordError", 300),  # the producer waits for room in its window (64 ahead) while the bad one fails
        ("ValueError", 20),  # a custom benchmark's own bug: no plugin error class
    ],
)
def test_a_sample_that_cannot_become_a_request_fails_alone(pytester, start_server, error, count):
    """The error of a body that cannot be built fails that sample alone, whatever its class: it is
    raised from the dispatcher's producer, whose coroutine keeps running (freeing a failed phase
    must not finalize it: a first version of `drop_failure_cycle` did, and every later item waited
    for ever), and the cache's look-up before the first request met it too (a ValueError was an
    INTERNALERROR there)."""
    server = start_server(fixed_reply="abc")
    rows = write_jsonl(pytester.path / "rows.jsonl", [{"id": i, "q": f"say abc {i}", "a": "abc"} for i in range(count)])
    pytester.makeconftest(UNBUILDABLE.replace("{error}", error))
    result = pytester.runpytest_subprocess(
        *llm_args(server.base_url, "-m", "unbuildable", "--llm-dataset", f"unbuildable={rows}"), timeout=120
    )
    result.assert_outcomes(passed=count - 1, errors=1)
    result.stdout.fnmatch_lines(["*sample 3 cannot become a request*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_start_up_runs_without_collections_and_freezes_only_an_evaluation():
    import gc

    from pytest_llmeval.plugin import start_up_without_collections

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        kept: list[list[int]] = []

        def evaluation_set_up() -> bool:
            assert not gc.isenabled()
            kept.extend([] for _ in range(100))
            return True

        assert start_up_without_collections(evaluation_set_up)
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(kept)  # start-up's objects frozen

        gc.unfreeze()
        start_up_without_collections(lambda: False)  # no evaluation (no --llm-model): nothing frozen
        assert gc.isenabled() and gc.get_freeze_count() == 0

        def fail_during_start_up() -> bool:
            raise pytest.UsageError("a usage error")

        with pytest.raises(pytest.UsageError, match="a usage error"):
            start_up_without_collections(fail_during_start_up)
        assert gc.isenabled() and gc.get_freeze_count() == 0

        gc.disable()  # a collector the user turned off stays off
        start_up_without_collections(lambda: True)
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


ORDINARY_SUITE_PROBE = """
import gc

def test_the_collector_is_as_python_left_it():
    assert gc.isenabled() and gc.get_freeze_count() == 0
"""


def test_an_ordinary_suite_keeps_its_garbage_collector(pytester):
    pytester.makepyfile(ORDINARY_SUITE_PROBE)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1)
