"""The arena's section of the HTML report: the figures, and every pair with both answers side by
side and the judge's two verdicts with their rationale, filterable by outcome and by swap
inconsistency (CSS only: no script). Every text is escaped by Jinja's autoescape."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..results import SampleRecord

ANSWER_CHARS = 20_000  # per answer and rationale on the page (the samples JSONL keeps them whole)


def _cut(text: Any) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= ANSWER_CHARS else value[: ANSWER_CHARS - 1] + "…"


def pair_row(record: SampleRecord) -> dict[str, Any]:
    """What the page shows of one pair (kept per record while the run goes)."""
    if record.error is not None or record.arena is None:
        return {
            "id": record.id,
            "candidate": record.subset,
            "outcome": "error",
            "inconsistent": False,
            "labels": record.error_kind or "error",
            "error": _cut(record.error),
        }
    detail = record.arena
    verdicts = detail["verdicts"]
    titles = {"candidate_first": "candidate as A", "baseline_first": "baseline as A"}
    return {
        "id": record.id,
        "candidate": record.subset,
        "outcome": detail["outcome"],
        "inconsistent": bool(detail["inconsistent"]),
        "labels": " / ".join(f"[[{verdicts[o]['label']}]]" for o in titles),
        "question": _cut(detail.get("question")),
        "candidate_answer": _cut(detail.get("candidate_answer")),
        "baseline_answer": _cut(detail.get("baseline_answer")),
        "verdicts": [
            {
                "title": title,
                "label": verdicts[o]["label"],
                "reasked": verdicts[o].get("reasked"),
                "rationale": _cut(verdicts[o].get("rationale")),
            }
            for o, title in titles.items()
        ],
    }


def _pct(value: float | None, ci: list[float | None]) -> str:
    if value is None:
        return "-"
    text = f"{value * 100:.1f}"
    return text + (f" [{ci[0] * 100:.1f}, {ci[1] * 100:.1f}]" if ci[0] is not None and ci[1] is not None else "")


def render_arena(summary: dict[str, Any], pairs: list[dict[str, Any]]) -> str:
    env = Environment(
        loader=PackageLoader("pytest_llmeval.arena", "templates"), autoescape=select_autoescape(["j2", "html"])
    )
    figures = [
        {
            "name": name,
            "win": row["win"],
            "tie": row["tie"],
            "loss": row["loss"],
            "winrate": _pct(row["winrate"], row["winrate_ci"]),
            "lc_winrate": _pct(row["lc_winrate"], row["lc_winrate_ci"]),
            "elo": "-"
            if row["elo"] is None
            else f"{row['elo']:.0f}"
            + (f" [{row['elo_ci'][0]:.0f}, {row['elo_ci'][1]:.0f}]" if row["elo_ci"][0] is not None else ""),
            "inconsistent": row["inconsistent"],
        }
        for name, row in summary["candidates"].items()
        if row["pairs"]
    ]
    ordered = sorted(pairs, key=lambda p: (p["candidate"], p["id"]))
    filters = [
        {"key": "all", "label": "all", "count": len(ordered)},
        *(
            {"key": k, "label": k, "count": sum(p["outcome"] == k for p in ordered)}
            for k in ("win", "tie", "loss", "error")
        ),
        {"key": "inconsistent", "label": "swap-inconsistent", "count": sum(p["inconsistent"] for p in ordered)},
    ]
    view = {
        "baseline": summary["baseline"],
        "judge": summary["judge"],
        "scale": summary["scale"],
        "swap_rule": summary["swap_rule"],
        "rounds": summary["bootstrap_rounds"],
        "judge_prompt_tokens": f"{summary['judge_tokens']['prompt']:,}",
        "judge_completion_tokens": f"{summary['judge_tokens']['completion']:,}",
        "figures": figures,
        "pairs": ordered,
    }
    return env.get_template("arena.html.j2").render(v=view, filters=filters)
