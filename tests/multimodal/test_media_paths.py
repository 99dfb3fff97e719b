"""A dataset row may name files inside its dataset's folder only (docs/security.md, "Files a row
names"). Each test is the attack itself: rows naming a real private image outside the folder (an
absolute path, a `file://` URL, `~`, a symlinked folder, `decoded_image.path`, a collection record's
`file://` part or forged spool reference), run for real against the loopback server; the private
bytes (and the private file's name) never reach the server, the samples file nor the HTML report,
and each such sample fails alone with the reason."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.multimodal.data import color_choice_row as row
from tests.multimodal.data import png, write_jsonl
from tests.multimodal.test_benchmarks import run
from tests.runs import llm_args

# an unusual colour and size, so its bytes (and any thumbnail's label) are recognisable
SECRET = png(37, 23, (1, 254, 3))
SECRET_SHA = hashlib.sha256(SECRET).hexdigest()


def private_file(root: Path) -> Path:
    folder = root / "private"
    folder.mkdir()
    (folder / "secret.png").write_bytes(SECRET)
    return folder / "secret.png"


def everything_sent(server: Any) -> str:
    return json.dumps(server.stats()["chat_bodies"])


def assert_secret_absent(text: str, secret: Path, *, name_too: bool = False) -> None:
    """The private bytes are not in `text`, nor a hash label of them (they were never spooled);
    `name_too`: nor the file's name (what the endpoint receives; the error in the samples file and
    the report names the refused path, which is the row's own text)."""
    assert base64.b64encode(SECRET).decode() not in text
    assert SECRET_SHA[:12] not in text
    if name_too:
        assert str(secret) not in text and "secret.png" not in text


def test_rows_naming_files_outside_their_folder_fail_alone_and_leak_nothing(
    pytester: pytest.Pytester, start_server: Any, monkeypatch: pytest.MonkeyPatch
):
    secret = private_file(pytester.path)
    data = pytester.path / "MathVista"
    (data / "images").mkdir(parents=True)
    (data / "images" / "ok.png").write_bytes(png(64, 64, (10, 10, 200)))
    (data / "linked").symlink_to(secret.parent, target_is_directory=True)  # a folder inside, pointing outside
    monkeypatch.setenv("HOME", str(secret.parent))  # `~` would be the private folder if it were expanded
    rows = [
        row("1", "Which color is the good square?", "images/ok.png"),
        row("2", "Attack absolute path?", str(secret)),
        row("3", "Attack file URL?", secret.as_uri()),
        row("4", "Attack home folder?", "~/secret.png"),
        row("5", "Attack symlinked folder?", "linked/secret.png"),
        row("6", "Attack decoded image path?", {"bytes": None, "path": str(secret)}, field="decoded_image"),
        row("7", "Attack dot dot?", "../private/secret.png"),
    ]
    dataset = write_jsonl(data / "testmini.jsonl", rows)
    server = start_server(keep_chat_bodies=20, rules=[{"contains": "Which color", "reply": "Answer: C"}])
    report = pytester.path / "report.html"
    outcome, records = run(
        pytester,
        server,
        "-m",
        "multi_choice",
        "--llm-dataset",
        f"math_vista={dataset}",
        "--llm-no-cache",
        "--html",
        str(report),
        "--self-contained-html",
    )
    outcome.assert_outcomes(passed=1, errors=6)
    out = outcome.stdout.str()
    assert out.count("leaves the dataset folder") >= 4 and "is a URL" in out, out[-3000:]
    assert len(server.stats()["chat_bodies"]) == 1  # only the good sample was asked
    # the summary counts what left the machine: one request, six samples refused before any
    assert "requests: 1 sent, 0 answers from the cache; 6 samples not sent (bad input)" in out, out[-3000:]
    assert "Attack" not in everything_sent(server)
    assert_secret_absent(everything_sent(server), secret, name_too=True)
    assert {r["id"]: r.get("error_kind") for r in records if r["id"] != "1"} == dict.fromkeys("234567", "media")
    assert_secret_absent((pytester.path / "samples.jsonl").read_text(), secret)
    assert_secret_absent(report.read_text(), secret)


def test_hub_rows_may_not_name_local_files(tmp_path: Path):
    """Rows that come from a hub have no dataset folder: a path in them is refused, whatever it is
    (before, a relative one was read from the working folder and an absolute one from anywhere)."""
    from pytest_llmeval.benchmarks.math_vista import MathVista
    from pytest_llmeval.media import MediaStore

    secret = private_file(tmp_path)
    bench = MathVista()
    bench.media_store = MediaStore(tmp_path / "media")
    sample = bench.record_to_sample(row("9", "q?", str(secret)), 0, "multi_choice")
    assert "rows come from a hub" in sample.metadata["media_error"]
    assert not any((tmp_path / "media").rglob("*.png"))


def test_collection_records_naming_local_files_fail_alone_and_leak_nothing(
    pytester: pytest.Pytester, start_server: Any
):
    """A collection record's media are its inline parts. A `file://` URL or a bare path would be
    sent to the endpoint (vLLM reads `file://` URLs from its own disk); a forged `segments` entry
    would name a file of the media folder, or outside it through its `format`."""
    secret = private_file(pytester.path)
    inline = "data:image/png;base64," + base64.b64encode(png(8, 8, (10, 10, 200))).decode()

    def record(index: int, question: str, part: dict[str, Any], metadata: dict[str, Any] | None = None) -> dict:
        content = [{"type": "text", "text": question}, part]
        return {
            "index": index,
            "prompt": {
                "input": [{"role": "user", "content": content}],
                "target": "C",
                "choices": ["red", "green", "blue"],
                "metadata": {"question_type": "multi_choice", "answer_type": "text", **(metadata or {})},
            },
            "tags": ["en"],
            "categories": ["Vision"],
            "task_type": "math",
            "weight": 1.0,
            "dataset_name": "math_vista",
            "subset_name": "multi_choice",
        }

    # the spooled file's name is `<root>/<sha[:2]>/<sha>.<format>`: this one climbs out of the root
    escape = "/" + "../" * 40 + str(secret).lstrip("/")
    forged = {"segments": ["Attack forged ref?", {"kind": "image", "sha256": "", "format": escape, "bytes": 1}]}
    suite = write_jsonl(
        pytester.path / "suite.jsonl",
        [
            record(0, "Which color is the inline square?", {"type": "image", "image": inline}),
            record(1, "Attack file URL?", {"type": "image", "image": secret.as_uri()}),
            record(2, "Attack bare path?", {"type": "image_url", "image_url": {"url": str(secret)}}),
            record(3, "Which color, forged?", {"type": "image", "image": inline}, forged),
        ],
    )
    server = start_server(keep_chat_bodies=20, rules=[{"contains": "Which color", "reply": "Answer: C"}])
    samples = pytester.path / "samples.jsonl"
    outcome = pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="vl"),
        "--llm-collection",
        str(suite),
        "--llm-samples",
        str(samples),
        "--llm-no-cache",
    )
    outcome.assert_outcomes(passed=2, errors=2)
    assert "an image is a data: URL or an http(s) URL" in outcome.stdout.str()
    sent = everything_sent(server)
    assert "Attack" not in sent
    assert_secret_absent(sent, secret, name_too=True)
    assert_secret_absent(samples.read_text(), secret)
