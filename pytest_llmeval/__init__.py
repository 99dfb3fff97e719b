"""pytest-llmbench: LLM benchmarks as pytest suites.

The public API is small: define or register benchmarks, and read results. Names are imported on
first use, so loading the plugin into an ordinary pytest run costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Benchmark": "benchmarks",
    "DatasetSource": "benchmarks",
    "Sample": "benchmarks",
    "Score": "benchmarks",
    "all_benchmarks": "benchmarks",
    "file_benchmark": "benchmarks",
    "get_benchmark": "benchmarks",
    "register_benchmark": "benchmarks",
    "ChatResponse": "endpoint.models",
    "Usage": "endpoint.models",
    "RunResult": "results",
    "SampleRecord": "results",
    "EndpointSettings": "settings",
    "AuthenticationError": "errors",
    "BadRecordError": "errors",
    "BadResponseError": "errors",
    "CollectionError": "errors",
    "ConfigError": "errors",
    "ConnectionRefusedEndpointError": "errors",
    "ConnectionResetEndpointError": "errors",
    "DNSResolutionError": "errors",
    "DatasetError": "errors",
    "EndpointError": "errors",
    "EndpointNotFoundError": "errors",
    "EndpointUnreachableError": "errors",
    "FakeServerError": "errors",
    "HubLimitError": "errors",
    "InstructionSpecError": "errors",
    "JudgeError": "errors",
    "LLMEvalError": "errors",
    "LocalModelError": "errors",
    "MediaError": "errors",
    "MissingChoicesError": "errors",
    "NoPromptLogprobsError": "errors",
    "PerfRunError": "errors",
    "PortInUseError": "errors",
    "RebuildError": "errors",
    "RequestTimeoutError": "errors",
    "SandboxUnavailableError": "errors",
    "ScorerTimeoutError": "errors",
    "ServerCommandError": "errors",
    "ServerDiedError": "errors",
    "ServerDisconnectedError": "errors",
    "ServerError": "errors",
    "ServerExitedError": "errors",
    "ServerReadyTimeoutError": "errors",
    "ServerStartError": "errors",
    "SubsetAbsentError": "errors",
    "TLSEndpointError": "errors",
    "ThresholdError": "errors",
    "UnknownBenchmarkError": "errors",
    "WrongAnswer": "errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .benchmarks import (
        Benchmark,
        DatasetSource,
        Sample,
        Score,
        all_benchmarks,
        file_benchmark,
        get_benchmark,
        register_benchmark,
    )
    from .endpoint.models import ChatResponse, Usage
    from .errors import (
        AuthenticationError,
        BadRecordError,
        BadResponseError,
        CollectionError,
        ConfigError,
        ConnectionRefusedEndpointError,
        ConnectionResetEndpointError,
        DatasetError,
        DNSResolutionError,
        EndpointError,
        EndpointNotFoundError,
        EndpointUnreachableError,
        FakeServerError,
        HubLimitError,
        InstructionSpecError,
        JudgeError,
        LLMEvalError,
        LocalModelError,
        MediaError,
        MissingChoicesError,
        NoPromptLogprobsError,
        PerfRunError,
        PortInUseError,
        RebuildError,
        RequestTimeoutError,
        SandboxUnavailableError,
        ScorerTimeoutError,
        ServerCommandError,
        ServerDiedError,
        ServerDisconnectedError,
        ServerError,
        ServerExitedError,
        ServerReadyTimeoutError,
        ServerStartError,
        SubsetAbsentError,
        ThresholdError,
        TLSEndpointError,
        UnknownBenchmarkError,
        WrongAnswer,
    )
    from .results import RunResult, SampleRecord
    from .settings import EndpointSettings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_llmeval' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
