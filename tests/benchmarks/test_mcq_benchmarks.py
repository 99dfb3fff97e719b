"""The multiple-choice benchmarks read real-schema rows and score realistic outputs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pytest_llmeval.benchmarks import DatasetLoader, get_benchmark
from pytest_llmeval.benchmarks.base import Benchmark, Sample
from pytest_llmeval.errors import ConfigError, DatasetError
from tests.benchmarks import data
from tests.conftest import write_jsonl


def load(name: str, subset: str, overrides: dict[str, Path | str], **args: str) -> list[Sample]:
    benchmark = get_benchmark(name)(args)
    return list(benchmark.load(subset, DatasetLoader({k: str(v) for k, v in overrides.items()})))


def bench(name: str, **args: str) -> Benchmark:
    return get_benchmark(name)(args)


# -- MMLU ----------------------------------------------------------------------------------------


@pytest.fixture
def mmlu_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "mmlu.jsonl", data.MMLU_ROWS)


def test_mmlu_single_file_is_split_on_subject(mmlu_file: Path):
    samples = load("mmlu", "anatomy", {"mmlu": mmlu_file}, protocol="native")
    assert [s.metadata["question"] for s in samples] == [data.MMLU_ROWS[1]["question"]]
    sample = samples[0]
    assert sample.target == "B" and sample.choices == ["Abdominal", "Cranial", "Pleural", "Spinal"]
    assert "A. Abdominal\nB. Cranial\nC. Pleural\nD. Spinal" in str(sample.input)
    assert '"Answer: X"' in str(sample.input) and "(A, B, C or D)" in str(sample.input)
    assert sample.metadata["breakdown"] == ["other"]  # anatomy is in MMLU's "other" group


@pytest.mark.parametrize(
    ("output", "passed", "extracted"),
    [
        ("The pituitary sits in the sella turcica of the skull.\nAnswer: B", True, "B"),
        ("It is in the cranial cavity, so the answer is (B).", True, "B"),
        ("The pituitary is in the abdomen.\nAnswer: A", False, "A"),
        ("I think it is the Cranial one.\nAnswer: Cranial", True, "B"),  # option text instead of its letter
        ("I am not sure.", False, None),
    ],
)
def test_mmlu_scoring_of_realistic_outputs(mmlu_file: Path, output: str, passed: bool, extracted: str | None):
    benchmark = bench("mmlu")
    sample = next(iter(benchmark.load("anatomy", DatasetLoader({"mmlu": str(mmlu_file)}))))
    score = benchmark.score(sample, output)
    assert (score.passed, score.extracted) == (passed, extracted)
    assert score.metrics == {"acc": float(passed), "acc_other": float(passed)}
    if extracted is None:
        assert "no option letter" in (score.explanation or "")


def test_mmlu_few_shot_rows_come_from_the_dev_file(mmlu_file: Path, tmp_path: Path):
    dev = write_jsonl(tmp_path / "dev.jsonl", data.MMLU_DEV_ROWS)
    samples = load(
        "mmlu", "abstract_algebra", {"mmlu": mmlu_file, "mmlu:dev": dev}, few_shot_num="5", protocol="native"
    )
    prompt = str(samples[0].input)
    assert prompt.count("Answer: ") == 3  # instruction mentions it once, two solved examples
    assert "x^3 + 2x + 2 in Z_7" in prompt and "Answer: C" in prompt and "Answer: B" in prompt
    assert prompt.index("Z_7") < prompt.index("Q(sqrt(2), sqrt(3))")  # examples before the question
    assert samples[0].metadata["few_shot"] == 2  # the dev file has only two rows for this subject


def test_mmlu_few_shot_found_beside_the_test_file_in_a_snapshot_folder(tmp_path: Path):
    write_jsonl(tmp_path / "snap" / "abstract_algebra" / "test-00000.jsonl", [data.MMLU_ROWS[0]])
    write_jsonl(tmp_path / "snap" / "abstract_algebra" / "dev-00000.jsonl", data.MMLU_DEV_ROWS[:1])
    samples = load("mmlu", "abstract_algebra", {"mmlu": tmp_path / "snap"}, few_shot_num="1")
    assert samples[0].metadata["few_shot"] == 1 and "Z_7" in str(samples[0].input)


def test_mmlu_few_shot_without_local_dev_rows_names_the_option(mmlu_file: Path):
    with pytest.raises(DatasetError, match=r"--llm-dataset mmlu:dev=PATH.*few_shot_num=0"):
        load("mmlu", "anatomy", {"mmlu": mmlu_file}, few_shot_num="5")


def test_the_protocols_zero_shot_warning_is_only_for_subsets_that_run(tmp_path: Path):
    """A local MMLU file of one subject under `-m mmlu`: the 56 subjects without rows do not run, and
    each of them warned that its prompts were zero-shot (57 warnings for one subject's run)."""
    import warnings

    from pytest_llmeval.benchmarks.protocols import ProtocolWarning

    one_subject = write_jsonl(tmp_path / "aa.jsonl", [r for r in data.MMLU_ROWS if r["subject"] == "abstract_algebra"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load("mmlu", "anatomy", {"mmlu": one_subject}) == []
        assert load("mmlu", "abstract_algebra", {"mmlu": one_subject})
    warned = [str(w.message) for w in caught if issubclass(w.category, ProtocolWarning)]
    assert len(warned) == 1 and warned[0].startswith("mmlu subset 'abstract_algebra': the evalscope protocol sends 5")


@pytest.mark.parametrize("value", ["6", "-1", "five"])
def test_bad_few_shot_num_is_a_usage_error(value: str):
    with pytest.raises(ConfigError, match=r"mmlu.few_shot_num"):
        bench("mmlu", few_shot_num=value)


# -- MMLU-Pro ------------------------------------------------------------------------------------


def test_mmlu_pro_category_with_a_space_is_a_mark_friendly_subset(tmp_path: Path):
    assert "computer_science" in get_benchmark("mmlu_pro").subsets
    path = write_jsonl(tmp_path / "mmlu_pro.jsonl", data.MMLU_PRO_ROWS)
    samples = load("mmlu_pro", "computer_science", {"mmlu_pro": path}, protocol="native")
    assert [s.id for s in samples] == ["10356", "11"]
    assert samples[0].target == "B" and len(samples[0].choices or []) == 10
    assert "J. Paged out" in str(samples[0].input) and "(A, B, C, D, E, F, G, H, I or J)" in str(samples[0].input)
    business = load("mmlu_pro", "business", {"mmlu_pro": path}, protocol="native")
    assert len(business) == 1 and "(A, B, C, D, E, F, G or H)" in str(business[0].input)  # 8 options


def test_mmlu_pro_per_subset_folder_uses_the_mark_name(tmp_path: Path):
    write_jsonl(tmp_path / "pro" / "computer_science.jsonl", data.MMLU_PRO_ROWS[:1])
    samples = load("mmlu_pro", "computer_science", {"mmlu_pro": tmp_path / "pro"})
    assert [s.id for s in samples] == ["10356"]


def test_mmlu_pro_accepts_letters_beyond_d(tmp_path: Path):
    row = {**data.MMLU_PRO_ROWS[0], "answer": "J", "answer_index": 9}
    path = write_jsonl(tmp_path / "mmlu_pro.jsonl", [row])
    benchmark = bench("mmlu_pro")
    sample = next(iter(benchmark.load("computer_science", DatasetLoader({"mmlu_pro": str(path)}))))
    assert benchmark.score(sample, "Pages can be swapped out.\nAnswer: J").passed
    assert not benchmark.score(sample, "Answer: B").passed


def test_mmlu_pro_few_shot_shows_the_worked_solutions(tmp_path: Path):
    path = write_jsonl(tmp_path / "mmlu_pro.jsonl", data.MMLU_PRO_ROWS)
    validation = write_jsonl(tmp_path / "validation.jsonl", data.MMLU_PRO_VALIDATION_ROWS)
    samples = load(
        "mmlu_pro",
        "computer_science",
        {"mmlu_pro": path, "mmlu_pro:validation": validation},
        few_shot_num="5",
        protocol="native",
    )
    prompt = str(samples[0].input)
    assert "Reasoning: Let's think step by step. A byte is defined as eight bits.\nAnswer: B" in prompt
    assert "Profit" not in prompt  # the business example belongs to another category


# -- MMLU-Redux ----------------------------------------------------------------------------------


@pytest.fixture
def redux_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "redux" / "abstract_algebra.jsonl", data.REDUX_ROWS).parent


def test_mmlu_redux_skips_items_with_a_wrong_key_by_default(redux_file: Path):
    samples = load("mmlu_redux", "abstract_algebra", {"mmlu_redux": redux_file})
    assert [s.metadata["error_type"] for s in samples] == ["ok", "bad_question_clarity"]
    assert [s.target for s in samples] == ["B", "D"]


def test_mmlu_redux_fix_uses_the_annotators_answer(redux_file: Path):
    benchmark = bench("mmlu_redux", label_errors="fix")
    samples = list(benchmark.load("abstract_algebra", DatasetLoader({"mmlu_redux": str(redux_file)})))
    by_type = {s.metadata["error_type"]: s for s in samples}
    assert set(by_type) == {"ok", "wrong_groundtruth", "multiple_correct_answers", "bad_question_clarity"}
    assert (
        by_type["wrong_groundtruth"].target == "C" and by_type["wrong_groundtruth"].metadata["original_answer"] == "B"
    )
    assert by_type["multiple_correct_answers"].target == ["A", "C"]
    assert benchmark.score(by_type["multiple_correct_answers"], "4 is even.\nAnswer: C").passed
    assert benchmark.score(by_type["multiple_correct_answers"], "Answer: A").passed
    assert not benchmark.score(by_type["multiple_correct_answers"], "Answer: B").passed
    assert benchmark.score(by_type["wrong_groundtruth"], "2 is the smallest prime.\nAnswer: C").passed


def test_mmlu_redux_keep_evaluates_everything_with_original_labels(redux_file: Path):
    samples = load("mmlu_redux", "abstract_algebra", {"mmlu_redux": redux_file}, label_errors="keep")
    assert [s.target for s in samples] == ["B", "B", "A", "A", "D"]


def test_mmlu_redux_rejects_unknown_mode():
    with pytest.raises(ConfigError, match="label_errors must be one of skip, fix, keep"):
        bench("mmlu_redux", label_errors="drop")


# -- C-Eval --------------------------------------------------------------------------------------


@pytest.fixture
def ceval_dir(tmp_path: Path) -> Path:
    for subject, rows in data.CEVAL_ROWS.items():
        write_jsonl(tmp_path / "ceval" / f"{subject}.jsonl", rows)
    return tmp_path / "ceval"


def test_ceval_has_52_subjects_in_four_groups():
    cls = get_benchmark("ceval")
    assert len(cls.subsets) == 52 and len(set(cls.subsets)) == 52
    assert {g: len(m) for g, m in cls.groups.items()} == {
        "stem": 20,
        "social_science": 10,
        "humanities": 11,
        "other": 11,
    }
    assert cls.subset_tags("computer_network") == ("stem",) and cls.subset_tags("law") == ("humanities",)
    assert {"acc_stem", "acc_social_science", "acc_humanities", "acc_other"} <= set(cls.metrics)


def test_ceval_chinese_prompt_and_scoring(ceval_dir: Path):
    benchmark = bench("ceval", protocol="native")
    sample = list(benchmark.load("computer_network", DatasetLoader({"ceval": str(ceval_dir)})))[1]
    assert sample.id == "1" and sample.target == "B"
    assert "答案：X" in str(sample.input) and "问题：TCP协议" in str(sample.input) and "B. 传输层" in str(sample.input)
    assert benchmark.score(sample, "TCP是传输层协议。\n答案：B").metrics == {"acc": 1.0, "acc_stem": 1.0}
    assert not benchmark.score(sample, "答案：A").passed


def test_ceval_group_accuracy_is_over_the_groups_samples(ceval_dir: Path):
    benchmark = bench("ceval", protocol="native")
    loader = DatasetLoader({"ceval": str(ceval_dir)})
    outputs = {"computer_network": ["答案：C", "答案：A"], "law": ["答案：C"], "physician": ["答案：B"]}
    per_sample = []
    for subject, replies in outputs.items():
        for sample, reply in zip(benchmark.load(subject, loader), replies, strict=False):
            per_sample.append(benchmark.score(sample, reply).metrics)
    metrics = type(benchmark).aggregate(per_sample)
    assert metrics == {"acc": 0.75, "acc_stem": 0.5, "acc_humanities": 1.0, "acc_other": 1.0}


def test_ceval_subset_list_may_name_a_group():
    assert bench("ceval", subset_list="humanities,physician").selected_subsets() == [
        *get_benchmark("ceval").groups["humanities"],
        "physician",
    ]
    with pytest.raises(ConfigError, match="neither a subset nor a group of ceval; groups: stem"):
        bench("ceval", subset_list="engineering").selected_subsets()


def test_ceval_few_shot_examples_include_explanations(ceval_dir: Path, tmp_path: Path):
    for subject, rows in data.CEVAL_DEV_ROWS.items():
        write_jsonl(tmp_path / "ceval_dev" / f"{subject}.jsonl", rows)
    samples = load(
        "ceval",
        "computer_network",
        {"ceval": ceval_dir, "ceval:dev": tmp_path / "ceval_dev"},
        few_shot_num="5",
        protocol="native",
    )
    assert "示例：" in str(samples[0].input)
    assert "解析：1. IPv4地址由32位二进制数组成。\n答案：B" in str(samples[0].input)


def test_ceval_unlabelled_test_rows_are_reported_with_file_and_line(tmp_path: Path):
    row = {**data.CEVAL_ROWS["law"][0], "answer": ""}
    path = write_jsonl(tmp_path / "law.jsonl", [row])
    with pytest.raises(DatasetError, match=r"law.jsonl:1: .*test split is unlabelled"):
        load("ceval", "law", {"ceval.law": path})


# -- CMMLU ---------------------------------------------------------------------------------------


def test_cmmlu_reads_the_released_csv_layout(tmp_path: Path):
    data.write_csv(tmp_path / "test" / "agronomy.csv", data.CMMLU_ROWS)
    benchmark = bench("cmmlu")
    samples = list(benchmark.load("agronomy", DatasetLoader({"cmmlu": str(tmp_path / "test")})))
    assert [s.target for s in samples] == ["B", "C"] and samples[1].choices == ["水稻", "小麦", "大豆", "玉米"]
    assert samples[0].metadata["breakdown"] == ["other"]
    assert benchmark.score(samples[1], "大豆属于豆科植物。\n答案：C").passed
    assert len(get_benchmark("cmmlu").subsets) == 67


def test_cmmlu_reads_the_reference_systems_modelscope_rows(tmp_path: Path):
    """The rows EvalScope evaluates (`evalscope/cmmlu`): one table, `category` selects the subject,
    `(X)` labels are dropped and the gold letter comes from `"(B) 土地"`."""
    path = write_jsonl(tmp_path / "test.jsonl", data.CMMLU_MODELSCOPE_ROWS)
    benchmark = bench("cmmlu")
    agronomy = list(benchmark.load("agronomy", DatasetLoader({"cmmlu": str(path)})))
    assert [s.target for s in agronomy] == ["B", "C"] and [s.id for s in agronomy] == ["test_1", "test_2"]
    assert agronomy[1].choices == ["水稻", "小麦", "大豆", "玉米"] and "(A)" not in str(agronomy[1].input)
    assert agronomy[0].metadata["breakdown"] == ["other"]
    assert benchmark.score(agronomy[1], "大豆属于豆科植物。\n答案：C").passed
    anatomy = list(benchmark.load("anatomy", DatasetLoader({"cmmlu": str(tmp_path)})))  # the folder, too
    assert [(s.target, s.choices[1]) for s in anatomy] == [("B", "皮肤")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"choices": ["(A) 水稻", "(B) 小麦", "(C) 大豆"]}, "choices must be a list of 4 labelled options"),
        ({"choices": ["(A) 水稻", "(C) 小麦", "(B) 大豆", "(D) 玉米"]}, "option B must start with '\\(B\\) '"),
        ({"answer": "(E) 其他"}, "not one of the 4 option letters"),
    ],
)
def test_a_bad_modelscope_cmmlu_row_names_file_and_line(tmp_path: Path, change: dict, message: str):
    rows = [data.CMMLU_MODELSCOPE_ROWS[0], {**data.CMMLU_MODELSCOPE_ROWS[1], **change}]
    path = write_jsonl(tmp_path / "test.jsonl", rows)
    with pytest.raises(DatasetError, match=rf"test.jsonl:2: .*{message}"):
        load("cmmlu", "agronomy", {"cmmlu": path})


