"""Every user-facing error lives in pytest_llmeval/errors.py (one hierarchy) and is exported from the package."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import pytest_llmeval
from pytest_llmeval import errors


def _import_every_module() -> list[str]:
    """Import each module of the package; modules that need an optional extra (ImportError) are skipped."""
    skipped = []
    for info in pkgutil.walk_packages(pytest_llmeval.__path__, prefix="pytest_llmeval."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:
            skipped.append(info.name)
    return skipped


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_llmeval_error_is_defined_in_errors_module() -> None:
    skipped = _import_every_module()
    importlib.import_module("pytest_llmeval.report.__main__")  # RebuildError's user; runnable modules were skipped
    assert len(skipped) < 5, f"too many modules could not be imported: {skipped}"
    subclasses = _subclasses(errors.LLMEvalError)
    elsewhere = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in subclasses
        if cls.__module__ != "pytest_llmeval.errors" and cls.__module__.startswith("pytest_llmeval")
    )
    assert not elsewhere, f"user-facing errors defined outside pytest_llmeval/errors.py: {elsewhere}"
    # the classes the issue names, each now in the one module
    for name in (
        "RebuildError",
        "MediaError",
        "InstructionSpecError",
        "JudgeError",
        "LocalModelError",
        "ServerStartError",
        "ServerCommandError",
        "PortInUseError",
        "ServerExitedError",
        "ServerReadyTimeoutError",
        "PerfRunError",
        "FakeServerError",
    ):
        assert getattr(errors, name) in subclasses, name


def test_wrong_answer_is_an_assertion_error_in_errors_module() -> None:
    from pytest_llmeval.engine.nodes import WrongAnswer

    assert WrongAnswer is errors.WrongAnswer
    assert WrongAnswer.__module__ == "pytest_llmeval.errors"
    assert issubclass(WrongAnswer, AssertionError)
    assert not issubclass(WrongAnswer, errors.LLMEvalError)  # a failure, never an error outcome


@pytest.mark.parametrize("name", errors.__all__)
def test_each_error_is_exported_from_the_package(name: str) -> None:
    assert name in pytest_llmeval.__all__
    assert getattr(pytest_llmeval, name) is getattr(errors, name)


def test_all_lists_every_exception_class_of_errors_module() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == errors.__name__
    }
    assert classes == set(errors.__all__) - {"describe_exit"}


def test_old_import_paths_still_give_the_same_class() -> None:
    from pytest_llmeval.endpoint import judge, local_models, server
    from pytest_llmeval.media import store
    from pytest_llmeval.perf import runner
    from pytest_llmeval.report import __main__ as rebuild
    from pytest_llmeval.scoring.ifeval import registry
    from pytest_llmeval.testing import FakeServerError

    assert rebuild.RebuildError is errors.RebuildError
    assert store.MediaError is errors.MediaError
    assert registry.InstructionSpecError is errors.InstructionSpecError
    assert judge.JudgeError is errors.JudgeError
    assert local_models.LocalModelError is errors.LocalModelError
    assert server.ServerStartError is errors.ServerStartError and server.PortInUseError is errors.PortInUseError
    assert runner.PerfRunError is errors.PerfRunError
    assert FakeServerError is errors.FakeServerError and issubclass(FakeServerError, RuntimeError)
    assert issubclass(errors.InstructionSpecError, ValueError)


def test_retry_after_is_a_typed_constructor_attribute() -> None:
    plain = errors.ServerError("server answered 500", status=500)
    assert plain.retry_after is None
    asked = errors.ServerError("server answered 429", status=429, retry_after=2.5)
    assert asked.retry_after == 2.5 and asked.status == 429
    assert errors.EndpointError.__annotations__["retry_after"] in ("float | None", float | None)
