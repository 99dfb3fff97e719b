"""Is the installed llama-cpp-python built for more than the portable x86-64 baseline?

``install.sh`` runs this file (standard library only, so it works before the plugin is installed)::

    python pytest_llmeval/endpoint/llama_build.py [--python PATH]

Exit status 0: llama-cpp-python is absent or portable; 1: it must be rebuilt (the reason is printed).

How: a *child* interpreter imports ``llama_cpp`` and prints ``llama_cpp.llama_print_system_info()``,
the compiled-in CPU features of ggml (for example ``CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 |
FMA = 1 | BMI2 = 1 | AVX512 = 1 | ...``). A child, because a build for another CPU may die with SIGILL
already while loading; that death is itself the answer. Features beyond the portable baseline
(AVX2/FMA/F16C/BMI2) are the AVX-512 family, AVX-VNNI and AMX: a build with any of them set to 1
dies with SIGILL on a CPU (or a hypervisor) that does not enable them.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys

# Prefixes of ggml feature names that the portable build leaves off (docs/serving.md).
NON_PORTABLE_PREFIXES = ("AVX512", "AVX_VNNI", "AMX")
_FEATURE = re.compile(r"([A-Z][A-Z0-9_]*)\s*=\s*1\b")
_PROBE = "import llama_cpp, sys; sys.stdout.write(llama_cpp.llama_print_system_info().decode())"


def non_portable_features(system_info: str) -> list[str]:
    """The features set to 1 in ``system_info`` that the portable baseline does not include."""
    return [name for name in _FEATURE.findall(system_info) if name.startswith(NON_PORTABLE_PREFIXES)]


def check(python: str = sys.executable, timeout_s: float = 120.0) -> tuple[bool, str]:
    """``(needs_rebuild, reason)`` for the llama-cpp-python that ``python`` imports."""
    try:
        child = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return True, "importing llama_cpp did not finish; rebuilding it"
    if child.returncode < 0:
        try:
            name = signal.Signals(-child.returncode).name
        except ValueError:
            name = f"signal {-child.returncode}"
        return True, f"importing llama_cpp died with {name}: it was built for another CPU"
    if child.returncode != 0:
        if "No module named 'llama_cpp'" in child.stderr:
            return False, "llama-cpp-python is not installed"
        return True, f"importing llama_cpp failed: {child.stderr.strip().splitlines()[-1:]}"
    extra = non_portable_features(child.stdout)
    if extra:
        return True, f"llama-cpp-python was built with {', '.join(extra)} (not portable: {child.stdout.strip()})"
    return False, f"llama-cpp-python is portable ({child.stdout.strip()})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose llama_cpp to check")
    args = parser.parse_args(argv)
    rebuild, reason = check(args.python)
    print(f"llama_build: {reason}")
    return 1 if rebuild else 0


if __name__ == "__main__":
    sys.exit(main())
