"""End-to-end tests need the real llama.cpp server; CI sets LLMEVAL_REQUIRE_E2E=1 so they cannot skip."""

from __future__ import annotations

import os

import pytest


def skip_or_fail(reason: str) -> None:
    """Skip when the `[local]` extra is missing, except in CI, where a skipped e2e test is a failure."""
    if os.environ.get("LLMEVAL_REQUIRE_E2E"):
        pytest.fail(f"LLMEVAL_REQUIRE_E2E is set but an end-to-end test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)
