"""Code execution: running programs and slow checks in child processes, under limits.

* `sandbox`: one Python program under resource limits (bubblewrap when available), `run_python`, `run_many`;
  `_sandbox_boot.py` is the bootstrap it starts; `_checker_boot.py` the verdict process beside a program;
* `code`: the code benchmarks' checkers (`check_stdio_program`, `check_functional`, `check_humaneval`,
  `check_livecodebench`), each a sandboxed run per test;
* `symbolic`: `math_equal`, competition-math equality with math-verify's symbolic step under a hard time
  limit (SIGALRM in the main thread, else a helper process).

`scoring/` stays pure (text in, verdict out); everything here starts processes or arms signals. The text side
of code scoring (the program in a reply, HumanEval's program text, comparing outputs) stays in `scoring.code`:
it is pure, and the checker process is handed `scoring.code.json_values_equal`'s source.
"""
