"""The HTML report as a person uses it: opened in headless Chromium, filtered, expanded, photographed.

Needs /usr/bin/chromium and chromedriver (Debian packages `chromium`, `chromium-driver`; `.ci/run`
installs them) and selenium (the `dev` extra). Without them the tests skip and say why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_eval

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,2000",
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
        By.CSS_SELECTOR, f'#llmeval-scores tr[data-benchmark="xss"][data-subset="{subset}"][data-metric="acc"] td.lle-score'
    )
    return cell.text


def visible_ids(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

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


def test_pytest_html_report_in_chromium(pytester, xss_project, xss_server, browser, tmp_path: Path, monkeypatch):
    from selenium.webdriver.common.by import By

    monkeypatch.setenv("XSS_PERF", "1")
    report = xss_project / "report.html"
    result = run_eval(pytester, xss_server, f"--html={report}", "--self-contained-html", "--llm-threshold", "xss.acc>=0.5")
    assert result.ret == 0
    browser.get(report.as_uri())
    assert_not_pwned(browser)

    # the summary: verdict, scores, threshold, charts
    assert browser.find_element(By.ID, "llmeval-verdict").text == "PASSED"
    assert (score(browser, "(all)"), score(browser, "alpha"), score(browser, "beta")) == ("0.6000", "0.5000", "0.6667")
    assert "PASS >= 0.5" in browser.find_element(By.CSS_SELECTOR, '#llmeval-scores tr[data-subset="(all)"] td.lle-gate').text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#llmeval-overview svg.lle-chart")) >= 4  # scores, subsets, perf

    # model output shows as text, markup and all
    assert row(browser, "a2").find_element(By.CSS_SELECTOR, "td.lle-extracted").text == "<script>window.__pwned = 2; alert('pwned')</script>"
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
    link = browser.find_element(By.XPATH, '//table[@id="results-table"]//tr[td[contains(., "xss/beta::b1")]]//a[text()="details"]')
    link.click()
    assert "RAW OUTPUT" in detail_text(browser, "b1")

    browser.execute_script("document.getElementById('llmeval-overview').scrollIntoView()")
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    assert_not_pwned(browser)


def test_rebuilt_page_with_comparison_in_chromium(pytester, xss_project, xss_server, browser, tmp_path: Path):
    from selenium.webdriver.common.by import By

    results, samples = xss_project / "results.json", xss_project / "samples.jsonl"
    run_eval(pytester, xss_server, "--llm-results", str(results))
    old = json.loads(results.read_text())
    old["benchmarks"]["xss"]["metrics"]["acc"] = 0.8
    (xss_project / "old.json").write_text(json.dumps(old))
    result = run_eval(pytester, xss_server, "--llm-compare", "old.json", "--llm-max-drop", "0.05",
                      "--llm-results", str(results), "--llm-samples", str(samples))
    assert result.ret == 1
    page = tmp_path / "rebuilt.html"
    subprocess.run([sys.executable, "-m", "pytest_llmeval.report", str(results), str(samples), "-o", str(page)], check=True)

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
