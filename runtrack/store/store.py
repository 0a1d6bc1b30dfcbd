"""The :class:`Store`: a SQLite file of normalized runs that syncs pull into and reports, exports and migrations
read from without any network."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs

from ..adapter import Adapter
from ..convert import parse_datetime
from ..model import Run, RunStatus
from ..progress import Progress
from .errors import StoreError
from .lock import WriterLock
from .query import where
from .rows import decode
from .schema import connect, ensure_schema
from .sync import SyncJob, SyncResult, _Pass, begin_pass, write_pass

__all__ = ["ListingInfo", "StatusChange", "Store", "SyncRecord", "open_store"]

#: how long a sync waits for another process's sync into the same file
DEFAULT_LOCK_TIMEOUT = 30.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _time(text: str | None) -> datetime | None:
    return parse_datetime(text) if text else None


@attrs.frozen(kw_only=True)
class StatusChange:
    """A run's status as a sync first saw it (``at`` is when the store saw it, UTC)."""

    at: datetime
    status: RunStatus
    status_raw: str | None


@attrs.frozen(kw_only=True)
class SyncRecord:
    """One finished or failed sync pass of one listing, as kept in the store."""

    id: int
    source: str
    listing: str
    mode: str
    started_at: datetime
    finished_at: datetime
    read: int
    inserted: int
    changed: int
    unchanged: int
    deleted: int
    complete: bool
    resumed: bool
    error: str | None
    cursor: str | None


@attrs.frozen(kw_only=True)
class ListingInfo:
    """A listing (source x scope) the store has synced."""

    key: str
    source: str
    adapter: str
    scope: dict[str, Any]
    mode: str
    last_complete_at: datetime | None
    in_progress: bool  #: an interrupted pass will resume from its cursor


