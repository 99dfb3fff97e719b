"""Local dataset files in every supported form, and the errors for broken ones."""

from __future__ import annotations

import csv
import json

import pytest

from pytest_llmeval.benchmarks import DatasetLoader, get_benchmark
from pytest_llmeval.errors import ConfigError, DatasetError
from tests.conftest import GSM8K_ROWS, IQUIZ_ROWS, write_jsonl


def samples(name: str, subset: str, overrides: dict[str, str]):
    bench = get_benchmark(name)()
    return list(bench.load(subset, DatasetLoader(overrides)))


def test_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", GSM8K_ROWS)
    loaded = samples("gsm8k", "main", {"gsm8k": str(path)})
    assert [s.target for s in loaded] == ["5", "1000", "36", "33"]
    assert loaded[0].id == "0000" and "\\boxed{}" in loaded[0].input


def test_json_list_and_csv_and_parquet_give_the_same_samples(tmp_path):
    (tmp_path / "g.json").write_text(json.dumps(GSM8K_ROWS))
    with (tmp_path / "g.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["question", "answer"])
        writer.writeheader()
        writer.writerows(GSM8K_ROWS)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(GSM8K_ROWS), tmp_path / "g.parquet")
    expected = samples("gsm8k", "main", {"gsm8k": str(write_jsonl(tmp_path / "g.jsonl", GSM8K_ROWS))})
    for suffix in ("json", "csv", "parquet"):
        assert samples("gsm8k", "main", {"gsm8k": str(tmp_path / f"g.{suffix}")}) == expected


def test_save_to_disk_folder(tmp_path):
    import datasets

    datasets.DatasetDict({"test": datasets.Dataset.from_list(GSM8K_ROWS)}).save_to_disk(str(tmp_path / "saved"))
    assert len(samples("gsm8k", "main", {"gsm8k": str(tmp_path / "saved")})) == 4


def test_folder_with_a_file_per_subset(tmp_path):
    for subset, rows in IQUIZ_ROWS.items():
        write_jsonl(tmp_path / "iq" / f"{subset}.jsonl", rows)
    eq = samples("iquiz", "EQ", {"iquiz": str(tmp_path / "iq")})
    assert [s.target for s in eq] == ["B", "B"] and eq[0].choices[1] == "陪伴倾听"
    assert "B) 陪伴倾听" in eq[0].input  # the option, lettered as the default (evalscope) protocol letters it


def test_single_file_with_subset_field(tmp_path):
    rows = [dict(row, subset=subset) for subset, subset_rows in IQUIZ_ROWS.items() for row in subset_rows]
    path = write_jsonl(tmp_path / "all.jsonl", rows)
    assert len(samples("iquiz", "IQ", {"iquiz": str(path)})) == 2


def test_single_file_without_subset_field_says_what_to_do(tmp_path):
    path = write_jsonl(tmp_path / "iq.jsonl", IQUIZ_ROWS["IQ"])
    with pytest.raises(DatasetError, match=r"iq.jsonl:1: .*no 'subset' field.*--llm-dataset iquiz.SUBSET=PATH"):
        samples("iquiz", "IQ", {"iquiz": str(path)})


def test_bad_answer_letter_names_the_line(tmp_path):
    rows = [IQUIZ_ROWS["EQ"][0], dict(IQUIZ_ROWS["EQ"][1], answer="F")]
    path = write_jsonl(tmp_path / "eq.jsonl", rows)
    with pytest.raises(DatasetError, match=r"eq.jsonl:2: .*answer 'F' is not one of the 4 choice letters"):
        samples("iquiz", "EQ", {"iquiz.EQ": str(path)})


