"""The HTML report as a person uses it: opened in headless Chromium, filtered, expanded, photographed.

Needs /usr/bin/chromium and chromedriver (Debian packages `chromium`, `chromium-driver`; `.ci/run`
installs them) and selenium (the `dev` extra). Without them the tests skip and say why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import XSS_RULES, add_perf_tests, run_eval

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,2000",
)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install the Debian packages chromium and chromium-driver (.ci/run does)")
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(driver_path).exists():
        pytest.skip("no chromedriver: install the Debian package chromium-driver (.ci/run does)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def assert_not_pwned(driver: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018  (an injected alert() would be showing)
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.execute_script("return document.querySelectorAll('img[onerror]').length") == 0
    assert driver.execute_script("return document.getElementById('pwned-bold')") is None


def score(driver: Any, subset: str) -> str:
    from selenium.webdriver.common.by import By

    cell = driver.find_element(
        By.CSS_SELECTOR,
        f'#llmeval-scores tr[data-benchmark="xss"][data-subset="{subset}"][data-metric="acc"] td.lle-score',
    )
    return cell.text


def visible_ids(driver: Any) -> list[str]:
    """Ids of the shown sample rows (in the run's samples section, or under the element given)."""
    from selenium.webdriver.common.by import By

    if hasattr(driver, "tag_name"):  # an element: the compare page's section
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.lle-row")
    else:
        rows = driver.find_elements(By.CSS_SELECTOR, "#llmeval-samples tr.lle-row")
    return [row.find_elements(By.TAG_NAME, "td")[2].text for row in rows if row.is_displayed()]


def choose(driver: Any, name: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.CSS_SELECTOR, f'select[data-filter="{name}"]')).select_by_value(value)


def row(driver: Any, sample_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.XPATH, f'//tr[contains(@class, "lle-row")][td[3][text()="{sample_id}"]]')


def detail_text(driver: Any, sample_id: str) -> str:
    from selenium.webdriver.common.by import By

    return row(driver, sample_id).find_element(By.XPATH, "following-sibling::tr[1]").text


def shots_dir(tmp_path: Path) -> Path:
    """Where screenshots go: $LLMEVAL_SCREENSHOTS when set (to look at them), else the test's tmp dir."""
    folder = Path(os.environ.get("LLMEVAL_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(driver: Any, folder: Path, name: str, element_id: str | None = None) -> Path:
    if element_id:
        driver.execute_script(f"document.getElementById({json.dumps(element_id)}).scrollIntoView()")
    shot = folder / name
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    return shot


def search(driver: Any, text: str, root: str = "#llmeval-samples") -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.CSS_SELECTOR, f"{root} input[data-search]")
    box.clear()
    if text:
        box.send_keys(text)
    driver.execute_script("arguments[0].dispatchEvent(new Event('search'))", box)


def sort_by(driver: Any, header: str, root: str = "#llmeval-samples") -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.XPATH, f'//*[@id="{root[1:]}"]//thead//th[normalize-space(text())="{header}"]').click()


