"""runtrack plugin module of the Label Studio adapter (entry point ``runtrack.labelstudio``)."""

from __future__ import annotations

from collections.abc import Callable

import runtrack

from .adapter import LabelStudioAdapter


@runtrack.hookimpl
def register_adapters(register: Callable[[type[runtrack.Adapter]], None]) -> None:
    register(LabelStudioAdapter)
