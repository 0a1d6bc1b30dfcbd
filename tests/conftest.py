"""Shared test setup: retries never really sleep, and the plugin registry starts fresh for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import runtrack.http
import runtrack.plugins


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits a transport asks for instead of waiting."""
    waits: list[float] = []
    monkeypatch.setattr(runtrack.http, "sleep_for", waits.append)
    return waits


@pytest.fixture(autouse=True)
def fresh_plugins() -> Iterator[None]:
    runtrack.plugins.reset()
    yield
    runtrack.plugins.reset()
