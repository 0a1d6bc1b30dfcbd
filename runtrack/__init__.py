"""runtrack: read runs from ML/LLM platforms into one normalized model.

>>> import runtrack
>>> src = runtrack.connect("langsmith", api_key="...")        # doctest: +SKIP
>>> for run in src.runs(queue_id="...", max_items=10): ...   # doctest: +SKIP
"""

from ._version import __version__
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
from .model import Actor, ReviewStatus, Run, RunStatus
from .paginate import Page, RunIterator
from .plugins import available_adapters, connect, hookimpl, plugin_manager

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
    "connect",
    "converter",
    "dump_run",
    "hookimpl",
    "load_run",
    "plugin_manager",
    "read_jsonl",
    "write_jsonl",
]
