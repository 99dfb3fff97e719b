"""Log-likelihood multiple choice (`--llm-output-type multiple_choice`) in real runs against the loopback
server, which returns known prompt log-probabilities (a token's value by its text; others -1.0).

The expected sums are worked by hand from `KNOWN`; the fake server splits text into words with their
leading space, so the continuation ` slices it into thin rings` is 5 tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.benchmarks.output_types import LOGLIK_KEY
from pytest_llmeval.benchmarks.registry import get_benchmark
from pytest_llmeval.errors import ConfigError
from pytest_llmeval.testing import FakeOpenAIServer
from tests.conftest import write_jsonl
from tests.core.loopback import JsonHandler, ThreadedServer

KNOWN = {"eats": -2.0, "slices": -0.5, "it": -0.25, "into": -0.25, "thin": -0.5, "rings": -1.0,
         "flies": -3.0, "sings": -2.0, "loudly": -2.0}  # fmt: skip
ENDINGS = ["eats", "slices it into thin rings", "flies", "sings loudly"]


def hellaswag_row(ind: int, label: str, ctx_a: str = "A man stands at a counter.") -> dict[str, Any]:
    return {"ind": ind, "activity_label": "Cooking", "ctx_a": ctx_a, "ctx_b": "he",
            "endings": ENDINGS, "label": label}  # fmt: skip


def run(pytester: pytest.Pytester, server: FakeOpenAIServer, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "-p", "no:randomly",
        "--llm-dataset", "hellaswag=hs.jsonl", "-m", "hellaswag", "--llm-results", "r.json", "--llm-samples", "s.jsonl",
        *args,
    )  # fmt: skip


def results(pytester: pytest.Pytester) -> dict[str, Any]:
    return json.loads((pytester.path / "r.json").read_text())["benchmarks"]["hellaswag"]


def records(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (pytester.path / "s.jsonl").read_text().splitlines()]


def test_acc_and_acc_norm_of_a_four_choice_sample_worked_by_hand(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    # sums: eats -2.0, slices it into thin rings -2.5, flies -3.0, sings loudly -4.0 -> acc picks A;
    # per character of the ending: -0.5, -0.1, -0.6, -0.333 -> acc_norm picks B, the gold.
    server = start_server(token_logprobs=KNOWN)
    write_jsonl(pytester.path / "hs.jsonl", [hellaswag_row(7, "1")])
    result = run(pytester, server, "--llm-output-type", "hellaswag=multiple_choice")
    result.assert_outcomes(failed=1)  # acc decides the item's verdict
    data = results(pytester)
    assert data["metrics"] == {"acc": 0.0, "acc_norm": 1.0} and data["output_type"] == "multiple_choice"
    assert data["uncertainty"]["acc_norm"]["method"] == "wilson" and data["uncertainty"]["acc_norm"]["n"] == 1
    assert data["protocol"] is None  # the cloze prompt, no chat protocol
    (record,) = records(pytester)
    assert [c["logprob"] for c in record["choice_logprobs"]] == [-2.0, -2.5, -3.0, -4.0]
    assert [c["tokens"] for c in record["choice_logprobs"]] == [1, 5, 1, 2]
    assert record["extracted"] == "A" and record["target"] == "B" and record["requests"] == 4
    # lm-eval's hellaswag context: "<activity>: <ctx_a> <Ctx_b>"
    assert record["messages"] == [{"role": "user", "content": "Cooking: A man stands at a counter. He"}]
    assert "highest log-likelihood: A (-2.000); gold B (-2.500)" in result.stdout.str()


def test_cached_rerun_sends_nothing_and_two_workers_give_the_same_numbers(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(token_logprobs=KNOWN)
    write_jsonl(pytester.path / "hs.jsonl", [hellaswag_row(i, str(i % 4), f"Scene {i}.") for i in range(8)])
    run(pytester, server, "--llm-output-type", "multiple_choice", "-n", "2")
    first, first_records = results(pytester), records(pytester)
    # 8 samples x 4 choices, each context its own: 32 distinct requests, whichever worker sends them
    assert server.stats()["generation_requests"] == 32
    assert first["count"] == 8 and first["metrics"] == {"acc": 0.25, "acc_norm": 0.25}
    again = run(pytester, server, "--llm-output-type", "multiple_choice")
    assert "0 sent, 32 answers from the cache" in again.stdout.str() and server.stats()["generation_requests"] == 32
    assert results(pytester)["metrics"] == first["metrics"]
    by_id = {r["id"]: r["choice_logprobs"] for r in first_records}
    assert {r["id"]: r["choice_logprobs"] for r in records(pytester)} == by_id
    assert all(r["requests_cached"] == 4 for r in records(pytester))


def test_a_server_without_prompt_logprobs_is_an_error_naming_it_never_a_wrong_answer(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(prompt_logprobs="generated_only")
    write_jsonl(pytester.path / "hs.jsonl", [hellaswag_row(1, "0")])
    result = run(pytester, server, "--llm-output-type", "hellaswag:multiple_choice")
    result.assert_outcomes(errors=1)
    (record,) = records(pytester)
    assert record["error_kind"] == "no_prompt_logprobs" and record["passed"] is None
    assert server.base_url in record["error"] and "generated tokens only" in record["error"]
    assert results(pytester)["metrics"] == {}


def test_generative_stays_the_default(pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(rules=[{"contains": "counter", "reply": "Answer: B"}])
    write_jsonl(pytester.path / "hs.jsonl", [hellaswag_row(1, "1")])
    run(pytester, server).assert_outcomes(passed=1)
    assert results(pytester)["output_type"] == "generate_until" and "acc_norm" not in results(pytester)["metrics"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["-m", "gsm8k", "--llm-output-type", "gsm8k=multiple_choice"],
            "'gsm8k' has no log-likelihood form",
        ),
        (
            ["-m", "gsm8k or hellaswag", "--llm-output-type", "multiple_choice"],
            "'gsm8k' has no log-likelihood form",
        ),
        (
            ["-m", "hellaswag", "--llm-output-type", "loglik"],
            "--llm-output-type expects NAME or BENCH=NAME",
        ),
    ],
)
def test_a_benchmark_without_a_loglik_form_is_one_usage_error(
    pytester: pytest.Pytester,
    start_server: Callable[..., FakeOpenAIServer],
    args: list[str],
    expected: str,
) -> None:
    server = start_server()
    result = pytester.runpytest_subprocess("--llm-model", "m", "--llm-base-url", server.base_url, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert expected in text and "Traceback" not in text
    if "no log-likelihood form" in expected:
        assert "hellaswag" in text and "piqa" in text and "winogrande" in text  # the ones that have it


# -- the benchmarks' log-likelihood forms ------------------------------------------------------


def sample_of(name: str, record: dict[str, Any], subset: str = "default", **args: str) -> Any:
    bench = get_benchmark(name)({"output_type": "multiple_choice", **args})
    return bench.record_to_sample(record, 0, subset)


def test_winogrande_partial_scoring_varies_the_context_and_fixes_the_continuation() -> None:
    row = {"qID": "q1", "sentence": "The trophy does not fit in the suitcase because the _ is too big.",
           "option1": "trophy", "option2": "suitcase", "answer": "1"}  # fmt: skip
    spec = sample_of("winogrande", row).metadata[LOGLIK_KEY]
    assert spec["contexts"] == ["The trophy does not fit in the suitcase because the trophy",
                                "The trophy does not fit in the suitcase because the suitcase"]  # fmt: skip
    assert spec["continuations"] == [" is too big.", " is too big."] and spec["gold"] == 0


def test_arc_piqa_and_mmlu_cloze_score_the_answer_text_after_question_answer() -> None:
    arc = {"id": "a1", "question": "What melts ice?", "choices": {"text": ["heat", "cold"], "label": ["A", "B"]},
           "answerKey": "A"}  # fmt: skip
    piqa = {
        "goal": "Open a jar",
        "sol1": "twist the lid",
        "sol2": "eat the lid",
        "label": 0,
    }
    mmlu = {"question": "2+2?", "choices": ["3", "4", "5", "6"], "answer": 1}
    for name, row, subset, conts, gold in [
        ("arc", arc, "arc_easy", [" heat", " cold"], 0),
        ("piqa", piqa, "default", [" twist the lid", " eat the lid"], 0),
        ("mmlu", mmlu, "abstract_algebra", [" 3", " 4", " 5", " 6"], 1),
    ]:
        spec = sample_of(name, row, subset).metadata[LOGLIK_KEY]
        assert spec["continuations"] == conts and spec["gold"] == gold
        assert set(spec["contexts"]) == {f"Question: {row.get('question') or row.get('goal')}\nAnswer:"}


def test_mmlu_cloze_subject_line_is_smollms_own_prompt_when_asked() -> None:
    row = {"question": "2+2?", "choices": ["3", "4", "5", "6"], "answer": 1}
    plain = sample_of("mmlu", row, "abstract_algebra").metadata[LOGLIK_KEY]
    headed = sample_of("mmlu", row, "abstract_algebra", cloze_subject="on").metadata[LOGLIK_KEY]
    assert set(plain["contexts"]) == {"Question: 2+2?\nAnswer:"}  # the default is unchanged
    assert set(headed["contexts"]) == {"The following are questions about abstract algebra.\nQuestion: 2+2?\nAnswer:"}
    assert headed["continuations"] == plain["continuations"] and headed["gold"] == plain["gold"] == 1
    with pytest.raises(ConfigError, match="cloze_subject must be on or off"):
        sample_of("mmlu", row, "abstract_algebra", cloze_subject="yes please")


def test_mmlu_cloze_is_zero_shot_unless_a_few_shot_count_is_given() -> None:
    assert (
        sample_of("mmlu", {"question": "q", "choices": ["a", "b"], "answer": 0}, "anatomy").metadata.get("few_shot")
        is None
    )
    # the evalscope protocol's 5 examples are for its chat prompt; an explicit count is honoured
    assert get_benchmark("mmlu")({"output_type": "multiple_choice"}).loglik_shot_count() == 0
    assert get_benchmark("mmlu")({"output_type": "multiple_choice", "few_shot_num": "5"}).loglik_shot_count() == 5


def test_piqa_reads_the_release_files_as_published(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(token_logprobs={"twist": -0.5, "eat": -3.0, "boil": -4.0, "pour": -0.5})
    folder = pytester.path / "piqa"
    write_jsonl(folder / "valid.jsonl", [{"goal": "Open a jar", "sol1": "twist", "sol2": "eat"},
                                         {"goal": "Fill a cup", "sol1": "boil", "sol2": "pour"}])  # fmt: skip
    (folder / "valid-labels.lst").write_text("0\n1\n", encoding="utf-8")
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "--llm-dataset", "piqa=piqa", "-m", "piqa",
        "--llm-output-type", "piqa=multiple_choice", "--llm-results", "r.json",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    assert json.loads((pytester.path / "r.json").read_text())["benchmarks"]["piqa"]["metrics"]["acc"] == 1.0
    (folder / "valid-labels.lst").write_text("0\n", encoding="utf-8")
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "--llm-dataset", "piqa=piqa/valid.jsonl", "-m", "piqa",
    )  # fmt: skip
    assert "valid-labels.lst has 1 labels but valid.jsonl has more rows (row 2 has no label)" in result.stdout.str()


def test_chat_template_on_wraps_the_context_from_a_template_file(
    tmp_path: Path,
) -> None:
    from pytest_llmeval.endpoint.chat_template import context_wrapper
    from pytest_llmeval.engine.loglik import bodies
    from pytest_llmeval.settings import EndpointSettings, RunSettings

    template = tmp_path / "t.jinja"
    template.write_text(
        "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}",
        encoding="utf-8",
    )
    settings = RunSettings(
        endpoint=EndpointSettings(model="m", base_url="http://x/v1"),
        chat_template_file=template,
    )
    sample = sample_of(
        "piqa",
        {"goal": "Open a jar", "sol1": "twist", "sol2": "eat", "label": 0},
        chat_template="on",
    )
    prompts = [b["prompt"] for b in bodies("m", sample, context_wrapper(settings))]
    assert prompts == ["<|user|>Question: Open a jar\nAnswer:<|end|><|assistant|> twist",
                       "<|user|>Question: Open a jar\nAnswer:<|end|><|assistant|> eat"]  # fmt: skip
    assert get_benchmark("piqa")({"chat_template": "on"}).chat_template is True
    with pytest.raises(ConfigError, match="chat_template must be on or off"):
        get_benchmark("piqa")({"chat_template": "maybe"})


def test_the_html_sample_detail_lists_each_choices_log_probability() -> None:
    from pytest_llmeval.report.sample_table import _detail
    from pytest_llmeval.results import SampleRecord

    record = SampleRecord(
        nodeid="hellaswag/default::7", benchmark="hellaswag", subset="default", id="7", extracted="A", target="B",
        choice_logprobs=[{"continuation": " eats", "logprob": -2.0, "tokens": 1},
                         {"continuation": " slices it", "logprob": -2.5, "tokens": 2}],
    )  # fmt: skip
    lines = (_detail(record, []).get("choice_logprobs") or "").splitlines()
    assert lines == [
        "A  -2.0000  (1 tokens)  ' eats' <- chosen",
        "B  -2.5000  (2 tokens)  ' slices it'",
    ]
    plain = SampleRecord(nodeid="q::1", benchmark="q", subset="s", id="1")
    assert _detail(plain, []).get("choice_logprobs") is None


@pytest.mark.parametrize("offsets", ["chars", "bytes"])
def test_multibyte_continuations_split_at_the_servers_offsets(
    pytester: pytest.Pytester,
    start_server: Callable[..., FakeOpenAIServer],
    offsets: str,
) -> None:
    server = start_server(
        token_logprobs={"猫": -0.25, "🐱": -0.5, "狗": -3.0, "答": -9.0},
        prompt_logprobs=offsets,
    )
    write_jsonl(
        pytester.path / "p.jsonl",
        [{"goal": "答案是", "sol1": "猫🐱", "sol2": "狗", "label": 0}],
    )
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "--llm-dataset", "piqa=p.jsonl", "-m", "piqa",
        "--llm-output-type", "piqa=multiple_choice", "--llm-samples", "s.jsonl",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    (record,) = [json.loads(line) for line in (pytester.path / "s.jsonl").read_text().splitlines()]
    assert [(c["logprob"], c["tokens"]) for c in record["choice_logprobs"]] == [
        (-0.75, 2),
        (-3.0, 1),
    ]


class NonFiniteLogprobServer:
    """Echoes a completions prompt with one log-probability per word (-1.0), `value` for the word `slices`."""

    def __init__(self, value: float) -> None:
        class Handler(JsonHandler):
            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": "m"}]})

            def do_POST(self) -> None:
                prompt = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["prompt"]
                words = list(re.finditer(r"\s*\S+", prompt))
                logprobs = {
                    "tokens": [w.group() for w in words],
                    "text_offset": [w.start() for w in words],
                    "token_logprobs": [value if w.group().strip() == "slices" else -1.0 for w in words],
                }
                choice = {"index": 0, "text": prompt, "logprobs": logprobs, "finish_reason": "length"}
                self._send({"choices": [choice]})

        self.server = ThreadedServer(Handler)
        self.base_url = self.server.base_url


@pytest.mark.parametrize("value", [float("inf"), float("nan")], ids=["Infinity", "NaN"])
def test_a_log_probability_that_is_not_finite_is_an_error_never_a_score(
    pytester: pytest.Pytester, value: float
) -> None:
    """`Infinity` and `NaN` parse as JSON numbers: a server that gives the gold ending `Infinity` made the
    sample pass (NaN: an arbitrary verdict). The sample errors instead, naming what the server sent."""
    server = NonFiniteLogprobServer(value)
    try:
        write_jsonl(pytester.path / "hs.jsonl", [hellaswag_row(7, "1")])
        result = run(pytester, server, "--llm-output-type", "hellaswag=multiple_choice")
    finally:
        server.server.close()
    result.assert_outcomes(errors=1)
    (record,) = records(pytester)
    assert record["error_kind"] == "no_prompt_logprobs" and "NaN or infinite" in record["error"]