class Store:
    """A run store file. Open it with :func:`runtrack.open_store`; close it (or use ``with``) when done."""

    def __init__(self, path: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        try:
            self._conn = connect(self.path)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the store ({exc})") from None
        try:
            ensure_schema(self._conn, self.path)
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"{self.path}: cannot set up the store ({exc})") from None
        except BaseException:
            self._conn.close()
            raise

    def __repr__(self) -> str:
        return f"<Store {self.path}>"

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def connect(self) -> sqlite3.Connection:
        """A new connection to the file, configured like the store's own (WAL, busy timeout, autocommit: use
        ``BEGIN``/``COMMIT``), for components that keep their own tables here."""
        return connect(self.path)

    # -- writing

    def sync(
        self,
        src: Adapter,
        *,
        source: str | None = None,
        full: bool = False,
        page_size: int | None = None,
        max_items: int | None = None,
        progress: Progress | None = None,
        clock: Callable[[], datetime] = _utcnow,
        **scope: Any,
    ) -> SyncResult:
        """Pull ``src.runs(**scope)`` into the store; see :mod:`runtrack.store.sync`.

        ``source`` names the listing's owner (default: the adapter name; the CLI passes the ``[[source]]`` name).
        ``full`` ignores a cursor-mode watermark and scans everything. Listing errors propagate (typed, with the
        resume cursor) after the pages read so far are stored; nothing is marked deleted then.
        """
        job = SyncJob(adapter=src, source=source or src.name, scope=scope, page_size=page_size, max_items=max_items)
        with WriterLock(self.path, self.lock_timeout):
            state = self._begin(job, full, clock)
            return write_pass(state, state.iterator.pages(), progress or Progress(None))

    def sync_many(
        self,
        jobs: Sequence[SyncJob],
        *,
        workers: int = 1,
        full: bool = False,
        progress: Progress | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> Iterator[tuple[SyncJob, SyncResult | Exception]]:
        """Sync several listings: up to ``workers`` read their platforms at once (``runtrack.unit_pool``), and their
        pages are stored listing after listing, in the order of ``jobs``, as one after another would.

        Yields ``(job, result)`` per job, or ``(job, error)`` for a listing that failed (its pages before the error
        are stored). Errors of the store itself (:class:`StoreError`) end the iteration: the next listing would
        meet them too. The writer lock is held until the iterator is exhausted or closed.
        """
        from ..unit_pool import in_order

        progress = progress or Progress(None)
        with WriterLock(self.path, self.lock_timeout):
            started: list[tuple[SyncJob, _Pass]] = []
            for job in jobs:
                try:
                    started.append((job, self._begin(job, full, clock)))
                except StoreError:
                    raise
                except Exception as exc:
                    yield job, exc
            for (job, state), pages in in_order(started, lambda js: js[1].iterator.pages(), workers=workers):
                progress.start(job.label)
                try:
                    result = write_pass(state, pages, progress)
                except StoreError:
                    progress.finish(failed=True)
                    raise
                except Exception as exc:
                    progress.finish(failed=True)
                    yield job, exc
                    continue
                progress.finish()
                yield job, result

    def _begin(self, job: SyncJob, full: bool, clock: Callable[[], datetime]) -> _Pass:
        return begin_pass(
            self._conn,
            self.path,
            job.adapter,
            source=job.source,
            scope=job.scope,
            full=full,
            page_size=job.page_size,
            max_items=job.max_items,
            clock=clock,
        )

    # -- reading

    def runs(
        self,
        *,
        platform: str | Iterable[str] | None = None,
        source: str | Iterable[str] | None = None,
        status: str | RunStatus | Iterable[str | RunStatus] | None = None,
        since: datetime | None = None,
        changed_since: datetime | None = None,
        include_deleted: bool = False,
        listing: str | None = None,
        after: str | None = None,
        batch: int = 500,
    ) -> Iterator[Run]:
        """The stored runs matching every filter given, each equal to the run the adapter produced.

        ``since``: created (else started) at or after it, or neither time known (as the live report counts);
        ``changed_since``: inserted, changed or marked deleted after it; ``listing``: a key of :meth:`listings`.
        Runs come in storage order; the iterator reads ``batch`` rows at a time. ``after``: keyset paging, the runs
        whose uid sorts after this uid, in uid order (pass the last uid of one page to get the next page; each page
        costs an index seek, however deep).
        """
        clause, params = where(
            platform=platform,
            source=source,
            status=status,
            since=since,
            changed_since=changed_since,
            include_deleted=include_deleted,
            listing=listing,
        )
        if after is not None:
            clause = f"{clause} AND r.uid > ?" if clause else " WHERE r.uid > ?"
            clause, params = f"{clause} ORDER BY r.uid", [*params, after]
        cursor = self._conn.execute(f"SELECT d.doc FROM runs r JOIN run_docs d ON d.id = r.id{clause}", params)
        return _decoded(cursor, batch)

    def count(
        self,
        *,
        platform: str | Iterable[str] | None = None,
        source: str | Iterable[str] | None = None,
        status: str | RunStatus | Iterable[str | RunStatus] | None = None,
        since: datetime | None = None,
        changed_since: datetime | None = None,
        include_deleted: bool = False,
        listing: str | None = None,
    ) -> int:
        """How many runs :meth:`runs` would give for the same filters."""
        clause, params = where(
            platform=platform,
            source=source,
            status=status,
            since=since,
            changed_since=changed_since,
            include_deleted=include_deleted,
            listing=listing,
        )
        return int(self._conn.execute(f"SELECT count(*) FROM runs r{clause}", params).fetchone()[0])

    def get(self, uid: str) -> Run | None:
        """The stored run with this uid (deleted ones included), or None."""
        row = self._conn.execute(
            "SELECT d.doc FROM runs r JOIN run_docs d ON d.id = r.id WHERE r.uid = ?", (uid,)
        ).fetchone()
        return None if row is None else decode(row[0])

    def history(self, uid: str) -> list[StatusChange]:
        """Every status the run had when a sync saw it change, oldest first (the first one when it was first seen)."""
        rows = self._conn.execute(
            "SELECT at, status, status_raw FROM status_history WHERE uid = ? ORDER BY id", (uid,)
        ).fetchall()
        if not rows:  # never changed status: its history is kept in runs only
            rows = self._conn.execute(
                "SELECT first_seen_at, status, status_raw FROM runs WHERE uid = ?", (uid,)
            ).fetchall()
        return [StatusChange(at=_time(at) or _utcnow(), status=_status(s), status_raw=raw) for at, s, raw in rows]

    def syncs(self, source: str | None = None, limit: int | None = None) -> list[SyncRecord]:
        """Finished or failed sync passes, newest first (of ``source`` only, when given)."""
        sql = (
            "SELECT id, source, listing_key, mode, started_at, finished_at, read, inserted, changed, unchanged, "
            "deleted, complete, resumed, error, cursor FROM syncs"
        )
        params: list[Any] = []
        if source is not None:
            sql += " WHERE source = ?"
            params.append(source)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            SyncRecord(
                id=row[0],
                source=row[1],
                listing=row[2],
                mode=row[3],
                started_at=_time(row[4]) or _utcnow(),
                finished_at=_time(row[5]) or _utcnow(),
                read=row[6],
                inserted=row[7],
                changed=row[8],
                unchanged=row[9],
                deleted=row[10],
                complete=bool(row[11]),
                resumed=bool(row[12]),
                error=row[13],
                cursor=row[14],
            )
            for row in self._conn.execute(sql, params)
        ]

    def listings(self, source: str | None = None) -> list[ListingInfo]:
        """The listings synced into this store (of ``source`` only, when given)."""
        sql = "SELECT listing_key, source, adapter, scope_json, mode, last_complete_at, resume_cursor FROM listings"
        params: list[Any] = []
        if source is not None:
            sql += " WHERE source = ?"
            params.append(source)
        return [
            ListingInfo(
                key=key,
                source=src,
                adapter=adapter,
                scope=json.loads(scope),
                mode=mode,
                last_complete_at=_time(done),
                in_progress=cursor is not None,
            )
            for key, src, adapter, scope, mode, done, cursor in self._conn.execute(sql + " ORDER BY id", params)
        ]


def _status(value: str) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        return RunStatus.UNKNOWN


def _decoded(cursor: sqlite3.Cursor, batch: int) -> Iterator[Run]:
    try:
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            for (doc,) in rows:
                yield decode(doc)
    finally:
        with contextlib.suppress(sqlite3.ProgrammingError):  # the store was closed before the iterator ended
            cursor.close()


def open_store(path: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Store:
    """Open (creating or upgrading) the run store at ``path``: a SQLite file; nothing to install or start."""
    return Store(path, lock_timeout=lock_timeout)
