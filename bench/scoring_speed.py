"""Throughput of the answer scorers on synthetic but realistic model outputs.

    python bench/scoring_speed.py            # 10,000 outputs per scorer
    python bench/scoring_speed.py -n 2000    # quicker

Each output is a few hundred characters of step-by-step reasoning with numbers in it, ending in an
answer phrase or a `\\boxed{}`; about half are right, some right in another written form (`0.5` for
`\\frac{1}{2}`, units, `\\dfrac`), the rest wrong. Math answers are drawn with random constants so
almost every expression is new and math-verify's parse cache cannot flatter the figure; matrices,
unions, trigonometry and text answers (~8% of targets) exercise the math-verify path. Prints
samples/s per scorer (target for math_equal: >= 500/s on a 2-core machine) and how many math
comparisons needed the symbolic (math-verify) path.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from pytest_llmeval.execution.symbolic import math_equal, symbolic_calls
from pytest_llmeval.scoring.choice import extract_choice
from pytest_llmeval.scoring.math_equiv import last_boxed
from pytest_llmeval.scoring.numeric import extract_final_number, numbers_equal

FILLER = [
    "First, let's restate what the question asks.",
    "We know that the total is split evenly, so each part gets {a}.",
    "Multiplying {a} by {b} gives {c}.",
    "Then we subtract {b} from {c}, which leaves {d}.",
    "Step {s}: check the units; everything is in the same units.",
    "Note that option {l} mentions {a}, which is a distractor.",
    "A quick sanity check: {a} + {b} = {e}.",
    "每一步都要检查计算，{a} 乘以 {b} 等于 {c}。",
]


def reasoning(rng: random.Random, lines: int) -> str:
    out = []
    for _ in range(lines):
        a, b = rng.randint(2, 999), rng.randint(2, 99)
        values = {"a": a, "b": b, "c": a * b, "d": a * b - b, "e": a + b, "s": rng.randint(1, 9)}
        out.append(rng.choice(FILLER).format(l=rng.choice("ABCD"), **values))
    return "\n".join(out)


# -- multiple choice -------------------------------------------------------------------------------

CHOICE_ENDINGS = [
    "The answer is ({x}).",
    "Therefore, the correct answer is: **{x}**",
    "答案是：{x}",
    "综上所述，正确答案是({x})。",
    "Answer: {x}",
    "$\\boxed{{{x}}}$",
    "{x}",
    "{x}. the option text",
    "I choose {x}.",
]


def choice_cases(rng: random.Random, n: int) -> list[tuple[str, str]]:
    cases = []
    for _ in range(n):
        target = rng.choice("ABCD")
        said = target if rng.random() < 0.6 else rng.choice("ABCD")
        cases.append((reasoning(rng, rng.randint(3, 12)) + "\n" + rng.choice(CHOICE_ENDINGS).format(x=said), target))
    return cases


# -- GSM8K ----------------------------------------------------------------------------------------

NUMBER_ENDINGS = [
    "So the answer is \\boxed{{{x}}}.",
    "The final answer is {x}",
    "#### {x}",
    "Answer: ${x}",
    "答案是：{x}",
    "Therefore she has {x} apples left.",
]


def gsm8k_cases(rng: random.Random, n: int) -> list[tuple[str, str]]:
    cases = []
    for _ in range(n):
        target = rng.randint(1, 250_000)
        said = target if rng.random() < 0.6 else target + rng.randint(-20, 20)
        shown = f"{said:,}" if rng.random() < 0.3 else str(said)
        ending = rng.choice(NUMBER_ENDINGS).format(x=shown)
        cases.append((reasoning(rng, rng.randint(3, 12)) + "\n" + ending, str(target)))
    return cases


# -- competition math -----------------------------------------------------------------------------


def math_answer(rng: random.Random) -> tuple[str, str, str]:
    """(target, the same value written another way, a wrong answer of the same kind)."""
    a, b, c = rng.randint(2, 60), rng.randint(2, 60), rng.randint(2, 30)
    kind = rng.choices(
        [
            "int",
            "frac",
            "decimal",
            "sqrt",
            "pi",
            "interval",
            "tuple",
            "set",
            "units",
            "degrees",
            "poly",
            "matrix",
            "union",
            "trig",
            "text",
        ],
        weights=[40, 12, 5, 10, 5, 5, 5, 3, 6, 4, 5, 2, 2, 2, 2],
    )[0]
    if kind == "int":
        return str(a * b), f"{a * b}.0", str(a * b + 1)
    if kind == "frac":
        return f"\\frac{{{a}}}{{{a + b}}}", f"\\dfrac{{{2 * a}}}{{{2 * (a + b)}}}", f"\\frac{{{a + 1}}}{{{a + b}}}"
    if kind == "decimal":
        return f"\\frac{{{a}}}{{4}}", str(a / 4), str(a / 4 + 0.5)
    if kind == "sqrt":
        return f"{a}\\sqrt{{{c}}}", f"\\sqrt{{{a * a * c}}}", f"{a + 1}\\sqrt{{{c}}}"
    if kind == "pi":
        return f"{a}\\pi", f"\\pi \\cdot {a}", f"{a + 1}\\pi"
    if kind == "interval":
        return f"({a}, {a + b}]", f"\\left({a},{a + b}\\right]", f"[{a}, {a + b}]"
    if kind == "tuple":
        return f"({a}, -{b})", f"\\left( {a}, -{b} \\right)", f"(-{b}, {a})"
    if kind == "set":
        return f"\\{{{a}, {b}\\}}", f"\\{{{b},{a}\\}}", f"\\{{{a}, {b + 100}\\}}"
    if kind == "units":
        return str(a), f"{a} \\text{{ cm}}", f"{a + 2}\\text{{ cm}}"
    if kind == "degrees":
        return str(a), f"{a}^\\circ", f"{a + 5}^{{\\circ}}"
    if kind == "poly":
        return f"x^2+{a}x+{b}", f"{b}+{a}x+x^2", f"x^2+{a}x+{b + 1}"
    if kind == "matrix":
        m = f"\\begin{{pmatrix}} {a} \\\\ {-b} \\end{{pmatrix}}"
        return m, m.replace(" ", ""), m.replace(str(a), str(a + 1), 1)
    if kind == "union":
        return (
            f"(-\\infty, {a}) \\cup ({a + b}, \\infty)",
            f"(-\\infty,{a})\\cup({a + b},\\infty)",
            f"(-\\infty, {a}] \\cup ({a + b}, \\infty)",
        )
    if kind == "trig":
        return "\\frac{1}{2}", "\\cos\\frac{\\pi}{3}", f"\\sin\\frac{{\\pi}}{{{c + 2}}}"
    day = rng.choice(["Monday", "Tuesday", "Friday"])
    return f"\\text{{{day}}}", day, "\\text{Sunday}"


def math_cases(rng: random.Random, n: int) -> list[tuple[str, str]]:
    cases = []
    for _ in range(n):
        target, other_form, wrong = math_answer(rng)
        roll = rng.random()
        said = target if roll < 0.5 else other_form if roll < 0.65 else wrong
        output = reasoning(rng, rng.randint(3, 12)) + f"\nTherefore, the final answer is $\\boxed{{{said}}}$."
        cases.append((output, target))
    return cases


def measure(cases: list[tuple[str, str]], score: Callable[[str, str], bool]) -> tuple[float, float, float]:
    """(samples per wall second, samples per CPU second of this process, fraction judged correct).
    The CPU figure is steadier when other work shares the machine."""
    started, cpu_started = time.perf_counter(), time.process_time()
    correct = sum(1 for output, target in cases if score(output, target))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return len(cases) / elapsed, len(cases) / max(cpu, 1e-9), correct / len(cases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="outputs per scorer (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    math_equal("\\sqrt{8}", "2\\sqrt{2}")  # load math-verify (0.5 s import) before timing
    warm_slow = symbolic_calls()

    rows = []
    rate, cpu_rate, acc = measure(choice_cases(rng, args.n), lambda out, target: extract_choice(out) == target)
    rows.append(("extract_choice", rate, cpu_rate, acc, ""))

    def gsm8k(out: str, target: str) -> bool:
        found = extract_final_number(out)
        return found is not None and numbers_equal(found, target)

    rate, cpu_rate, acc = measure(gsm8k_cases(rng, args.n), gsm8k)
    rows.append(("gsm8k extract+equal", rate, cpu_rate, acc, ""))

    def competition(out: str, target: str) -> bool:
        return math_equal(last_boxed(out) or "", target)

    rate, cpu_rate, acc = measure(math_cases(rng, args.n), competition)
    slow = symbolic_calls() - warm_slow
    note = f"{slow} of {args.n} went to math-verify ({slow / args.n:.1%})"
    rows.append(("math_equal (boxed)", rate, cpu_rate, acc, note))

    print(f"{args.n:,} synthetic outputs per scorer\n")
    print(f"{'scorer':<22} {'samples/s':>10} {'per CPU-s':>10} {'judged right':>13}  notes")
    for name, rate, cpu_rate, acc, note in rows:
        print(f"{name:<22} {rate:>10,.0f} {cpu_rate:>10,.0f} {acc:>13.1%}  {note}")
    target_ok = rows[2][1] >= 500
    print(f"\nmath_equal target >= 500 samples/s: {'met' if target_ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
