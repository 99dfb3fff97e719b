"""MathVista, MMMU-Pro and OmniBench end to end: files in each release's schema, a loopback server
that keeps the bodies it received, and realistic outputs scored."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.multimodal.data import math_vista_dir, png, wav, write_jsonl
from tests.runs import dataset, llm_args


def run(pytester: pytest.Pytester, server: Any, *args: str) -> tuple[pytest.RunResult, list[dict[str, Any]]]:
    samples = pytester.path / "samples.jsonl"
    outcome = pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="vl-model"),
        "-v",
        "--llm-samples",
        str(samples),
        "--llm-results",
        str(pytester.path / "results.json"),
        *args,
    )
    records = [json.loads(line) for line in samples.read_text().splitlines()] if samples.exists() else []
    return outcome, records


def images_of(body: dict[str, Any]) -> list[bytes]:
    return [
        base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
        for part in body["messages"][-1]["content"]
        if part["type"] == "image_url"
    ]


def body_with(server: Any, text: str) -> dict[str, Any]:
    bodies = server.stats()["chat_bodies"]
    return next(b for b in bodies if any(text in p.get("text", "") for p in b["messages"][-1]["content"]))


def test_math_vista_parts_resize_and_scoring(pytester: pytest.Pytester, start_server: Any):
    data = math_vista_dir(pytester.path / "MathVista")
    server = start_server(
        keep_chat_bodies=20,
        rules=[
            {"contains": "red bar", "reply": "The bar spans 3.5 units. \\boxed{3.5 cm}"},
            {"contains": "How many squares", "reply": "I count them. \\boxed{8}"},
            {"contains": "Which color", "reply": "It is blue.\nAnswer: C"},
        ],
    )
    outcome, records = run(
        pytester,
        server,
        *dataset("math_vista", data),
        "--llm-image-max-side",
        "256",
        "--llm-image-format",
        "jpeg",
    )
    outcome.assert_outcomes(passed=2, failed=1)
    bar = body_with(server, "red bar")
    parts = bar["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url"]
    assert parts[0]["text"].endswith("put your final answer within \\boxed{} without units.")
    (image,) = images_of(bar)
    assert Image.open(io.BytesIO(image)).size == (256, 128)  # 800x400 downscaled, aspect kept
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    by_id = {r["id"]: r for r in records}
    assert by_id["1"]["passed"] is True and by_id["2"]["passed"] is False and by_id["3"]["passed"] is True
    media = by_id["1"]["messages"][-1]["content"][1]["image_url"]
    assert media == {"sha256": hashlib.sha256(image).hexdigest(), "bytes": len(image), "format": "jpeg"}
    assert "base64" not in (pytester.path / "samples.jsonl").read_text()
    result = json.loads((pytester.path / "results.json").read_text())["benchmarks"]["math_vista"]
    assert result["metrics"]["acc"] == pytest.approx(2 / 3)
    assert result["metrics"]["acc_figure_question_answering"] == 1.0


def test_math_vista_unreadable_image_fails_that_sample_only(pytester: pytest.Pytester, start_server: Any):
    data = math_vista_dir(pytester.path / "MathVista")
    (data.parent / "images" / "2.png").write_bytes(b"\x89PNG broken")
    server = start_server(keep_chat_bodies=20, rules=[{"contains": "Which color", "reply": "Answer: C"}])
    outcome, records = run(pytester, server, *dataset("math_vista", data))
    outcome.assert_outcomes(passed=1, failed=1, errors=1)
    outcome.stdout.fnmatch_lines(["*image field 'image': not a readable image*"])
    errored = next(r for r in records if r["id"] == "2")
    assert errored["error_kind"] == "media"
    assert not any("How many squares" in json.dumps(b) for b in server.stats()["chat_bodies"])


MMMU_ROWS = [
    {
        "id": "validation_Art_1",
        "question": "Compare <image 2> with <image 1>. Which is brighter?",
        "options": "['the first', 'the second', 'both', 'neither']",
        "answer": "B",
        "subject": "Art",
        "img_type": "['Paintings']",
        "topic_difficulty": "Easy",
    }
]


def test_mmmu_pro_placeholders_map_images_in_order(pytester: pytest.Pytester, start_server: Any):
    folder = pytester.path / "mmmu"
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "one.png").write_bytes(png(10, 10, (0, 0, 0)))
    (folder / "img" / "two.png").write_bytes(png(20, 10, (255, 255, 255)))
    (folder / "img" / "three.png").write_bytes(png(30, 10, (90, 90, 90)))
    rows = [{**MMMU_ROWS[0], "image_1": "img/one.png", "image_2": "img/two.png", "image_3": "img/three.png"}]
    write_jsonl(folder / "standard_4.jsonl", rows)
    write_jsonl(
        folder / "vision.jsonl",
        [{"id": "v1", "image": "img/three.png", "options": ["a", "b", "c", "d"], "answer": "D", "subject": "Art"}],
    )
    server = start_server(
        keep_chat_bodies=20,
        rules=[
            {"contains": "Which is brighter", "reply": "The second one.\nAnswer: B"},
            {"contains": "shown in the image", "reply": "Answer: A"},
        ],
    )
    # the native layout (unreferenced images follow); `evalscope`'s is checked in tests/benchmarks/test_protocols.py
    outcome, _records = run(
        pytester,
        server,
        *dataset("mmmu_pro", folder),
        "--llm-bench-arg",
        "mmmu_pro.subset_list=standard_4,vision",
        "--llm-protocol",
        "native",
    )
    outcome.assert_outcomes(passed=1, failed=1)
    body = body_with(server, "Which is brighter")
    parts = body["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text", "image_url"]
    assert parts[0]["text"].endswith("Question: Compare ")
    assert parts[2]["text"].startswith(" with ")
    sizes = [Image.open(io.BytesIO(raw)).size[0] for raw in images_of(body)]
    assert sizes == [20, 10, 30]  # <image 2>, <image 1>, then the unreferenced image 3
    assert "(D) neither" in parts[4]["text"] or "D. neither" in parts[4]["text"]
    vision = body_with(server, "shown in the image")
    assert vision["messages"][-1]["content"][0]["type"] == "image_url"


def omni_rows(folder: Path) -> Path:
    (folder / "media").mkdir(parents=True)
    (folder / "media" / "0.png").write_bytes(png(16, 16, (0, 128, 0)))
    (folder / "media" / "0.wav").write_bytes(wav())
    return write_jsonl(
        folder / "omni.jsonl",
        [
            {
                "index": 0,
                "task type": "Action and Activity",
                "audio type": "speech",
                "question": "What is the man in the picture doing while he speaks?",
                "options": ["cooking", "running", "singing", "sleeping"],
                "answer": "cooking",
                "image_path": "media/0.png",
                "audio_path": "media/0.wav",
                "image content": "A man stands at a stove stirring a pot.",
                "audio content": "Let me add some salt.",
            }
        ],
    )


@pytest.mark.parametrize(
    ("protocol", "use_image", "use_audio", "kinds", "described"),
    [
        ("native", "true", "true", ["image_url", "input_audio", "text"], []),
        ("native", "false", "true", ["input_audio", "text"], ["Image content: A man stands at a stove"]),
        ("native", "true", "false", ["image_url", "text"], ["Audio content: Let me add some salt."]),
        ("evalscope", "true", "true", ["text", "image_url", "input_audio"], []),
        (
            "evalscope",
            "false",
            "true",
            ["text", "text", "input_audio"],
            ["[Image Alternative Text]: A man stands at a stove"],
        ),
        (
            "evalscope",
            "true",
            "false",
            ["text", "image_url", "text"],
            ["[Audio Alternative Text]: Let me add some salt."],
        ),
    ],
)
def test_omni_bench_media_switches(
    pytester: pytest.Pytester, start_server: Any, protocol, use_image, use_audio, kinds, described
):
    data = omni_rows(pytester.path / "omni")
    server = start_server(
        keep_chat_bodies=5, rules=[{"contains": "man in the picture", "reply": "He cooks.\nAnswer: A"}]
    )
    outcome, _records = run(
        pytester,
        server,
        *dataset("omni_bench", data),
        "--llm-bench-arg",
        f"omni_bench.use_image={use_image}",
        "--llm-bench-arg",
        f"omni_bench.use_audio={use_audio}",
        "--llm-protocol",
        protocol,
    )
    outcome.assert_outcomes(passed=1)
    (body,) = server.stats()["chat_bodies"]
    parts = body["messages"][-1]["content"]
    assert [p["type"] for p in parts] == kinds
    for text in described:
        assert any(text in p.get("text", "") for p in parts)
    audio = [p for p in parts if p["type"] == "input_audio"]
    if audio:
        assert audio[0]["input_audio"]["format"] == "wav"
        assert base64.b64decode(audio[0]["input_audio"]["data"]) == wav()
    result = json.loads((pytester.path / "results.json").read_text())["benchmarks"]["omni_bench"]["metrics"]
    assert result["acc"] == 1.0 and result["acc_task_action_and_activity"] == 1.0 and result["acc_audio_speech"] == 1.0


def test_bad_use_image_value_is_a_usage_error(pytester: pytest.Pytester, start_server: Any):
    data = omni_rows(pytester.path / "omni")
    server = start_server()
    outcome, _ = run(
        pytester,
        server,
        *dataset("omni_bench", data),
        "--llm-bench-arg",
        "omni_bench.use_image=maybe",
    )
    assert "omni_bench.use_image must be true or false" in outcome.stdout.str() + outcome.stderr.str()
    assert outcome.ret != 0


def test_thresholds_gate_the_data_defined_breakdowns(pytester: pytest.Pytester, start_server: Any):
    """`acc_<task>` (MathVista), `acc_<subject>` (MMMU-Pro), `acc_task_*` / `acc_audio_*` (OmniBench)
    are reported by the data's labels, and a threshold may gate them; a label the data lacks (a typo)
    fails with the metrics that were reported, never passes."""
    data = math_vista_dir(pytester.path / "MathVista")
    server = start_server(
        rules=[
            {"contains": "red bar", "reply": "\\boxed{3.5}"},
            {"contains": "How many squares", "reply": "\\boxed{8}"},
            {"contains": "Which color", "reply": "Answer: C"},
        ]
    )
    gates = [
        "--llm-threshold",
        "math_vista.acc_figure_question_answering>=0.9",
        "--llm-threshold",
        "math_vista.acc_math_word_problem<0.5",
        "--llm-threshold",
        "math_vista.acc_figure_question_answring>=0.5",
    ]
    outcome, _ = run(pytester, server, *dataset("math_vista", data), *gates)
    out = outcome.stdout.str()
    assert "PASS  math_vista.acc_figure_question_answering>=0.9  (actual 1.0000)" in out
    assert "PASS  math_vista.acc_math_word_problem<0.5  (actual 0.0000)" in out
    assert (
        "FAIL  math_vista.acc_figure_question_answring>=0.5  (actual missing; no value: no sample reported "
        "acc_figure_question_answring; reported: acc, acc_figure_question_answering, acc_math_word_problem)"
    ) in out
    assert outcome.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize(
    "expression",
    [
        "omni_bench.acc_task_count_and_quantity>=0.5",
        "omni_bench.acc_audio_music>=0.5",
        "mmmu_pro.acc_art_theory>=0.5",
        "math_vista.acc_geometry_problem_solving>=0.5",
    ],
)
def test_breakdown_thresholds_are_accepted(expression: str):
    from pytest_llmeval.benchmarks import all_benchmarks
    from pytest_llmeval.gating.thresholds import check_rule, parse_threshold

    check_rule(parse_threshold(expression), all_benchmarks(), None)


@pytest.mark.parametrize(
    "expression", ["omni_bench.acc_music>=0.5", "omni_bench.acc_task_>=0.5", "math_vista.accuracy>=0.5"]
)
def test_other_metric_names_are_still_refused(expression: str):
    from pytest_llmeval.benchmarks import all_benchmarks
    from pytest_llmeval.errors import ThresholdError
    from pytest_llmeval.gating.thresholds import check_rule, parse_threshold

    with pytest.raises(ThresholdError, match=r"has no metric .*metrics: acc, acc_"):
        check_rule(parse_threshold(expression), all_benchmarks(), None)


@pytest.mark.parametrize("options", ["-" * 100_000 + "1", "not " * 30_000 + "1"], ids=["unary minus", "not"])
def test_mmmu_pro_options_the_parser_cannot_hold_are_one_error_naming_the_row(
    pytester: pytest.Pytester, start_server: Any, options: str
):
    """`options` is a Python literal in a string, read with `ast.literal_eval`: 100,000 nested operators
    make CPython's parser raise MemoryError, which ended the run as an INTERNALERROR."""
    folder = pytester.path / "mmmu"
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "one.png").write_bytes(png(10, 10, (0, 0, 0)))
    rows = [{**MMMU_ROWS[0], "question": "Which is brighter? <image 1>", "image_1": "img/one.png", "options": options}]
    for config in ("standard_4", "standard_10", "vision"):
        write_jsonl(folder / f"{config}.jsonl", rows)
    outcome, _ = run(pytester, start_server(), *dataset("mmmu_pro", folder))
    output = outcome.stdout.str() + outcome.stderr.str()
    assert "INTERNALERROR" not in output and outcome.ret == pytest.ExitCode.INTERRUPTED, output[-3000:]
    assert "standard_4.jsonl:1" in output and "options must be a list" in output, output[-3000:]
