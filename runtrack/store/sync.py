"""``Store.sync``: one pass of one listing into the store, page by page.

Each page's runs, the listing's membership rows and its resume cursor commit in one transaction (several pages
that arrived while the previous transaction was written share one, with the last one's cursor), so a killed sync
resumes right after the last committed page (the export's rule: a cursor is saved only once its page is stored).
A pass that reaches the end of the listing completes in the same transaction as its last page; in scan mode it
then marks runs that no listing returns any more as deleted. A failed, interrupted or ``max_items``-cut pass never
marks anything deleted.

Modes: **scan** (the default) relists everything and writes only runs whose content hash changed; **cursor**, for
adapters whose ``sync_spec(**scope)`` returns a :class:`SyncSpec`, asks only for runs at or after the committed
watermark minus a lag window and relies on the uid upsert to absorb the overlap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import attrs

from ..adapter import Adapter
from ..convert import parse_datetime
from ..errors import RuntrackError
from ..model import Run
from ..paginate import Page, RunIterator
from ..progress import Progress
from .ahead import batches
from .errors import StoreWriteError
from .rows import RUN_COLUMNS, Encoded, bindable, timestamp

__all__ = ["SyncJob", "SyncResult", "SyncSpec", "begin_pass", "listing_key", "scope_json", "write_pass", "writing"]

log = logging.getLogger("runtrack.store")

#: SQLite's default limit of host parameters in one statement is 999 on old builds
_CHUNK = 500


@attrs.frozen(kw_only=True)
class SyncSpec:
    """What an adapter returns from its optional ``sync_spec(**scope)`` when a listing can ask "changed since".

    ``cursor_field`` is a datetime attribute of :class:`~runtrack.Run` that only grows when a run changes (an
    ``updated_at``); ``since_param`` is the scope keyword of ``runs()`` taking the lower bound (inclusive); ``lag``
    is re-read every time (runs that changed while the last sync ran, clocks that disagree).
    """

    cursor_field: str
    since_param: str
    lag: timedelta = timedelta(0)


@attrs.frozen(kw_only=True)
class SyncResult:
    """What one ``Store.sync`` call did to one listing."""

    source: str
    listing: str
    mode: str  #: ``scan`` or ``cursor``
    read: int = 0
    inserted: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    #: the listing was read to its end in this pass (only then does a scan mark runs deleted)
    complete: bool = False
    resumed: bool = False  #: the pass continued an interrupted one
    cursor: str | None = None  #: where the pass stopped, when it did not complete


@attrs.frozen(kw_only=True, eq=False)
class SyncJob:
    """One listing to sync with :meth:`Store.sync_many`: an adapter, the source it belongs to, a scope."""

    adapter: Adapter
    source: str
    scope: Mapping[str, Any] = attrs.field(factory=dict)
    page_size: int | None = None
    max_items: int | None = None

    @property
    def label(self) -> str:
        from ..report import scope_label

        return f"{self.source} {scope_label(self.scope)}"


def scope_json(scope: Mapping[str, Any]) -> str:
    return json.dumps(dict(scope), sort_keys=True, default=str, separators=(",", ":"))


def listing_key(adapter: Adapter, source: str, scope: Mapping[str, Any]) -> str:
    return f"{source}|{adapter.listing_name(scope)}"


@contextlib.contextmanager
def writing(conn: sqlite3.Connection, path: Path) -> Iterator[None]:
    """One write transaction; a failed write rolls back and becomes a :class:`StoreWriteError` naming the file."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise _write_error(path, exc) from None
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise _write_error(path, exc) from None
        raise


def _write_error(path: Path, exc: sqlite3.Error) -> StoreWriteError:
    return StoreWriteError(
        f"{path}: cannot write to the store ({exc}); this page was not stored and the store is intact: "
        "fix the cause (free disk space, permissions) and run the sync again, it resumes from the last stored page"
    )


