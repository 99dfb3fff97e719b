"""Stored XSS through dataset fields: payloads in a row's id, question and answer (and a subset
name of a user's benchmark) are run for real and the pytest-html report is opened in headless
Chromium, where every payload must stay text. Node ids are sanitised; the records keep the
original ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.engine.nodes import node_name
from tests.runs import llm_args

from .test_browser import assert_not_pwned, browser  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.browser

ID_IMG = "<img src=x onerror=\"window.__pwned=11;alert('id')\">"
ID_SCRIPT = '"><script>window.__pwned=12</script>'
ID_BOLD = "</td><b id='pwned-bold'>bold</b>"
ROWS = [
    {"id": ID_IMG, "question": "<script>window.__pwned=13</script>capital of France?", "answer": "Paris"},
    {
        "id": ID_SCRIPT,
        "question": 'two plus two <img src=y onerror="window.__pwned=14">',
        "answer": '<img src=z onerror="window.__pwned=15">',
    },
    {"id": ID_BOLD, "question": "three plus three", "answer": '<svg onload="window.__pwned=16"></svg>'},
    {"id": "plain-1", "question": "one plus one", "answer": "2"},
]
RULES = [
    {"contains": "France", "reply": "Answer: Paris"},
    {"contains": "two plus", "reply": "Answer: 4"},
    {"contains": "three plus", "reply": "Answer: 6"},
    {"contains": "one plus", "reply": "Answer: 2"},
]
CONFTEST = """
from pytest_llmeval import file_benchmark, register_benchmark

register_benchmark(file_benchmark("idxss", "idxss.jsonl", kind="qa"))
"""


def test_node_names_are_safe_stable_and_distinct():
    names = [node_name(row["id"]) for row in ROWS]
    assert names[3] == "plain-1"  # a safe id is kept as it is
    assert len(set(names)) == len(names)
    assert all(ch.isalnum() or ch in "_.-" for name in names for ch in name)
    assert names == [node_name(row["id"]) for row in ROWS]  # stable
    assert node_name("a b") != node_name("a_b") and node_name("a/b") != node_name("a:b")
    assert len(node_name("x" * 500)) <= 64 + 9


def test_id_payloads_stay_inert_in_the_html_report(pytester, start_server, browser: Any, tmp_path: Path):  # noqa: F811
    from selenium.webdriver.common.by import By

    pytester.makeconftest(CONFTEST)
    (pytester.path / "idxss.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    server = start_server(rules=RULES)
    report, samples = pytester.path / "report.html", pytester.path / "samples.jsonl"
    result = pytester.runpytest_subprocess(
        *llm_args(server.base_url),
        "-m",
        "idxss",
        "-v",
        f"--html={report}",
        "--self-contained-html",
        "--llm-samples",
        str(samples),
    )
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert f"idxss/default::{node_name(ID_IMG)} PASSED" in out
    # node ids are the sanitised names; the records keep the dataset's ids
    records = {r["nodeid"]: r for r in map(json.loads, samples.read_text().splitlines())}
    assert set(records) == {f"idxss/default::{node_name(row['id'])}" for row in ROWS}
    assert sorted(r["id"] for r in records.values()) == sorted(row["id"] for row in ROWS)
    for nodeid in records:
        assert "<" not in nodeid and '"' not in nodeid and "'" not in nodeid

    browser.get(report.as_uri())
    assert_not_pwned(browser)
    assert browser.execute_script("return document.querySelectorAll('svg[onload], [onerror], [onload]').length") == 0
    test_ids = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#results-table td.col-testId")]
    assert sorted(test_ids) == sorted(f"idxss/default::{node_name(row['id'])}" for row in ROWS)
    # our sample table shows the original ids as text
    shown = [
        row.find_elements(By.TAG_NAME, "td")[2].text
        for row in browser.find_elements(By.CSS_SELECTOR, "#llmeval-samples tr.lle-row")
    ]
    assert sorted(shown) == sorted(row["id"] for row in ROWS)
    # opening every row puts question, answer and id into the page as text, never as markup
    for row in browser.find_elements(By.CSS_SELECTOR, "#llmeval-samples tr.lle-row"):
        row.click()
    page = browser.find_element(By.ID, "llmeval-samples").text
    assert "<script>window.__pwned=13</script>capital of France?" in page
    assert '<svg onload="window.__pwned=16"></svg>' in page
    # pytest-html's own rows: expanded, and their "sample" cell (our hook) shows the answer payloads as text
    browser.find_element(By.ID, "show_all_details").click()
    cells = " ".join(
        cell.get_attribute("textContent")
        for cell in browser.find_elements(By.CSS_SELECTOR, "#results-table td.col-llmeval")
    )
    assert '6 vs <svg onload="window.__pwned=16"></svg>' in cells
    assert_not_pwned(browser)
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