def test_pytest_html_report_in_chromium(pytester, xss_project, xss_server, browser, tmp_path: Path):
    from selenium.webdriver.common.by import By

    add_perf_tests(xss_project)
    report = xss_project / "report.html"
    result = run_eval(
        pytester,
        xss_server,
        f"--html={report}",
        "--self-contained-html",
        "--llm-threshold",
        "xss.acc>=0.5",
        marks="xss or perf",
    )
    assert result.ret == 0
    browser.get(report.as_uri())
    assert_not_pwned(browser)

    # the summary: verdict, scores, threshold, charts
    assert browser.find_element(By.ID, "llmeval-verdict").text == "PASSED"
    assert (score(browser, "(all)"), score(browser, "alpha"), score(browser, "beta")) == ("0.6000", "0.5000", "0.6667")
    assert (
        "PASS >= 0.5"
        in browser.find_element(By.CSS_SELECTOR, '#llmeval-scores tr[data-subset="(all)"] td.lle-gate').text
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "#llmeval-overview svg.lle-chart")) >= 4  # scores, subsets, perf
    folder = shots_dir(tmp_path)
    shoot(browser, folder, "overview.png", "llmeval-overview")

    # model output shows as text, markup and all
    assert (
        row(browser, "a2").find_element(By.CSS_SELECTOR, "td.lle-extracted").text
        == "<script>window.__pwned = 2; alert('pwned')</script>"
    )
    assert "</td><b id='pwned-bold'>bold</b>" in row(browser, "b1").text

    # filters
    assert visible_ids(browser) == ["a1", "a2", "b1", "b2", "b3"]
    choose(browser, "verdict", "failed")
    assert visible_ids(browser) == ["a2", "b1"]
    assert browser.find_element(By.CSS_SELECTOR, ".lle-shown").text == "showing 2 of 5"
    choose(browser, "subset", "beta")
    assert visible_ids(browser) == ["b1"]
    choose(browser, "verdict", "")
    assert visible_ids(browser) == ["b1", "b2", "b3"]
    choose(browser, "subset", "")

    # expanding rows shows messages, reasoning and raw output, still as text
    row(browser, "a2").click()
    opened = detail_text(browser, "a2")
    assert "RAW OUTPUT" in opened and "Sure <script>window.__pwned = 1</script>" in opened
    assert "MESSAGE 1: USER" in opened and "inject script" in opened
    row(browser, "b2").click()
    assert "2 + 2 = 4, <think>trivially</think>" in detail_text(browser, "b2")
    assert_not_pwned(browser)

    # pytest-html's own row links to the sample row and opens it
    link = browser.find_element(
        By.XPATH, '//table[@id="results-table"]//tr[td[contains(., "xss/beta::b1")]]//a[text()="details"]'
    )
    link.click()
    assert "RAW OUTPUT" in detail_text(browser, "b1")
    # ... and its failure is not repeated there: the sample's row has no expanded extras row
    body = browser.find_element(By.XPATH, '//table[@id="results-table"]/tbody[tr/td[contains(., "xss/alpha::a2")]]')
    assert "Failed" in body.text and "wrong answer" not in body.text
    assert not body.find_element(By.CSS_SELECTOR, "tr.extras-row").is_displayed()
    assert body.size["height"] < 80
    shoot(browser, folder, "samples.png", "llmeval-samples")
    assert_not_pwned(browser)


def perf_points(driver: Any, test: str, title_part: str) -> list[tuple[float, str]]:
    """(cx, tooltip) of the first series' points of a perf chart, in drawing order."""
    from selenium.webdriver.common.by import By

    charts = driver.find_elements(By.CSS_SELECTOR, f'.lle-perf-charts[data-test$="{test}"] svg.lle-chart-line')
    chart = next(c for c in charts if title_part in c.get_attribute("aria-label"))
    points = chart.find_elements(By.CSS_SELECTOR, "circle.lle-point")
    first = points[0].find_element(By.TAG_NAME, "title").get_attribute("textContent").split(" at ")[0]
    return [
        (float(p.get_attribute("cx")), p.find_element(By.TAG_NAME, "title").get_attribute("textContent"))
        for p in points
        if p.find_element(By.TAG_NAME, "title").get_attribute("textContent").startswith(first + " at")
    ]


