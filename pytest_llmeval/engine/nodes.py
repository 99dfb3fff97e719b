"""The pytest item of one benchmark sample.

Setup waits for this sample's response (already requested ahead by the dispatcher): a transport or
server failure raises there, so pytest reports an *error*, never a failed answer. The call phase
scores the response; a wrong answer fails with a short message, not a traceback.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, overload

import pluggy
import pytest

from ..benchmarks.base import Benchmark, Sample
from ..errors import LLMEvalError, WrongAnswer
from ..terminal_text import printable
from .store import SampleStore

# A sample's metadata key saying why its record cannot become a request (a malformed collection
# record): the item then errors alone, kind `bad_record`, and nothing is sent for it.
RECORD_ERROR = "record_error"


class SampleRuntime(Protocol):
    """What an item needs from the per-process runtime (`engine.runtime.EvalRuntime`).

    A protocol, so that this module does not import the runtime: the runtime imports the items.
    """

    # a ChatResponse; for an embedding / reranker task's item, its `retrieval.runtime.VectorAnswer`
    def response_for(self, item: SampleItem) -> Any: ...

    def score(self, item: SampleItem, response: Any) -> Any: ...


ROOTDIR_HOOKS = pytest.StashKey[pluggy.HookRelay]()


def keep_rootdir_hooks(session: pytest.Session) -> None:
    """Keep the rootdir's hook proxy for the sample items' `ihook`; call once collection is over
    (no conftest.py is loaded after it)."""
    session.stash[ROOTDIR_HOOKS] = session.gethookproxy(session.config.rootpath)


T = TypeVar("T")

_UNSAFE = re.compile(r"[^\w.\-]+")
NAME_CHARS = 64


def node_name(sample_id: str) -> str:
    """A dataset-supplied sample id as the last part of a node id: safe in a terminal, a shell, a
    `-k` expression and HTML (pytest-html shows node ids unescaped).

    Shape: an id of word characters, `.` and `-` (at most `NAME_CHARS`) is kept as it is; any other
    id becomes its safe characters (runs of others as `_`, at most `NAME_CHARS`) plus `-` and 8 hex
    digits of its sha256, so distinct ids stay distinct and each maps to the same name in every
    run (`--lf`, xdist and comparisons rely on that). The original id stays in the sample record.
    """
    if sample_id and len(sample_id) <= NAME_CHARS and not _UNSAFE.search(sample_id):
        return sample_id
    digest = hashlib.sha256(sample_id.encode("utf-8", errors="surrogatepass")).hexdigest()[:8]
    safe = _UNSAFE.sub("_", sample_id).strip("_.-")[:NAME_CHARS]
    return f"{safe}-{digest}" if safe else f"id-{digest}"


def _excerpt(text: str | None, limit: int = 200) -> str:
    if not text:
        return "(empty)"
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _answer_excerpt(text: str | None, extracted: str | None, limit: int = 200) -> str:
    """Where the extractor read: the end of the output, or the window around the last place the
    extracted answer appears in it (extractors read final answers, so the start says little)."""
    if not text:
        return "(empty)"
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    at = flat.rfind(extracted) if extracted else -1
    if at < 0:
        return "…" + flat[-(limit - 1) :]
    end = min(len(flat), at + len(extracted or "") + limit // 4)
    start = max(0, end - limit)
    return ("…" if start > 0 else "") + flat[start:end] + ("…" if end < len(flat) else "")


class _MadeOnUse(Generic[T]):
    """A per-item container pytest gives every node, kept in the item's slot `slot` and made by
    `make(item)` only when something first reads it (assigning it sets the slot)."""

    def __init__(self, slot: str, make: Callable[[Any], T]) -> None:
        self.slot, self.make = slot, make

    @overload
    def __get__(self, item: None, owner: type) -> _MadeOnUse[T]: ...
    @overload
    def __get__(self, item: SampleItem, owner: type) -> T: ...
    def __get__(self, item: SampleItem | None, owner: type) -> T | _MadeOnUse[T]:
        if item is None:
            return self
        try:
            value: T = getattr(item, self.slot)
        except AttributeError:
            value = self.make(item)
            setattr(item, self.slot, value)
        return value

    def __set__(self, item: SampleItem, value: T) -> None:
        setattr(item, self.slot, value)


class SampleItem(pytest.Item):
    """One sample. It holds its sample by reference (`store` and row `index`, engine/store.py) and
    decodes it when asked (`sample`); while it runs (setup to teardown) it keeps the decoded one.

    Items live until the process exits, so pytest's per-node containers are made only when
    something asks for them, and those its plugins fill while the item runs are dropped by
    `release` once it ran: `extra_keyword_matches` (an empty set that almost nothing fills),
    `stash` (logging, skipping and tmp_path fill it; also pytest's old alias `_store`), `keywords`
    (asked for by each report; rebuilt from the item's name and marks when asked again; a keyword
    a plugin added while the item ran is gone with it), `user_properties` and the captured-output
    sections (copied into each report). About 0.8 KB per sample (tracemalloc at 10,000 samples,
    bench/eval_memory.py; issue 31).
    """

    __slots__ = ("_extra_keywords", "_keywords", "_properties", "_sections", "_stash")

    extra_keyword_matches: _MadeOnUse[set[str]] = _MadeOnUse("_extra_keywords", lambda item: set())
    stash: _MadeOnUse[pytest.Stash] = _MadeOnUse("_stash", lambda item: pytest.Stash())
    keywords: _MadeOnUse[MutableMapping[str, Any]] = _MadeOnUse("_keywords", lambda item: item.marked_keywords())
    user_properties: _MadeOnUse[list[tuple[str, object]]] = _MadeOnUse("_properties", lambda item: [])
    _report_sections: _MadeOnUse[list[tuple[str, str, str]]] = _MadeOnUse("_sections", lambda item: [])

    def __init__(
        self,
        *,
        benchmark: Benchmark,
        runtime: SampleRuntime,
        sample: Sample | None = None,
        store: SampleStore | None = None,
        index: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for slot in SampleItem.__slots__:  # pytest's empty ones: made again when first asked for
            delattr(self, slot)
        if store is None:  # a sample handed over as it is: stored like the others
            assert sample is not None, "SampleItem needs a sample or a store and row index"
            store = SampleStore()
            index = store.add(sample)
        self.benchmark = benchmark
        self.store = store
        self.index = index
        self.runtime = runtime
        self.response: Any = None  # ChatResponse, or VectorAnswer (embedding tasks)
        self.record: Any = None  # SampleRecord once the item ran (or errored)
        self.skipped_early = False  # --llm-early-stop left its request unsent
        self.skipped_budget: str | None = None  # why --llm-max-tokens-budget / --llm-max-cost left it unsent
        self._sample: Sample | None = None  # the decoded sample while the item runs
        self.plan_index: int | None = None  # its first request's slot in this process's prefetch plan

    @property
    def ihook(self) -> pluggy.HookRelay:
        # The item's folder (rootdir/benchmark/subset) does not exist, so pytest knows no conftest.py
        # for it and would hide every conftest's per-item hooks from it (pytest_runtest_setup,
        # _makereport, _logreport...); a sample item sees those of the rootdir, as a test file there
        # would. Once collection has loaded every conftest the proxy is kept (`keep_rootdir_hooks`):
        # pytest's own lookup cost ~13 us an item.
        hooks = self.session.stash.get(ROOTDIR_HOOKS, None)
        return hooks if hooks is not None else self.session.gethookproxy(self.config.rootpath)

    @property
    def _store(self) -> pytest.Stash:  # pytest's deprecated alias of `stash`, set by Node.__init__
        return self.stash

    @_store.setter
    def _store(self, value: pytest.Stash) -> None:
        pass  # always the stash itself: holding it here would keep every item's first stash

    def marked_keywords(self) -> MutableMapping[str, Any]:
        """pytest's keywords of this item, built from its name and marks."""
        node_keywords: Any = type(self.session.keywords)  # pytest's NodeKeywords, not exported
        keywords: MutableMapping[str, Any] = node_keywords(self)
        for mark in self.own_markers:
            keywords[mark.name] = mark  # what pytest's add_marker puts there
        return keywords

    def add_marker(self, marker: str | pytest.MarkDecorator, append: bool = True) -> None:
        if hasattr(self, "_keywords"):
            super().add_marker(marker, append)
            return
        # no keywords made yet: only the mark list (the keywords are built from it when asked for)
        mark = (marker if isinstance(marker, pytest.MarkDecorator) else getattr(pytest.mark, marker)).mark
        if append:
            self.own_markers.append(mark)
        else:
            self.own_markers.insert(0, mark)

    def release(self) -> None:
        """Drop what pytest and its plugins stored on this item while it ran (its run protocol is
        over: `run/runner.py`; each report has its own copy); a later reader gets empty ones."""
        for name in ("_stash", "_keywords", "_properties", "_sections"):
            try:
                delattr(self, name)
            except AttributeError:
                pass

    @property
    def sample(self) -> Sample:
        """This item's sample: the one kept while it runs, else decoded from the store."""
        held = self._sample
        return held if held is not None else self.store.get(self.index)

    @classmethod
    def create(
        cls,
        parent: pytest.Session,
        benchmark: Benchmark,
        sample: Sample,
        runtime: SampleRuntime,
        store: SampleStore | None = None,
        path: Path | None = None,
    ) -> SampleItem:
        """The item of `sample`, stored in `store` (a new store of its own when None); `path` is
        the subset's folder, shared by the items of a subset (built from the rootdir when None)."""
        subset, name = sample.subset, node_name(sample.id)
        store = store if store is not None else SampleStore()
        return cls.from_parent(
            parent,
            name=name,
            nodeid=f"{benchmark.name}/{subset}::{name}",
            path=path if path is not None else Path(parent.config.rootpath) / benchmark.name / subset,
            benchmark=benchmark,
            store=store,
            index=store.add(sample),
            runtime=runtime,
        )

    def setup(self) -> None:
        self._sample = self.store.get(self.index)
        self.response = self.runtime.response_for(self)

    def runtest(self) -> None:
        assert self.response is not None
        self.record = record = self.runtime.score(self, self.response)
        if not record.passed:
            raise WrongAnswer(self.wrong_answer_message(record))

    def teardown(self) -> None:
        self.response = None  # keep memory flat over 100k items
        self._sample = None

    def wrong_answer_message(self, record: Any) -> str:
        question = self.sample.metadata.get("question") or (
            self.sample.input if isinstance(self.sample.input, str) else self.sample.input[-1].get("content")
        )
        lines = [
            self.benchmark.failure_headline(record.target, record.extracted, record.explanation),
            f"  question: {_excerpt(str(question))}",
            f"  output:   {_answer_excerpt(record.output, record.extracted)}",
        ]
        if record.explanation:
            lines.append(f"  why:      {_excerpt(record.explanation)}")
        if getattr(record, "truncated", 0) and "max_tokens" not in (record.explanation or ""):
            # the fact, once per sample; the fix is said once per run (the summary's `truncated:` line)
            lines.append("  note:     the output stopped at max_tokens (finish_reason 'length')")
        # model output and dataset text: no control sequence reaches the terminal (terminal_text.py)
        return printable("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, (WrongAnswer, LLMEvalError)):
            return printable(str(excinfo.value))
        return super().repr_failure(excinfo, style=style)

    def _repr_failure_py(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        # pytest renders a *setup* error here, not through repr_failure: a full traceback, with the
        # source of every frame parsed (the dispatcher's asyncio/tenacity/client frames too): ~0.4 s
        # of CPU per errored sample, thrown away since its message is the whole report (run/runner.py).
        if isinstance(excinfo.value, LLMEvalError):
            return printable(str(excinfo.value))
        return super()._repr_failure_py(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # the subset from the node id (`benchmark/subset::name`, see `create`) rather than by decoding
        # the sample (~7 us an item); a collection's items have node ids of their own
        head, prefix = f"{self.benchmark.name}/", self.nodeid.rsplit("::", 1)[0]
        subset = prefix[len(head) :] if prefix.startswith(head) else self.sample.subset
        return self.path, None, f"{self.benchmark.name}[{subset}] {self.name}"
