"""One iterator interface over every pagination style.

Pieces, from the wire up:

* a :class:`Strategy` per style decides the next request from the last response; it never does I/O
  (:class:`OffsetLimit`, :class:`PageToken` for query, body and cursor-in-body tokens, :class:`NextLink`,
  :class:`Unpaginated`);
* :class:`HttpListing` is the ONE loop: it owns the HTTP call, end detection, the loop guard, the page budget,
  dedupe and item mapping, and yields :class:`RawPage` objects whose states are plain JSON values;
* :class:`FanOut` walks containers lazily (every queue, then its runs); its state nests the container
  listing's state and the inner listing's state, so resuming works across containers;
* :class:`RunIterator` is what users get: lazy, single pass, ``max_items``, :class:`Page` objects with opaque,
  versioned cursor strings that survive a process restart, and the resume cursor on every error.
"""

from __future__ import annotations

import base64
import binascii
import collections
import concurrent.futures
import json
import logging
import queue
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any, Generic, Literal, Protocol, TypeVar

import attrs

from .errors import PaginationError, PayloadError, RuntrackError

__all__ = [
    "END",
    "FanOut",
    "HttpListing",
    "Listing",
    "NextLink",
    "OffsetLimit",
    "Page",
    "PageToken",
    "RawPage",
    "Request",
    "RunIterator",
    "StaticListing",
    "Strategy",
    "Unpaginated",
    "decode_cursor",
    "encode_cursor",
]

log = logging.getLogger("runtrack.paginate")

T = TypeVar("T")
C = TypeVar("C")
State = Any  # a JSON value: int, str, None, list or dict of those


class _End:
    def __repr__(self) -> str:
        return "END"


#: Returned by :meth:`Strategy.next_state` when the response proves the listing is complete.
END: Any = _End()

CURSOR_PREFIX = "rt1."


# --------------------------------------------------------------------------- requests and pages


@attrs.frozen(kw_only=True)
class Request:
    """A request to make; ``path`` is relative to the transport's base URL, or an absolute URL (next links)."""

    method: str = "GET"
    path: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    json: Any = None
    idempotent: bool = True

    def describe(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items() if v is not None)
        return f"{self.method} {self.path}{'?' + query if query else ''}"


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


# --------------------------------------------------------------------------- cursors


