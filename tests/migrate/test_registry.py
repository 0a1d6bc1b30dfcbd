"""Directions register through the ``register_migrations`` hook, like adapters do through ``register_adapters``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import runtrack
from runtrack.migrate import Direction, Migration

from .memory_sink import MemoryDirection, MemorySink


class _Plugin:
    def __init__(self, cls: Any) -> None:
        self.cls = cls

    @runtrack.hookimpl
    def register_migrations(self, register: Callable[[type[Direction]], None]) -> None:
        register(self.cls)


@pytest.fixture
def registered() -> Iterator[_Plugin]:
    plugin = _Plugin(MemoryDirection)
    runtrack.plugin_manager().register(plugin)
    yield plugin
    runtrack.plugin_manager().unregister(plugin)


def test_a_registered_direction_is_listed_and_built(registered: _Plugin) -> None:
    assert "memory-to-memory" in runtrack.available_migrations()
    mig = runtrack.migration("memory-to-memory", source=[], target=MemorySink(), prefix="p-")
    assert isinstance(mig, Migration)
    assert mig.direction.config == {"prefix": "p-"}


def test_unknown_names_and_options_are_configuration_errors(registered: _Plugin) -> None:
    with pytest.raises(runtrack.ConfigurationError, match="unknown migration 'nope'.*memory-to-memory"):
        runtrack.migration("nope", source=[], target=None)
    with pytest.raises(runtrack.ConfigurationError, match="unknown option"):
        runtrack.migration("memory-to-memory", source=[], target=MemorySink(), colour="red")


def test_a_source_of_the_wrong_platform_is_refused(registered: _Plugin) -> None:
    class Wrong:
        name = "foundry"

    with pytest.raises(runtrack.ConfigurationError, match="needs a memory source, got 'foundry'"):
        runtrack.migration("memory-to-memory", source=Wrong(), target=MemorySink())


def test_registering_something_else_is_refused() -> None:
    plugin = _Plugin(object)
    runtrack.plugin_manager().register(plugin)
    try:
        with pytest.raises(runtrack.ConfigurationError, match="not a runtrack.migrate.Direction"):
            runtrack.available_migrations()
    finally:
        runtrack.plugin_manager().unregister(plugin)
