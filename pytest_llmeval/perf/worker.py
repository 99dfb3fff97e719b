"""`python -m pytest_llmeval.perf.worker`: runs one PerfJob read from stdin and prints one JSON line.

Answer: `{"results": [PerfResult...]}` or `{"error": {"type": "ConfigError", "message": "..."}}`.
Started by `runner.run_in_process`; the job (with the request headers) only travels on the pipe.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import LLMEvalError
from .runner import PerfJob, run_blocking


def main() -> int:
    job = PerfJob.model_validate_json(sys.stdin.buffer.read())
    answer: dict[str, Any]
    try:
        results = run_blocking(job)
    except LLMEvalError as exc:
        answer = {"error": {"type": type(exc).__name__, "message": str(exc)}}
    else:
        answer = {"results": [r.model_dump(mode="json") for r in results]}
    sys.stdout.write("\n" + json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