def test_report_browses_like_a_viewer(pytester, xss_project, xss_server, browser, tmp_path: Path):
    """Search narrows rows (prompts and outputs too), a header click sorts, perf axes are numeric."""
    from selenium.webdriver.common.by import By

    add_perf_tests(xss_project)
    results, samples = xss_project / "results.json", xss_project / "samples.jsonl"
    run_eval(pytester, xss_server, "--llm-results", str(results), "--llm-samples", str(samples), marks="xss or perf")
    page = tmp_path / "page.html"
    subprocess.run(
        [sys.executable, "-m", "pytest_llmeval.report", str(results), str(samples), "-o", str(page)], check=True
    )
    browser.get(page.as_uri())
    assert_not_pwned(browser)

    # labelled columns
    headers = [
        th.text.strip(" \u2195\u25b2\u25bc")
        for th in browser.find_elements(By.CSS_SELECTOR, "#llmeval-samples thead th")
    ]
    assert headers[:6] == ["benchmark", "subset", "id", "verdict", "extracted answer", "expected answer"]
    assert "prompt tok" in headers and "completion tok" in headers and "request s" in headers

    # search: over the prompt (not in any cell), the reasoning, the output; terms AND-ed
    search(browser, "france")
    assert visible_ids(browser) == ["a1"]
    search(browser, "trivially")
    assert visible_ids(browser) == ["b2"]
    search(browser, "pwned")
    assert visible_ids(browser) == ["a2", "b1"]
    assert browser.find_element(By.CSS_SELECTOR, ".lle-shown").text == "showing 2 of 5"
    search(browser, "pwned img")
    assert visible_ids(browser) == ["b1"]
    choose(browser, "verdict", "passed")
    assert visible_ids(browser) == []
    choose(browser, "verdict", "")
    search(browser, "")
    assert visible_ids(browser) == ["a1", "a2", "b1", "b2", "b3"]

    # a header click sorts, a second one reverses; an open row travels with its sample
    row(browser, "b2").click()
    sort_by(browser, "id")
    sort_by(browser, "id")
    assert visible_ids(browser) == ["b3", "b2", "b1", "a2", "a1"]
    assert "2 + 2 = 4" in detail_text(browser, "b2")
    sort_by(browser, "verdict")
    verdicts = [
        r.find_elements(By.TAG_NAME, "td")[3].text
        for r in browser.find_elements(By.CSS_SELECTOR, "#llmeval-samples tr.lle-row")
    ]
    assert verdicts == sorted(verdicts)
    sort_by(browser, "completion tok")
    tokens = [
        int(r.find_elements(By.TAG_NAME, "td")[-1].text)
        for r in browser.find_elements(By.CSS_SELECTOR, "#llmeval-samples tr.lle-row")
    ]
    assert tokens == sorted(tokens)

    # metrics as named values in the detail
    facts = detail_text(browser, "b2").split("MESSAGE")[0]
    assert re.search(r"\bacc\s+1\b", facts) and "{" not in facts and "request time" in facts

    # perf: a column naming the test, numeric level axes
    perf_rows = browser.find_elements(By.CSS_SELECTOR, "#llmeval-perf-table tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in perf_rows] == (
        ["test_perf_xss.py::test_closed_loop"] * 3 + ["test_perf_xss.py::test_open_loop"] * 2
    )
    closed = perf_points(browser, "test_closed_loop", "requests/s")
    assert [t.split(" at concurrency ")[1].split(":")[0] for _, t in closed] == ["1", "2", "8"]
    (x1, _), (x2, _), (x8, _) = closed
    assert x8 - x2 == pytest.approx(6 * (x2 - x1), abs=1.0)  # positions follow the value, not the index
    opened = perf_points(browser, "test_open_loop", "requests/s")
    assert [t.split(" at rate (requests/s) ")[1].split(":")[0] for _, t in opened] == ["20", "40"]
    (r20, _), (r40, _) = opened
    assert r40 > r20
    sort_by(browser, "concurrency", "#llmeval-overview")
    shoot(browser, shots_dir(tmp_path), "perf.png", "llmeval-perf")
    assert_not_pwned(browser)


def test_runs_side_by_side_in_chromium(pytester, xss_project, xss_server, start_server, browser, tmp_path: Path):
    """Two runs (the second model gets a2 right) compared: scores per run and per-sample verdicts."""
    from selenium.webdriver.common.by import By

    first_results, first_samples = xss_project / "a.json", xss_project / "a.jsonl"
    run_eval(pytester, xss_server, "--llm-results", str(first_results), "--llm-samples", str(first_samples))
    better = start_server(
        rules=[{"contains": "inject script", "reply": "Answer: safe"}, *XSS_RULES[:1], *XSS_RULES[2:]]
    )
    second_results, second_samples = xss_project / "b.json", xss_project / "b.jsonl"
    run_eval(
        pytester, better, "--llm-no-cache", "--llm-results", str(second_results), "--llm-samples", str(second_samples)
    )
    page = tmp_path / "compare.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_llmeval.report",
            str(first_results),
            str(first_samples),
            str(second_results),
            str(second_samples),
            "-o",
            str(page),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "2 runs side by side" in done.stdout
    browser.get(page.as_uri())
    assert_not_pwned(browser)

    head = [
        th.text.strip(" \u2195\u25b2\u25bc")
        for th in browser.find_elements(By.CSS_SELECTOR, "#llmeval-compare-scores thead th")
    ]
    assert head == [
        "benchmark",
        "subset",
        "metric",
        "fake-model (a.json)",
        "fake-model (b.json)",
        "\u0394 fake-model (b.json)",
    ]
    overall = browser.find_element(
        By.CSS_SELECTOR, '#llmeval-compare-scores tr[data-subset="(all)"][data-metric="acc"]'
    )
    assert [td.text for td in overall.find_elements(By.TAG_NAME, "td")[3:]] == ["0.6000", "0.8000", "+0.2000"]

    choose(browser, "agreement", "differs")
    assert visible_ids(browser.find_element(By.ID, "llmeval-compare")) == ["a2"]
    a2 = browser.find_element(
        By.XPATH, '//*[@id="llmeval-compare"]//tr[contains(@class, "lle-row")][td[3][text()="a2"]]'
    )
    cells = [td.text for td in a2.find_elements(By.TAG_NAME, "td")]
    assert cells[4] == "failed" and cells[6] == "passed"
    a2.click()
    opened = a2.find_element(By.XPATH, "following-sibling::tr[1]").text
    assert "fake-model (a.json)" in opened and "fake-model (b.json)" in opened
    assert "<script>window.__pwned = 1</script>" in opened and "Answer: safe" in opened and "inject script" in opened
    choose(browser, "agreement", "")
    search(browser, "france", "#llmeval-compare")
    assert visible_ids(browser.find_element(By.ID, "llmeval-compare")) == ["a1"]
    search(browser, "", "#llmeval-compare")
    shoot(browser, shots_dir(tmp_path), "compare.png")
    assert_not_pwned(browser)


