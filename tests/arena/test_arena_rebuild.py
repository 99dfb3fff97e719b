"""The report rebuild CLI redraws an arena run's section from its results and samples files."""

from __future__ import annotations

from pytest_llmeval.report.__main__ import main as rebuild

from .scripted import arena_args, write_prompts
from .test_arena_run import start_arena


def arena_section(page: str) -> str:
    start = page.index('id="llmeval-arena"')
    return page[start : page.index("</section>", start)]


def test_rebuilt_report_redraws_the_arena_section_as_the_run_did(pytester, start_server):
    hostile = "<script>alert(1)</script>"
    servers = start_arena(start_server)
    servers["alpha"] = start_server(fixed_reply=f"alpha-says {hostile}", model="alpha")
    servers["judge"] = start_server(fixed_reply=f"I like <b>{hostile}</b>\n[[A>B]]", model="judge")
    files = {name: pytester.path / name for name in ("results.json", "samples.jsonl", "run.html", "rebuilt.html")}
    pytester.runpytest_subprocess(
        *arena_args(servers, write_prompts(pytester.path, count=3), "-m", "alpha"),
        f"--html={files['run.html']}",
        "--llm-results",
        str(files["results.json"]),
        "--llm-samples",
        str(files["samples.jsonl"]),
    )
    code = rebuild([str(files["results.json"]), str(files["samples.jsonl"]), "-o", str(files["rebuilt.html"])])
    assert code == 0
    page = files["rebuilt.html"].read_text()
    assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    rebuilt, live = arena_section(page), arena_section(files["run.html"].read_text())
    assert rebuilt.count('<tr class="lla-pair') == 3 and "base (baseline)" in rebuilt
    assert rebuilt == live
