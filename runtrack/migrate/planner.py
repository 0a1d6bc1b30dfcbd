"""Deciding what happens to each item: create, update, skip or blocked. Shared by ``plan`` and ``apply``, so a
plan shows exactly what an apply of the same state would do."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

from .contract import Found, Item
from .results import PlanEntry

__all__ = ["batched", "classify"]

T = TypeVar("T")


def classify(item: Item, found: Found | None, *, updatable: bool) -> PlanEntry:
    """The action for ``item`` given what the destination holds under its key."""
    if item.blocked is not None:
        return PlanEntry(source_key=item.source_key, key=item.key, action="blocked", reason=item.blocked)
    if found is None:
        return PlanEntry(source_key=item.source_key, key=item.key, action="create")
    if found.fingerprint == item.fingerprint:
        return PlanEntry(source_key=item.source_key, key=item.key, action="skip", dest_id=found.dest_id)
    if not updatable:
        return PlanEntry(
            source_key=item.source_key,
            key=item.key,
            action="skip",
            dest_id=found.dest_id,
            reason="changed at the source; the destination is write-once",
        )
    return PlanEntry(source_key=item.source_key, key=item.key, action="update", dest_id=found.dest_id)


def batched(items: Iterable[T], size: int) -> Iterator[Sequence[T]]:
    """Lists of ``size`` items (the last may be shorter)."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
