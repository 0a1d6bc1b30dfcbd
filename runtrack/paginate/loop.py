"""The one pagination loop over HTTP: :class:`HttpListing`."""

from __future__ import annotations

import collections
import json
import logging
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..errors import PaginationError, PayloadError
from .cursors import State, leaf_state, read_leaf_state
from .pages import END, RawPage
from .strategies import Strategy

if TYPE_CHECKING:
    from ..http import Request

__all__ = ["HttpListing"]

log = logging.getLogger("runtrack.paginate")

T = TypeVar("T")


class HttpListing(Generic[T]):
    """The one pagination loop over HTTP.

    ``fetch(request)`` returns the decoded JSON body. ``parse(item)`` maps one raw item (a parse error becomes a
    :class:`PayloadError` naming the item's JSON path). ``key(item)`` identifies raw items for dedupe when the
    strategy may drift. ``max_page_size`` clamps the wire page size.
    """

    def __init__(
        self,
        fetch: Callable[[Request], Any],
        request: Request,
        strategy: Strategy,
        parse: Callable[[Any], T],
        *,
        page_size: int | None = None,
        max_page_size: int | None = None,
        min_page_size: int = 1,
        key: Callable[[Any], Hashable] | None = None,
        max_pages: int | None = None,
        max_empty_pages: int = 100,
        dedupe_window: int = 4,
        on_duplicate: Callable[[int], None] | None = None,
    ) -> None:
        if page_size is not None:
            page_size = max(min_page_size, page_size)
            if max_page_size is not None:
                page_size = min(page_size, max_page_size)
        elif max_page_size is not None:
            page_size = max_page_size
        self.fetch = fetch
        self.request = request
        self.strategy = strategy
        self.parse = parse
        self.page_size = page_size
        self.key = key
        self.max_pages = max_pages
        self.max_empty_pages = max_empty_pages
        self.dedupe_window = dedupe_window
        self.on_duplicate = on_duplicate

    def resume_at(self, state: State, position: int) -> State:
        return leaf_state(read_leaf_state(state)[0], position)

    def pages(self, state: State) -> Iterator[RawPage[T]]:
        strategy, page_size = self.strategy, self.page_size
        current, skip = read_leaf_state(state)
        seen_states: set[str] = set()
        recent: collections.deque[set[Hashable]] = collections.deque(maxlen=self.dedupe_window)
        dedupe = self.key is not None and strategy.may_drift
        fetched = empty_run = 0
        req = strategy.request(self.request, current, page_size)
        seen_states.add(_marker(req))
        while True:
            if self.max_pages is not None and fetched >= self.max_pages:
                raise PaginationError(f"page budget of {self.max_pages} pages exceeded")
            body = self.fetch(req)
            fetched += 1
            items_path, raw_items = strategy.items(body)
            next_state = strategy.next_state(body, raw_items, current, page_size)
            if next_state is not END:
                # A request already made means the server handed back a continuation it gave before. Stop before
                # delivering this page: the error's cursor re-fetches it, so a resume is exactly once.
                next_req = strategy.request(self.request, next_state, page_size)
                marker = _marker(next_req)
                if marker in seen_states:
                    raise PaginationError(
                        f"the server repeated a continuation it already gave ({_short(next_state)}): stopping"
                    )
                seen_states.add(marker)
            empty_run = 0 if raw_items else empty_run + 1
            if skip:
                raw_items = raw_items[skip:]
            positions: list[int] | None = None
            duplicates = 0
            if dedupe and raw_items:
                assert self.key is not None
                keys = self._keys(raw_items, items_path)
                page_keys: set[Hashable] = set()
                kept = []
                for i, k in enumerate(keys):
                    if k in page_keys or any(k in s for s in recent):
                        duplicates += 1
                        continue
                    page_keys.add(k)
                    kept.append(skip + i)
                recent.append(page_keys)
                if duplicates:
                    positions = kept
                    raw_items = [raw_items[i - skip] for i in kept]
                    if self.on_duplicate:
                        self.on_duplicate(duplicates)
                    log.info(
                        "%s: dropped %d duplicate item(s) shifted by concurrent changes", req.describe(), duplicates
                    )
            items = self._parse(raw_items, items_path, positions, skip)
            page_state = leaf_state(current, skip)
            total = strategy.total(body)
            yield RawPage(
                items=tuple(items),
                state=page_state,
                next_state=None if next_state is END else leaf_state(next_state),
                total=total,
                duplicates=duplicates,
                first_position=skip,
                positions=tuple(positions) if positions is not None else None,
            )
            if next_state is END:
                return
            if empty_run >= self.max_empty_pages:
                raise PaginationError(f"{empty_run} empty pages in a row that still carry a continuation: stopping")
            current, skip, req = next_state, 0, next_req

    def _keys(self, raw_items: Sequence[Any], items_path: str) -> list[Hashable]:
        assert self.key is not None
        try:
            return [self.key(item) for item in raw_items]
        except (KeyError, TypeError, AttributeError):
            for i, item in enumerate(raw_items):
                try:
                    self.key(item)
                except (KeyError, TypeError, AttributeError):
                    raise PayloadError("item has no id", path=f"{items_path}[{i}]") from None
            raise

    def _parse(self, raw_items: Sequence[Any], items_path: str, positions: list[int] | None, skip: int) -> list[T]:
        parse = self.parse
        try:
            return [parse(item) for item in raw_items]
        except PayloadError:
            pass
        # Slow path, only on error: find the item and say where it is.
        for i, item in enumerate(raw_items):
            try:
                parse(item)
            except PayloadError as exc:
                index = positions[i] if positions is not None else skip + i
                inner = (exc.path or "$")[1:]
                raise PayloadError(exc.message, path=f"{items_path}[{index}]{inner}", platform=exc.platform) from None
        raise AssertionError("unreachable")  # pragma: no cover


def _marker(req: Request) -> str:
    return req.describe() + json.dumps(req.json, sort_keys=True)


def _short(state: State) -> str:
    text = json.dumps(state)
    return text if len(text) <= 80 else text[:77] + "..."
