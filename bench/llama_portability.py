"""What the portable llama.cpp build costs in tokens/s against a native (-march=native) build.

    python bench/llama_portability.py                             # the portable build of this venv only
    python bench/llama_portability.py --native-venv /tmp/native   # also build a native one there and compare

``--native-venv PATH`` creates a virtualenv at PATH (once) and compiles the same llama-cpp-python
version into it with ``CMAKE_ARGS=-DGGML_NATIVE=ON`` and ``--no-cache-dir``, so the native wheel never
lands in any pip cache (where a later portable install could pick it up). That takes several minutes.

Each build runs in its own child process, alternating (portable, native, portable, ...), ``--rounds``
times: load SmolLM2-135M (Q4_1) with ``n_threads`` = the CPUs available, evaluate a fixed prompt
(prompt processing, "pp" tokens/s) and generate ``--tokens`` tokens greedily (text generation, "tg"
tokens/s), the two figures llama.cpp's own ``llama-bench`` reports. Printed: medians per build, the
ratio native/portable, and each build's ``llama_print_system_info()``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import venv
from pathlib import Path

CHILD = r"""
import json, os, sys, time
import llama_cpp
model_path, tokens = sys.argv[1], int(sys.argv[2])
threads = len(os.sched_getaffinity(0))
llm = llama_cpp.Llama(model_path=model_path, n_ctx=1024, n_threads=threads, n_threads_batch=threads, verbose=False)
prompt = llm.tokenize(("The history of computing is long and full of surprises. " * 12).encode())
llm.reset()
t0 = time.perf_counter()
llm.eval(prompt)
pp = len(prompt) / (time.perf_counter() - t0)
generated = 0
t0 = time.perf_counter()
for token in llm.generate([llm.token_bos()] + prompt[:8], temp=0.0, reset=True):
    generated += 1
    if generated >= tokens:
        break
tg = generated / (time.perf_counter() - t0)
print(json.dumps({"pp": pp, "tg": tg, "info": llama_cpp.llama_print_system_info().decode().strip()}))
"""


def native_python(path: Path, version: str) -> str:
    python = path / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import llama_cpp"], capture_output=True) if python.exists() else None
    if probe is not None and probe.returncode == 0:
        return str(python)
    if not python.exists():
        venv.create(path, with_pip=True)
    print(f"building llama-cpp-python {version} natively into {path} (several minutes) ...", flush=True)
    env = {**os.environ, "CMAKE_ARGS": "-DGGML_NATIVE=ON"}
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-cache-dir",
            "--no-binary",
            "llama-cpp-python",
            f"llama-cpp-python=={version}",
        ],
        env=env,
        check=True,
    )
    return str(python)


def measure(python: str, model: str, tokens: int) -> dict[str, object]:
    child = subprocess.run([python, "-c", CHILD, model, str(tokens)], capture_output=True, text=True)
    if child.returncode != 0:
        return {"error": f"exit {child.returncode}: {child.stderr.strip()[-300:]}"}
    result: dict[str, object] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--native-venv", type=Path, help="where to build (once) and run a native build")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()

    import importlib.metadata

    from pytest_llmeval.endpoint.local_models import resolve_local_model

    model = str(resolve_local_model("smollm2-135m").path)
    builds = {"portable": sys.executable}
    if args.native_venv is not None:
        builds["native"] = native_python(args.native_venv.resolve(), importlib.metadata.version("llama-cpp-python"))
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in builds}
    for _ in range(args.rounds):
        for name, python in builds.items():
            runs[name].append(measure(python, model, args.tokens))
    medians: dict[str, dict[str, float]] = {}
    print(f"SmolLM2-135M Q4_1, {len(os.sched_getaffinity(0))} threads, {args.rounds} rounds, {args.tokens} tokens")
    for name, results in runs.items():
        good = [r for r in results if "error" not in r]
        if not good:
            print(f"{name:9} failed: {results[0]['error']}")
            continue
        medians[name] = {key: statistics.median(float(r[key]) for r in good) for key in ("pp", "tg")}  # type: ignore[arg-type]
        print(
            f"{name:9} pp {medians[name]['pp']:8.1f} tok/s   tg {medians[name]['tg']:7.1f} tok/s   ({good[0]['info']})"
        )
    if "native" in medians and "portable" in medians:
        for key in ("pp", "tg"):
            print(f"native/portable {key}: {medians['native'][key] / medians['portable'][key]:.2f}x")


if __name__ == "__main__":
    main()
