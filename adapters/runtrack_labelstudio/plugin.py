"""runtrack plugin module of the Label Studio adapter and the ``labelstudio-to-langsmith`` migration (entry point
``runtrack.labelstudio``). The migration is imported when directions are asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import runtrack

from .adapter import LabelStudioAdapter


@runtrack.hookimpl
def register_adapters(register: Callable[[type[runtrack.Adapter]], None]) -> None:
    register(LabelStudioAdapter)


@runtrack.hookimpl
def register_migrations(register: Callable[[type[Any]], None]) -> None:
    from .to_langsmith import LabelStudioToLangSmith

    register(LabelStudioToLangSmith)
