"""Regressions from a new user's first arena runs: usage errors, counts, spend, single-candidate rows."""

from __future__ import annotations

import pytest

URL = "http://127.0.0.1:9/v1"  # never contacted: the options are refused first


def test_a_negative_bootstrap_is_one_usage_error_naming_the_option(pytester):
    args = ["--llm-arena-model", f"a={URL}", "--llm-arena-model", f"b={URL}", "--llm-arena-judge", f"j={URL}"]
    result = pytester.runpytest_subprocess(*args, "--llm-arena-bootstrap", "-5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--llm-arena-bootstrap" in err and "-5" in err and "INTERNALERROR" not in err + result.stdout.str()


def test_yaml_errors_name_the_file_and_key(pytester):
    config = pytester.path / "arena.yaml"
    config.write_text(f"models: [a={URL}, b={URL}]\njudge: j={URL}\nbootstrap: -5\n")
    result = pytester.runpytest_subprocess("--llm-arena-config", str(config))
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "arena.yaml" in err and "`bootstrap`" in err and "('bootstrap',)" not in err
    config.write_text(f"models: a={URL}\njudge: j={URL}\n")
    result = pytester.runpytest_subprocess("--llm-arena-config", str(config))
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "`models` must be a list" in result.stderr.str()
