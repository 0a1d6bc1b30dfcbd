"""runtrack: read runs from ML/LLM platforms into one normalized model.

>>> import runtrack
>>> src = runtrack.connect("langsmith", api_key="...")        # doctest: +SKIP
>>> for run in src.runs(queue_id="...", max_items=10): ...   # doctest: +SKIP

Names are imported on first use (PEP 562), so ``import runtrack`` (and pytest loading runtrack's plugin) stays
cheap until something is actually used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .adapter import Adapter, Option
    from .convert import converter, dump_run, load_run, read_jsonl, write_jsonl
    from .errors import (
        AuthenticationError,
        ConfigurationError,
        NetworkError,
        NotFoundError,
        PaginationError,
        PayloadError,
        RateLimitError,
        RequestError,
        RuntrackError,
        ServerError,
    )
    from .migrate import available_migrations, migration
    from .model import Actor, ReviewStatus, Run, RunStatus
    from .paginate import Page, RunIterator
    from .plugins import available_adapters, connect, hookimpl, plugin_manager
    from .store import open_store

_HOME = {
    "Adapter": "adapter",
    "Option": "adapter",
    "converter": "convert",
    "dump_run": "convert",
    "load_run": "convert",
    "read_jsonl": "convert",
    "write_jsonl": "convert",
    "AuthenticationError": "errors",
    "ConfigurationError": "errors",
    "NetworkError": "errors",
    "NotFoundError": "errors",
    "PaginationError": "errors",
    "PayloadError": "errors",
    "RateLimitError": "errors",
    "RequestError": "errors",
    "RuntrackError": "errors",
    "ServerError": "errors",
    "Actor": "model",
    "ReviewStatus": "model",
    "Run": "model",
    "RunStatus": "model",
    "available_migrations": "migrate",
    "migration": "migrate",
    "Page": "paginate",
    "RunIterator": "paginate",
    "available_adapters": "plugins",
    "connect": "plugins",
    "hookimpl": "plugins",
    "plugin_manager": "plugins",
    "open_store": "store",
}

__all__ = [
    "Actor",
    "Adapter",
    "AuthenticationError",
    "ConfigurationError",
    "NetworkError",
    "NotFoundError",
    "Option",
    "Page",
    "PaginationError",
    "PayloadError",
    "RateLimitError",
    "RequestError",
    "ReviewStatus",
    "Run",
    "RunIterator",
    "RunStatus",
    "RuntrackError",
    "ServerError",
    "__version__",
    "available_adapters",
    "available_migrations",
    "connect",
    "converter",
    "dump_run",
    "hookimpl",
    "load_run",
    "migration",
    "open_store",
    "plugin_manager",
    "read_jsonl",
    "write_jsonl",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'runtrack' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})