_INSERT_RUN = (
    f"INSERT INTO runs (id, {', '.join(RUN_COLUMNS)}, first_seen_at, last_changed_at) "
    f"VALUES ({', '.join('?' * (len(RUN_COLUMNS) + 3))})"
)
_UPDATE_RUN = (
    f"UPDATE runs SET {', '.join(f'{c} = ?' for c in RUN_COLUMNS[1:])}, last_changed_at = ?, deleted_at = NULL "
    "WHERE id = ?"
)
_INSERT_DOC = "INSERT INTO run_docs (id, doc) VALUES (?, ?)"
_UPDATE_DOC = "UPDATE run_docs SET doc = ? WHERE id = ?"
_INSERT_HISTORY = "INSERT INTO status_history (uid, at, status, status_raw) VALUES (?, ?, ?, ?)"
_UPSERT_MEMBER = (
    "INSERT INTO listing_members (listing_id, run_id, pass_id, last_seen_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (listing_id, run_id) DO UPDATE SET pass_id = excluded.pass_id, last_seen_at = excluded.last_seen_at"
)
# runs this listing did not return in a complete pass, and that no other listing holds
_TOMBSTONE = """
UPDATE runs SET deleted_at = :now, last_changed_at = :now
WHERE deleted_at IS NULL
  AND id IN (SELECT run_id FROM listing_members WHERE listing_id = :listing AND pass_id <> :pass)
  AND NOT EXISTS (
    SELECT 1 FROM listing_members m
    WHERE m.run_id = runs.id AND (m.listing_id <> :listing OR m.pass_id = :pass)
  )
"""
_DROP_MEMBERS = "DELETE FROM listing_members WHERE listing_id = :listing AND pass_id <> :pass"


class _Before(NamedTuple):
    """What the store holds for a uid when a page comes in."""

    id: int
    hash: str
    status: str
    status_raw: str | None
    deleted_at: str | None
    pass_id: int | None  #: the pass of this listing that last returned it
    first_seen_at: str


