"""Fan-out: every item of an inner listing for every container of an outer listing, lazily and in order."""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import attrs

from ..errors import PaginationError
from .cursors import FanOutState, State, fan_out_state
from .pages import Listing, RawPage

__all__ = ["FanOut"]

log = logging.getLogger("runtrack.paginate")

T = TypeVar("T")
C = TypeVar("C")


_DONE = object()


@attrs.frozen
class _Position(Generic[C]):
    container: C
    here: dict[str, Any]
    start: State
    after: State


class FanOut(Generic[C, T]):
    """Every item of ``inner(container)`` for every container of ``containers``, lazily and in order.

    The state nests the container listing's page state, the container's index and id in that page, and the
    inner listing's state, so a cursor resumes inside the right container. ``container_id`` guards against
    containers that moved between runs.

    ``concurrency > 1`` lists up to that many containers at once in worker threads, each into a queue of at most
    ``prefetch`` pages; pages are still yielded in exactly the sequential order, with the same cursors.
    """

    def __init__(
        self,
        containers: Listing[C],
        inner: Callable[[C], Listing[T]],
        container_id: Callable[[C], str],
        *,
        concurrency: int = 1,
        prefetch: int = 2,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.containers = containers
        self.inner = inner
        self.container_id = container_id
        self.concurrency = concurrency
        self.prefetch = prefetch

    def resume_at(self, state: State, position: int) -> State:
        # Inner listings of every container share one state shape, so any of them can re-address the page.
        return {**state, "n": self._leaf_resume(state["n"], position)}

    @staticmethod
    def _leaf_resume(inner_state: State, position: int) -> State:
        if isinstance(inner_state, dict) and "o" in inner_state:
            return {**inner_state, "n": FanOut._leaf_resume(inner_state["n"], position)}
        return {**(inner_state or {}), "k": position}

    @staticmethod
    def _unpack(state: State) -> tuple[State, int, str | None, State]:
        if state is None:
            return None, 0, None, None
        if not isinstance(state, dict) or "o" not in state:
            raise PaginationError("cursor does not fit this fan-out listing (corrupt or from another version)")
        return state["o"], int(state.get("i", 0)), state.get("c"), state.get("n")

    def _positions(self, state: State) -> Iterator[_Position[C]]:
        """Each container to list, with where its listing starts and the state that follows it."""
        outer_state, index, cid, inner_state = self._unpack(state)
        resuming = state is not None
        for opage in self.containers.pages(outer_state):
            containers = opage.items
            start, first_state = 0, None
            if resuming:
                start, first_state, resuming = self._locate(containers, index, cid), inner_state, False
            for i in range(start, len(containers)):
                if i + 1 < len(containers):
                    after: FanOutState | None = fan_out_state(opage.state, i + 1, self.container_id(containers[i + 1]))
                elif opage.next_state is not None:
                    after = fan_out_state(opage.next_state, 0, None)
                else:
                    after = None
                here: dict[str, Any] = {"o": opage.state, "i": i, "c": self.container_id(containers[i])}
                yield _Position(containers[i], here, first_state if i == start else None, after)

    def pages(self, state: State) -> Iterator[RawPage[T]]:
        positions = self._positions(state)
        if self.concurrency == 1:
            for pos in positions:
                yield from self._rewrap(pos, self.inner(pos.container).pages(pos.start))
        else:
            yield from self._concurrent(positions)

    @staticmethod
    def _rewrap(pos: _Position[C], inner_pages: Iterator[RawPage[T]]) -> Iterator[RawPage[T]]:
        for ipage in inner_pages:
            nxt = {**pos.here, "n": ipage.next_state} if ipage.next_state is not None else pos.after
            yield attrs.evolve(ipage, state={**pos.here, "n": ipage.state}, next_state=nxt)

    def _concurrent(self, positions: Iterator[_Position[C]]) -> Iterator[RawPage[T]]:
        stop = threading.Event()
        window: collections.deque[tuple[_Position[C], queue.Queue[Any]]] = collections.deque()
        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency, thread_name_prefix="runtrack-fanout")

        def fill() -> None:
            while len(window) < self.concurrency:
                pos = next(positions, None)
                if pos is None:
                    return
                pages: queue.Queue[Any] = queue.Queue(maxsize=self.prefetch)
                pool.submit(self._drain, self.inner(pos.container), pos.start, pages, stop)
                window.append((pos, pages))

        try:
            fill()
            while window:
                pos, pages = window[0]
                for item in iter(pages.get, _DONE):
                    if isinstance(item, BaseException):
                        raise item
                    yield from self._rewrap(pos, iter((item,)))
                window.popleft()
                fill()
        finally:
            stop.set()
            for _, pages in window:  # unblock workers waiting on a full queue
                while not pages.empty():
                    pages.get_nowait()
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _drain(listing: Listing[T], start: State, pages: queue.Queue[Any], stop: threading.Event) -> None:
        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    pages.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for page in listing.pages(start):
                if not put(page):
                    return
        except BaseException as exc:  # handed to the consumer, raised there in order
            put(exc)
            return
        put(_DONE)

    def _locate(self, containers: Sequence[C], index: int, cid: str | None) -> int:
        if cid is None:
            return index
        if index < len(containers) and self.container_id(containers[index]) == cid:
            return index
        for i, c in enumerate(containers):
            if self.container_id(c) == cid:
                return i
        log.warning("container %s from the cursor is gone; resuming at position %d", cid, index)
        return index
