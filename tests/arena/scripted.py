"""A scripted arena for the tests: prompts, two candidates and a baseline with fixed answers, and
judges whose preferences are written down per prompt (the loopback test server plays each)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROMPTS = [f"question number {i:02d}" for i in range(12)]


def answer(model: str, i: int, length: int = 1) -> str:
    return f"{model}-says-{i:02d}" + " padding" * (length - 1)


def model_rules(model: str, lengths: dict[int, int] | None = None) -> list[dict[str, str]]:
    return [
        {"contains": f"number {i:02d}", "reply": answer(model, i, (lengths or {}).get(i, 1))}
        for i in range(len(PROMPTS))
    ]


A_SLOT = "<|The Start of Assistant A's Answer|>\n"
B_SLOT = "\n<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\n"


def judge_rules(prefer: dict[tuple[str, int], str], biased: bool = False) -> list[dict[str, str]]:
    """`prefer[(candidate, i)]` is 'cand', 'base' or 'tie': the judge's true preference on prompt i,
    given in both orders. `biased`: the judge always prefers whatever is shown first ([[A>B]])."""
    if biased:
        return [{"contains": "Assistant A", "reply": "The first answer reads better.\n[[A>B]]"}]
    rules = []
    for (candidate, i), who in prefer.items():
        cand, base = answer(candidate, i), answer("base", i)
        first = {"cand": "[[A>>B]]", "base": "[[B>A]]", "tie": "[[A=B]]"}[who]
        second = {"cand": "[[B>>A]]", "base": "[[A>B]]", "tie": "[[A=B]]"}[who]
        rules.append({"contains": A_SLOT + cand, "reply": f"Judging {candidate} first.\n{first}"})
        rules.append({"contains": f"{A_SLOT}{base}{B_SLOT}{cand}", "reply": f"Baseline first.\n{second}"})
    return rules


def write_prompts(folder: Path, count: int = len(PROMPTS)) -> Path:
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps({"uid": f"p{i:02d}", "prompt": PROMPTS[i]}) + "\n" for i in range(count)))
    return path


def arena_args(servers: dict[str, Any], prompts: Path, *extra: str) -> list[str]:
    return [
        "--llm-arena-model",
        f"base={servers['base'].base_url}",
        *[
            arg
            for name in servers
            if name not in ("base", "judge")
            for arg in ("--llm-arena-model", f"{name}={servers[name].base_url}")
        ],
        "--llm-arena-judge",
        f"judge={servers['judge'].base_url}",
        "--llm-arena-prompts",
        str(prompts),
        "--llm-arena-bootstrap",
        "200",
        *extra,
    ]
