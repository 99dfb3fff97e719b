"""Reasoning-efficiency analysis speed (`--llm-think-eval`): seconds per sample for 500 MATH-500
samples whose reasoning is ~8,000 tokens each, with the benchmark's own scorer on every step
prefix. Target: well under the time of the requests, < 20 ms per sample.

    python bench/think_eval_speed.py [--samples 500] [--tokens 8000]

Prints the time per sample with token counts from a real `tokenizers` tokenizer (offsets) and
from the server's usage (proportional split), and the scorer calls per sample.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from pytest_llmeval.benchmarks.math_500 import Math500
from pytest_llmeval.efficiency import EfficiencyAnalyser
from pytest_llmeval.endpoint.models import ChatResponse, Choice, Usage
from pytest_llmeval.scoring.thinking import split_thinking

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.efficiency.word_tokenizer import word_tokenizer

FILLER = (
    "we expand the product and collect the terms carefully so that each power of x lines up with the "
    "previous line and nothing is lost along the way"
).split()
MARKERS = ["But wait,", "Alternatively,", "Hmm,", "Let me reconsider.", "Wait,"]


def trace(rng: random.Random, tokens: int, answer: int) -> str:
    words: list[str] = []
    found_at = rng.randint(tokens // 5, tokens // 2)
    while len(words) < tokens:
        sentence = rng.sample(FILLER, rng.randint(8, 20))
        if len(words) >= found_at and found_at >= 0:
            sentence += ["so", "the", "answer", "is", f"{answer}."]
            found_at = -1
        else:
            sentence[-1] += "."
        if rng.random() < 0.08:
            sentence = [rng.choice(MARKERS), *sentence]
        words.extend(sentence)
        if rng.random() < 0.15:
            words.append("\n\n")
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--tokens", type=int, default=8000)
    args = parser.parse_args()
    rng = random.Random(0)
    bench = Math500()
    cases = []
    for index in range(args.samples):
        gold = rng.randint(10, 999)
        sample = bench.record_to_sample(
            {
                "problem": f"Problem {index}",
                "answer": str(gold),
                "subject": "Algebra",
                "level": index % 5 + 1,
                "unique_id": f"test/algebra/{index}.json",
            },
            index,
            f"level{index % 5 + 1}",
        )
        reasoning = trace(rng, args.tokens, gold)
        response = ChatResponse(
            choices=[Choice(text=f"<think>{reasoning}</think>The answer is \\boxed{{{gold}}}.")],
            usage=Usage(completion_tokens=args.tokens + 10),
        )
        cases.append((sample, response))
    calls = 0
    original = bench.reasoning_answer_correct

    def counted(sample, answer):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return original(sample, answer)

    bench.reasoning_answer_correct = counted  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as folder:
        for label, analyser in [
            ("tokenizer offsets", EfficiencyAnalyser(tokenizer=word_tokenizer(Path(folder)))),
            ("server usage", EfficiencyAnalyser()),
        ]:
            calls = 0
            start = time.perf_counter()
            efficiencies = []
            for sample, response in cases:
                answers = [split_thinking(choice.text, choice.reasoning) for choice in response.choices]
                figures = analyser.analyse(bench, sample, response, answers)[0]
                efficiencies.append(figures["efficiency"])
            elapsed = time.perf_counter() - start
            mean_efficiency = sum(efficiencies) / len(efficiencies)
            print(
                f"{label:<18} {args.samples} samples x {args.tokens} tokens: "
                f"{elapsed / args.samples * 1000:.2f} ms/sample, {calls / args.samples:.1f} answer checks/sample, "
                f"mean efficiency {mean_efficiency:.3f}"
            )


if __name__ == "__main__":
    main()
