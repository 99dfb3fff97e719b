"""install.sh's check: is the installed llama-cpp-python built for more than the portable baseline?

The child interpreter really imports a ``llama_cpp`` module: fake ones placed first on PYTHONPATH
(one reporting AVX-512, one reporting AMX, a portable one, one that dies with SIGILL while loading,
as a library built for another CPU can) and, when installed, the real one, which must be portable.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmeval.endpoint import llama_build

SCRIPT = Path(llama_build.__file__)
PORTABLE = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | OPENMP = 1 | "
    "REPACK = 1 | "
)


def fake_llama(tmp_path: Path, body: str) -> Path:
    package = tmp_path / "fake" / "llama_cpp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(body)
    return package.parent


def run_check(path: Path | None) -> subprocess.CompletedProcess[str]:
    env_path = str(path) if path else ""
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": env_path},
    )


@pytest.mark.parametrize(
    ("info", "features"),
    [
        (PORTABLE + "AVX512 = 1 | AVX512_VNNI = 1 | ", ["AVX512", "AVX512_VNNI"]),
        (PORTABLE.replace("BMI2 = 1", "BMI2 = 1 | AMX_INT8 = 1 | AVX_VNNI = 1"), ["AMX_INT8", "AVX_VNNI"]),
    ],
)
def test_build_with_more_than_the_baseline_must_be_rebuilt(tmp_path: Path, info: str, features: list[str]) -> None:
    path = fake_llama(tmp_path, f"def llama_print_system_info():\n    return {info.encode()!r}\n")
    result = run_check(path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert all(name in result.stdout for name in features) and "not portable" in result.stdout


def test_portable_build_is_kept(tmp_path: Path) -> None:
    path = fake_llama(tmp_path, f"def llama_print_system_info():\n    return {PORTABLE.encode()!r}\n")
    result = run_check(path)
    assert result.returncode == 0 and "is portable" in result.stdout
    # AVX512 = 0 is a feature that is off, not on
    assert llama_build.non_portable_features(PORTABLE + "AVX512 = 0 | AMX_INT8 = 0 |") == []


def test_library_that_dies_with_sigill_while_loading_must_be_rebuilt(tmp_path: Path) -> None:
    path = fake_llama(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    result = run_check(path)
    assert result.returncode == 1 and "died with SIGILL" in result.stdout


def test_absent_llama_cpp_needs_no_rebuild() -> None:
    python = shutil.which("python3", path="/usr/bin")
    if python is None:
        pytest.skip("no system python3 to check")
    rebuild, reason = llama_build.check(python)
    if "not installed" not in reason:
        pytest.skip(f"the system python has llama_cpp: {reason}")
    assert rebuild is False


@pytest.mark.e2e
def test_the_installed_llama_cpp_is_portable() -> None:
    """What install.sh built for this environment passes its own check (CI builds it from source)."""
    import importlib.util

    from tests.e2e.conftest import skip_or_fail

    if importlib.util.find_spec("llama_cpp") is None:
        skip_or_fail("llama-cpp-python is not installed (./install.sh local)")
    rebuild, reason = llama_build.check(sys.executable)
    assert not rebuild, reason