# -- ARC -----------------------------------------------------------------------------------------


def test_arc_subsets_map_to_configurations_and_relabel_numeric_options(tmp_path: Path):
    write_jsonl(tmp_path / "arc" / "ARC-Challenge.jsonl", data.ARC_ROWS["ARC-Challenge"])  # the dataset's name
    write_jsonl(tmp_path / "arc" / "arc_easy.jsonl", data.ARC_ROWS["ARC-Easy"])  # the mark name
    benchmark = bench("arc", protocol="native")
    loader = DatasetLoader({"arc": str(tmp_path / "arc")})
    challenge = list(benchmark.load("arc_challenge", loader))
    assert [s.target for s in challenge] == ["A", "C"]
    assert challenge[1].choices == ["coal", "oil", "wind"] and "(A, B or C)" in str(challenge[1].input)
    assert benchmark.score(challenge[1], "Wind is renewable.\nAnswer: C").passed
    assert [s.target for s in benchmark.load("arc_easy", loader)] == ["B"]


# -- HellaSwag -----------------------------------------------------------------------------------


def test_hellaswag_cleans_wikihow_markup_and_reads_string_labels(tmp_path: Path):
    path = write_jsonl(tmp_path / "hellaswag.jsonl", data.HELLASWAG_ROWS)
    samples = load("hellaswag", "default", {"hellaswag": path}, protocol="native")
    assert [s.target for s in samples] == ["D", "D"] and [s.id for s in samples] == ["24", "92"]
    assert "[header]" not in str(samples[1].input) and "[title]" not in str(samples[1].input)
    assert "Activity: Clean and jerk" in str(samples[1].input)
    assert "How to lift weights. A lady walks to a barbell." in str(samples[1].input)


