"""The reasoning-efficiency section of the HTML report, from real `--llm-think-eval` runs: a table
and six charts against level in one run's report, one line per run on the side-by-side page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.efficiency.test_think_eval_run import run


@pytest.fixture
def two_runs(pytester: pytest.Pytester, start_server: Any) -> tuple[Path, Path]:
    from tests.efficiency.test_think_eval_run import DIVISORS, POLAR, SQUARES

    paths = []
    for model, divisors_reply in (("model-a", "\\boxed{24}"), ("model-b", "\\boxed{30}")):
        server = start_server(
            rules=[
                {"contains": "polar coordinates", "reasoning": POLAR, "reply": "\\boxed{(3, \\frac{\\pi}{2})}"},
                {"contains": "513^2", "reasoning": SQUARES, "reply": "\\boxed{26000}"},
                {"contains": "divisors", "reasoning": DIVISORS, "reply": divisors_reply},
            ]
        )
        _outcome, _ = run(
            pytester,
            server,
            pytester.path,
            "--html",
            str(pytester.path / f"{model}.html"),
            "--self-contained-html",
            "--llm-cache-dir",
            str(pytester.path / f"cache-{model}"),
        )
        results = pytester.path / f"{model}.json"
        (pytester.path / "results.json").rename(results)
        paths.append(results)
    return paths[0], paths[1]


def charts_in(html: str) -> list[str]:
    section = html[html.index('id="llmeval-thinking"') :]
    return re.findall(r'<svg[^>]*aria-label="([^"]*)"', section)


def test_one_run_report_has_the_table_and_six_charts(two_runs: tuple[Path, Path]):
    html = (two_runs[0].parent / "model-a.html").read_text()
    assert "Reasoning efficiency" in html
    table = html[html.index('class="lle-table lle-sortable lle-thinking"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 1 + 3  # header, levels 2 and 3, all
    titles = charts_in(html)
    assert len([t for t in titles if t.startswith("math_500:")]) == 6


def test_side_by_side_draws_one_line_per_run(two_runs: tuple[Path, Path], tmp_path: Path):
    out = tmp_path / "think.html"
    subprocess.run(
        [sys.executable, "-m", "pytest_llmeval.report", str(two_runs[0]), str(two_runs[1]), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    html = out.read_text()
    section = html[html.index('id="llmeval-thinking"') :]
    first_chart = section[section.index("<svg") : section.index("</svg>")]
    assert "model-a.json" in first_chart and "model-b.json" in first_chart
    # model-b got level 3 right: its accuracy line reaches 1.0 at level 3, model-a's stays at 0
    assert re.search(r"model-b\.json\) at level 3: 1\.0", first_chart)
    assert re.search(r"model-a\.json\) at level 3: 0\.0", first_chart)
