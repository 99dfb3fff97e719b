"""Which benchmarks and subsets the `-m` expression can select, decided before any data is read.

A sample item carries the marks `<benchmark>`, `<subset>` and the benchmark's tags, so whether `-m`
can select a subset is known from the registry alone: only those subsets are loaded. A name in `-m`
close to one of ours but matching nothing is a usage error with a suggestion (`check_mark_names`).
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from _pytest.mark.expression import Expression

from ..benchmarks.base import Benchmark
from ..errors import ConfigError

# Marks pytest acts on (they skip, expect failure, parametrize, filter warnings...), and marks that
# widely used plugins act on. A name that comes from a benchmark or from data (a collection's groups,
# task types, tags, datasets) never becomes one of them: a collection tagged `xfail` would otherwise
# turn its wrong answers into an exit status of 0, and `skipif` would crash the run.
PYTEST_MARKS = frozenset(
    {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "tryfirst", "trylast"}
)
PLUGIN_MARKS = frozenset(
    {
        "asyncio",
        "anyio",
        "trio",
        "timeout",
        "flaky",
        "order",
        "run",
        "first",
        "last",
        "dependency",
        "depends",
        "xdist_group",
        "forked",
        "repeat",
        "rerun",
        "django_db",
        "urls",
        "ignore_template_errors",
        "no_cover",
        "benchmark",
        "randomly_dont_reorganize",
        "enable_socket",
        "disable_socket",
        "allow_hosts",
        "block_network",
        "vcr",
        "default_cassette",
        "httpx_mock",
        "freeze_time",
        "subtests",
        "perf",
    }
)
RESERVED_PREFIX = "llm_"
OUR_MARKER_DESCRIPTION = "llmeval "  # the markers ini lines this plugin adds: "NAME: llmeval ..."


def mark_name(text: str, reserved: AbstractSet[str] = frozenset()) -> str:
    """A benchmark, subset or tag as a mark name: word characters only (`-m` and the markers ini
    need that). A name pytest or a plugin acts on (`PYTEST_MARKS`, `PLUGIN_MARKS`, or `reserved`:
    marks another plugin registered) gets the prefix `llm_` (`skip` -> `llm_skip`), so data never
    chooses what pytest does with an item."""
    name = re.sub(r"\W", "_", text.strip()) or "_"
    while name in PYTEST_MARKS or name in PLUGIN_MARKS or name in reserved:
        name = RESERVED_PREFIX + name
    return name


def foreign_marks(marker_lines: Iterable[str], ini_lines: Iterable[str] = ()) -> set[str]:
    """Marks registered by pytest or another plugin (or a conftest), which may act on them: the
    `markers` lines not added by this plugin and not written in the ini file by the user (who may
    register our benchmark names there for --strict-markers)."""
    ours_or_users = {_marker(line) for line in ini_lines}
    return {
        _marker(line)
        for line in marker_lines
        if line.strip() and not line.partition(":")[2].strip().startswith(OUR_MARKER_DESCRIPTION.strip())
    } - ours_or_users


def _marker(line: str) -> str:
    return re.split(r"[:(]", line, maxsplit=1)[0].strip()


def ini_marker_lines(config: Any) -> list[str]:
    """The `markers` lines of the user's ini file (pyproject gives a list, ini files one string)."""
    try:
        values = getattr(config, "_inicfg", None)  # pytest 9 (its public `inicfg` is deprecated there)
        if values is None:
            values = config.inicfg  # pytest 8: a plain dict
        raw = values.get("markers", "")
        raw = getattr(raw, "value", raw)  # pytest 9 wraps each value
    except Exception:
        return []
    return [str(line) for line in raw] if isinstance(raw, (list, tuple)) else str(raw).splitlines()


def sample_marks(cls: type[Benchmark], subset: str) -> list[str]:
    tags = [*cls.tags, *cls.subset_tags(subset)]
    return list(dict.fromkeys([mark_name(cls.name), mark_name(subset), *(mark_name(t) for t in tags)]))


def select(
    markexpr: str | None, benchmarks: Mapping[str, type[Benchmark]], subsets_of: Mapping[str, list[str]]
) -> dict[str, list[str]]:
    """benchmark name -> the subsets `-m` can select; benchmarks it cannot select are absent.

    Without `-m` nothing is selected: benchmark items are opt-in, so an ordinary test run given
    `--llm-model` (for the `llm` fixture) never starts evaluating every benchmark.
    """
    if not markexpr:
        return {}
    expression = Expression.compile(markexpr)
    chosen: dict[str, list[str]] = {}
    for name, cls in benchmarks.items():
        for subset in subsets_of[name]:
            marks = set(sample_marks(cls, subset))
            if expression.evaluate(lambda mark, /, **kwargs: not kwargs and mark in marks):  # noqa: B023 - called here
                chosen.setdefault(name, []).append(subset)
    return chosen


# -- typos -------------------------------------------------------------------------------------

_IDENT = re.compile(r"(?:[\w:+\-.\[\]\\/])+")
_KEYWORDS = {"and", "or", "not", "True", "False", "None"}


def expression_names(markexpr: str) -> list[str]:
    """The mark names an `-m` expression mentions (`"gsm8k or not ifevl"` -> gsm8k, ifevl); keyword
    arguments of a mark (`perf(level=1)`) are no names."""
    bare = re.sub(r"\([^()]*=[^()]*\)", " ", markexpr)
    names = [token for token in _IDENT.findall(bare) if token not in _KEYWORDS and not token.isdigit()]
    return list(dict.fromkeys(names))


