"""Generated code cannot read the project's secrets, and an encoded key never reaches anything written.

The attack: a model's HumanEval answer that looks for a planted ``.env`` and response cache holding the API key
(in the project's folder, where a real project keeps them) and raises it base64-, hex- and URL-encoded, so
that it lands in the failure explanation. A second answer carries the encoded key itself (a model that knows
it): the samples JSONL, results JSON, HTML report, JUnit XML and the terminal must hold none of its forms.
"""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from pytest_llmeval.execution import sandbox
from tests.benchmarks.data import HUMANEVAL_ROWS
from tests.conftest import write_jsonl
from tests.core.test_evaluation import run

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-proj-7Hq2Lx9Vb4Nc1Mz8Kw3Rt6Yp5"


def encodings(key: str) -> list[str]:
    """What the hostile programs print: base64 behind 0, 1 and 2 other bytes, hex, URL-encoding."""
    raw = key.encode()
    return [base64.b64encode(pad + raw).decode() for pad in (b"", b"a", b"ab")] + [raw.hex(), quote("/" + key + "?")]


SEARCH = r"""
import base64, os, re, urllib.parse
found = set()
for root in PLANTED + [os.getcwd(), os.path.expanduser("~"), "/root", "/home", "/work", "/tmp"]:
    for dirpath, dirs, files in os.walk(root):
        if dirpath.count("/") - root.count("/") >= 2:
            dirs[:] = []
        for name in files:
            if name == ".env" or name.endswith((".db", ".sqlite")):
                try:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        found.update(re.findall(rb"sk-proj-[A-Za-z0-9]+", f.read(1 << 20)))
                except OSError:
                    pass
shown = [base64.b64encode(pad + k).decode() for k in found for pad in (b"", b"a", b"ab")]
shown += [k.hex() for k in found] + [urllib.parse.quote(b"/" + k + b"?") for k in found]
raise ValueError("found " + (" ".join(shown) or "nothing"))
"""


@pytest.fixture
def planted() -> Path:
    """A ``.env`` and a response cache holding the key, in a folder of the project (removed afterwards)."""
    folder = ROOT / f".llmeval-planted-{uuid.uuid4().hex}"
    folder.mkdir()
    (folder / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")
    (folder / "responses.db").write_bytes(b"SQLite format 3\0" + f'{{"authorization": "Bearer {KEY}"}}'.encode())
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(sandbox.bwrap_problem() is not None, reason="bubblewrap cannot run here")
def test_program_finds_no_secret_and_no_encoded_key_is_written(pytester, start_server, tmp_path, planted, monkeypatch):
    search = SEARCH.replace("PLANTED", repr([str(planted)]))
    knows_key = "def truncate_number(number):\n    raise ValueError({!r})\n".format(" ".join(encodings(KEY)))
    server = start_server(
        rules=[
            {"contains": "has_close_elements", "reply": f"```python\n{search}```"},
            {"contains": "truncate_number", "reply": f"```python\n{knows_key}```"},
        ]
    )
    data = write_jsonl(tmp_path / "humaneval.jsonl", HUMANEVAL_ROWS)
    out = {name: tmp_path / name for name in ("results.json", "samples.jsonl", "report.html", "junit.xml")}
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    result = run(
        pytester,
        server,
        "-m",
        "humaneval",
        "--llm-dataset",
        f"humaneval={data}",
        "--llm-results",
        str(out["results.json"]),
        "--llm-samples",
        str(out["samples.jsonl"]),
        "--html",
        str(out["report.html"]),
        "--junitxml",
        str(out["junit.xml"]),
        "-v",
    )
    result.assert_outcomes(failed=2)
    written = {name: path.read_text(encoding="utf-8") for name, path in out.items()}
    written["terminal"] = result.stdout.str() + result.stderr.str()
    forms = {KEY, KEY[8:24], KEY.encode().hex().upper()} | {text[4:-4] for text in encodings(KEY)}
    leaks = [(name, form) for name, text in written.items() for form in forms if form in text]
    assert leaks == []
    samples = {s["id"]: s for s in map(json.loads, written["samples.jsonl"].splitlines())}
    # The search ran and found nothing: the project's folder is not in the sandbox at all.
    assert "ValueError: found nothing" in samples["HumanEval-0"]["explanation"]
    # The answer that knew the key shows where it was, redacted in every encoding.
    assert samples["HumanEval-2"]["explanation"].count("[REDACTED]") == len(encodings(KEY))


@pytest.mark.parametrize(
    "encode",
    [
        lambda k: base64.b64encode(b"x" + k.encode() + b"y").decode(),
        lambda k: base64.urlsafe_b64encode(b"xy" + k.encode()).decode(),
        lambda k: base64.b64encode(k.encode()).decode().rstrip("="),
        lambda k: k.encode().hex().upper(),
        lambda k: quote(k + "&", safe=""),
    ],
    ids=["base64+1", "urlsafe+2", "base64 unpadded", "HEX", "url"],
)
def test_an_encoded_key_is_redacted(encode):
    from pytest_llmeval.redact import redact, register_secret

    key = "sk-ant-9f/Zq+Tw==Lm_08"  # characters that base64, URL-encoding and the safe alphabet treat differently
    register_secret(key)
    text = f"before {encode(key)} after"
    redacted = redact(text)
    assert "[REDACTED]" in redacted and key not in redacted
    assert not any(part in redacted for part in (encode(key)[4:-4], key[3:15]))


@pytest.mark.skipif(sandbox.bwrap_problem() is not None, reason="bubblewrap cannot run here")
@pytest.mark.parametrize("copies", [False, True], ids=["symlinked", "copied"])
def test_virtualenv_under_tmp_runs_and_its_packages_stay_hidden(tmp_path: Path, copies: bool):
    """CI and tox keep virtualenvs under /tmp, which the sandbox replaces by its own: the interpreter is
    mounted back, its site-packages (where a package could keep credentials) is not."""
    import subprocess
    import sys

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", *(["--copies"] if copies else []), str(venv)], check=True
    )
    packages = next(venv.glob("lib/python*/site-packages"))
    (packages / "credentials.txt").write_text(KEY)
    probe = (
        "import json, os, sys\ntry:\n    print(open({!r}).read())\n"
        "except OSError as e:\n    print('refused', e.errno)\n"
        "print(json.dumps(sorted(os.listdir('/tmp'))))\n".format(str(packages / "credentials.txt"))
    )
    result = sandbox.run_python(probe, python=str(venv / "bin" / "python"))
    assert result.status == "ok", result.stderr
    assert result.stdout.startswith("refused") and KEY not in result.stdout