def encode_cursor(state: State, *, listing: str) -> str:
    """An opaque, versioned, URL-safe cursor string for ``state`` of the listing named ``listing``."""
    body = json.dumps({"l": listing, "s": state}, separators=(",", ":"), sort_keys=True)
    return CURSOR_PREFIX + base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, listing: str) -> State:
    """The state inside ``cursor``; a cursor of another version or another listing is a clear error."""
    if not isinstance(cursor, str) or not cursor.startswith(CURSOR_PREFIX):
        raise PaginationError(f"not a runtrack cursor (expected a string starting with {CURSOR_PREFIX!r})")
    text = cursor[len(CURSOR_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise PaginationError("corrupt runtrack cursor (it does not decode)") from None
    if not isinstance(data, dict) or "s" not in data:
        raise PaginationError("corrupt runtrack cursor (no state)")
    if data.get("l") != listing:
        raise PaginationError(
            f"this cursor belongs to the listing {data.get('l')!r}, not {listing!r}: "
            "resume with the same adapter, instance and scope"
        )
    return data["s"]


# --------------------------------------------------------------------------- strategies


class Strategy(Protocol):
    """Decides requests and the end of a listing; pure functions of the previous response, no I/O."""

    @property
    def may_drift(self) -> bool:
        """Whether items may shift between pages (offset paging): the loop then drops duplicates by key."""
        ...

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        """The request for the page at ``state`` (None: the first page)."""

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        """``(JSON path, items)`` of the page in ``body``."""

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        """The state of the next page, or :data:`END`."""


def _items_at(body: Any, field: str | None) -> tuple[str, Sequence[Any]]:
    """Items of a page: a plain array, or ``body[field]`` (null or missing is an empty page)."""
    if isinstance(body, list):
        return "$", body
    if field is None or not isinstance(body, dict):
        raise PayloadError(
            f"expected a JSON array{' or an object with ' + repr(field) if field else ''}, got {type(body).__name__}",
            path="$",
        )
    value = body.get(field)
    if value is None:
        return f"$.{field}", ()
    if not isinstance(value, list):
        raise PayloadError(f"expected an array, got {type(value).__name__}", path=f"$.{field}")
    return f"$.{field}", value


def _get_path(body: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


@attrs.frozen(kw_only=True)
class OffsetLimit:
    """``?offset=&limit=``; the state is the offset. Ends on an empty page, or a short one when
    ``short_page_ends`` (the vendor guarantees full pages), or when ``offset >= total``."""

    offset_param: str = "offset"
    limit_param: str = "limit"
    items_field: str | None = None
    total_field: str | None = None
    short_page_ends: bool = True
    may_drift: bool = True

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        params = {**base.params, self.offset_param: int(state or 0)}
        if page_size is not None:
            params[self.limit_param] = page_size
        return attrs.evolve(base, params=params)

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        return _items_at(body, self.items_field)

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        if not items:
            return END
        offset = int(state or 0) + len(items)
        total = _get_path(body, (self.total_field,)) if self.total_field else None
        if isinstance(total, int) and offset >= total:
            return END
        if self.short_page_ends and page_size is not None and len(items) < page_size:
            return END
        return offset


@attrs.frozen(kw_only=True)
class PageToken:
    """A continuation token taken from the body (``next_path``) and sent back as a query parameter or in the
    JSON body (``token_in``). Ends when the token is absent, null or ``""``; an empty page that carries a token
    continues. ``has_more_path`` names a flag that, when true without a token, is an error."""

    next_path: tuple[str, ...] = ("nextPageToken",)
    token_param: str = "pageToken"
    size_param: str | None = "pageSize"
    items_field: str | None = "data"
    token_in: Literal["query", "json"] = "query"
    has_more_path: tuple[str, ...] | None = None
    may_drift: bool = False

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        extra: dict[str, Any] = {}
        if page_size is not None and self.size_param:
            extra[self.size_param] = page_size
        if state is not None:
            extra[self.token_param] = state
        if self.token_in == "json":
            return attrs.evolve(base, json={**(base.json or {}), **extra})
        return attrs.evolve(base, params={**base.params, **extra})

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        return _items_at(body, self.items_field)

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        token = _get_path(body, self.next_path)
        if token is None or token == "":
            if self.has_more_path and _get_path(body, self.has_more_path) is True:
                raise PaginationError(
                    f"the page says there is more ({'.'.join(self.has_more_path)}=true) "
                    f"but gives no {'.'.join(self.next_path)}: refusing to stop silently"
                )
            return END
        if not isinstance(token, str):
            raise PayloadError(
                f"expected a string token, got {type(token).__name__}", path="$." + ".".join(self.next_path)
            )
        return token


@attrs.frozen(kw_only=True)
class NextLink:
    """Django REST framework pages ``{count, next, previous, results}``: follow ``next`` (absolute or relative)
    with the original query dropped. A plain array is a single, complete page. A page whose ``count`` promises
    more items than were seen, with no ``next``, is an error."""

    next_field: str = "next"
    items_field: str = "results"
    count_field: str | None = "count"
    size_param: str | None = "page_size"
    may_drift: bool = True

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        if state is None:
            params = dict(base.params)
            if page_size is not None and self.size_param:
                params[self.size_param] = page_size
            return attrs.evolve(base, params=params)
        url, _seen = state
        return attrs.evolve(base, path=url, params={})

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        return _items_at(body, self.items_field)

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        seen = (state[1] if state else 0) + len(items)
        if not isinstance(body, dict):
            return END
        url = body.get(self.next_field)
        if not url:
            count = body.get(self.count_field) if self.count_field else None
            if isinstance(count, int) and seen < count:
                raise PaginationError(
                    f"the listing reports count={count} but ends after {seen} items without a next link"
                )
            return END
        if not isinstance(url, str):
            raise PayloadError(f"expected a URL string, got {type(url).__name__}", path=f"$.{self.next_field}")
        return [url, seen]


@attrs.frozen(kw_only=True)
class Unpaginated:
    """The whole listing in one response: a plain array, or ``body[items_field]``."""

    items_field: str | None = None
    may_drift: bool = False

    def request(self, base: Request, state: State, page_size: int | None) -> Request:
        return base

    def items(self, body: Any) -> tuple[str, Sequence[Any]]:
        return _items_at(body, self.items_field)

    def next_state(self, body: Any, items: Sequence[Any], state: State, page_size: int | None) -> State:
        return END


# --------------------------------------------------------------------------- listings


class Listing(Protocol[T]):
    """Anything that yields :class:`RawPage` objects from a state (None: the beginning)."""

    def pages(self, state: State) -> Iterator[RawPage[T]]: ...

    def resume_at(self, state: State, position: int) -> State:
        """The state that re-fetches the page at ``state`` and starts at raw item ``position`` of it."""
        ...


def _leaf_state(state: State) -> tuple[State, int]:
    if state is None:
        return None, 0
    if not isinstance(state, dict) or "s" not in state:
        raise PaginationError("cursor does not fit this listing (corrupt or from another version)")
    return state["s"], int(state.get("k", 0))


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
        return {"s": _leaf_state(state)[0], "k": position}

    def pages(self, state: State) -> Iterator[RawPage[T]]:
        strategy, page_size = self.strategy, self.page_size
        current, skip = _leaf_state(state)
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
            page_state = {"s": current, "k": skip} if skip else {"s": current}
            total = _get_path(body, ("count",)) if isinstance(body, dict) else None
            yield RawPage(
                items=tuple(items),
                state=page_state,
                next_state=None if next_state is END else {"s": next_state},
                total=total if isinstance(total, int) else None,
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


class StaticListing(Generic[T]):
    """A fixed, already known sequence as a one-page listing (e.g. configured container ids)."""

    def __init__(self, items: Sequence[T]) -> None:
        self.items = tuple(items)

    def resume_at(self, state: State, position: int) -> State:
        return {"k": position}

    def pages(self, state: State) -> Iterator[RawPage[T]]:
        skip = int((state or {}).get("k", 0))
        yield RawPage(items=self.items[skip:], state=state or {}, next_state=None, first_position=skip)


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
                    after: State = {"o": opage.state, "i": i + 1, "c": self.container_id(containers[i + 1]), "n": None}
                elif opage.next_state is not None:
                    after = {"o": opage.next_state, "i": 0, "c": None, "n": None}
                else:
                    after = None
                here = {"o": opage.state, "i": i, "c": self.container_id(containers[i])}
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


# --------------------------------------------------------------------------- the user-facing iterator


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
        self._name = name
        self._start = decode_cursor(cursor, listing=name) if cursor is not None else None
        self._max_items = max_items
        self._started = False
        self.duplicates = 0  #: items dropped as duplicates so far
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
        remaining = self._max_items
        resume_state = self._start
        source = self._listing.pages(self._start)
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