def test_csv_row_with_extra_cells(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("question,answer\nq1,#### 1\nq2,#### 2,extra\n")
    with pytest.raises(DatasetError, match=r"g.csv:3: row has 3 cells but the header has 2"):
        samples("gsm8k", "main", {"gsm8k": str(path)})


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        samples("gsm8k", "main", {"gsm8k": str(tmp_path / "nope.jsonl")})


def test_large_jsonl_streams_lazily(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"question": "q", "answer": "#### 1"}\n' * 10 + "not json\n")
    loader = DatasetLoader({"gsm8k": str(path)})
    iterator = get_benchmark("gsm8k")().load("main", loader)
    first = [next(iterator) for _ in range(10)]  # reading the first rows never touches the bad line
    assert len(first) == 10
    with pytest.raises(DatasetError, match=r"big.jsonl:11"):
        next(iterator)


def test_override_is_the_one_rule_for_local_rows(tmp_path):
    """`DatasetLoader.override`, which every benchmark asks instead of reading the loader's options:
    NAME.SUBSET before NAME, NAME.SUBSET:SPLIT before NAME:SPLIT, relative paths against the base folder."""
    from pytest_llmeval.benchmarks.base import RecordLoader

    loader = DatasetLoader(
        {"mmlu": "all.jsonl", "mmlu.anatomy": "/abs/anatomy.jsonl", "mmlu:dev": "dev", "mmlu.law:dev": "~/law"},
        base_dir=tmp_path,
    )
    whole = loader.override("mmlu", "virology")
    assert whole is not None and whole.key == "mmlu" and not whole.per_subset
    assert whole.path == tmp_path / "all.jsonl"  # relative to the base folder, not the process's cwd
    own = loader.override("mmlu", "anatomy")
    assert own is not None and own.per_subset and own.path.as_posix() == "/abs/anatomy.jsonl"
    assert loader.override("mmlu") == whole
    few = loader.override("mmlu", "anatomy", split="dev")
    assert few is not None and few.key == "mmlu:dev" and few.path == tmp_path / "dev" and not few.per_subset
    law = loader.override("mmlu", "law", split="dev")
    assert law is not None and law.per_subset and not str(law.path).startswith("~")
    assert loader.override("gsm8k", "main") is None and loader.override("gsm8k", split="train") is None
    assert RecordLoader().override("mmlu", "anatomy") is None and RecordLoader().hub == "auto"


def test_relative_override_is_read_from_the_base_folder(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "g.jsonl", GSM8K_ROWS)
    monkeypatch.chdir(tmp_path / "data")  # the process's cwd is elsewhere: the base folder decides
    loaded = list(get_benchmark("gsm8k")().load("main", DatasetLoader({"gsm8k": "data/g.jsonl"}, base_dir=tmp_path)))
    assert [s.target for s in loaded] == ["5", "1000", "36", "33"]


# -- one membership rule: evaluated rows, few-shot rows and file benchmarks --------------------------


def test_a_file_benchmark_matches_a_subset_written_out_like_the_loader_does(tmp_path):
    """A row names its subset as the dataset writes it (`Counting & Probability`); the loader matches
    it to the mark-style subset `counting_and_probability`, and a file benchmark now does the same
    (it compared the raw text only, so such rows were silently dropped)."""
    from pytest_llmeval.benchmarks.custom import file_benchmark

    rows = [
        {"question": "1+1?", "answer": "2", "subset": "Counting & Probability"},
        {"question": "2+2?", "answer": "4", "subset": "Algebra"},
        {"question": "3+3?", "answer": "6", "subset": "counting_and_probability"},
    ]
    data = write_jsonl(tmp_path / "rows.jsonl", rows)
    cls = file_benchmark("mixed_demo", data, subsets=("counting_and_probability", "algebra"))
    loader = DatasetLoader({}, tmp_path)
    bench = cls()
    counting = [s.input for s in bench.load("counting_and_probability", loader)]
    algebra = [s.input for s in bench.load("algebra", loader)]
    assert len(counting) == 2 and len(algebra) == 1


def test_few_shot_rows_of_a_shared_file_follow_the_same_rule():
    from pytest_llmeval.benchmarks.fewshot import _matching

    bench = get_benchmark("competition_math")()
    rows = iter(
        [({"type": "Counting & Probability", "problem": "a"}, "f:1"), ({"type": "Algebra", "problem": "b"}, "f:2")]
    )
    kept = list(_matching(bench, rows, "counting_and_probability", "counting_and_probability"))
    assert [r["problem"] for r in kept] == ["a"]


def test_a_file_benchmark_keeps_an_id_of_0_and_numbers_rows_without_one(tmp_path):
    """`{"id": 0}` is the row's id: it became `0000` (0 is falsy), so `-k 0` could not find it."""
    from pytest_llmeval.benchmarks.custom import file_benchmark

    rows = [
        {"id": 0, "question": "a", "answer": "1"},
        {"id": "", "question": "b", "answer": "2"},
        {"question": "c", "answer": "3"},
    ]
    cls = file_benchmark("zero_id_demo", write_jsonl(tmp_path / "rows.jsonl", rows))
    assert [s.id for s in cls().load("default", DatasetLoader({}, tmp_path))] == ["0", "0001", "0002"]


@pytest.mark.parametrize(("answer", "problem"), [(None, "null"), ("", "empty"), ("  ", "empty")])
def test_a_file_benchmark_row_without_a_gold_answer_is_a_row_error(tmp_path, answer, problem):
    """A qa row whose answer is null or blank became the target 'None' or '': every output was
    scored wrong against it, a silent zero. It is a row error naming the file, line and field."""
    from pytest_llmeval.benchmarks.custom import file_benchmark

    rows = [{"question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": answer}]
    data = write_jsonl(tmp_path / "rows.jsonl", rows)
    cls = file_benchmark("gold_demo", data)
    with pytest.raises(
        DatasetError, match=rf"rows.jsonl:2: row cannot become a 'gold_demo' sample: field 'answer' is {problem}"
    ):
        list(cls().load("default", DatasetLoader({}, tmp_path)))


def test_a_file_benchmark_with_its_own_scorer_takes_any_answer(tmp_path):
    from pytest_llmeval.benchmarks.custom import file_benchmark

    data = write_jsonl(tmp_path / "rows.jsonl", [{"question": "Say hi", "answer": ""}])
    cls = file_benchmark("own_scorer_demo", data, scorer=lambda sample, output: "hi" in output.lower())
    assert [s.target for s in cls().load("default", DatasetLoader({}, tmp_path))] == [""]


def test_a_csv_header_written_with_spaces_after_the_commas_names_its_fields(tmp_path):
    """`question, answer` (as typed by hand): the second column was ' answer', so every row was
    reported as having no field 'answer'."""
    path = tmp_path / "g.csv"
    path.write_text('question, answer\n"Anna has 2 apples and gets 3 more. How many?", #### 5\n')
    loaded = samples("gsm8k", "main", {"gsm8k": str(path)})
    assert [s.target for s in loaded] == ["5"]
