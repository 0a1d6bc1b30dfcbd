"""A total deadline per request, on top of requests' per-read timeout.

requests' read timeout bounds each wait for bytes, so a server that sends one byte every half second keeps a
request alive for ever. Here the connection a request uses is recorded, and one watchdog thread shuts its
socket down when the request's deadline passes: the blocked read ends at once with a connection error, which
the transport reports as a timeout.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests.adapters

__all__ = ["Watch", "deadline_adapter", "watch"]

#: thread id -> the connection that thread is sending on (set when a watched request starts on it)
_in_use: dict[int, Any] = {}
#: threads with a request under a deadline now
_watched: set[int] = set()


class Watch:
    """One request's deadline; :meth:`cancel` when the request is done."""

    __slots__ = ("cancelled", "expired", "thread")

    def __init__(self, thread: int) -> None:
        self.thread = thread
        self.cancelled = False
        self.expired = False

    def cancel(self) -> None:
        self.cancelled = True
        _watched.discard(self.thread)
        _in_use.pop(self.thread, None)

    def fire(self) -> None:
        if self.cancelled:
            return
        self.expired = True
        conn = _in_use.get(self.thread)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, seconds: float) -> Watch:
        w = Watch(threading.get_ident())
        _watched.add(w.thread)
        with self._cond:
            heap = self._heap
            while heap and heap[0][2].cancelled:  # finished requests leave the heap as new ones come
                heapq.heappop(heap)
            heapq.heappush(heap, (time.monotonic() + seconds, next(self._seq), w))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="runtrack-deadline", daemon=True)
                self._thread.start()
            if heap[0][2] is w:  # only an earlier deadline than the one the watchdog waits for needs waking it
                self._cond.notify()
        return w

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                when, _, w = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
            w.fire()


_watchdog = _Watchdog()


def watch(seconds: float) -> Watch:
    """Start the deadline of a request the calling thread is about to send."""
    return _watchdog.add(seconds)


def deadline_adapter(pool_size: int) -> requests.adapters.HTTPAdapter:
    """An ``HTTPAdapter`` whose connections record themselves, so a deadline can end the request on them."""
    adapter: requests.adapters.HTTPAdapter = _adapter_class()(pool_connections=pool_size, pool_maxsize=pool_size)
    return adapter


@functools.cache
def _adapter_class() -> type[requests.adapters.HTTPAdapter]:
    import requests.adapters
    import urllib3.connection
    import urllib3.connectionpool

    class Tracked:
        def request(self, *args: Any, **kwargs: Any) -> Any:
            ident = threading.get_ident()
            if ident in _watched:
                _in_use[ident] = self
            return super().request(*args, **kwargs)  # type: ignore[misc]

    class HTTPConnection(Tracked, urllib3.connection.HTTPConnection):
        pass

    class HTTPSConnection(Tracked, urllib3.connection.HTTPSConnection):
        pass

    class HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
        ConnectionCls = HTTPConnection

    class HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
        ConnectionCls = HTTPSConnection

    pools = {"http": HTTPPool, "https": HTTPSPool}

    class Adapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    return Adapter
