"""Listing pieces specific to LangSmith queues, built on the core loop.

* :class:`HydratedItems`: pages of queue items (ids only) become pages of runs through a :class:`Hydrator`;
  states pass through untouched, so cursors and ``max_items`` work as on any listing.
* :class:`QueueEndpoints`: one queue's runs through the deprecated ``/runs`` endpoint or the successor
  ``/items`` endpoint. Its state is the chosen endpoint's state plus ``"e": "runs" | "items"``, so a cursor always
  says which endpoint it belongs to (and keeps the shape :class:`runtrack.paginate.FanOut` re-addresses).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal

import attrs

from runtrack.errors import NotFoundError, PaginationError, RequestError, RuntrackError
from runtrack.model import Run
from runtrack.paginate import Listing, RawPage, State

from .hydrate import Hydrator

__all__ = ["Endpoint", "HydratedItems", "QueueEndpoints", "is_gone"]

log = logging.getLogger("runtrack.langsmith")

Endpoint = Literal["runs", "items"]


class HydratedItems:
    """A listing of runs from a listing of raw queue items and the hydrator that resolves them."""

    def __init__(self, items: Listing[Any], hydrate: Hydrator) -> None:
        self.items = items
        self.hydrate = hydrate

    def resume_at(self, state: State, position: int) -> State:
        return self.items.resume_at(state, position)

    def pages(self, state: State) -> Iterator[RawPage[Run]]:
        for page in self.items.pages(state):
            positions = page.positions or range(page.first_position, page.first_position + len(page.items))
            runs, kept, skipped = self.hydrate(page.items, list(positions))
            same = len(kept) == len(page.items)
            yield attrs.evolve(
                page,
                items=tuple(runs),
                positions=page.positions if same else tuple(kept),
                skipped=page.skipped + tuple(skipped),
            )


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
                for page in self._make["runs"]().pages(inner):
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
        for page in self._make["items"]().pages(inner):
            yield _tag(page, "items")


def _tag(page: RawPage[Run], endpoint: Endpoint) -> RawPage[Run]:
    return attrs.evolve(
        page,
        state={**page.state, "e": endpoint},
        next_state=None if page.next_state is None else {**page.next_state, "e": endpoint},
    )
