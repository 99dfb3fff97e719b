"""The ModelScope hub end to end, against a loopback stand-in serving the routes the real `modelscope`
client calls (`MODELSCOPE_ENDPOINT` points it there): download, cache reuse, offline, missing extra."""

from __future__ import annotations

import json
import socket

import pytest

from pytest_llmeval.testing.modelscope_hub import ModelScopeStandIn
from tests.conftest import GSM8K_ROWS, IQUIZ_ROWS, IQUIZ_RULES
from tests.core.test_evaluation import chat_requests, run

pytest.importorskip("modelscope")


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


IQUIZ_REPO = {
    "AI-ModelScope/IQuiz": {
        "README.md": b"# IQuiz",
        "IQ/test.jsonl": jsonl(IQUIZ_ROWS["IQ"]),
        "EQ/test.jsonl": jsonl(IQUIZ_ROWS["EQ"]),
    }
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ms_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms-cache"))
    monkeypatch.delenv("MODELSCOPE_OFFLINE", raising=False)
    monkeypatch.delenv("MODELSCOPE_DOMAIN", raising=False)
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):  # ModelScope counts the user's HF_HUB_OFFLINE too
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_iquiz_downloads_from_modelscope_then_reuses_the_cache(pytester, start_server, ms_env):
    server = start_server(rules=IQUIZ_RULES)
    with ModelScopeStandIn(IQUIZ_REPO) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        first = run(pytester, server, "-m", "iquiz", "--llm-no-cache")
        first.assert_outcomes(passed=3, failed=1)
        downloads = [r for r in hub.requests if "FilePath=" in r]
        assert sorted(r.split("FilePath=")[1] for r in downloads) == ["EQ%2Ftest.jsonl", "IQ%2Ftest.jsonl"]
        assert not any("README" in r for r in hub.requests)  # only data files are fetched
        before = len(hub.requests)
        second = run(pytester, server, "-m", "iquiz", "--llm-no-cache")
        second.assert_outcomes(passed=3, failed=1)
        assert hub.requests[before:] == []  # the second run asked the hub nothing
    assert chat_requests(server) == 8


def test_hub_option_chooses_modelscope_for_a_hugging_face_benchmark(pytester, start_server, ms_env):
    server = start_server(rules=[])
    repo = {"AI-ModelScope/gsm8k": {"main/test.jsonl": jsonl(GSM8K_ROWS[:2])}}
    with ModelScopeStandIn(repo) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        result = run(
            pytester, server, "-m", "gsm8k", "--llm-hub", "modelscope", "--llm-bench-arg", "gsm8k.few_shot_num=0"
        )
        result.assert_outcomes(failed=2)
        assert any("AI-ModelScope/gsm8k/repo/tree" in r for r in hub.requests)


def test_a_bad_row_downloaded_from_modelscope_names_file_and_line(pytester, start_server, ms_env):
    server = start_server(rules=IQUIZ_RULES)
    repo = {
        "AI-ModelScope/IQuiz": {
            "IQ/test.jsonl": jsonl(IQUIZ_ROWS["IQ"]) + b'{"question": \n',
            "EQ/test.jsonl": jsonl(IQUIZ_ROWS["EQ"]),
        }
    }
    with ModelScopeStandIn(repo) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        result = run(pytester, server, "-m", "IQ")
    result.stdout.fnmatch_lines(["*IQ/test.jsonl:3: malformed JSON*"])
    assert chat_requests(server) == 0


