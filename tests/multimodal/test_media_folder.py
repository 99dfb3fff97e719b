"""Where a run's media files live with `--llm-no-cache`: one temporary folder, the controller's,
shared by its xdist workers (so the HTML report's thumbnails find the files they spooled) and
removed when the run ends (before, each process made its own folder and none was ever removed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.multimodal.data import math_vista_dir
from tests.multimodal.test_benchmarks import run
from tests.runs import dataset, llm_args


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
    outcome, records = run(
        pytester,
        server,
        *dataset("math_vista", data),
        "--llm-no-cache",
        "--html",
        str(report),
        "--self-contained-html",
        *workers,
    )
    assert report.exists(), outcome.stdout.str()
    images = [r for r in records if any(isinstance(m.get("content"), list) for m in r["messages"])]
    assert images, "the samples carry images"
    html = report.read_text()
    assert html.count("data:image/jpeg;base64,") >= len(images), outcome.stdout.str()[-2000:]
    assert not any(tmp.glob("llmeval-media-*")), sorted(p.name for p in tmp.iterdir())
    assert not any(Path(pytester.path).glob(".pytest_cache/llmeval/media"))  # no cache folder either


def _spool_at_once(root: str, data: bytes, barrier: Any, results: Any) -> None:
    from pytest_llmeval.media.store import MediaStore

    store = MediaStore(Path(root))
    barrier.wait()  # every process writes the same medium at the same moment, as xdist workers do
    try:
        ref = store.audio(data, "audio")
        results.put(("ok", ref.sha256))
    except Exception as exc:
        results.put((type(exc).__name__, str(exc)))


def test_processes_spooling_the_same_medium_at_once_all_succeed(tmp_path: Path):
    """Several processes, one shared media folder (xdist workers under `--llm-no-cache`): each
    writer has its own partial file, so none fails on another's rename, and the file is whole."""
    import hashlib
    import io
    import multiprocessing
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:  # 8 MB of 16-bit mono PCM: a write takes long enough to overlap
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(range(256)) * (8 * 1024 * 4))
    data = buffer.getvalue()
    context = multiprocessing.get_context("fork")
    for trial in range(5):
        root = tmp_path / f"media{trial}"
        barrier, results = context.Barrier(4), context.Queue()
        workers = [context.Process(target=_spool_at_once, args=(str(root), data, barrier, results)) for _ in range(4)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(60)
        assert all(kind == "ok" for kind, _ in outcomes), outcomes
        files = [p for p in root.rglob("*") if p.is_file()]
        assert [p.name for p in files] == [f"{hashlib.sha256(data).hexdigest()}.wav"]  # no partial file left
        assert files[0].read_bytes() == data


def test_sigterm_during_a_run_removes_its_media_folder(pytester: pytest.Pytester, start_server: Any):
    """A run terminated by SIGTERM (a CI job cancelled, `timeout`, a container stopped) while it waits
    for the endpoint: Python's default action ends the process without any cleanup, and its
    `llmeval-media-*` folder (every image of the run) stayed in TMPDIR. It is removed now, and the
    process still ends as killed by SIGTERM."""
    import os
    import signal
    import subprocess
    import sys
    import time

    data = math_vista_dir(pytester.path / "MathVista")
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    server = start_server(hang=["Which color", "red bar", "How many squares"])  # every request waits forever
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            *llm_args(server.base_url, model="vl"),
            *dataset("math_vista", data),
            "--llm-no-cache",
            "--basetemp",
            str(pytester.path / "bt"),
        ],
        cwd=pytester.path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        # mid-run: the images are spooled and a request is waiting on the endpoint
        while server.stats()["faults"].get("hang", 0) == 0 or not list(tmp.glob("llmeval-media-*/*/*.png")):
            assert proc.poll() is None and time.monotonic() < deadline, "the run never reached the endpoint"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list(tmp.glob("llmeval-media-*")), sorted(p.name for p in tmp.iterdir())