# -- GPQA Diamond --------------------------------------------------------------------------------


def test_gpqa_gold_letters_are_balanced_and_stable(tmp_path: Path):
    path = write_jsonl(tmp_path / "gpqa.jsonl", data.gpqa_rows(8))
    first = load("gpqa_diamond", "diamond", {"gpqa_diamond": path}, protocol="native")
    again = load("gpqa_diamond", "diamond", {"gpqa_diamond": path}, protocol="native")
    assert Counter(s.target for s in first) == {"A": 2, "B": 2, "C": 2, "D": 2}
    assert [s.input for s in first] == [s.input for s in again]
    for index, sample in enumerate(first):
        gold = "ABCD".index(str(sample.target))
        assert (sample.choices or [])[gold] == f"right {index}"
        assert sorted(sample.choices or []) == sorted([f"right {index}", *(f"wrong {index}{x}" for x in "abc")])
    reseeded = load("gpqa_diamond", "diamond", {"gpqa_diamond": path}, seed="1", protocol="native")
    assert [s.target for s in reseeded] != [s.target for s in first]


def test_gpqa_scoring(tmp_path: Path):
    path = write_jsonl(tmp_path / "gpqa.jsonl", data.gpqa_rows(2))
    benchmark = bench("gpqa_diamond")
    sample = list(benchmark.load("diamond", DatasetLoader({"gpqa_diamond": str(path)})))[1]
    assert sample.target == "B" and sample.id == "rec00001"
    assert benchmark.score(sample, "Angular momentum is conserved...\n\nAnswer: B").passed
    assert not benchmark.score(sample, "**Answer: A**").passed