def test_unreachable_modelscope_is_one_error_naming_only_the_hub_that_has_it(pytester, start_server, ms_env):
    server = start_server(rules=IQUIZ_RULES)
    ms_env.setenv("MODELSCOPE_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    result = run(pytester, server, "-m", "iquiz")
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    # one error for the benchmark, not one per subset (the short summary repeats it, in full under CI)
    assert out.count("ERROR collecting") == 1 and "ModelScope hub is not reachable" in out
    # iquiz lives on ModelScope alone: the Hugging Face hub is not offered (issue 32 item 9)
    assert "Hugging Face" not in out and "--llm-dataset iquiz=PATH" in out
    assert chat_requests(server) == 0


def test_offline_mode_uses_the_cache_and_fails_fast_without_it(pytester, start_server, ms_env):
    server = start_server(rules=IQUIZ_RULES)
    with ModelScopeStandIn(IQUIZ_REPO) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        ms_env.setenv("MODELSCOPE_OFFLINE", "1")
        offline = run(pytester, server, "-m", "iquiz")
        assert "offline mode is set" in offline.stdout.str() and hub.requests == []
        ms_env.delenv("MODELSCOPE_OFFLINE")
        run(pytester, server, "-m", "iquiz").assert_outcomes(passed=3, failed=1)
        ms_env.setenv("MODELSCOPE_OFFLINE", "1")
        count = len(hub.requests)
        run(pytester, server, "-m", "iquiz").assert_outcomes(passed=3, failed=1)  # from the cache
        assert len(hub.requests) == count


def test_missing_modelscope_client_names_the_extra(pytester, start_server, ms_env):
    server = start_server(rules=IQUIZ_RULES)
    # the client's modules cannot be imported in the run, as when the extra is not installed
    pytester.makeconftest("import sys\nsys.modules['modelscope'] = None\nsys.modules['modelscope_hub'] = None\n")
    ms_env.setenv("MODELSCOPE_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    result = run(pytester, server, "-m", "iquiz")
    out = result.stdout.str()
    assert "the `modelscope` client is not installed: pip install 'pytest-llmbench[modelscope]'" in out
    assert out.count("ERROR collecting") == 1  # one error for the benchmark (the summary may repeat it)
    assert chat_requests(server) == 0


def test_unreachable_hugging_face_hub_is_found_fast_and_reported_once(pytester, start_server, monkeypatch):
    server = start_server(rules=[])
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(pytester.path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    result = run(pytester, server, "-m", "arc")
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    # one error for arc, not one per subset (the short summary repeats it, in full under CI)
    assert out.count("ERROR collecting") == 1 and "the Hugging Face hub is not reachable" in out
    assert "Retrying in" not in out + result.stderr.str()  # the client's retry loop never ran
    assert "--llm-dataset arc=PATH" in out and "ModelScope" in out


def test_a_collection_by_its_modelscope_id_is_downloaded_once(pytester, start_server, ms_env):
    """`--llm-collection evalscope/NAME`: the reference system publishes its collections on
    ModelScope; the file is fetched into the client's cache and a second run asks the hub nothing."""
    records = [
        {
            "index": i,
            "prompt": {"input": row["question"], "target": row["answer"].split("####")[-1].strip()},
            "tags": ["en"],
            "categories": ["Suite", "Math"],
            "task_type": "math",
            "weight": 0.5,
            "dataset_name": "gsm8k",
            "subset_name": "main",
        }
        for i, row in enumerate(GSM8K_ROWS[:2])
    ]
    repo = {"evalscope/Mini-Collection": {"README.md": b"# mini", "mini.jsonl": jsonl(records)}}
    server = start_server(
        rules=[{"contains": "apples", "reply": "\\boxed{5}"}, {"contains": "pens", "reply": "\\boxed{1000}"}]
    )
    with ModelScopeStandIn(repo) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        first = run(pytester, server, "--llm-collection", "evalscope/Mini-Collection", "--llm-no-cache")
        first.assert_outcomes(passed=2)
        assert any("mini.jsonl" in r for r in hub.requests)
        before = len(hub.requests)
        second = run(pytester, server, "--llm-collection", "evalscope/Mini-Collection", "--llm-no-cache")
        second.assert_outcomes(passed=2)
        assert hub.requests[before:] == []


# -- few-shot rows and LiveCodeBench's release files follow --llm-hub modelscope ----------------


def _load_summaries(name: str, subset: str, args: dict[str, str]) -> list[dict]:
    from pytest_llmeval.benchmarks import get_benchmark
    from pytest_llmeval.benchmarks.loading import DatasetLoader

    samples = get_benchmark(name)(args).load(subset, DatasetLoader({}, hub="modelscope"))
    return [{"id": s.id, "input": str(s.input), "few_shot": s.metadata.get("few_shot")} for s in samples]


def ms_load(name: str, subset: str, **args: str) -> list[dict]:
    """The samples' id, prompt and few-shot count, loaded with `--llm-hub modelscope` in a fresh
    process, as in a run: the `modelscope` client keeps its endpoint and cache for the process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_load_summaries, name, subset, args).result(timeout=120)


def downloaded(hub: ModelScopeStandIn, since: int = 0) -> list[str]:
    return sorted(r.split("FilePath=")[1].replace("%2F", "/") for r in hub.requests[since:] if "FilePath=" in r)


def csv_bytes(rows: list[dict]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def test_ceval_few_shot_rows_come_from_the_modelscope_snapshot(ms_env):
    """The C-Eval release layout (`val/<subject>_val.csv`, `dev/<subject>_dev.csv`): the dev rows,
    with their explanations, are the examples; before, few-shot rows came only from Hugging Face."""
    from tests.benchmarks import data

    repo = {
        "evalscope/ceval": {
            **{f"val/{s}_val.csv": csv_bytes(rows) for s, rows in data.CEVAL_ROWS.items()},
            **{f"dev/{s}_dev.csv": csv_bytes(rows) for s, rows in data.CEVAL_DEV_ROWS.items()},
        }
    }
    with ModelScopeStandIn(repo) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        samples = ms_load("ceval", "computer_network", few_shot_num="5", protocol="native")
        prompt = samples[0]["input"]
        assert "示例：" in prompt and "解析：1. IPv4地址由32位二进制数组成。\n答案：B" in prompt
        assert samples[0]["few_shot"] == len(data.CEVAL_DEV_ROWS["computer_network"])
        assert "dev/computer_network_dev.csv" in downloaded(hub)
        zero = ms_load(
            "ceval", "computer_network", few_shot_num="0", protocol="native"
        )  # the same snapshot, from the cache
        assert "示例：" not in zero[0]["input"]


def test_mmlu_pro_few_shot_rows_of_one_category_from_a_modelscope_parquet_snapshot(ms_env, tmp_path):
    """MMLU-Pro's layout (`data/test-*.parquet`, `data/validation-*.parquet`, one file for all
    categories): the validation rows are filtered on `category`."""
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from tests.benchmarks import data

    def parquet(rows: list[dict]) -> bytes:
        path = tmp_path / "rows.parquet"
        pq.write_table(pyarrow.Table.from_pylist(rows), path)
        return path.read_bytes()

    repo = {
        "TIGER-Lab/MMLU-Pro": {
            "data/test-00000-of-00001.parquet": parquet(data.MMLU_PRO_ROWS),
            "data/validation-00000-of-00001.parquet": parquet(data.MMLU_PRO_VALIDATION_ROWS),
        }
    }
    with ModelScopeStandIn(repo) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        samples = ms_load("mmlu_pro", "computer_science", few_shot_num="5", protocol="native")
    prompt = samples[0]["input"]
    assert "Reasoning: Let's think step by step. A byte is defined as eight bits.\nAnswer: B" in prompt
    assert "Profit" not in prompt  # the business example belongs to another category


@pytest.mark.parametrize(
    "layout", ["data/test-00000-of-00001.parquet", "default/test-00000-of-00001.parquet", "test.jsonl"]
)
def test_cmmlu_reads_the_reference_systems_modelscope_copy(ms_env, tmp_path, layout):
    """`evalscope/cmmlu`, the copy EvalScope loads: one `test` table of every subject (`category`),
    labelled `choices`, `answer` = "(B) 土地"; the subset's rows are picked by `category`."""
    from tests.benchmarks import data

    if layout.endswith(".parquet"):
        pyarrow = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pyarrow.Table.from_pylist(data.CMMLU_MODELSCOPE_ROWS), tmp_path / "rows.parquet")
        content = (tmp_path / "rows.parquet").read_bytes()
    else:
        content = jsonl(data.CMMLU_MODELSCOPE_ROWS)
    with ModelScopeStandIn({"evalscope/cmmlu": {layout: content}}) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        samples = ms_load("cmmlu", "agronomy", protocol="native")
    assert [s["id"] for s in samples] == ["test_1", "test_2"]
    assert "B. 土地" in samples[0]["input"] and "(B)" not in samples[0]["input"]


def test_live_code_bench_downloads_only_the_selected_versions_from_modelscope(ms_env):
    from tests.benchmarks import data

    files = {
        ("test.jsonl" if n == 1 else f"test{n}.jsonl"): jsonl(
            [data.lcb_row(f"q{n}", f"2025-0{n}-01T00:00:00", functional=False)]
        )
        for n in range(1, 7)
    }
    with ModelScopeStandIn({"AI-ModelScope/code_generation_lite": {"README.md": b"# lcb", **files}}) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        v5 = ms_load("live_code_bench", "v5")
        assert [s["id"] for s in v5] == ["q5"] and downloaded(hub) == ["test5.jsonl"]
        before = len(hub.requests)
        v5_v6 = ms_load("live_code_bench", "v5_v6")  # the cached snapshot lacks test6.jsonl: ask the hub
        assert [s["id"] for s in v5_v6] == ["q5", "q6"] and downloaded(hub, before) == ["test6.jsonl"]
        before = len(hub.requests)
        assert [s["id"] for s in ms_load("live_code_bench", "v6")] == ["q6"]
        assert hub.requests[before:] == []  # everything it needs is in the cache


def test_unreachable_hugging_face_hub_for_live_code_bench_is_one_error_naming_both_hubs(
    pytester, start_server, monkeypatch
):
    """LiveCodeBench reads its release files by `hf://` path, not by dataset id; it goes through the
    same reachability probe as the other benchmarks (before: no probe, `datasets`' own retries)."""
    server = start_server(rules=[])
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(pytester.path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    result = run(pytester, server, "-m", "live_code_bench", "--llm-bench-arg", "live_code_bench.subset_list=v6")
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert out.count("ERROR collecting") == 1 and "the Hugging Face hub is not reachable" in out
    assert "test6.jsonl of livecodebench/code_generation_lite" in out
    assert "--llm-dataset live_code_bench=DIR" in out and "--llm-hub modelscope" in out
    assert "Retrying in" not in out + result.stderr.str()
    assert chat_requests(server) == 0


def test_a_modelscope_snapshot_without_the_few_shot_split_is_an_error_not_its_test_rows(ms_env):
    """Only `abstract_algebra/test.jsonl`: the few-shot lookup must not fall back on the one file of
    the subject's folder (the evaluated rows) and show test questions as examples."""
    from tests.benchmarks import data

    rows = [r for r in data.MMLU_ROWS if r["subject"] == "abstract_algebra"]
    with ModelScopeStandIn({"cais/mmlu": {"abstract_algebra/test.jsonl": jsonl(rows)}}) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        assert ms_load("mmlu", "abstract_algebra", few_shot_num="0")[0]["few_shot"] in (None, 0)  # zero-shot reads it
        with pytest.raises(Exception, match=r"has no 'dev' file for 'abstract_algebra'.*mmlu:dev=PATH"):
            ms_load("mmlu", "abstract_algebra", few_shot_num="5")


def test_an_unreachable_hugging_face_hub_does_not_switch_modelscope_offline(pytester, start_server, ms_env):
    """One run, gsm8k from Hugging Face (blocked) and IQuiz from ModelScope (reachable), as behind a
    firewall that lets only ModelScope through: HF being found unreachable turns `datasets` offline,
    and (before) that also refused ModelScope as "offline mode is set"."""
    server = start_server(rules=IQUIZ_RULES)
    ms_env.setenv("HF_HOME", str(pytester.path / "hf"))
    ms_env.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with ModelScopeStandIn(IQUIZ_REPO) as hub:
        ms_env.setenv("MODELSCOPE_ENDPOINT", hub.url)
        result = run(pytester, server, "-m", "gsm8k or iquiz", "--llm-no-cache")
    out = result.stdout.str()
    assert "the Hugging Face hub is not reachable" in out and "offline mode is set" not in out
    assert any("FilePath=" in r for r in hub.requests)  # IQuiz was downloaded
