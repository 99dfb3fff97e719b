"""The JUnit XML stays readable whatever names the data gives: a collection record whose subset holds
control characters (its name becomes the suite properties' names, which pytest does not escape) made the
whole file not well-formed XML, so CI read none of the run. A real run against the loopback server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from tests.conftest import GSM8K_RULES

RECORD = {
    "index": 0,
    "prompt": {
        "id": "0007",
        "subset": "ma\x01in\x1b[2J",
        "input": "Tom has 2 apples and buys 3 more. How many apples?",
        "target": "5",
        "choices": None,
        "metadata": {},
    },
    "tags": ["e\x02n"],
    "categories": ["Mi\x03ni"],
    "task_type": "math",
    "weight": 1.0,
    "dataset_name": "gsm8k",
    "subset_name": "main",
}


def test_control_characters_in_a_subset_name_leave_the_junit_xml_well_formed(pytester, start_server):
    server = start_server(rules=GSM8K_RULES)
    suite = pytester.path / "suite.jsonl"
    suite.write_text(json.dumps(RECORD) + "\n")
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "m",
        "--llm-base-url",
        server.base_url,
        "-p",
        "no:randomly",
        "--llm-collection",
        str(suite),
        "--junitxml",
        str(junit),
    )
    result.assert_outcomes(passed=1)
    names = {p.get("name") for p in ET.parse(junit).getroot().iter("property")}  # raised ParseError before
    assert "llmeval.gsm8k.ma#x01in#x1B[2J.acc" in names, sorted(n for n in names if n)
