"""Bad input, as users make it: one line naming the problem and the fix, exit status 4 for usage
errors, never a traceback, a silent zero or an empty run (issue 13 item 8, issue 11 item 3)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import GSM8K_ROWS, GSM8K_RULES, write_jsonl
from tests.runs import chat_requests, dataset, run


@pytest.fixture
def server(start_server):
    return start_server(rules=GSM8K_RULES)


def test_non_utf8_file_names_file_and_line(pytester, server, tmp_path):
    data = tmp_path / "gbk.jsonl"
    good = (json.dumps(GSM8K_ROWS[0]) + "\n").encode()
    data.write_bytes(good + '{"question": "几个苹果？", "answer": "#### 5"}\n'.encode("gbk"))
    result = run(pytester, server, *dataset("gsm8k", data))
    result.stdout.fnmatch_lines([f"*{data}:2: not UTF-8 text (byte 0x*re-save the file as UTF-8*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert chat_requests(server) == 0


def test_missing_dataset_path_is_a_usage_error(pytester, server, tmp_path):
    result = run(pytester, server, *dataset("gsm8k", tmp_path / "nope.jsonl"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--llm-dataset path" in result.stderr.str() and "does not exist" in result.stderr.str()


@pytest.mark.parametrize("content", ["", "\n\n", "question,answer\n"])
def test_empty_data_file_is_an_error_not_an_empty_run(pytester, server, tmp_path, content):
    data = tmp_path / ("empty.csv" if "," in content else "empty.jsonl")
    data.write_text(content)
    result = run(pytester, server, *dataset("gsm8k", data))
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error, not exit 5 "no tests ran"
    result.stdout.fnmatch_lines([f"*{data}: the file holds no rows*pass a file with data*"])


def test_unknown_benchmark_name_in_dataset_option(pytester, server, gsm8k_file):
    result = run(pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8kk={gsm8k_file}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "names no benchmark 'gsm8kk'; did you mean 'gsm8k'?" in result.stderr.str()
    assert chat_requests(server) == 0


def test_unknown_subset_name_in_dataset_option(pytester, server, gsm8k_file):
    result = run(pytester, server, "-m", "iquiz", "--llm-dataset", f"iquiz.IQQ={gsm8k_file}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "names no subset 'IQQ' of iquiz; did you mean 'IQ'?" in result.stderr.str()


@pytest.mark.parametrize(("answer", "problem"), [(None, "null"), ("about five", "is not a number"), ("", "empty")])
def test_null_or_non_numeric_gold_answer_is_a_row_error(pytester, server, tmp_path, answer, problem):
    data = write_jsonl(tmp_path / "g.jsonl", [GSM8K_ROWS[0], {"question": "q?", "answer": answer}])
    result = run(pytester, server, *dataset("gsm8k", data))
    result.stdout.fnmatch_lines([f"*{data}:2: row cannot become a 'gsm8k' sample*{problem}*"])
    assert "expected 'None'" not in result.stdout.str()
    assert chat_requests(server) == 0


@pytest.mark.parametrize("option", ["--llm-concurrency", "--llm-timeout", "--llm-serve-timeout"])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_zero_or_negative_concurrency_and_timeout_are_rejected(pytester, server, gsm8k_file, option, value):
    result = run(pytester, server, *dataset("gsm8k", gsm8k_file), option, value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{option} (ini {option[2:].replace('-', '_')}) must be greater than 0, got" in result.stderr.str()


def test_unknown_subset_in_subset_list(pytester, server, gsm8k_file):
    result = run(
        pytester,
        server,
        *dataset("gsm8k", gsm8k_file),
        "--llm-bench-arg",
        "gsm8k.subset_list=mian",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "gsm8k.subset_list names 'mian', which is no subset of gsm8k; did you mean 'main'?" in result.stderr.str()


@pytest.mark.parametrize(
    ("expr", "typo", "fix"),
    [("gsm8kk", "gsm8kk", "gsm8k"), ("gsm8k or ifevl", "ifevl", "ifeval"), ("iquiz and not EQQ", "EQQ", "EQ")],
)
def test_mark_expression_typo_gets_did_you_mean(pytester, server, gsm8k_file, expr, typo, fix):
    result = run(pytester, server, "-m", expr, "--llm-dataset", f"gsm8k={gsm8k_file}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        f"-m names {typo!r}, which is no benchmark, subset, tag or registered mark; did you mean {fix!r}"
        in result.stderr.str()
    )
    assert chat_requests(server) == 0


def test_a_users_own_registered_mark_is_no_typo(pytester, server, gsm8k_file):
    pytester.makeini("[pytest]\nmarkers =\n    gsm8x: a mark of the user's own tests\n")
    result = run(pytester, server, "-m", "gsm8k or gsm8x", "--llm-dataset", f"gsm8k={gsm8k_file}")
    result.assert_outcomes(passed=3, failed=1)


def test_bad_hub_choice(pytester, server):
    result = run(pytester, server, "-m", "gsm8k", "--llm-hub", "github")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--llm-hub (ini llm_hub, env LLM_HUB) must be one of auto, huggingface, modelscope" in result.stderr.str()


def test_subset_with_no_rows_is_a_collection_error(pytester, server, tmp_path):
    rows = [{"problem": "p", "solution": "\\boxed{1}", "type": "Algebra", "level": "Level 1"}]
    data = write_jsonl(tmp_path / "algebra.jsonl", rows)
    result = run(pytester, server, *dataset("competition_math", data))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    assert "subset 'geometry' of 'competition_math' yielded no samples" in out
    assert "none has 'type' = 'geometry'" in out and "'Algebra' (1)" in out


def test_zero_limit_is_a_usage_error(pytester, server, gsm8k_file):
    result = run(pytester, server, *dataset("gsm8k", gsm8k_file), "--llm-limit", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--llm-limit (ini llm_limit) must be 1 or more, got 0" in result.stderr.str()


def test_a_name_close_to_nothing_in_dataset_option_is_still_a_usage_error(pytester, server, gsm8k_file):
    result = run(pytester, server, *dataset("gsm8k", gsm8k_file), "--llm-dataset", f"zzqqxx={gsm8k_file}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "names no benchmark 'zzqqxx'; pytest --llm-list shows the names" in result.stderr.str()


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "max_token=16",
            "--llm-gen max_token=16: 'max_token' is not a request field (a server would ignore it); "
            "did you mean 'max_tokens'?",
        ),
        ("max_tokens=abc", "--llm-gen max_tokens=abc: max_tokens must be a whole number >= 1"),
    ],
)
def test_a_misspelt_or_mistyped_gen_field_stops_the_run_before_any_request(pytester, server, gsm8k_file, item, message):
    """A server ignores an unknown body field (`max_token`: the run goes on with its default length)
    and refuses a mistyped one for every sample: one usage error instead, nothing sent."""
    result = run(pytester, server, *dataset("gsm8k", gsm8k_file), "--llm-gen", item)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert chat_requests(server) == 0


FILE_BENCHMARK_OF_TWO_SUBSETS = """
from pytest_llmeval import file_benchmark, register_benchmark

