"""The ``runtrack`` entry point of the Foundry adapter (registered like any third-party plugin)."""

from __future__ import annotations

from collections.abc import Callable

import runtrack

from .adapter import FoundryAdapter


@runtrack.hookimpl
def register_adapters(register: Callable[[type[runtrack.Adapter]], None]) -> None:
    register(FoundryAdapter)