def test_rebuilt_page_with_comparison_in_chromium(pytester, xss_project, xss_server, browser, tmp_path: Path):
    from selenium.webdriver.common.by import By

    results, samples = xss_project / "results.json", xss_project / "samples.jsonl"
    run_eval(pytester, xss_server, "--llm-results", str(results))
    old = json.loads(results.read_text())
    old["benchmarks"]["xss"]["metrics"]["acc"] = 0.8
    (xss_project / "old.json").write_text(json.dumps(old))
    result = run_eval(
        pytester,
        xss_server,
        "--llm-compare",
        "old.json",
        "--llm-max-drop",
        "0.05",
        "--llm-results",
        str(results),
        "--llm-samples",
        str(samples),
    )
    assert result.ret == 1
    page = tmp_path / "rebuilt.html"
    subprocess.run(
        [sys.executable, "-m", "pytest_llmeval.report", str(results), str(samples), "-o", str(page)], check=True
    )

    browser.get(page.as_uri())
    assert_not_pwned(browser)
    assert browser.find_element(By.ID, "llmeval-verdict").text == "FAILED"
    delta = browser.find_element(By.CSS_SELECTOR, '#llmeval-scores tr[data-subset="(all)"] td.lle-delta')
    assert delta.text == "-0.2000 DROP"
    assert "xss.acc: 0.8000 → 0.6000" in browser.find_element(By.ID, "llmeval-overview").text
    # the page's policy lets our own script run (by hash): filtering and expanding work
    choose(browser, "benchmark", "xss")
    choose(browser, "verdict", "passed")
    assert visible_ids(browser) == ["a1", "b2", "b3"]
    row(browser, "b3").click()
    assert "Answer: 6" in detail_text(browser, "b3")
    shot = tmp_path / "rebuilt.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    assert_not_pwned(browser)


def test_throttling_shows_in_the_report_in_chromium(pytester, start_server, browser, tmp_path: Path):
    """A server that answers 429 above 2 requests in flight: the page's throttling section says what
    the terminal says, with one row per decrease of the in-flight limit (extra.throttling)."""
    from selenium.webdriver.common.by import By

    from tests.conftest import write_jsonl

    server = start_server(max_concurrency=2, retry_after_s=0.05, latency_s=0.05)
    rows = [{"question": f"What is {i} plus 0? (apples)", "answer": f"#### {i}"} for i in range(40)]
    data = write_jsonl(tmp_path / "gsm8k.jsonl", rows)
    report, results = pytester.path / "report.html", pytester.path / "results.json"
    result = run_eval(
        pytester,
        server,
        *("--llm-dataset", f"gsm8k={data}", "--llm-concurrency", "8", "--llm-results", str(results)),
        *(f"--html={report}", "--self-contained-html"),
        marks="gsm8k",
    )
    throttling = json.loads(results.read_text())["extra"]["throttling"]
    assert throttling["decreases"] >= 1, result.stdout.str()
    terminal_line = next(line for line in result.stdout.lines if line.startswith("llmeval throttling: ")).removeprefix(
        "llmeval throttling: "
    )

    browser.get(report.as_uri())
    assert_not_pwned(browser)
    section = browser.find_element(By.ID, "llmeval-throttling")
    assert section.find_element(By.CSS_SELECTOR, ".lle-throttling-line").text == terminal_line
    facts = dict(
        zip(
            [dt.text for dt in section.find_elements(By.TAG_NAME, "dt")],
            [dd.text for dd in section.find_elements(By.TAG_NAME, "dd")],
            strict=True,
        )
    )
    assert facts["ceiling (--llm-concurrency)"] == "8" and facts["adaptive concurrency"] == "on (AIMD)"
    assert facts["429/503 answers"] == str(throttling["overload_answers"])
    assert facts["decreases"] == str(throttling["decreases"])
    assert facts["lowest limit"] == str(throttling["lowest_limit"])
    events = section.find_elements(By.CSS_SELECTOR, "table.lle-throttling-events tbody tr")
    assert len(events) == len(throttling["events"]) == throttling["decreases"]
    first = [td.text for td in events[0].find_elements(By.TAG_NAME, "td")]
    assert first[1] == "429" and first[2] == "8 -> 4"
    shoot(browser, shots_dir(tmp_path), "throttling.png", "llmeval-throttling")
