"""A usage error when an `--llm-*` option's path value moved pytest's rootdir.

pytest chooses its rootdir, and with it the ini file it reads, before it loads plugins installed
from packages; at that point `--llm-compare /tmp/r1.json` is an unknown option followed by a path,
and the path counts as a test path. A path outside the project moves the rootdir to a common
ancestor (`/tmp`), so the project's ini file is not read (its `llm_model`: the run collects no
sample) and the default response cache is looked for under that folder (every request sent again).
`--llm-compare=/tmp/r1.json` is parsed as one token and never has that effect.

`check_rootdir(config)` recomputes the rootdir and ini file from the test paths pytest finally parsed
(with every option known) and raises `ConfigError` naming the option, the value, both folders and
the ini file that was not read, when an `--llm-*` value lost that ini file. (Without an ini file to
lose, the moved rootdir only moves `.pytest_cache`; docs/options.md says so at `--llm-cache-dir`.)
It uses pytest's own `determine_setup` (a private function, called with the keywords its installed
version accepts); when that cannot be called, it checks nothing.

`join_option_values(config)` guards pytest-xdist's workers the same way: each worker parses the
controller's command line again once the controller is set up, and by then a folder or file the
controller made (`--llm-cache-dir DIR` written apart, absent when the controller chose its rootdir)
exists and would move the worker's rootdir away from the ini file. The controller's command line is
rewritten first, each single-value `--llm-*` option and its value as one word.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
from pathlib import Path
from typing import Any

import pytest

from .errors import ConfigError


def check_rootdir(config: pytest.Config) -> None:
    """Raise ConfigError when the value of an `--llm-*` option written as a separate word moved the rootdir."""
    args = list(config.invocation_params.args)
    culprits = [
        (option, value)
        for option, value in itertools.pairwise(args)
        if option.startswith("--llm-") and "=" not in option and _is_path(config, value)
    ]
    if not culprits:
        return
    intended = _setup_of(config, [str(a) for a in (config.option.file_or_dir or [])])
    if intended is None or intended[1] is None or intended[1] == config.inipath:
        return  # the same ini file (or none to lose): what the rootdir holds is the user's choice
    rootdir, inipath = intended
    option, value = culprits[0]
    moved = f"the rootdir is {config.rootpath} instead of {rootdir}, and " if config.rootpath != rootdir else ""
    read = f"read {config.inipath}" if config.inipath else "read no ini file"
    raise ConfigError(
        f"{option} {value}: pytest took this path for a test path when it chose its rootdir and ini file "
        f"(it does so before it knows plugins' options): {moved}pytest {read} instead of {inipath}; "
        f"write the option and its value as one word: {option}={value}"
    )


def join_option_values(config: pytest.Config) -> None:
    """Rewrite `config.invocation_params.args` (what pytest-xdist sends its workers) with each `--llm-*`
    option that takes one value joined to it (`--llm-cache-dir=DIR`): the same options for argparse,
    and never a test path. Options of several values (`nargs="+"`) and flags are left as they are."""
    from .options import OPTIONS

    single = {spec.flag for spec in OPTIONS if spec.kind not in ("flag", "words")}
    args = list(config.invocation_params.args)
    joined: list[str] = []
    index = 0
    while index < len(args):
        word = str(args[index])
        if word in single and index + 1 < len(args):
            joined.append(f"{word}={args[index + 1]}")
            index += 2
            continue
        joined.append(word)
        index += 1
    if joined != [str(a) for a in args]:
        config.invocation_params = dataclasses.replace(config.invocation_params, args=tuple(joined))


def _is_path(config: pytest.Config, value: str) -> bool:
    if value.startswith("-"):
        return False
    try:
        return (config.invocation_params.dir / value).exists()
    except OSError:
        return False


def _setup_of(config: pytest.Config, test_paths: list[str]) -> tuple[Path, Path | None] | None:
    """The rootdir and ini file pytest would choose for `test_paths`; None when its function cannot
    be called."""
    try:
        from _pytest.config.findpaths import determine_setup

        given: dict[str, Any] = {
            "inifile": config.option.inifilename,
            "override_ini": config.option.override_ini,
            "args": test_paths,
            "rootdir_cmd_arg": config.option.rootdir or None,
            "invocation_dir": config.invocation_params.dir,
        }
        accepted = inspect.signature(determine_setup).parameters
        result = determine_setup(**{name: value for name, value in given.items() if name in accepted})
        return Path(result[0]), (Path(result[1]) if result[1] is not None else None)
    except Exception:  # another pytest's private API: no check rather than a crash
        return None
