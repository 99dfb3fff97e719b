"""Three user-defined benchmarks. Run from this folder (`cd conftest_examples/custom_benchmarks`):

pytest --llm-model MODEL --llm-base-url URL -m "capitals or policy or tone"
pytest --llm-model MODEL --llm-base-url URL -m policy --llm-threshold "policy.acc>=0.9"
pytest --llm-model smollm2-135m -m capitals          # the embedded model, no server needed
"""

from __future__ import annotations

from pytest_llmeval import Benchmark, Sample, Score, file_benchmark, register_benchmark

# Question/answer pairs, scored by the generic QA rule: take the text after the last "Answer:" (or
# "answer is"), else the last line; lower-case it and drop articles and punctuation; it passes when
# it equals the answer, equals it as a number (1,000 = 1000), or ends in "is <answer>" —
# "The capital of France is Paris." passes for "Paris", "It is Lyon, not Paris." does not.
register_benchmark(file_benchmark("capitals", "data/capitals.jsonl", kind="qa", tags=["geography"]))

# Multiple choice from a CSV with one column per option (A, B, C, D) and a letter answer.
register_benchmark(file_benchmark("policy", "data/policy.csv", kind="mcq", tags=["compliance"]))


# A benchmark with its own scoring: does the reply stay polite and short?
@register_benchmark
class Tone(Benchmark):
    name = "tone"
    description = "Replies to angry customers must apologise and stay under 60 words."
    subsets = ("default",)
    metrics = ("acc", "words")
    system_prompt = "You are a customer support agent."
    data = [
        "My order is three weeks late and nobody answers my emails!",
        "You charged me twice. Fix it now.",
    ]

    def load(self, subset, loader):
        for index, complaint in enumerate(self.data):
            yield Sample(id=f"{index:02d}", subset=subset, input=complaint)

    def score(self, sample: Sample, output: str) -> Score:
        words = len(output.split())
        polite = any(word in output.lower() for word in ("sorry", "apolog"))
        passed = polite and words < 60
        return Score(
            passed=passed,
            metrics={"acc": float(passed), "words": float(words)},
            explanation=f"polite={polite}, {words} words",
        )
