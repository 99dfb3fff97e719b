"""LLM-as-judge: a second model grades answers that rules cannot check.

Configured with `--llm-judge-model` (and `--llm-judge-base-url` / `--llm-judge-api-key` when the
judge lives elsewhere than the model under test). Judge calls go through their own dispatcher but
the same durable cache, so re-scoring a run asks neither the model nor the judge again.

A benchmark names what the judge sees in `judge_inputs(sample, output)` and grades from `score()`::

    def judge_inputs(self, sample, output):
        return sample.metadata["question"], str(sample.target), output

    def score(self, sample, output):
        verdict = self.require_judge().grade(*self.judge_inputs(sample, output))
        return Score(passed=verdict.passed, metrics={"acc": float(verdict.passed)},
                     explanation=verdict.explanation)

Judge calls ride the prefetch pipeline: the moment the model's answer arrives, the runtime calls
`prefetch(...)` with the same inputs, so the judge request is in flight (bounded by the judge's
`--llm-concurrency`, cached like every call) long before the item runs; `grade` then only
collects it. Without a prefetch (the `llm` fixture, a rescheduled item) `grade` calls directly.

The verdict is read from the judge's last line naming CORRECT or INCORRECT; a reply that names
neither is an error of the judge (raised, so the sample errors), never a silent wrong answer.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
from typing import TYPE_CHECKING

from pydantic import BaseModel

from ..errors import JudgeError

if TYPE_CHECKING:
    from ..settings import EndpointSettings
    from .dispatcher import Dispatcher
    from .models import ChatResponse

JUDGE_PROMPT = """You grade answers to questions against a reference answer.

Question:
{question}

Reference answer:
{reference}

Candidate answer:
{answer}

Decide whether the candidate's final answer means the same as the reference answer. Ignore style,
length and reasoning; judge only the final answer. First give one short sentence of justification,
then a last line that is exactly CORRECT or INCORRECT."""

_VERDICT = re.compile(r"\b(INCORRECT|CORRECT)\b")


class JudgeVerdict(BaseModel):
    passed: bool
    explanation: str
    raw: str


def parse_verdict(text: str) -> bool | None:
    """True/False from the last CORRECT/INCORRECT in the reply (upper case only, so 'correct' in the
    justification does not count); None when the judge named neither."""
    found = _VERDICT.findall(text)
    return None if not found else found[-1] == "CORRECT"


class Judge:
    """Grades (question, reference, answer) triples with the judge model."""

    def __init__(self, settings: EndpointSettings, dispatcher: Dispatcher) -> None:
        self.settings = settings
        self._dispatcher = dispatcher
        self._pending: dict[str, concurrent.futures.Future[ChatResponse]] = {}
        self._lock = threading.Lock()

    def prefetch(self, question: str, reference: str, answer: str) -> None:
        """Issue the judge request for this triple now, without waiting (thread-safe)."""
        body = self.body(question, reference, answer)
        key = self._dispatcher.request_key(body)
        with self._lock:
            if key not in self._pending:
                self._pending[key] = self._dispatcher.submit(body)

    def body(self, question: str, reference: str, answer: str) -> dict[str, object]:
        prompt = JUDGE_PROMPT.format(question=question.strip(), reference=reference.strip(), answer=answer.strip())
        return {"model": self.settings.model, "messages": [{"role": "user", "content": prompt}], **self.settings.gen}

    def grade(self, question: str, reference: str, answer: str) -> JudgeVerdict:
        body = self.body(question, reference, answer)
        with self._lock:
            pending = self._pending.pop(self._dispatcher.request_key(body), None)
        reply = pending.result().text if pending is not None else self._dispatcher.call(body).text
        verdict = parse_verdict(reply)
        if verdict is None:
            raise JudgeError(f"the judge {self.settings.model!r} answered neither CORRECT nor INCORRECT", snippet=reply)
        lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
        explanation = next((line for line in lines if not _VERDICT.fullmatch(line)), lines[-1])
        return JudgeVerdict(passed=verdict, explanation=f"judge: {explanation}", raw=reply)

    def close(self) -> None:
        self._dispatcher.close()
