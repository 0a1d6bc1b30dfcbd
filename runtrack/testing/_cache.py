"""A thread-safe LRU of rendered page bodies, bounded in bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class PageCache:
    """Rendered bodies by key; evicts the least recently used beyond ``max_bytes`` (0 disables it)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The cached body for ``key``, rendering (outside the lock) and storing it on a miss."""
        with self._lock:
            body = self._data.get(key)
            if body is not None:
                self._data.move_to_end(key)
                self.hits += 1
                return body
            self.misses += 1
        body = render()
        if len(body) <= self.max_bytes:
            with self._lock:
                if key not in self._data:
                    self._data[key] = body
                    self._size += len(body)
                    while self._size > self.max_bytes:
                        _, old = self._data.popitem(last=False)
                        self._size -= len(old)
        return body

    def clear(self) -> None:
        """Drop every cached body."""
        with self._lock:
            self._data.clear()
            self._size = 0
