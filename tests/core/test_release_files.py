"""Real release layouts fed to the loaders as users have them: compressed files, both hubs' snapshot
folders, one-config files, field aliases, and the errors for shapes that do not fit."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pytest_llmeval.benchmarks import DatasetLoader, get_benchmark
from pytest_llmeval.errors import DatasetError
from tests.conftest import GSM8K_ROWS, IQUIZ_ROWS, write_jsonl


def load(name: str, subset: str, overrides: dict[str, Path | str], **loader: object):
    bench = get_benchmark(name)()
    return list(bench.load(subset, DatasetLoader({k: str(v) for k, v in overrides.items()}, **loader)))  # type: ignore[arg-type]


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


HUMANEVAL_ROWS = [
    {
        "task_id": f"HumanEval/{i}",
        "prompt": f'def f{i}(x):\n    """Return x + {i}."""\n',
        "canonical_solution": f"    return x + {i}\n",
        "test": f"def check(c):\n    assert c(1) == {1 + i}\n",
        "entry_point": f"f{i}",
    }
    for i in range(3)
]


@pytest.mark.parametrize(("opener", "suffix"), [(gzip.open, ".gz"), (bz2.open, ".bz2"), (lzma.open, ".xz")])
def test_compressed_jsonl_as_shipped(tmp_path, opener, suffix):
    path = tmp_path / f"HumanEval.jsonl{suffix}"
    with opener(path, "wb") as handle:
        handle.write(jsonl_bytes(HUMANEVAL_ROWS))
    samples = load("humaneval", "default", {"humaneval": path})
    assert [s.id for s in samples] == ["HumanEval-0", "HumanEval-1", "HumanEval-2"]
    assert [s.target for s in samples] == ["f0", "f1", "f2"]


def test_compressed_json_and_csv(tmp_path):
    with gzip.open(tmp_path / "g.json.gz", "wt", encoding="utf-8") as handle:
        json.dump(GSM8K_ROWS, handle)
    with gzip.open(tmp_path / "g.csv.gz", "wt", encoding="utf-8", newline="") as handle:
        handle.write("question,answer\n")
        for row in GSM8K_ROWS:
            handle.write(json.dumps(row["question"]) + "," + json.dumps(row["answer"]) + "\n")
    for name in ("g.json.gz", "g.csv.gz"):
        assert [s.target for s in load("gsm8k", "main", {"gsm8k": tmp_path / name})] == ["5", "1000", "36", "33"]


def test_a_malformed_row_in_a_compressed_file_names_its_line(tmp_path):
    path = tmp_path / "g.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(jsonl_bytes(GSM8K_ROWS[:2]) + b'{"question": "q", "answer": \n')
    with pytest.raises(DatasetError, match=r"g\.jsonl\.gz:3: malformed JSON"):
        load("gsm8k", "main", {"gsm8k": path})


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "g.jsonl.gz"
    blob = gzip.compress(jsonl_bytes(GSM8K_ROWS * 50))
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DatasetError, match=r"compressed file is damaged.*download it again"):
        load("gsm8k", "main", {"gsm8k": path})


def parquet(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_hugging_face_snapshot_config_folders_with_parquet_shards(tmp_path):
    # allenai/ai2_arc as snapshot_download leaves it: ARC-Easy/test-00000-of-00001.parquet ...
    snap = tmp_path / "ai2_arc"
    row = {
        "id": "x",
        "question": "Which is a metal?",
        "choices": {"text": ["wood", "iron"], "label": ["A", "B"]},
        "answerKey": "B",
    }
    parquet(snap / "ARC-Easy" / "test-00000-of-00002.parquet", [row, dict(row, id="y")])
    parquet(snap / "ARC-Easy" / "test-00001-of-00002.parquet", [dict(row, id="z")])
    parquet(snap / "ARC-Easy" / "train-00000-of-00001.parquet", [dict(row, id="t")])
    parquet(snap / "ARC-Challenge" / "test-00000-of-00001.parquet", [dict(row, id="c", answerKey="A")])
    easy = load("arc", "arc_easy", {"arc": snap})
    assert [s.id for s in easy] == ["x", "y", "z"]
    challenge = load("arc", "arc_challenge", {"arc": snap})
    assert [s.target for s in challenge] == ["A"]


def test_hugging_face_snapshot_with_a_data_folder_split_by_field(tmp_path):
    # TIGER-Lab/MMLU-Pro: data/test-00000-of-00001.parquet, the category field makes the subsets
    snap = tmp_path / "mmlu_pro"
    base = {
        "question_id": 1,
        "question": "q",
        "options": ["a", "b", "c"],
        "answer": "B",
        "answer_index": 1,
        "cot_content": "",
        "src": "s",
    }
    parquet(
        snap / "data" / "test-00000-of-00001.parquet",
        [
            dict(base, category="math"),
            dict(base, question_id=2, category="computer science"),
            dict(base, category="law"),
        ],
    )
    parquet(snap / "data" / "validation-00000-of-00001.parquet", [dict(base, category="math")])
    assert len(load("mmlu_pro", "math", {"mmlu_pro": snap})) == 1
    assert [s.id for s in load("mmlu_pro", "computer_science", {"mmlu_pro": snap})] == ["2"]


def test_snapshot_with_split_file_at_the_root(tmp_path):
    # HuggingFaceH4/MATH-500: test.jsonl at the root, subsets by the level field
    rows = [
        {
            "problem": f"p{i}",
            "solution": "s",
            "answer": str(i),
            "subject": "Algebra",
            "level": 1 + i % 2,
            "unique_id": f"test/algebra/{i}.json",
        }
        for i in range(4)
    ]
    snap = tmp_path / "MATH-500"
    write_jsonl(snap / "test.jsonl", rows)
    (snap / "README.md").write_text("# card")
    assert [s.target for s in load("math_500", "level2", {"math_500": snap})] == ["1", "3"]


def test_modelscope_snapshot_subset_folders_with_split_files(tmp_path):
    # a ModelScope dataset repository: <config>/<split>.jsonl (IQuiz's layout)
    snap = tmp_path / "IQuiz"
    for subset, rows in IQUIZ_ROWS.items():
        write_jsonl(snap / subset / "test.jsonl", rows)
        write_jsonl(snap / subset / "dev.jsonl", rows[:1])
    assert [s.target for s in load("iquiz", "EQ", {"iquiz": snap})] == ["B", "B"]


def test_release_folder_split_then_subject_csv(tmp_path):
    # the CMMLU release: test/<subject>.csv and dev/<subject>.csv, with an unnamed index column
    (tmp_path / "cmmlu" / "test").mkdir(parents=True)
    (tmp_path / "cmmlu" / "test" / "agronomy.csv").write_text(
        ",Question,A,B,C,D,Answer\n0,问题一,甲,乙,丙,丁,C\n1,问题二,甲,乙,丙,丁,A\n", encoding="utf-8"
    )
    samples = load("cmmlu", "agronomy", {"cmmlu": tmp_path / "cmmlu"})
    assert [s.target for s in samples] == ["C", "A"]


def test_single_csv_snapshot_named_after_the_config(tmp_path):
    # Idavidrein/gpqa: gpqa_diamond.csv at the root beside the other configurations' files
    snap = tmp_path / "gpqa"
    snap.mkdir()
    header = "Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3,Record ID\n"
    (snap / "gpqa_diamond.csv").write_text(header + "Q1,right,w1,w2,w3,rec1\nQ2,right,w1,w2,w3,rec2\n")
    (snap / "gpqa_main.csv").write_text(header + "Q3,right,w1,w2,w3,rec3\n")
    samples = load("gpqa_diamond", "diamond", {"gpqa_diamond": snap})
    assert [s.id for s in samples] == ["rec1", "rec2"]


def test_a_one_config_file_is_used_whole_when_only_its_subset_is_selected(tmp_path):
    # ARC-Challenge's own test file: no subset field in its rows
    row = {"id": "c1", "question": "q", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "B"}
    path = write_jsonl(tmp_path / "ARC-Challenge-Test.jsonl", [row, dict(row, id="c2")])
    samples = load("arc", "arc_challenge", {"arc": path}, selected={"arc": ["arc_challenge"]})
    assert [s.id for s in samples] == ["c1", "c2"]
    with pytest.raises(DatasetError, match=r"has no 'subset' field.*select only one subset with -m"):
        load("arc", "arc_challenge", {"arc": path}, selected={"arc": ["arc_easy", "arc_challenge"]})


@pytest.mark.parametrize(
    "fields",
    [
        {"problem": "What is 2+2?", "answer": "4"},
        {"question": "What is 2+2?", "answer": 4},
        {"Problem": "What is 2+2?", "Answer": "4"},
    ],
)
def test_aime_field_aliases(tmp_path, fields):
    for name in ("aime24", "aime25"):
        path = write_jsonl(tmp_path / f"{name}.jsonl", [dict(fields, id="1")])
        subset = "default" if name == "aime24" else "aime2025_i"
        key = name if name == "aime24" else f"{name}.{subset}"
        (sample,) = load(name, subset, {key: path})
        assert sample.target == "4" and "What is 2+2?" in str(sample.input)


def test_gsm8k_and_math_500_aliases(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", [{"Problem": "2+3?", "Answer": "#### 5"}])
    assert load("gsm8k", "main", {"gsm8k": path})[0].target == "5"
    path = write_jsonl(tmp_path / "m.jsonl", [{"question": "x?", "Answer": "\\frac12", "level": 1}])
    assert load("math_500", "level1", {"math_500": path})[0].target == "\\frac12"


def test_truthfulqa_accepts_both_target_shapes(tmp_path):
    hf = {
        "question": "Q?",
        "mc1_targets": {"choices": ["yes", "no"], "labels": [1, 0]},
        "mc2_targets": {"choices": ["yes", "no", "maybe"], "labels": [1, 0, 1]},
    }
    original = {"question": "Q?", "mc1_targets": {"yes": 1, "no": 0}, "mc2_targets": {"yes": 1, "no": 0, "maybe": 1}}
    a = load("truthfulqa", "mc1", {"truthfulqa": write_jsonl(tmp_path / "hf.jsonl", [hf])})
    b = load("truthfulqa", "mc1", {"truthfulqa": write_jsonl(tmp_path / "orig.jsonl", [original])})
    assert a == b and a[0].choices and a[0].choices[ord(str(a[0].target)) - 65] == "yes"
    c = load("truthfulqa", "mc2_select", {"truthfulqa": tmp_path / "orig.jsonl"})
    assert sorted(c[0].choices[ord(letter) - 65] for letter in c[0].target) == ["maybe", "yes"]


def test_truthfulqa_wrong_shape_names_the_field_and_both_shapes(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"question": "Q?", "mc1_targets": ["yes", "no"]}])
    with pytest.raises(DatasetError, match=r"bad\.jsonl:1:.*mc1_targets must be .*choices.*labels.*original release"):
        load("truthfulqa", "mc1", {"truthfulqa": path})


def test_csv_with_a_one_cell_header_suggests_the_delimiter(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("question;answer\nq;#### 1\n")
    with pytest.raises(DatasetError, match=r"g\.csv:1: the header has one column.*separated by ';'"):
        load("gsm8k", "main", {"gsm8k": path})


def test_tsv_is_read_with_tabs(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("question\tanswer\n2+3?\t#### 5\n")
    assert load("gsm8k", "main", {"gsm8k": path})[0].target == "5"


def test_math_500_rows_under_competition_math_are_an_error_not_an_empty_run(tmp_path):
    # MATH-500 rows have `subject`, not `type`: with several subjects selected the split field is missing
    rows = [{"problem": "p", "solution": "\\boxed{1}", "answer": "1", "subject": "Algebra", "level": 1}]
    path = write_jsonl(tmp_path / "math500.jsonl", rows)
    with pytest.raises(
        DatasetError, match=r"math500\.jsonl:1:.*no 'type' field \(fields: problem, solution, answer, subject, level\)"
    ):
        load(
            "competition_math",
            "algebra",
            {"competition_math": path},
            selected={"competition_math": ["algebra", "geometry"]},
        )


def test_a_subset_matching_no_row_names_the_field_and_the_values_seen(tmp_path):
    rows = [{"problem": "p", "solution": "\\boxed{1}", "type": "Algebra", "level": "Level 1"}] * 3
    path = write_jsonl(tmp_path / "algebra_only.jsonl", rows)
    bench = get_benchmark("competition_math")()
    loader = DatasetLoader({"competition_math": str(path)}, selected={"competition_math": ["geometry", "algebra"]})
    assert list(bench.load("geometry", loader)) == []
    message = str(loader.empty_subset_error(bench, "geometry"))
    assert "subset 'geometry' of 'competition_math' yielded no samples" in message
    assert "none has 'type' = 'geometry'" in message and "'Algebra' (3)" in message
    assert "fields: problem, solution, type, level" in message
    assert len(list(bench.load("algebra", loader))) == 3


def test_folder_without_the_subset_lists_what_it_holds(tmp_path):
    write_jsonl(tmp_path / "iq" / "IQ.jsonl", IQUIZ_ROWS["IQ"])
    with pytest.raises(DatasetError, match=r"no file for subset 'EQ'.*the folder holds: IQ\.jsonl"):
        load("iquiz", "EQ", {"iquiz": tmp_path / "iq"})
