"""Requests in flight for one listing, answered in the order they were opened."""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from ..http import Request

__all__ = ["Congestion", "Window", "congestion_of", "in_two"]

K = TypeVar("K")


class Congestion(Protocol):
    """What the transport says about the vendor's load (``runtrack.ratelimit.Congestion``): the number of
    requests a listing may have in flight now, at most ``maximum`` (it halves on a 429 and grows back slowly)."""

    def limit(self, maximum: int) -> int: ...


def _transport_of(fetch: Callable[[Request], Any]) -> Any:
    """The object ``fetch`` is a bound method of (a ``Transport`` for ``Transport.json``), or None."""
    return getattr(fetch, "__self__", None)


def congestion_of(fetch: Callable[[Request], Any]) -> Congestion | None:
    """The congestion signal of the transport behind ``fetch`` (a bound ``Transport.json``), when it has one."""
    return getattr(_transport_of(fetch), "congestion", None)


def in_two(fetch: Callable[[Request], Any]) -> tuple[Callable[[Request], Any], Callable[[Request, Any], Any]]:
    """``fetch`` as (what a worker thread does, what the consumer then does with it): for ``Transport.json``, the
    request (:meth:`~runtrack.http.Transport.receive`) and the decoding of its body
    (:meth:`~runtrack.http.Transport.json_of`); for any other callable, all of it on the worker."""
    transport = _transport_of(fetch)
    receive, json_of = getattr(transport, "receive", None), getattr(transport, "json_of", None)
    if getattr(fetch, "__name__", None) == "json" and callable(receive) and callable(json_of):
        return receive, json_of
    return fetch, _as_is


def _as_is(request: Request, result: Any) -> Any:
    return result


class Window(Generic[K]):
    """At most ``size`` requests in flight (fewer while the vendor pushes back), each tagged with a key; answers
    come back in the order the requests were opened. Worker threads start with the first request; they receive the
    answers and :meth:`next` decodes them, in order, on the consumer's thread (:func:`in_two`): with 8 pages
    arriving at once, decoding them on 8 threads made the page the consumer waits for queue behind the others for
    the interpreter lock, and the next requests left a wave later (docs/benchmarks.md, "Round trips")."""

    def __init__(self, fetch: Callable[[Request], Any], size: int, congestion: Congestion | None = None) -> None:
        self.fetch = fetch
        self.size = size
        self.congestion = congestion
        self._receive, self._finish = in_two(fetch)
        self._open: collections.deque[tuple[K, Request, concurrent.futures.Future[Any]]] = collections.deque()
        #: the transport's fetch threads (``Transport.fetchers``), asked at every request: after the transport was
        #: closed it hands out its next pool
        self._shared: Callable[[], concurrent.futures.ThreadPoolExecutor] | None = getattr(
            _transport_of(fetch), "fetchers", None
        )
        self._own: concurrent.futures.ThreadPoolExecutor | None = None  # for a fetch that is no transport's
        self._dropped: list[concurrent.futures.Future[Any]] = []

    def __len__(self) -> int:
        return len(self._open)

    def room(self, wanted: int) -> int:
        """How many more requests may be opened now, when the listing would like ``wanted`` in flight."""
        size = self.size if self.congestion is None else max(1, self.congestion.limit(self.size))
        return max(0, min(size, wanted) - len(self._open))

    def open(self, key: K, request: Request) -> None:
        if self._shared is not None:
            pool = self._shared()
        else:
            if self._own is None:
                self._own = concurrent.futures.ThreadPoolExecutor(self.size, thread_name_prefix="runtrack-pages")
            pool = self._own
        self._open.append((key, request, pool.submit(self._receive, request)))

    def next(self) -> tuple[K, Any]:
        """The key and the decoded body of the oldest request (its error, raised here)."""
        key, request, future = self._open.popleft()
        return key, self._finish(request, future.result())

    def drop(self) -> None:
        """Forget every request in flight (those not started yet are cancelled; those started finish unread)."""
        for _, _, future in self._open:
            future.cancel()
        self._dropped.extend(future for _, _, future in self._open if not future.cancelled())
        self._open.clear()

    def close(self) -> None:
        """Cancel what has not started and wait for what has: no request of this listing is sent after it."""
        self.drop()
        concurrent.futures.wait(self._dropped)
        self._dropped.clear()
        if self._own is not None:
            self._own.shutdown(wait=True, cancel_futures=True)
            self._own = None