def llmeval_names(benchmarks: Mapping[str, type[Benchmark]]) -> set[str]:
    """Every mark a sample item can carry: benchmark names, subsets, tags, subset groups."""
    names: set[str] = set()
    for name, cls in benchmarks.items():
        names.add(name)
        for subset in cls.subsets:
            names.update(sample_marks(cls, subset))
    return names


def did_you_mean(word: str, known: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(word, sorted(known), n=3, cutoff=0.75)


def check_mark_names(
    markexpr: str | None,
    benchmarks: Mapping[str, type[Benchmark]],
    known_marks: Iterable[str],
    collection_marks: Iterable[str] = (),
) -> None:
    """A usage error for a name in `-m` that is close to a benchmark, subset or tag (or, with
    `--llm-collection`, to one of the collection's groups, task types, tags or datasets) but is none
    of them nor a registered mark (`-m gsm8kk`, `-m "gsm8k or ifevl"`, `-m Maths` for the group
    `Math`), instead of a silently smaller or empty run. A name close to nothing of ours is left
    alone: it may be a mark of the user's own tests."""
    if not markexpr:
        return
    # a collection name another plugin registers as a mark gets the prefix only when items are built
    collection_names = {name for mark in collection_marks for name in (mark, RESERVED_PREFIX + mark)}
    ours = llmeval_names(benchmarks) | collection_names
    registered = set(known_marks)
    for name in expression_names(markexpr):
        if name in ours or name in registered:
            continue
        close = did_you_mean(name, ours)
        if close:
            suggestion = " or ".join(repr(c) for c in close)
            what = (
                "benchmark, subset, tag, collection group or registered mark"
                if collection_marks
                else ("benchmark, subset, tag or registered mark")
            )
            raise ConfigError(
                f"-m names {name!r}, which is no {what}; did you mean {suggestion}? (pytest --llm-list shows them all)"
            )


def check_subset_list(benchmark: Benchmark, chosen: list[str]) -> None:
    """`--llm-bench-arg NAME.subset_list=...` naming no subset is a usage error with suggestions."""
    if not benchmark.args.get("subset_list"):
        return
    known = list(benchmark.subsets)
    for subset in chosen:
        if subset not in known:
            close = did_you_mean(subset, known)
            hint = (
                f"; did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else f"; subsets: {', '.join(known[:20])}"
            )
            raise ConfigError(
                f"{benchmark.name}.subset_list names {subset!r}, which is no subset of {benchmark.name}{hint}"
            )


def registered_marks(lines: Iterable[str]) -> set[str]:
    """Mark names of the `markers` ini lines (`"slow: ..."`, `"perf(**load): ..."`)."""
    return {_marker(line) for line in lines if line.strip()}


def check_dataset_names(
    datasets: Mapping[str, str], benchmarks: Mapping[str, type[Benchmark]], *, only_close: bool = False
) -> None:
    """Each `--llm-dataset` key is `NAME`, `NAME.SUBSET`, `NAME:SPLIT` or `NAME.SUBSET:SPLIT` of a
    known benchmark; anything else is a usage error (it would be ignored and the hub tried).
    `only_close`: an unknown name is an error only when it is close to a known one."""
    for key in datasets:
        head = key.partition(":")[0]
        name, dot, subset = head.partition(".")
        if name not in benchmarks:
            close = did_you_mean(name, benchmarks)
            if only_close and not close:
                continue
            hint = (
                f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "pytest --llm-list shows the names"
            )
            raise ConfigError(f"--llm-dataset {key}=... names no benchmark {name!r}; {hint}")
        cls = benchmarks[name]
        if dot:
            labels = {*cls.subsets, *(mark_name(s) for s in cls.subsets)}
            if subset not in labels and not _is_dataset_label(cls, subset):
                close = did_you_mean(subset, cls.subsets)
                hint = (
                    f"did you mean {' or '.join(repr(c) for c in close)}?"
                    if close
                    else f"subsets: {', '.join(list(cls.subsets)[:20])}"
                )
                raise ConfigError(f"--llm-dataset {key}=... names no subset {subset!r} of {name}; {hint}")


def _is_dataset_label(cls: type[Benchmark], label: str) -> bool:
    """The dataset's own name of a subset (`arc.ARC-Easy`, `aime25.AIME2025-I`, `mmlu_pro.computer science`,
    `math_500.5`), as the benchmark declares them (`subset_labels`)."""
    return label in cls.subset_labels.values() or label.isdigit()


def plain_tests_can_match(markexpr: str | None, benchmarks: Mapping[str, type[Benchmark]]) -> bool:
    """Whether `-m` can select a test that carries none of the plugin's marks: with every benchmark,
    subset and tag name false, does some choice of the other names (`slow`, `e2e`) make it true?
    `-m smoke` or `-m "gsm8k and not main"` cannot; `-m "smoke or slow"`, `-m "not gsm8k"` and no
    `-m` at all can. An evaluation run given no path collects test files only when this is true."""
    if not markexpr:
        return True
    if re.search(r"\([^()]*=", markexpr):  # keyword matching (`perf(level=1)`): not worked out here
        return True
    ours = llmeval_names(benchmarks)
    others = [name for name in expression_names(markexpr) if name not in ours]
    if len(others) > 10:
        return True
    expression = Expression.compile(markexpr)
    for values in itertools.product((False, True), repeat=len(others)):
        truth = dict(zip(others, values, strict=True))
        if expression.evaluate(lambda mark, /, **kwargs: not kwargs and truth.get(mark, False)):  # noqa: B023 - called here
            return True
    return False
