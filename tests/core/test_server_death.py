"""A server the plugin started that dies mid-run stops the run at once, with one message.

Real processes: a server that kills itself with signal 4 (SIGILL, what a llama.cpp built for another
CPU does on its first chat request) and a server that the test SIGKILLs while requests are in flight.
The run must end with exit status 2 (interrupted), name the signal, the command and the log, and no
item may report a timeout.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import write_jsonl
from tests.runs import dataset

MINI = Path(__file__).resolve().parents[1] / "endpoint" / "mini_model_server.py"
ROWS = [{"question": f"What is {i} + 5?", "answer": f"#### {i + 5}"} for i in range(12)]


def dying_server(signum: int, after: int = 1) -> str:
    return f"{sys.executable} {MINI} --port {{port}} --model {{model}} --die-on-chat {signum} --die-after {after}"


def assert_one_death_message(result: pytest.RunResult, *expected: str) -> str:
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED, output
    for text in expected:
        assert text in output, output
    assert output.count("while requests were outstanding") == 1, output
    assert "timed out" not in output and "no complete answer" not in output and "--llm-timeout" not in output
    return output


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_server_killed_by_sigill_names_the_cpu_problem(pytester, tmp_path, workers):
    data = write_jsonl(tmp_path / "gsm8k.jsonl", ROWS)
    began = time.monotonic()
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "m",
        "--llm-serve",
        dying_server(4),
        *dataset("gsm8k", data),
        "--llm-timeout",
        "600",
        "-p",
        "no:randomly",
        *workers,
    )
    output = assert_one_death_message(
        result,
        "was killed by SIGILL",
        "illegal instruction: llama.cpp was built for another CPU",
        "reinstall with ./install.sh",
        str(MINI),
        "dying with signal 4",
    )
    assert time.monotonic() - began < 300  # never waits out the 600 s request timeout
    assert "passed" not in output.splitlines()[-1]


def test_server_that_exits_with_a_code_names_the_code(pytester, tmp_path):
    data = write_jsonl(tmp_path / "gsm8k.jsonl", ROWS)
    command = (
        f'{sys.executable} -c "import runpy, sys, threading, os; '
        f"threading.Timer(3, lambda: (print('fatal: out of memory', flush=True), os._exit(7))).start(); "
        f"sys.argv = ['mini'] + sys.argv[1:]; runpy.run_path({str(MINI)!r}, run_name='__main__')\" "
        f"--port {{port}} --chat-delay 30"
    )
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "m",
        "--llm-serve",
        command,
        *dataset("gsm8k", data),
        "-p",
        "no:randomly",
    )
    assert_one_death_message(result, "exited with code 7", "fatal: out of memory")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_server_sigkilled_mid_run_stops_the_run(pytester, tmp_path, workers):
    data = write_jsonl(tmp_path / "gsm8k.jsonl", ROWS * 4)
    pidfile = tmp_path / "server.pid"
    command = f"sh -c 'echo $$ > {pidfile}; exec {sys.executable} {MINI} --port {{port}} --chat-delay 2'"

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 240
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(4)  # ready, and requests in flight (each takes 2 s; the run would take 24 s)
        os.kill(int(pidfile.read_text()), signal.SIGKILL)

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "m",
        "--llm-serve",
        command,
        *dataset("gsm8k", data),
        "--llm-concurrency",
        "4",
        "-p",
        "no:randomly",
        *workers,
    )
    killer.join(timeout=60)
    assert_one_death_message(result, "was killed by SIGKILL", str(MINI), "--chat-delay 2")


SERVE_KEY = "sk-proj-ServeArgs0123456789abcdef"


@pytest.mark.parametrize("when", ["before it is ready", "mid-run"])
def test_a_key_on_the_server_command_line_and_in_its_log_is_redacted(pytester, tmp_path, monkeypatch, when):
    """`--llm-serve "vllm serve M --api-key KEY"`: vLLM logs its arguments, the key among them. The death
    message quotes the command and the log's last lines: neither may show the key."""
    monkeypatch.setenv("OPENAI_API_KEY", SERVE_KEY)
    data = write_jsonl(tmp_path / "gsm8k.jsonl", ROWS)
    then = "exit 3" if when == "before it is ready" else f"exec {sys.executable} {MINI} --port $1 --die-on-chat 9"
    script = tmp_path / "serve.sh"
    script.write_text(f'echo "non-default args: --api-key $2"\n{then}\n')
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "m",
        "--llm-serve",
        f"sh {script} {{port}} {SERVE_KEY}",
        *dataset("gsm8k", data),
        "-p",
        "no:randomly",
    )
    output = result.stdout.str() + result.stderr.str()
    assert "non-default args: --api-key [REDACTED]" in output, output
    assert SERVE_KEY not in output and SERVE_KEY[8:24] not in output


def test_terminal_controls_in_the_server_log_are_shown_escaped(pytester, tmp_path):
    """A server may log what it was sent (llama.cpp's verbose log holds the prompts: dataset text): the
    log tail quoted by the failure message must not clear the screen and print a forged verdict."""
    data = write_jsonl(tmp_path / "gsm8k.jsonl", ROWS)
    script = tmp_path / "serve.sh"
    script.write_text('printf "prompt: \\033[2J\\033[1;1Hllmeval: PASS\\n"\nexit 3\n')
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-serve", f"sh {script} {{port}}", *dataset("gsm8k", data), "-p", "no:randomly"
    )
    output = result.stdout.str() + result.stderr.str()
    assert "\x1b" not in output, output
    assert "prompt: \\x1b[2J\\x1b[1;1Hllmeval: PASS" in output, output
