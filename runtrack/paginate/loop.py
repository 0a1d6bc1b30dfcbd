"""The one pagination loop over HTTP: :class:`HttpListing`.

Two walks share the page filter (every id a listing delivered is remembered, see :mod:`.seen`) and the item
mapping:

* **offset walk** (an :class:`~.strategies.Addressable` strategy with a page size): the request for every page is
  known in advance, so up to ``concurrency`` pages are in flight (no more than ``max_items`` needs, so it costs no
  burst). Consecutive pages overlap by a few items; a page must start with an item already
  listed, else items moved back across the boundary (removed at the head) and the walk steps back to find them
  (:class:`~runtrack.errors.DriftError` when it cannot). Items listed before are dropped and counted.
* **sequential walk** (tokens, next links, one page): the next request depends on this page, so it is sent as
  soon as this page is read (pipelining) and travels while this page is mapped and consumed.

docs/pagination.md describes both, with the bounds every listing has (page budget, empty and stale pages).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs

from ..errors import DriftError, PaginationError, PayloadError
from .cursors import State, leaf_state, read_leaf_state
from .pages import END, RawPage, SkippedItem
from .seen import SeenIds
from .strategies import Addressable, Strategy
from .window import Congestion, Window, congestion_of

if TYPE_CHECKING:
    from ..http import Request

__all__ = ["DEFAULT_MAX_PAGES", "HttpListing", "OnInvalid"]

log = logging.getLogger("runtrack.paginate")

T = TypeVar("T")

#: Pages one listing (one queue, one prompt version...) may fetch before it stops with a PaginationError.
DEFAULT_MAX_PAGES = 10_000
OnInvalid = Literal["raise", "skip"]
#: Consecutive offset pages share one item (doubled each time drift is caught) when pages hold at least this many
#: items; smaller pages are not overlapped (see docs/pagination.md).
MIN_OVERLAPPED_PAGE = 5


@attrs.frozen
class _Filtered:
    """What is left of a page once ids listed before are dropped."""

    kept: list[int]  # indices (in the page as fetched) of the items to deliver
    dropped: int
    leading: int  # dropped items before the first kept one
    invalid: list[SkippedItem] = attrs.Factory(list)  # items without an id, left out by on_invalid="skip"


class HttpListing(Generic[T]):
    """The one pagination loop over HTTP.

    ``fetch(request)`` returns the decoded JSON body (it is called from worker threads when pages are fetched
    ahead). ``parse(item)`` maps one raw item (a parse error becomes a :class:`PayloadError` naming the item's JSON
    path, or, with ``on_invalid="skip"``, a :class:`SkippedItem` on the page). ``key(item)`` identifies raw items:
    with it, an item is never delivered twice and drift is caught. ``max_page_size`` clamps the wire page size.

    Bounds: ``max_pages`` requests (None: no budget), ``max_empty_pages`` empty pages in a row that still carry a
    continuation, ``max_stale_pages`` pages in a row that bring nothing new (see docs/pagination.md).
    ``concurrency`` pages in flight for offset listings; ``prefetch`` the next page of the others while this one
    is consumed. ``overlap`` items shared by consecutive offset pages (default: 1 for pages of 5 or more)
    and ``max_drift_repairs`` steps back when items moved across a boundary.
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
        max_pages: int | None = DEFAULT_MAX_PAGES,
        max_empty_pages: int = 100,
        max_stale_pages: int = 3,
        overlap: int | None = None,
        max_drift_repairs: int = 8,
        concurrency: int = 1,
        prefetch: bool = True,
        on_invalid: OnInvalid = "raise",
        on_duplicate: Callable[[int], None] | None = None,
        congestion: Congestion | None = None,
    ) -> None:
        if page_size is not None:
            page_size = max(min_page_size, page_size)
            if max_page_size is not None:
                page_size = min(page_size, max_page_size)
        elif max_page_size is not None:
            page_size = max_page_size
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if on_invalid not in ("raise", "skip"):
            raise ValueError(f"on_invalid must be 'raise' or 'skip', got {on_invalid!r}")
        self.fetch = fetch
        self.request = request
        self.strategy = strategy
        self.parse = parse
        self.page_size = page_size
        self.key = key
        self.max_pages = max_pages
        self.max_empty_pages = max_empty_pages
        self.max_stale_pages = max_stale_pages
        self.overlap = overlap
        self.max_drift_repairs = max_drift_repairs
        self.concurrency = concurrency
        self.prefetch = prefetch
        self.on_invalid = on_invalid
        self.on_duplicate = on_duplicate
        self.congestion = congestion if congestion is not None else congestion_of(fetch)
        #: items the consumer wants at most (RunIterator sets it from max_items), so no page is fetched in vain
        self.wanted: int | None = None

    def resume_at(self, state: State, position: int) -> State:
        return leaf_state(read_leaf_state(state)[0], position)

    def pages(self, state: State) -> Iterator[RawPage[T]]:
        current, skip = read_leaf_state(state)
        if isinstance(self.strategy, Addressable) and self.page_size is not None:
            return self._offset_pages(self.strategy, self.page_size, current, skip)
        return self._sequential_pages(current, skip)

    # ------------------------------------------------------------------ the offset walk

    def _offset_pages(self, strategy: Addressable, size: int, start: State, skip: int) -> Iterator[RawPage[T]]:
        seen = SeenIds() if self.key is not None else None
        overlap = self._overlap(size) if seen is not None and strategy.may_drift else 0
        check = overlap > 0  # a page must start with an item listed before
        window: Window[int] = Window(self.fetch, self.concurrency, self.congestion)
        spent = 0
        wire = scheduled = strategy.offset_of(start)  # the page to process next / the next page to request
        first, total, delivered, stale = True, None, 0, 0
        previous: tuple[int, ...] = ()

        def open_requests() -> None:
            nonlocal scheduled, spent
            wanted = self.concurrency
            if self.wanted is not None:  # max_items: no more pages in flight than the items still wanted need
                wanted = min(wanted, max(1, -(-(self.wanted - delivered) // max(size - overlap, 1))))
            room = window.room(wanted)
            while room > 0 and (total is None or scheduled < total or not window) and self._within(spent):
                window.open(scheduled, strategy.request(self.request, strategy.at_offset(scheduled), size))
                spent, scheduled, room = spent + 1, scheduled + size - overlap, room - 1

        try:
            while True:
                open_requests()
                if not window:
                    raise self._budget_error()
                at, body = window.next()
                assert at == wire, (at, wire)
                items_path, raw_items = strategy.items(body)
                repaired = False
                if check and not first and at > 0:
                    assert seen is not None
                    if not raw_items or self._digest(raw_items[0], items_path, 0) not in seen:
                        window.drop()
                        at, body, items_path, raw_items, used = self._repair(strategy, size, at, overlap, seen, spent)
                        spent += used
                        overlap = min(size - 1, max(2 * overlap, 1))
                        repaired = True
                total = strategy.total(body)
                nxt = strategy.next_state(body, raw_items, strategy.at_offset(at), size)
                if first and seen is not None and skip:
                    for i in range(min(skip, len(raw_items))):  # delivered before the cursor was taken
                        seen.add(self._digest(raw_items[i], items_path, i))
                kept = self._filter(raw_items, items_path, skip if first else 0, seen)
                if kept.dropped and not kept.kept:
                    signature = self._signature(raw_items, items_path)
                    stale = stale + 1 if signature == previous else 0
                    if stale >= self.max_stale_pages:
                        raise PaginationError(
                            f"{stale + 1} pages in a row at different offsets held the same items: the server "
                            "seems to ignore the offset; stopping"
                        )
                    previous = signature
                else:
                    stale, previous = 0, ()
                expected = len(raw_items) if repaired else (0 if first else overlap)
                duplicates = kept.dropped - min(kept.leading, expected)
                if first:
                    state, base = leaf_state(strategy.at_offset(at), skip), 0
                else:
                    base = kept.kept[0] if kept.kept else len(raw_items)
                    state = leaf_state(strategy.at_offset(at + base))
                if nxt is END:
                    window.drop()
                else:
                    wire = strategy.offset_of(nxt) - overlap
                    if repaired or wire != at + size - overlap:
                        window.drop()
                        scheduled = wire
                    delivered += len(kept.kept)
                    open_requests()  # the next pages travel while this one is mapped and consumed
                yield self._page(
                    raw_items, items_path, kept, state, None if nxt is END else leaf_state(nxt), total, base, duplicates
                )
                if nxt is END:
                    return
                first = False
        finally:
            window.close()

    def _overlap(self, size: int) -> int:
        wanted = self.overlap if self.overlap is not None else int(size >= MIN_OVERLAPPED_PAGE)
        return max(0, min(wanted, size - 1))

    def _repair(
        self, strategy: Addressable, size: int, at: int, overlap: int, seen: SeenIds, spent: int
    ) -> tuple[int, Any, str, Sequence[Any], int]:
        """The page at ``at`` starts with an item never listed: items moved back across the boundary. Step back
        (one page, then twice as far each time) until a page starts with an item listed before, or at offset 0."""
        lookback = size - overlap
        for used in range(1, self.max_drift_repairs + 1):
            back = max(0, at - lookback)
            if not self._within(spent):
                raise self._budget_error()
            spent += 1
            body = self.fetch(strategy.request(self.request, strategy.at_offset(back), size))
            items_path, raw_items = strategy.items(body)
            if back == 0 or (raw_items and self._digest(raw_items[0], items_path, 0) in seen):
                log.info(
                    "%s: items moved back across offset %d while listing (removed at the head); stepped back to %d",
                    self.request.describe(),
                    at,
                    back,
                )
                return back, body, items_path, raw_items, used
            lookback *= 2
        raise DriftError(
            f"{self.request.describe()}: items were removed at the head of the listing while it was read, and "
            f"{self.max_drift_repairs} steps back from offset {at} found no item listed before: runs may be "
            "missing between the last page delivered and this one. The cursor continues after the last page "
            "delivered; list again from the start to be sure of every run"
        )

    # ------------------------------------------------------------------ the sequential walk

    def _sequential_pages(self, current: State, skip: int) -> Iterator[RawPage[T]]:
        strategy, size = self.strategy, self.page_size
        seen = SeenIds() if self.key is not None else None
        guard: set[str] = set()
        window: Window[None] = Window(self.fetch, 1, None)
        req = strategy.request(self.request, current, size)
        guard.add(_marker(req))
        empty_run = stale = 0
        previous: tuple[int, ...] = ()
        try:
            if not self._within(0):
                raise self._budget_error()
            spent, body = 1, self.fetch(req)
            while True:
                items_path, raw_items = strategy.items(body)
                nxt = strategy.next_state(body, raw_items, current, size)
                if nxt is not END:
                    # A request already made means the server handed back a continuation it gave before. Stop
                    # before delivering this page: the error's cursor re-fetches it, so a resume is exactly once.
                    next_req = strategy.request(self.request, nxt, size)
                    marker = _marker(next_req)
                    if marker in guard:
                        raise PaginationError(
                            f"the server repeated a continuation it already gave ({_short(nxt)}): stopping"
                        )
                    guard.add(marker)
                empty_run = 0 if raw_items else empty_run + 1
                if skip and seen is not None:
                    for i in range(min(skip, len(raw_items))):
                        seen.add(self._digest(raw_items[i], items_path, i))
                kept = self._filter(raw_items, items_path, skip, seen)
                if kept.dropped and not kept.kept:
                    signature = self._signature(raw_items, items_path)
                    stale = stale + 1 if signature == previous or not strategy.may_drift else 0
                    if stale >= (self.max_stale_pages if strategy.may_drift else 1):
                        raise PaginationError(
                            f"{req.describe()}: every item of this page was listed before (the server repeats "
                            "pages under fresh continuations); stopping"
                        )
                    previous = signature
                else:
                    stale, previous = 0, ()
                ahead = nxt is not END and empty_run < self.max_empty_pages and self._within(spent)
                if ahead and self.prefetch:
                    window.open(None, next_req)
                    spent += 1
                total = strategy.total(body)
                next_state = None if nxt is END else leaf_state(nxt)
                yield self._page(
                    raw_items, items_path, kept, leaf_state(current, skip), next_state, total, 0, kept.dropped
                )
                if nxt is END:
                    return
                if empty_run >= self.max_empty_pages:
                    raise PaginationError(f"{empty_run} empty pages in a row that still carry a continuation: stopping")
                if not ahead:
                    raise self._budget_error()
                if self.prefetch:
                    _, body = window.next()
                else:
                    spent, body = spent + 1, self.fetch(next_req)
                current, skip, req = nxt, 0, next_req
        finally:
            window.close()

    # ------------------------------------------------------------------ shared steps

    def _within(self, spent: int) -> bool:
        return self.max_pages is None or spent < self.max_pages

    def _budget_error(self) -> PaginationError:
        return PaginationError(
            f"page budget of {self.max_pages} pages exceeded ({self.request.describe()}): an endless series of "
            "pages, or a listing larger than the budget; resume with the cursor, or raise the max_pages option"
        )

    def _digest(self, item: Any, items_path: str, index: int) -> int:
        assert self.key is not None
        try:
            return SeenIds.digest(self.key(item))
        except (KeyError, TypeError, AttributeError):
            raise PayloadError("item has no id", path=f"{items_path}[{index}]") from None

    def _signature(self, raw_items: Sequence[Any], items_path: str) -> tuple[int, ...]:
        last = len(raw_items) - 1
        return (
            len(raw_items),
            self._digest(raw_items[0], items_path, 0),
            self._digest(raw_items[last], items_path, last),
        )

    def _filter(self, raw_items: Sequence[Any], items_path: str, skip: int, seen: SeenIds | None) -> _Filtered:
        """Indices of the items to deliver: from ``skip`` on, those never listed before (all when no key)."""
        if seen is None:
            return _Filtered(list(range(skip, len(raw_items))), 0, 0)
        key = self.key
        assert key is not None
        invalid: list[SkippedItem] = []
        indices: Sequence[int] = range(skip, len(raw_items))
        try:
            digests = [hash(key(raw_items[i])) for i in indices]
        except (KeyError, TypeError, AttributeError):
            digests = []
            valid: list[int] = []
            for i in indices:  # slow path, only when an item has no id: name it (or skip it)
                try:
                    digests.append(self._digest(raw_items[i], items_path, i))
                except PayloadError as exc:
                    if self.on_invalid == "raise":
                        raise
                    invalid.append(self._skipped(exc.path or items_path, None, exc.message))
                    continue
                valid.append(i)
            indices = valid
        kept, leading = seen.claim(digests)
        return _Filtered([indices[k] for k in kept], len(digests) - len(kept), leading, invalid)

    def _page(
        self,
        raw_items: Sequence[Any],
        items_path: str,
        kept: _Filtered,
        state: State,
        next_state: State,
        total: int | None,
        base: int,
        duplicates: int,
    ) -> RawPage[T]:
        """The page to deliver: ``kept`` items mapped, positions relative to raw item ``base`` of the page."""
        items, indices, skipped = self._parse(raw_items, items_path, kept.kept)
        if duplicates:
            if self.on_duplicate:
                self.on_duplicate(duplicates)
            log.info("%s: dropped %d item(s) listed before (shifted by changes)", self.request.describe(), duplicates)
        contiguous = not indices or indices[-1] - indices[0] == len(indices) - 1
        return RawPage(
            items=tuple(items),
            state=state,
            next_state=next_state,
            total=total,
            duplicates=duplicates,
            first_position=(indices[0] - base) if indices else len(raw_items) - base,
            positions=None if contiguous else tuple(i - base for i in indices),
            skipped=tuple(kept.invalid + skipped),
        )

    def _parse(
        self, raw_items: Sequence[Any], items_path: str, indices: list[int]
    ) -> tuple[list[T], list[int], list[SkippedItem]]:
        parse = self.parse
        try:
            return [parse(raw_items[i]) for i in indices], indices, []
        except PayloadError:
            pass
        # Slow path, only on error: find the item(s) and say where.
        items: list[T] = []
        kept: list[int] = []
        skipped: list[SkippedItem] = []
        for i in indices:
            try:
                items.append(parse(raw_items[i]))
            except PayloadError as exc:
                path = f"{items_path}[{i}]{(exc.path or '$')[1:]}"
                if self.on_invalid == "raise":
                    raise PayloadError(exc.message, path=path, platform=exc.platform) from None
                skipped.append(self._skipped(path, self._native_id(raw_items[i]), exc.message))
                continue
            kept.append(i)
        return items, kept, skipped

    def _skipped(self, path: str, native_id: str | None, reason: str) -> SkippedItem:
        log.warning(
            "%s: skipped the invalid item at %s%s: %s",
            self.request.describe(),
            path,
            f" (id {native_id})" if native_id is not None else "",
            reason,
        )
        return SkippedItem(path=path, native_id=native_id, reason=reason)

    def _native_id(self, item: Any) -> str | None:
        try:
            value = self.key(item) if self.key is not None else item.get("id")
        except Exception:  # the id is a courtesy in a report about a broken item
            return None
        return None if value is None else str(value)


def _marker(req: Request) -> str:
    return req.describe() + json.dumps(req.json, sort_keys=True)


def _short(state: State) -> str:
    text = json.dumps(state)
    return text if len(text) <= 80 else text[:77] + "..."
