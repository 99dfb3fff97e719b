# Sourced by quickstart.sh and run-tests.sh: `python` is the interpreter of the environment that
# install.sh installs into (the active virtual or conda environment, else ./.venv), and
# `ensure_installed EXTRAS MODULE...` runs ./install.sh EXTRAS when a module is missing there.
if [ -n "${VIRTUAL_ENV:-}" ]; then
  python="$VIRTUAL_ENV/bin/python"
elif [ -n "${CONDA_PREFIX:-}" ]; then
  python="$CONDA_PREFIX/bin/python"
else
  python="$(pwd)/.venv/bin/python"
fi

ensure_installed() {
  local extras="$1"
  shift
  local check="import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))"
  if [ -x "$python" ] && "$python" -c "$check" "$@" 2>/dev/null; then
    return 0
  fi
  echo "$(basename "$0"): setting up ($*) with ./install.sh $extras"
  ./install.sh "$extras"
}
