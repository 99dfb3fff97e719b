"""Where a run's media files live with `--llm-no-cache`: one temporary folder, the controller's,
shared by its xdist workers (so the HTML report's thumbnails find the files they spooled) and
removed when the run ends (before, each process made its own folder and none was ever removed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.multimodal.data import math_vista_dir
from tests.multimodal.test_benchmarks import run


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_no_cache_media_feed_the_report_and_are_removed_at_the_end(
    pytester: pytest.Pytester, start_server: Any, monkeypatch: pytest.MonkeyPatch, workers: list[str]
):
    data = math_vista_dir(pytester.path / "MathVista")
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # the run's temporary folders, where this test can see them
    server = start_server(rules=[{"contains": "Which color", "reply": "Answer: C"}])
    report = pytester.path / "report.html"
    outcome, records = run(pytester, server, "-m", "math_vista", "--llm-dataset", f"math_vista={data}",
                           "--llm-no-cache", "--html", str(report), "--self-contained-html", *workers)
    assert report.exists(), outcome.stdout.str()
    images = [r for r in records if any(isinstance(m.get("content"), list) for m in r["messages"])]
    assert images, "the samples carry images"
    html = report.read_text()
    assert html.count("data:image/jpeg;base64,") >= len(images), outcome.stdout.str()[-2000:]
    assert not any(tmp.glob("llmeval-media-*")), sorted(p.name for p in tmp.iterdir())
    assert not any(Path(pytester.path).glob(".pytest_cache/llmeval/media"))  # no cache folder either
