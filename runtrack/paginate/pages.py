"""What listings produce: :class:`RawPage` (states still plain JSON), :class:`Page` (what users get, with cursor
strings), the :class:`Listing` protocol, and :class:`StaticListing` for sequences already known."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .cursors import State

__all__ = ["END", "Listing", "Page", "RawPage", "SkippedItem", "StaticListing"]

T = TypeVar("T")


class _End:
    def __repr__(self) -> str:
        return "END"


#: Returned by :meth:`Strategy.next_state` when the response proves the listing is complete.
END: Any = _End()


@attrs.frozen(kw_only=True)
class SkippedItem:
    """An item a listing with ``on_invalid="skip"`` left out: where it was (JSON path in the response), the
    vendor's id when it could be read, and why it could not be mapped."""

    path: str
    native_id: str | None
    reason: str


@attrs.frozen(kw_only=True)
class RawPage(Generic[T]):
    """A page as listings produce it: states are plain JSON values, not yet encoded."""

    items: tuple[T, ...]
    state: State
    next_state: State  # None at the end
    total: int | None = None
    duplicates: int = 0
    first_position: int = 0  # raw index (in the page as fetched) of the first item
    positions: tuple[int, ...] | None = None  # raw index of each kept item, when some were dropped
    skipped: tuple[SkippedItem, ...] = ()  # items left out by on_invalid="skip"


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a listing.

    ``cursor`` re-fetches this page (at-least-once); ``next_cursor`` resumes right after it and is None at the
    end. Save ``next_cursor`` only once the page's items are stored.
    """

    items: tuple[T, ...]
    cursor: str
    next_cursor: str | None
    total: int | None = None
    duplicates: int = 0


class Listing(Protocol[T]):
    """Anything that yields :class:`RawPage` objects from a state (None: the beginning)."""

    def pages(self, state: State) -> Iterator[RawPage[T]]: ...

    def resume_at(self, state: State, position: int) -> State:
        """The state that re-fetches the page at ``state`` and starts at raw item ``position`` of it."""
        ...


class StaticListing(Generic[T]):
    """A fixed, already known sequence as a one-page listing (e.g. configured container ids)."""

    def __init__(self, items: Sequence[T]) -> None:
        self.items = tuple(items)

    def resume_at(self, state: State, position: int) -> State:
        return {"k": position}

    def pages(self, state: State) -> Iterator[RawPage[T]]:
        skip = int((state or {}).get("k", 0))
        yield RawPage(items=self.items[skip:], state=state or {}, next_state=None, first_position=skip)
