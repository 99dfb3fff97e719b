"""Running the sample items, on every process that runs them (the only one, or each xdist worker).

`ItemRunner` starts the requests of this process's share before the first item, turns each
sample's outcome into a `SampleRecord` carried on its test report (`report.llmeval`, which the
aggregating process consumes), and closes the runtime at the end. `WorkerRunner`
(`run/worker.py`) is the same for an xdist worker, with the worker's share.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Generator
from types import FrameType, TracebackType
from typing import Any

import pytest

from ..engine.nodes import SampleItem, WrongAnswer
from ..errors import LLMEvalError
from ..results import SampleRecord
from .scope import Evaluation

RECORD_ATTR = "llmeval"  # the report attribute a sample's record travels in (`SampleRecord`; JSON when serialized)


def usage_error_from_exit() -> Generator[None, Any, Any]:
    """A `pytest_runtestloop` wrapper body: an item that stopped the run for a usage error (a wrong
    URL seen on the first chat request, no sandbox) ends it with pytest's own error line, not
    `! _pytest.outcomes.Exit: ... !`."""
    try:
        return (yield)
    except pytest.exit.Exception as exc:
        if exc.returncode == pytest.ExitCode.USAGE_ERROR and str(exc.msg).startswith("llmeval:"):
            raise pytest.UsageError(exc.msg) from None
        raise


def drop_failure_cycle(call: pytest.CallInfo[None]) -> None:
    """Free a wrong answer's exception, kept by pytest in a reference cycle: the frame that caught
    it (`CallInfo.from_call`) holds it in a local, as pluggy's frames do, and its traceback holds
    those frames. So every wrong answer left ~80 objects (frames, tracebacks, pluggy's generators,
    the record) to the cyclic collector: at 1,319 wrong answers, 160 young-generation collections
    freeing 90,000 objects, 2-3% of the run. Clearing the locals of the traceback's finished frames
    and of the finished callers of its first one (`call_and_report` holds `call`) frees them at once.

    Only for a `WrongAnswer`, pytest's way of failing a verdict (its report shows the message, not
    the traceback), and only once nothing can look at its frames any more (`ItemRunner` calls this
    after the item's protocol, and after `sys.last_value` moved on: `pdb.pm()` still shows the last
    failure whole). Left alone: generator and coroutine frames (clearing a suspended one would
    finalize it), frames still running, and the `CallInfo` itself (a hook that kept it still reads
    its exception; its traceback's frames have no locals any more)."""
    excinfo = call.excinfo
    if excinfo is None:
        return
    tb: TracebackType | None = excinfo.tb
    first = tb.tb_frame if tb is not None else None
    while tb is not None:
        _clear_finished(tb.tb_frame)
        tb = tb.tb_next
    caller = first.f_back if first is not None else None
    while caller is not None and _clear_finished(caller):
        caller = caller.f_back


_GENERATOR_CODE = (
    inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE
)


def _clear_finished(frame: FrameType) -> bool:
    """Drop the locals of `frame` if it is a finished function's; False when it still runs."""
    if frame.f_code.co_flags & _GENERATOR_CODE:
        return True
    try:
        frame.clear()
    except RuntimeError:  # still running
        return False
    return True


class ItemRunner:
    """Runs every collected sample of a single-process run; checks the endpoint once first."""

    preflight = True  # one clear error up front when the endpoint is missing (or the answers cached)

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.runtime = evaluation.runtime
        self._wrong_answers: list[pytest.CallInfo[None]] = []  # call phases not freed yet (`drop_failure_cycle`)

    def share(self, items: list[pytest.Item]) -> list[pytest.Item]:
        """The items whose requests this process sends."""
        return items

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        if (
            not (session.testsfailed and not session.config.option.continue_on_collection_errors)
            and not session.config.option.collectonly
        ):  # pytest stops for collection errors; send nothing
            share = self.share(session.items)
            self.runtime.start(share, preflight=self.preflight)
            for other in self.other_runtimes(share):  # the arena's items run on their own runtime
                other.start(share, preflight=self.preflight)
        return (yield from usage_error_from_exit())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        try:
            result = yield
        finally:
            if isinstance(item, SampleItem):
                item.release()  # what pytest's plugins kept in its stash: ~0.2 KB a sample, for the whole run
        # not while an interrupt leaves the protocol: its traceback shows these frames
        self.free_wrong_answers()
        return result

    def free_wrong_answers(self) -> None:
        """`drop_failure_cycle` for each wrong answer but the one `sys.last_value` still holds."""
        last = getattr(sys, "last_value", None)
        kept = []
        for call in self._wrong_answers:
            if call.excinfo is not None and call.excinfo.value is last:
                kept.append(call)
            else:
                drop_failure_cycle(call)
        self._wrong_answers = kept

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if not isinstance(item, SampleItem):
            return report
        if call.when == "call" and call.excinfo is not None and call.excinfo.errisinstance(WrongAnswer):
            self._wrong_answers.append(call)
        record: SampleRecord | None = None
        error = call.excinfo.value if call.excinfo is not None else None
        if call.when == "setup" and getattr(item, "skipped_early", False):
            item.config.hook.pytest_llmeval_sample_skipped(benchmark=item.benchmark.name, subset=item.sample.subset)
        elif (
            call.when == "setup" and error is not None and not call.excinfo.errisinstance(pytest.skip.Exception)  # type: ignore[union-attr]
        ):
            record = self.error_record(item, error)
            if isinstance(error, LLMEvalError):
                report.longrepr = f"llmeval error: {error}"
        elif call.when == "call":
            if error is not None and not isinstance(error, WrongAnswer):
                record = self.error_record(item, error)  # a scorer crash (or judge failure) is no verdict
                if isinstance(error, LLMEvalError):
                    report.longrepr = f"llmeval error: {error}"
                else:
                    record.error_kind = "scorer_error"
            else:
                record = item.record
            item.record = None
        if record is not None:
            # the object itself: a single process consumes it as it is; it becomes JSON only when
            # the report is serialized (to the xdist controller, pytest-reportlog), below
            setattr(report, RECORD_ATTR, record)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_report_to_serializable(self, config: pytest.Config, report: Any) -> Any:
        data = yield
        record = getattr(report, RECORD_ATTR, None)
        if isinstance(data, dict) and isinstance(record, SampleRecord):
            data[RECORD_ATTR] = record.model_dump(mode="json")
        return data

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Any:
        self.runtime.close()  # before anything reads what the run produced
        self.finish(session)
        return (yield)

    def error_record(self, item: SampleItem, error: BaseException) -> SampleRecord:
        """The item's own runtime words its error record when it can (the arena's counts the replies
        an errored pair got)."""
        own = getattr(item.runtime, "error_record", None)
        record: SampleRecord = own(item, error) if own is not None else self.runtime.error_record(item, error)
        return record

    def other_runtimes(self, items: list[pytest.Item]) -> list[Any]:
        """Runtimes other than the run's that items of the share run on (the arena's)."""
        found = {
            id(item.runtime): item.runtime
            for item in items
            if isinstance(item, SampleItem) and item.runtime is not self.runtime
        }
        return list(found.values())

    def finish(self, session: pytest.Session) -> None:
        """What this process hands on when its items are done (nothing: it aggregates itself)."""
