"""What users iterate: :class:`RunIterator`, with ``max_items`` and cursors on every page and every error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from ..errors import RuntrackError
from .cursors import State, decode_cursor, encode_cursor
from .pages import Listing, Page, RawPage, SkippedItem

__all__ = ["RunIterator"]

T = TypeVar("T")


class RunIterator(Generic[T]):
    """A lazy, single-pass listing. Iterate it for items, or call :meth:`pages` for :class:`Page` objects.

    Nothing is fetched until iteration starts. Any :class:`RuntrackError` raised while listing carries
    ``cursor``: pass it back as ``cursor=`` to resume where the listing stopped.
    """

    def __init__(
        self,
        listing: Listing[T],
        *,
        name: str,
        cursor: str | None = None,
        max_items: int | None = None,
    ) -> None:
        if max_items is not None and max_items < 0:
            raise ValueError("max_items must be >= 0")
        self._listing = listing
        if max_items is not None and hasattr(listing, "wanted"):
            listing.wanted = max_items  # pages in flight: no more than these items need
        self._name = name
        self._start = decode_cursor(cursor, listing=name) if cursor is not None else None
        self._max_items = max_items
        self._started = False
        self.duplicates = 0  #: items dropped as duplicates so far
        self.skipped: list[SkippedItem] = []  #: items left out by ``on_invalid="skip"`` (path, native id, reason)
        self.last_cursor: str | None = cursor  #: where a new listing would resume now

    def __repr__(self) -> str:
        return f"<RunIterator {self._name} {'started' if self._started else 'not started'}>"

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def pages(self) -> Iterator[Page[T]]:
        """The listing page by page (each with its cursors)."""
        if self._started:
            raise RuntimeError("this listing was already iterated; start a new one (with cursor= to resume)")
        self._started = True
        return self._pages()

    def _encode(self, state: State) -> str:
        return encode_cursor(state, listing=self._name)

    def _pages(self) -> Iterator[Page[T]]:
        source = self._listing.pages(self._start)
        try:
            yield from self._delivered(source)
        finally:
            close = getattr(source, "close", None)
            if close is not None:  # stop requests fetched ahead now, not when the garbage collector runs
                close()

    def _delivered(self, source: Iterator[RawPage[T]]) -> Iterator[Page[T]]:
        remaining = self._max_items
        resume_state = self._start
        while remaining is None or remaining > 0:
            try:
                raw = next(source)
            except StopIteration:
                return
            except RuntrackError as exc:
                if exc.cursor is None:
                    exc.cursor = self._encode(resume_state)
                raise
            self.duplicates += raw.duplicates
            self.skipped += raw.skipped
            items, next_state = raw.items, raw.next_state
            if remaining is not None and len(items) > remaining:
                items = items[:remaining]
                kept = raw.positions[remaining - 1] + 1 if raw.positions else raw.first_position + remaining
                next_state = self._listing.resume_at(raw.state, kept)
            cursor = self._encode(raw.state)
            next_cursor = self._encode(next_state) if next_state is not None else None
            self.last_cursor = next_cursor
            resume_state = next_state
            yield Page(items=items, cursor=cursor, next_cursor=next_cursor, total=raw.total, duplicates=raw.duplicates)
            if remaining is not None:
                remaining -= len(items)
            if next_state is None:
                return