# -- TruthfulQA ----------------------------------------------------------------------------------


@pytest.fixture
def truthfulqa_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "truthfulqa.jsonl", data.TRUTHFULQA_ROWS)


def test_truthfulqa_mc1_is_a_shuffled_single_answer_question(truthfulqa_file: Path):
    benchmark = bench("truthfulqa")
    samples = list(benchmark.load("mc1", DatasetLoader({"truthfulqa": str(truthfulqa_file)})))
    for sample, row in zip(samples, data.TRUTHFULQA_ROWS, strict=False):
        truth = row["mc1_targets"]["choices"][0]
        assert (sample.choices or [])["ABCDE".index(str(sample.target))] == truth
    assert [s.target for s in samples] != ["A", "A"]  # the dataset lists the truth first; shuffled it is not
    sample = samples[0]
    assert benchmark.score(sample, f"Seeds are harmless.\nAnswer: {sample.target}").metrics == {"mc1": 1.0}
    wrong = next(letter for letter in "ABCD" if letter != sample.target)
    assert benchmark.score(sample, f"Answer: {wrong}").metrics == {"mc1": 0.0}


def test_truthfulqa_mc2_select_scores_the_share_of_selected_options_that_are_true(truthfulqa_file: Path):
    benchmark = bench("truthfulqa", protocol="native")
    sample = next(iter(benchmark.load("mc2_select", DatasetLoader({"truthfulqa": str(truthfulqa_file)}))))
    gold = sorted(sample.target)
    assert len(gold) == 2 and "ALL the true answers" in str(sample.input)
    false = [letter for letter in "ABCD" if letter not in gold]
    both = benchmark.score(sample, f"Answer: {gold[0]}, {gold[1]}")
    assert both.passed and both.metrics == {"mc2_select": 1.0, "mc2_select_recall": 1.0}
    one = benchmark.score(sample, f"Answer: {gold[1]}")
    assert one.passed and one.metrics == {"mc2_select": 1.0, "mc2_select_recall": 0.5}
    mixed = benchmark.score(sample, f"The first is right.\nAnswer: {gold[0]} and {false[0]}")
    assert not mixed.passed and mixed.metrics == {"mc2_select": 0.5, "mc2_select_recall": 0.5}
    none = benchmark.score(sample, "I cannot tell.")
    assert not none.passed and none.metrics == {"mc2_select": 0.0, "mc2_select_recall": 0.0}


def test_truthfulqa_aggregate_keeps_mc1_and_mc2_apart():
    per_sample = [{"mc1": 1.0}, {"mc1": 0.0}, {"mc2_select": 0.5, "mc2_select_recall": 1.0}]
    assert get_benchmark("truthfulqa").aggregate(per_sample) == {
        "mc1": 0.5,
        "mc2_select": 0.5,
        "mc2_select_recall": 1.0,
    }