@attrs.define(kw_only=True)
class _Pass:
    """The state of one pass while it runs."""

    conn: sqlite3.Connection
    path: Path
    key: str
    listing_id: int
    source: str
    mode: str
    pass_id: int
    spec: SyncSpec | None
    clock: Callable[[], datetime]
    result: dict[str, Any]
    iterator: RunIterator[Run]
    resumed: bool
    started: datetime
    max_items: int | None

    def existing(self, uids: Sequence[str]) -> dict[str, _Before]:
        found: dict[str, _Before] = {}
        for i in range(0, len(uids), _CHUNK):
            chunk = uids[i : i + _CHUNK]
            rows = self.conn.execute(
                "SELECT r.uid, r.id, r.content_hash, r.status, r.status_raw, r.deleted_at, m.pass_id, r.first_seen_at "
                "FROM runs r "
                "LEFT JOIN listing_members m ON m.run_id = r.id AND m.listing_id = ? "
                f"WHERE r.uid IN ({', '.join('?' * len(chunk))})",
                [self.listing_id, *chunk],
            )
            found.update((row[0], _Before._make(row[1:])) for row in rows.fetchall())
        return found

    def write_pages(self, pages: Sequence[Page[Run]]) -> None:
        """Store consecutive pages and the last one's cursor in one transaction; the listing's last page also
        completes the pass."""
        encoded: dict[str, Encoded] = {}
        items = [run for page in pages for run in page.items]
        for run in items:  # a uid twice in these pages: the first one stays (as across transactions, below)
            if run.uid not in encoded:
                encoded[run.uid] = Encoded(run)
            else:
                self.result["unchanged"] += 1
        now = timestamp(self.clock())
        counts = self.result
        conn = self.conn
        with writing(conn, self.path):
            old = self.existing(list(encoded))
            next_id = int(conn.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0]) + 1
            inserts: list[tuple[Any, ...]] = []
            new_docs: list[tuple[int, str]] = []
            updates: list[tuple[Any, ...]] = []
            changed_docs: list[tuple[str, int]] = []
            history: list[tuple[Any, ...]] = []
            firsts: dict[str, tuple[Any, ...]] = {}  # a run's first status, written when it first changes
            members: list[tuple[int, int, int, str | None]] = []
            for uid, enc in encoded.items():
                run = enc.run
                before = old.get(uid)
                if before is None:
                    run_id, next_id = next_id, next_id + 1
                    inserts.append((run_id, *enc.row(self.source), now, now))
                    new_docs.append((run_id, enc.doc))
                    counts["inserted"] += 1
                elif before.pass_id == self.pass_id:
                    # listed twice in one pass (a LangSmith run in two queues of one fan-out): the first one stays,
                    # so that re-syncs do not flip between the two
                    counts["unchanged"] += 1
                    continue
                else:
                    run_id = before.id
                    if before.hash != enc.hash or before.deleted_at is not None:
                        updates.append((*enc.row(self.source)[1:], now, run_id))
                        changed_docs.append((enc.doc, run_id))
                        if (before.status, before.status_raw) != (run.status.value, run.status_raw):
                            history.append(bindable((uid, now, run.status.value, run.status_raw)))
                            firsts[uid] = (uid, before.first_seen_at, before.status, before.status_raw)
                        counts["changed"] += 1
                    else:
                        counts["unchanged"] += 1
                members.append((self.listing_id, run_id, self.pass_id, now))
            if inserts:
                conn.executemany(_INSERT_RUN, inserts)
                conn.executemany(_INSERT_DOC, new_docs)
            if updates:
                conn.executemany(_UPDATE_RUN, updates)
                conn.executemany(_UPDATE_DOC, changed_docs)
            if history:
                conn.executemany(_INSERT_HISTORY, self._first_statuses(firsts) + history)
            if members:
                conn.executemany(_UPSERT_MEMBER, members)
            counts["read"] += len(items)
            watermark = self._watermark(items)
            cursor = pages[-1].next_cursor
            conn.execute(
                "UPDATE listings SET resume_cursor = ?, "
                "watermark = CASE WHEN ? > coalesce(watermark, '') THEN ? ELSE watermark END WHERE id = ?",
                (cursor, watermark, watermark, self.listing_id),
            )
            if cursor is None:
                self.complete(now)

    def _first_statuses(self, firsts: dict[str, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The history rows of the first status of runs whose status changes now for the first time (a run's
        history starts empty: :meth:`Store.history` reads an unchanged run's only status from ``runs``)."""
        uids = list(firsts)
        for i in range(0, len(uids), _CHUNK):
            chunk = uids[i : i + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for (uid,) in self.conn.execute(f"SELECT DISTINCT uid FROM status_history WHERE uid IN ({marks})", chunk):
                del firsts[uid]
        return list(firsts.values())

    def _watermark(self, runs: Sequence[Run]) -> str | None:
        if self.spec is None:
            return None
        field = self.spec.cursor_field
        values = [v for v in (getattr(run, field, None) for run in runs) if isinstance(v, datetime)]
        return timestamp(max(values)) if values else None

    def complete(self, now: str | None) -> None:
        """The listing ended: tombstones (scan mode), no pass in progress any more. Inside a transaction."""
        if self.mode == "scan":
            params = {"now": now, "listing": self.listing_id, "pass": self.pass_id}
            self.result["deleted"] = self.conn.execute(_TOMBSTONE, params).rowcount
            self.conn.execute(_DROP_MEMBERS, params)
        self.conn.execute(
            "UPDATE listings SET resume_cursor = NULL, last_complete_at = ? WHERE id = ?", (now, self.listing_id)
        )
        self.result["complete"] = True


def _sync_spec(adapter: Adapter, scope: Mapping[str, Any]) -> SyncSpec | None:
    method = getattr(adapter, "sync_spec", None)
    if method is None:
        return None
    spec = method(**scope)
    if spec is not None and not isinstance(spec, SyncSpec):
        raise TypeError(f"{type(adapter).__name__}.sync_spec() must return a runtrack.store.SyncSpec or None")
    return spec


def begin_pass(
    conn: sqlite3.Connection,
    path: Path,
    adapter: Adapter,
    *,
    source: str,
    scope: Mapping[str, Any],
    full: bool,
    page_size: int | None,
    max_items: int | None,
    clock: Callable[[], datetime],
) -> _Pass:
    """Resume the listing's unfinished pass or start a new one; the listing is built, not read (no I/O)."""
    key = listing_key(adapter, source, scope)
    spec = _sync_spec(adapter, scope)
    mode = "cursor" if spec is not None and not full else "scan"
    started = clock()
    row = conn.execute(
        "SELECT mode, pass_id, resume_cursor, pass_since, watermark FROM listings WHERE listing_key = ?", (key,)
    ).fetchone()
    resume = row is not None and row[2] is not None and row[0] == mode
    iterator = None
    if resume:
        pass_id, cursor, since = int(row[1]), row[2], row[3]
        try:
            iterator = adapter.runs(
                max_items=max_items, page_size=page_size, cursor=cursor, **_listing_scope(scope, spec, since)
            )
        except RuntrackError as exc:  # a cursor of another listing or version: start the pass over
            log.warning("%s: cannot resume %s (%s); starting a new pass", path, key, exc.message)
            resume = False
    if not resume:
        pass_id = (int(row[1]) if row is not None else 0) + 1
        since = None
        if mode == "cursor" and spec is not None and row is not None and row[4] is not None:
            since = timestamp(_parse(row[4]) - spec.lag)
        iterator = adapter.runs(max_items=max_items, page_size=page_size, **_listing_scope(scope, spec, since))
        with writing(conn, path):
            conn.execute(
                "INSERT INTO listings (listing_key, source, adapter, scope_json, mode, pass_id, pass_started_at, "
                "pass_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (listing_key) DO UPDATE SET "
                "mode = excluded.mode, pass_id = excluded.pass_id, pass_started_at = excluded.pass_started_at, "
                "pass_since = excluded.pass_since, resume_cursor = NULL",
                (key, source, adapter.name, scope_json(scope), mode, pass_id, timestamp(started), since),
            )
    listing_id = int(conn.execute("SELECT id FROM listings WHERE listing_key = ?", (key,)).fetchone()[0])
    assert iterator is not None
    return _Pass(
        conn=conn,
        path=path,
        key=key,
        listing_id=listing_id,
        source=source,
        mode=mode,
        pass_id=pass_id,
        spec=spec,
        clock=clock,
        result={"read": 0, "inserted": 0, "changed": 0, "unchanged": 0, "deleted": 0, "complete": False},
        iterator=iterator,
        resumed=resume,
        started=started,
        max_items=max_items,
    )


def write_pass(state: _Pass, pages: Iterable[Page[Run]], progress: Progress) -> SyncResult:
    """Store ``pages`` (the pass's listing, read on a thread while earlier pages are written: :mod:`.ahead`), in
    transactions of the pages that had arrived; record the pass in ``syncs``. A listing error propagates after the
    pages before it are stored."""
    conn, path, counts = state.conn, state.path, state.result
    last_cursor: str | None = None
    seen = 0
    error: BaseException | None = None
    try:
        for batch in batches(pages):
            state.write_pages(batch)
            seen += len(batch)
            last_cursor = batch[-1].next_cursor
            progress.advance(sum(len(page.items) for page in batch))
        if not counts["complete"]:
            if seen == 0 and state.max_items is None:  # an empty listing: nothing to page through
                with writing(conn, path):
                    state.complete(timestamp(state.clock()))
            elif last_cursor is not None:  # cut by max_items: the next sync starts over
                with writing(conn, path):
                    conn.execute("UPDATE listings SET resume_cursor = NULL WHERE id = ?", (state.listing_id,))
    except BaseException as exc:
        error = exc
        raise
    finally:
        result = SyncResult(
            source=state.source,
            listing=state.key,
            mode=state.mode,
            resumed=state.resumed,
            cursor=None if counts["complete"] else _resume_cursor(conn, state.key, error),
            **counts,
        )
        _record(conn, path, result, state.started, state.clock(), error)
    return result


def _listing_scope(scope: Mapping[str, Any], spec: SyncSpec | None, since: str | None) -> dict[str, Any]:
    if spec is None or since is None:
        return dict(scope)
    return {**scope, spec.since_param: _parse(since)}


def _parse(text: str) -> datetime:
    value = parse_datetime(text)
    assert value is not None
    return value


def _resume_cursor(conn: sqlite3.Connection, key: str, error: BaseException | None) -> str | None:
    if error is not None and getattr(error, "cursor", None):
        return str(getattr(error, "cursor"))  # noqa: B009 - any exception may carry one
    try:
        row = conn.execute("SELECT resume_cursor FROM listings WHERE listing_key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else row[0]


def _record(
    conn: sqlite3.Connection,
    path: Path,
    result: SyncResult,
    started: datetime,
    finished: datetime,
    error: BaseException | None,
) -> None:
    """The ``syncs`` row of this pass; a store that cannot take it (disk full) keeps its data and only loses this."""
    if error is None:
        message = None
    elif isinstance(error, KeyboardInterrupt):
        message = "interrupted"
    elif isinstance(error, RuntrackError):
        message = str(error)
    else:
        message = f"{type(error).__name__}: {error}"
    try:
        with writing(conn, path):
            conn.execute(
                "INSERT INTO syncs (source, listing_key, mode, started_at, finished_at, read, inserted, changed, "
                "unchanged, deleted, complete, resumed, error, cursor) "
                f"VALUES ({', '.join('?' * 14)})",
                (
                    result.source,
                    result.listing,
                    result.mode,
                    timestamp(started),
                    timestamp(finished),
                    result.read,
                    result.inserted,
                    result.changed,
                    result.unchanged,
                    result.deleted,
                    int(result.complete),
                    int(result.resumed),
                    message,
                    result.cursor,
                ),
            )
    except StoreWriteError as exc:
        log.warning("%s", exc)
