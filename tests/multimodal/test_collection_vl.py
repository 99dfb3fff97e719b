"""The Qwen3-VL guide's collection shape: a PureText group (gsm8k, weight 1) beside a Vision group
(math_vista, weight 2), built from local files and run end to end. The built file carries the
images inline, as the reference system's published collections do, so it stands alone."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image

from tests.collection import build_cli
from tests.conftest import GSM8K_RULES
from tests.multimodal.data import math_vista_dir
from tests.runs import llm_args


def test_text_and_vision_collection_runs_end_to_end(pytester: pytest.Pytester, start_server: Any, gsm8k_file):
    vista = math_vista_dir(pytester.path / "MathVista")
    schema = pytester.path / "vl.json"
    schema.write_text(
        json.dumps(
            {
                "name": "VL-Test",
                "datasets": [
                    {
                        "name": "PureText",
                        "weight": 1,
                        "datasets": [{"name": "gsm8k", "task_type": "math", "tags": ["en"]}],
                    },
                    {
                        "name": "Vision",
                        "weight": 2,
                        "datasets": [{"name": "math_vista", "task_type": "math", "tags": ["en"]}],
                    },
                ],
            }
        )
    )
    suite = pytester.path / "suite.jsonl"
    built = build_cli(
        schema,
        "-n",
        "7",
        "--seed",
        "3",
        "-o",
        str(suite),
        "--llm-dataset",
        f"gsm8k={gsm8k_file}",
        "--llm-dataset",
        f"math_vista={vista}",
    )
    assert built.returncode == 0, built.stderr
    lines = [json.loads(line) for line in suite.read_text().splitlines()]
    assert {line["dataset_name"] for line in lines} == {"gsm8k", "math_vista"}
    vision = [line for line in lines if line["dataset_name"] == "math_vista"]
    assert len(vision) == 3 and all("segments" not in line["prompt"]["metadata"] for line in vision)
    server = start_server(
        keep_chat_bodies=20,
        rules=[
            *GSM8K_RULES,
            {"contains": "red bar", "reply": "\\boxed{3.5}"},
            {"contains": "How many squares", "reply": "\\boxed{7}"},
            {"contains": "Which color", "reply": "Answer: C"},
        ],
    )
    results = pytester.path / "results.json"
    samples = pytester.path / "samples.jsonl"
    outcome = pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="vl"),
        "--llm-collection",
        str(suite),
        "--llm-results",
        str(results),
        "--llm-samples",
        str(samples),
        "-m",
        "collection and Vision",
    )
    outcome.assert_outcomes(passed=3)
    bodies = server.stats()["chat_bodies"]
    assert len(bodies) == 3
    for body in bodies:
        parts = body["messages"][-1]["content"]
        images = [p for p in parts if p["type"] == "image_url"]
        assert len(images) == 1
        raw = base64.b64decode(images[0]["image_url"]["url"].split(",", 1)[1])
        assert Image.open(io.BytesIO(raw)).size[0] in (800, 64)
    table = {row["dataset_name"]: row for row in json.loads(results.read_text())["collection"]["table"]}
    assert table["math_vista"]["count"] == 3 and table["math_vista"]["average_score"] == 1.0
    assert "base64" not in samples.read_text()
