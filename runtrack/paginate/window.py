"""Requests in flight for one listing, answered in the order they were opened."""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from ..http import Request

__all__ = ["Congestion", "Window", "congestion_of"]

K = TypeVar("K")


class Congestion(Protocol):
    """What the transport says about the vendor's load (``runtrack.ratelimit.Congestion``): the number of
    requests a listing may have in flight now, at most ``maximum`` (it halves on a 429 and grows back slowly)."""

    def limit(self, maximum: int) -> int: ...


def congestion_of(fetch: Callable[[Request], Any]) -> Congestion | None:
    """The congestion signal of the transport behind ``fetch`` (a bound ``Transport.json``), when it has one."""
    return getattr(getattr(fetch, "__self__", None), "congestion", None)


class Window(Generic[K]):
    """At most ``size`` requests in flight (fewer while the vendor pushes back), each tagged with a key; answers
    come back in the order the requests were opened. Worker threads start with the first request."""

    def __init__(self, fetch: Callable[[Request], Any], size: int, congestion: Congestion | None = None) -> None:
        self.fetch = fetch
        self.size = size
        self.congestion = congestion
        self._open: collections.deque[tuple[K, concurrent.futures.Future[Any]]] = collections.deque()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def __len__(self) -> int:
        return len(self._open)

    def room(self, wanted: int) -> int:
        """How many more requests may be opened now, when the listing would like ``wanted`` in flight."""
        size = self.size if self.congestion is None else max(1, self.congestion.limit(self.size))
        return max(0, min(size, wanted) - len(self._open))

    def open(self, key: K, request: Request) -> None:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(self.size, thread_name_prefix="runtrack-pages")
        self._open.append((key, self._pool.submit(self.fetch, request)))

    def next(self) -> tuple[K, Any]:
        """The key and the decoded body of the oldest request (its error, raised here)."""
        key, future = self._open.popleft()
        return key, future.result()

    def drop(self) -> None:
        """Forget every request in flight (those not started yet are cancelled)."""
        for _, future in self._open:
            future.cancel()
        self._open.clear()

    def close(self) -> None:
        self.drop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
