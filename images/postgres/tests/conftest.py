"""Fixtures for the PostgreSQL image's tests, and the figures they measured (printed after the run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import MotoS3, moto_missing
from servers import require

FIGURES: list[str] = []


@pytest.fixture
def figures() -> list[str]:
    """Lines a test wants printed in the run's summary (recovery point, restore times)."""
    return FIGURES


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    require(moto_missing())
    server = MotoS3.start()
    try:
        yield server
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("measured")
        for line in FIGURES:
            terminalreporter.write_line(line)