register_benchmark(file_benchmark("levels", "rows.jsonl", kind="qa", subsets=("easy", "hard"), subset_field="level"))
"""


def test_a_file_benchmark_whose_rows_name_no_subset_says_so_not_that_the_file_is_empty(pytester, server):
    """`file_benchmark(..., subsets=("easy", "hard"))` over rows without the subset field: they were all
    dropped, and the error claimed "the data has no rows"; the loader's rule now applies, with its error
    naming the field and the fixes, and its use of the file whole when -m selects one subset."""
    pytester.makeconftest(FILE_BENCHMARK_OF_TWO_SUBSETS)
    write_jsonl(
        pytester.path / "rows.jsonl", [{"question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": "4"}]
    )
    result = run(pytester, server, "-m", "levels")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    assert "the data has no rows" not in out
    assert "rows.jsonl:1: benchmark 'levels' has several subsets and this row has no 'level' field" in out
    assert chat_requests(server) == 0
    whole = run(pytester, server, "-m", "levels and easy", "--collect-only", "-q")
    assert whole.ret == pytest.ExitCode.OK
    whole.stdout.fnmatch_lines(["levels/easy::0000", "levels/easy::0001", "2 tests collected*"])


def test_a_file_benchmark_subset_without_rows_names_the_values_its_rows_have(pytester, server):
    pytester.makeconftest(FILE_BENCHMARK_OF_TWO_SUBSETS)
    write_jsonl(pytester.path / "rows.jsonl", [{"question": "1+1?", "answer": "2", "level": "Easy"}])
    result = run(pytester, server, "-m", "levels")
    result.stdout.fnmatch_lines(
        [
            "*subset 'hard' of 'levels' yielded no samples: 1 rows were read and none has 'level' = 'hard'; "
            "values of 'level' seen: 'Easy' (1)*"
        ]
    )


def test_a_file_fault_that_hits_every_subset_is_one_error_naming_them(pytester, server, tmp_path):
    """A file of rows without the subset field for a benchmark of several subsets: the same error
    stood once per selected subset (57 for `--llm-dataset mmlu=FILE -m mmlu`); it is said once."""
    from tests.conftest import IQUIZ_ROWS

    data = write_jsonl(tmp_path / "quiz.jsonl", IQUIZ_ROWS["IQ"])  # no "subset" field
    result = run(pytester, server, *dataset("iquiz", data))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    assert out.count("ERROR collecting") == 1 and "Interrupted: 1 error during collection" in out
    result.stdout.fnmatch_lines(
        [
            f"*{data}:1: benchmark 'iquiz' has several subsets and this row has no 'subset' field*"
            "(the same for 2 subsets: IQ, EQ)"
        ]
    )
    assert chat_requests(server) == 0
