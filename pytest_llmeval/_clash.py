"""Refuses to run beside the other distribution that installs an import package `pytest_llmeval`.

The name `pytest-llmeval` on PyPI belongs to an unrelated plugin (kevinschaul/pytest-llmeval: a
`llmeval` marker and an `llmeval_result` fixture), which is why this project is distributed as
`pytest-llmbench`. Both install `pytest_llmeval/__init__.py` and `pytest_llmeval/plugin.py`, so in
one environment the one installed last overwrites the other's files: neither works as shipped, and
uninstalling one deletes files the other needs. This module is a pytest plugin of its own (entry
point `llmeval-clash`) because it is the one file the other distribution does not overwrite.
"""

from __future__ import annotations

import importlib.metadata

import pytest

from .errors import ConfigError

OURS = "pytest-llmbench"
# Files every version of this project ships and the other one never did: a distribution that installs
# `pytest_llmeval/plugin.py` without any of them is another project (an editable install of ours lists
# neither: it installs a path hook; an old build of ours under the old name lists them).
_OUR_MARKS = frozenset({"pytest_llmeval/options.py", "pytest_llmeval/settings.py", "pytest_llmeval/errors.py"})
_SHARED = "pytest_llmeval/plugin.py"


def foreign_distributions() -> list[str]:
    """`"NAME VERSION"` of every installed distribution other than this one whose files include
    `pytest_llmeval/plugin.py`. Reads the metadata only of distributions named like the import package
    (the known clash), so it costs one directory scan at start-up."""
    found = []
    for name in ("pytest-llmeval", "pytest_llmeval"):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        files = {str(path).replace("\\", "/") for path in dist.files or ()}
        label = f"{dist.metadata['Name']} {dist.version}"
        if _SHARED in files and not files & _OUR_MARKS and label not in found:
            found.append(label)
    return found


def clash_message(foreign: list[str]) -> str:
    return (
        f"{' and '.join(foreign)} is installed beside {OURS}: it is an unrelated pytest plugin that installs the "
        "same import package `pytest_llmeval`, so the two overwrite each other's files and cannot share an "
        f"environment. Fix: pip uninstall -y {' '.join(f.split()[0] for f in foreign)} && "
        f"pip install --force-reinstall --no-deps {OURS} (or give each its own virtual environment)"
    )


@pytest.hookimpl(tryfirst=True)  # before any plugin's configure: the other one's files may be in use
def pytest_cmdline_main(config: pytest.Config) -> None:
    if config.pluginmanager.is_blocked("llmeval") or config.option.help:
        return
    foreign = foreign_distributions()
    if foreign:
        raise pytest.UsageError(str(ConfigError(clash_message(foreign))))
