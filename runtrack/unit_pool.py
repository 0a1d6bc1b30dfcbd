"""Run independent units of work (listings) at once and hand their results back in input order.

:func:`in_order` is how ``export`` (and ``sync``) walk many listings: up to ``workers`` units produce their items
on worker threads while the caller consumes unit after unit, item after item, exactly as a sequential loop would
(so the output is the same bytes). Memory is bounded: each unit buffers at most ``buffer`` items, and at most
``workers + ahead`` units are started and not yet consumed. An exception raised while producing a unit is raised by
that unit's stream, at the point where it happened, after the items produced before it.

The caller must consume (or abandon) each stream before asking for the next unit. Closing the iterator, or an
exception in the caller, stops the workers at their next item; worker threads are daemons, so a worker blocked in
a slow request never keeps the process alive.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

__all__ = ["in_order"]

U = TypeVar("U")
T = TypeVar("T")

_POLL = 0.1  # seconds a blocked worker waits before it checks whether it should stop


class _Slot(Generic[T]):
    """The results of one unit, produced by a worker and consumed by the caller."""

    def __init__(self, buffer: int) -> None:
        self.items: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=buffer)
        self.abandoned = threading.Event()


class _Stream(Iterator[T]):
    """The caller's side of a slot; :meth:`close` (also at the end or on an error) frees the unit's place."""

    def __init__(self, slot: _Slot[T], release: Callable[[], None]) -> None:
        self._slot = slot
        self._release: Callable[[], None] | None = release

    def __next__(self) -> T:
        if self._release is None:
            raise StopIteration
        kind, value = self._slot.items.get()
        if kind == "item":
            return value  # type: ignore[return-value]
        self.close()
        if kind == "error":
            assert isinstance(value, Exception)
            raise value
        raise StopIteration

    def close(self) -> None:
        if self._release is not None:
            self._slot.abandoned.set()
            self._release()
            self._release = None


def in_order(
    units: Sequence[U],
    produce: Callable[[U], Iterable[T]],
    *,
    workers: int,
    buffer: int = 2,
    ahead: int | None = None,
) -> Iterator[tuple[U, Iterator[T]]]:
    """``(unit, items)`` for each unit in input order; ``items`` yields what ``produce(unit)`` yields.

    With ``workers <= 1`` (or a single unit) nothing runs on another thread: ``produce`` is called when the caller
    reaches the unit, as a plain loop would. ``ahead`` (default ``workers``) is how many units beyond the workers'
    may be finished and waiting to be consumed.
    """
    if workers <= 1 or len(units) <= 1:
        for unit in units:
            yield unit, iter(produce(unit))
        return
    slots: list[_Slot[T]] = [_Slot(buffer) for _ in units]
    stop = threading.Event()
    started = threading.Semaphore(workers + (workers if ahead is None else ahead))
    lock = threading.Lock()
    next_index = [0]

    def put(slot: _Slot[T], entry: tuple[str, object]) -> bool:
        while not (stop.is_set() or slot.abandoned.is_set()):
            try:
                slot.items.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        while not stop.is_set():
            while not started.acquire(timeout=_POLL):
                if stop.is_set():
                    return
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= len(units):
                started.release()
                return
            slot = slots[index]
            try:
                for item in produce(units[index]):
                    if not put(slot, ("item", item)):
                        break
                else:
                    put(slot, ("end", None))
            except Exception as exc:  # handed to the caller, who decides what a failed unit means
                put(slot, ("error", exc))

    threads = [threading.Thread(target=work, name=f"runtrack-unit-{i}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for unit, slot in zip(units, slots, strict=True):
            items = _Stream(slot, started.release)
            try:
                yield unit, items
            finally:
                items.close()  # a stream the caller left half-read releases its place all the same
    finally:
        stop.set()
