"""Code execution: running programs and slow checks in child processes, under limits.

* `sandbox`: one Python program under resource limits (bubblewrap when available), `run_python`, `run_many`;
  `_sandbox_boot.py` is the bootstrap it starts; `_checker_boot.py` the verdict process beside a program;
* `code`: the code benchmarks' checkers (`check_stdio_program`, `check_functional`, `check_humaneval`,
  `check_livecodebench`), each a sandboxed run per test.

`scoring/` stays pure (text in, verdict out); everything here starts processes or arms signals.
"""
