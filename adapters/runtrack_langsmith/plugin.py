"""Registers the LangSmith adapter through the ``runtrack`` entry-point group, like any third-party plugin."""

from __future__ import annotations

from collections.abc import Callable

import runtrack

from .adapter import LangSmithAdapter


@runtrack.hookimpl
def register_adapters(register: Callable[[type[runtrack.Adapter]], None]) -> None:
    register(LangSmithAdapter)
