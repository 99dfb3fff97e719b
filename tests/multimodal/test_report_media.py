"""Image thumbnails and an audio player in the HTML report, opened in headless Chromium: previews
are small data: URLs made by the plugin, shown only for that kind of medium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.multimodal.data import math_vista_dir
from tests.multimodal.test_benchmarks import omni_rows, run
from tests.report.test_browser import browser, row  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def test_thumbnails_and_audio_player_in_chromium(pytester: pytest.Pytester, start_server: Any, browser: Any):  # noqa: F811
    from selenium.webdriver.common.by import By

    data = math_vista_dir(pytester.path / "MathVista")
    omni = omni_rows(pytester.path / "omni")
    server = start_server(
        rules=[
            {"contains": "Which color", "reply": "Answer: C"},
            {"contains": "man in the picture", "reply": "Answer: A"},
        ]
    )
    report = pytester.path / "report.html"
    outcome, _ = run(
        pytester,
        server,
        "-m",
        "math_vista or omni_bench",
        "--llm-dataset",
        f"math_vista={data}",
        "--llm-dataset",
        f"omni_bench={omni}",
        "--html",
        str(report),
        "--self-contained-html",
    )
    assert report.exists(), outcome.stdout.str()
    html = report.read_text()
    assert html.count("data:image/") >= 3 and "data:audio/wav;base64," in html
    browser.get(report.as_uri())
    row(browser, "1").click()
    image = browser.find_element(By.CSS_SELECTOR, ".lle-media img")
    assert image.get_attribute("src").startswith("data:image/jpeg;base64,")
    assert browser.execute_script("return arguments[0].naturalWidth", image) == 192  # 800 px wide, capped
    assert "bytes · png" in browser.find_element(By.CSS_SELECTOR, ".lle-media figcaption").text
    row(browser, "0").click()
    audio = browser.find_element(By.CSS_SELECTOR, ".lle-media audio")
    assert audio.get_attribute("src").startswith("data:audio/wav;base64,")
    browser.save_screenshot(str(Path(pytester.path) / "media.png"))
