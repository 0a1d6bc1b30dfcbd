"""Listing pieces specific to LangSmith queues, built on the core loop.

* :class:`HydratedItems`: pages of queue items (ids only) become pages of runs through a :class:`Hydrator`;
  states pass through untouched, so cursors and ``max_items`` work as on any listing.
* :class:`QueueEndpoints`: one queue's runs through the deprecated ``/runs`` endpoint or the successor
  ``/items`` endpoint. Its state is the chosen endpoint's state plus ``"e": "runs" | "items"``, so a cursor always
  says which endpoint it belongs to (and keeps the shape :class:`runtrack.paginate.FanOut` re-addresses).
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal

import attrs

from runtrack.errors import NotFoundError, PaginationError, RequestError, RuntrackError
from runtrack.model import Run
from runtrack.paginate import Listing, RawPage, State

from .hydrate import Hydrator, Lookup

__all__ = ["Endpoint", "HydratedItems", "QueueEndpoints", "is_gone"]

log = logging.getLogger("runtrack.langsmith")

Endpoint = Literal["runs", "items"]


class HydratedItems:
    """A listing of runs from a listing of raw queue items (one review section, or a fan-out over several) and the
    hydrators that resolve them.

    Pipelined: while page k is mapped and consumed, page k+1's ``runs/query`` travels (in a worker thread) and the
    items page after it is already requested (the items listing fetches ahead), so a page costs one round trip, not
    two.
    Pages still come in order; an error surfaces after every page before it.
    """

    def __init__(self, items: Listing[Any], hydrator: Callable[[State], Hydrator]) -> None:
        self.items = items
        self.hydrator = hydrator  # the hydrator of a page's state (each review section has its own)

    def resume_at(self, state: State, position: int) -> State:
        return self.items.resume_at(state, position)

    def _positions(self, page: RawPage[Any]) -> list[int]:
        return list(page.positions or range(page.first_position, page.first_position + len(page.items)))

    def _lookup(self, page: RawPage[Any]) -> Lookup:
        return self.hydrator(page.state).lookup(page.items, self._positions(page))

    def _hydrated(self, page: RawPage[Any], looked_up: Lookup | None = None) -> RawPage[Run]:
        hydrator, positions = self.hydrator(page.state), self._positions(page)
        if looked_up is None:
            looked_up = hydrator.lookup(page.items, positions)
        runs, kept, skipped = hydrator.build(page.items, positions, looked_up)
        same = len(kept) == len(page.items)
        return attrs.evolve(
            page,
            items=tuple(runs),
            positions=page.positions if same else tuple(kept),
            skipped=page.skipped + tuple(skipped),
        )

    def pages(self, state: State) -> Iterator[RawPage[Run]]:
        items = iter(self.items.pages(state))
        pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="runtrack-hydrate")
        ahead: tuple[RawPage[Any], concurrent.futures.Future[Lookup]] | None = None
        try:
            while True:
                try:
                    page = next(items, None)
                except Exception:
                    if ahead is not None:  # the page looked up meanwhile comes first, then the error
                        yield self._hydrated(ahead[0], ahead[1].result())
                    raise
                looking = (page, pool.submit(self._lookup, page)) if page is not None else None
                if ahead is not None:  # mapped here while the next page's runs/query travels
                    yield self._hydrated(ahead[0], ahead[1].result())
                if looking is None:
                    return
                ahead = looking
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            close = getattr(items, "close", None)
            if close is not None:
                close()


def is_gone(exc: RuntrackError) -> bool:
    """The deprecated endpoint answered 404 Not Found or 410 Gone."""
    return isinstance(exc, NotFoundError) or (isinstance(exc, RequestError) and exc.status_code == 410)


class QueueEndpoints:
    """One queue's runs through ``mode`` ``"runs"``, ``"items"`` or ``"auto"``.

    ``auto`` starts with the deprecated endpoint and, when it answers 404/410, switches to the successor for
    this queue and tells ``remember(queue_id, exc)`` (the adapter then starts there next time). A switch after
    pages were already listed restarts the queue on the successor (at least once: runs already listed from this
    queue may come again, with the same uids); the offsets of one endpoint mean nothing to the other.
    """

    def __init__(
        self,
        *,
        queue_id: str,
        mode: Literal["auto", "runs", "items"],
        runs: Callable[[], Listing[Run]],
        items: Callable[[], Listing[Run]],
        prefer_items: Callable[[str], bool],
        remember: Callable[[str, RuntrackError], None],
    ) -> None:
        self.queue_id = queue_id
        self.mode = mode
        self._make = {"runs": runs, "items": items}
        self.wanted: int | None = None  #: passed on to the endpoint's listing (RunIterator's max_items)
        self.prefer_items = prefer_items
        self.remember = remember

    def _split(self, state: State) -> tuple[Endpoint | None, State]:
        if state is None:
            return None, None
        if not isinstance(state, dict) or state.get("e") not in ("runs", "items"):
            raise PaginationError("cursor does not fit this LangSmith queue listing (corrupt or from another version)")
        endpoint: Endpoint = state["e"]
        return endpoint, {k: v for k, v in state.items() if k != "e"}

    def resume_at(self, state: State, position: int) -> State:
        endpoint, inner = self._split(state)
        assert endpoint is not None
        return {**self._make[endpoint]().resume_at(inner, position), "e": endpoint}

    def _start(self, endpoint: Endpoint | None, inner: State) -> tuple[Endpoint, State]:
        mode = self.mode
        if endpoint is None:
            if mode == "items" or (mode == "auto" and self.prefer_items(self.queue_id)):
                return "items", None
            return "runs", None
        if mode != "auto" and endpoint != mode:
            raise PaginationError(
                f"this cursor continues queue {self.queue_id} on the {endpoint!r} endpoint but the adapter was "
                f"connected with endpoint={mode!r}: connect with endpoint='auto' or endpoint={endpoint!r}"
            )
        if endpoint == "runs" and mode == "auto" and self.prefer_items(self.queue_id):
            log.warning(
                "queue %s: the deprecated runs endpoint is gone; restarting the queue on the items endpoint "
                "(runs already listed from it may come again)",
                self.queue_id,
            )
            return "items", None
        return endpoint, inner

    def pages(self, state: State) -> Iterator[RawPage[Run]]:
        endpoint, inner = self._start(*self._split(state))
        if endpoint == "runs":
            resumed = inner is not None
            try:
                for page in self._listing("runs").pages(inner):
                    resumed = True
                    yield _tag(page, "runs")
                return
            except RuntrackError as exc:
                if self.mode != "auto" or not is_gone(exc):
                    raise
                self.remember(self.queue_id, exc)
                log.warning(
                    "queue %s: the deprecated runs endpoint answered HTTP %s; switching to the items endpoint%s",
                    self.queue_id,
                    exc.status_code,
                    " and restarting the queue there (runs already listed from it may come again)" if resumed else "",
                )
            endpoint, inner = "items", None
        for page in self._listing("items").pages(inner):
            yield _tag(page, "items")

    def _listing(self, endpoint: Endpoint) -> Listing[Run]:
        listing = self._make[endpoint]()
        if self.wanted is not None and hasattr(listing, "wanted"):
            listing.wanted = self.wanted
        return listing


def _tag(page: RawPage[Run], endpoint: Endpoint) -> RawPage[Run]:
    return attrs.evolve(
        page,
        state={**page.state, "e": endpoint},
        next_state=None if page.next_state is None else {**page.next_state, "e": endpoint},
    )
