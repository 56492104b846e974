"""The test harness itself: in CI a missing tool fails the run instead of skipping."""

from __future__ import annotations

import pytest

import servers


def test_missing_tool_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="redis-server not found"):
        servers.require("redis-server not found")


def test_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true: missing tools fail instead of skipping"):
        servers.require("redis-server not found")


def test_nothing_missing_does_nothing() -> None:
    servers.require(None)


def test_ci_flag_is_read_from_the_environment() -> None:
    import os

    assert servers.IN_CI == (os.environ.get("CI", "").lower() == "true")
