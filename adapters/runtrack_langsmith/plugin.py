"""Registers the LangSmith adapter and the ``langsmith-to-labelstudio`` migration through the ``runtrack``
entry-point group, like any third-party plugin. The migration is imported when directions are asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import runtrack

from .adapter import LangSmithAdapter


@runtrack.hookimpl
def register_adapters(register: Callable[[type[runtrack.Adapter]], None]) -> None:
    register(LangSmithAdapter)


@runtrack.hookimpl
def register_migrations(register: Callable[[type[Any]], None]) -> None:
    from .to_labelstudio import LangSmithToLabelStudio

    register(LangSmithToLabelStudio)
