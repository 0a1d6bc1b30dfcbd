"""Migration state in the store file: the id map, the per-item journal and the passes, in tables prefixed
``migrate_`` that this module creates and versions itself (``migrate_meta``); the store ignores them.

Text with a lone surrogate (legal JSON: a vendor id or run name may carry ``"\\ud800"``) cannot be bound as
SQLite text (UTF-8). Such a string is stored as its ``surrogatepass`` UTF-8 bytes (a BLOB) and read back as the
same string; every other string stays TEXT, so files written before read the same. Not the ``\\udXXX`` escape of
the output streams: as a key it would merge the surrogate with the six characters ``\\ud800``, and a BLOB never
equals a TEXT in SQLite.

Every write commits before the engine goes on, so a kill -9 loses at most the state of the batch in flight,
whose items stay ``in_flight`` and are looked up at the destination before anything is sent again.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .contract import MigrationError

__all__ = ["SCHEMA_VERSION", "STATES", "Containers", "MapRow", "MigrationState", "PassRecord", "connect_store"]

SCHEMA_VERSION = 1
#: States of an id-map row.
STATES = ("in_flight", "written", "blocked", "failed", "verified", "missing", "mismatched")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS migrate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS migrate_id_map (
  direction    TEXT NOT NULL,
  dst_instance TEXT NOT NULL,
  dst_kind     TEXT NOT NULL,
  source_key   TEXT NOT NULL,
  dst_key      TEXT NOT NULL,
  dst_id       TEXT,
  fingerprint  TEXT,
  state        TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  updated_at   TEXT NOT NULL,
  PRIMARY KEY (direction, dst_instance, dst_kind, source_key)
);
CREATE UNIQUE INDEX IF NOT EXISTS migrate_id_map_key ON migrate_id_map (dst_key);
CREATE TABLE IF NOT EXISTS migrate_journal (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  pass_id    TEXT NOT NULL,
  at         TEXT NOT NULL,
  op         TEXT NOT NULL,
  source_key TEXT,
  dst_key    TEXT,
  dst_id     TEXT,
  detail     TEXT
);
CREATE TABLE IF NOT EXISTS migrate_passes (
  pass_id     TEXT PRIMARY KEY,
  direction   TEXT NOT NULL,
  target      TEXT NOT NULL,
  mode        TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  status      TEXT NOT NULL,
  counts_json TEXT,
  error       TEXT
);
CREATE TABLE IF NOT EXISTS migrate_containers (
  direction TEXT NOT NULL,
  kind      TEXT NOT NULL,
  key       TEXT NOT NULL,
  dst_id    TEXT NOT NULL,
  PRIMARY KEY (direction, kind, key)
);
"""


def _bound(params: Iterable[Any]) -> tuple[Any, ...]:
    """``params`` with each string that UTF-8 cannot encode (a lone surrogate) as its ``surrogatepass`` bytes."""
    return tuple(_blob_if_needed(p) if isinstance(p, str) else p for p in params)


def _blob_if_needed(text: str) -> str | bytes:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
    return text


def _decoded(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Row factory: the BLOBs :func:`_bound` wrote read back as the strings they were (no column holds bytes)."""
    return tuple(v.decode("utf-8", "surrogatepass") if isinstance(v, bytes) else v for v in row)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def connect_store(store: Any) -> sqlite3.Connection:
    """A connection to the store file: ``store.connect()`` when the store offers it (WAL, busy timeout), else the
    file at ``store.path`` or at ``store`` itself (a path)."""
    connect = getattr(store, "connect", None)
    if callable(connect):
        conn = connect()
        if isinstance(conn, sqlite3.Connection):
            return conn
    path = getattr(store, "path", store)
    if not isinstance(path, (str, os.PathLike)):
        raise MigrationError(f"store must be a runtrack store or a path, got {type(store).__name__}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(os.fspath(path), timeout=30.0, isolation_level=None)  # explicit BEGIN/COMMIT
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One explicit transaction (``Store.connect()`` connections are in autocommit mode)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@attrs.frozen(kw_only=True)
class PassRecord:
    """One ``migrate_passes`` row. ``status``: ``running`` (or killed), ``ok``, ``partial``, ``mismatch``,
    ``failed`` or ``interrupted``; ``error`` the text of the error that ended it."""

    pass_id: str
    target: str
    mode: str
    started_at: str
    finished_at: str | None
    status: str
    error: str | None


@attrs.frozen(kw_only=True)
class MapRow:
    source_key: str
    key: str
    dest_id: str | None
    fingerprint: str | None
    state: str
    attempts: int
    last_error: str | None


class MigrationState:
    """The id map, journal and passes of one direction into one destination instance."""

    def __init__(self, conn: sqlite3.Connection, *, direction: str) -> None:
        self.conn = conn
        self.conn.row_factory = _decoded
        self.direction = direction
        self._migrate()

    def _migrate(self) -> None:
        with transaction(self.conn):
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self.conn.execute(statement)
            columns = {r[1] for r in self.conn.execute("PRAGMA table_info(migrate_passes)")}
            if "error" not in columns:  # added within version 1 (older runtrack ignores it)
                self.conn.execute("ALTER TABLE migrate_passes ADD COLUMN error TEXT")
            row = self.conn.execute("SELECT value FROM migrate_meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                self.conn.execute(
                    "INSERT INTO migrate_meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise MigrationError(
                    f"the store's migration tables are version {row[0]}, newer than this runtrack "
                    f"({SCHEMA_VERSION}): upgrade runtrack"
                )

    def close(self) -> None:
        self.conn.close()

    # -- passes and journal

    def begin_pass(self, *, target: str, mode: str) -> str:
        pass_id = str(uuid.uuid4())
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO migrate_passes (pass_id, direction, target, mode, started_at, status)"
                " VALUES (?, ?, ?, ?, ?, 'running')",
                _bound((pass_id, self.direction, target, mode, _now())),
            )
        return pass_id

    def end_pass(self, pass_id: str, *, status: str, counts_json: str, error: str | None = None) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE migrate_passes SET finished_at = ?, status = ?, counts_json = ?, error = ? WHERE pass_id = ?",
                _bound((_now(), status, counts_json, error, pass_id)),
            )

    def last_pass(self, target: str | None = None) -> PassRecord | None:
        """The latest pass of this direction (into ``target`` when given)."""
        sql = (
            "SELECT pass_id, target, mode, started_at, finished_at, status, error FROM migrate_passes"
            " WHERE direction = ?"
        )
        args: tuple[Any, ...] = (self.direction,)
        if target is not None:
            sql += " AND target = ?"
            args += (target,)
        row = self.conn.execute(sql + " ORDER BY started_at DESC, rowid DESC LIMIT 1", _bound(args)).fetchone()
        if row is None:
            return None
        return _from_row(PassRecord, row)

    # -- id map

    def rows(self, instance: str, kind: str, source_keys: Iterable[str]) -> dict[str, MapRow]:
        """Map rows of these source keys (absent keys are not in the result)."""
        keys = list(source_keys)
        out: dict[str, MapRow] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                "SELECT source_key, dst_key, dst_id, fingerprint, state, attempts, last_error FROM migrate_id_map"
                f" WHERE direction = ? AND dst_instance = ? AND dst_kind = ? AND source_key IN ({marks})",
                _bound((self.direction, instance, kind, *chunk)),
            ):
                out[row[0]] = _from_row(MapRow, row)
        return out

    def mapped_keys(self, instance: str, kind: str) -> dict[str, str | None]:
        """``{dst_key: dst_id}`` of every row for this destination instance."""
        return dict(
            self.conn.execute(
                "SELECT dst_key, dst_id FROM migrate_id_map WHERE direction = ? AND dst_instance = ? AND dst_kind = ?",
                _bound((self.direction, instance, kind)),
            ).fetchall()
        )

    def written_rows(self, instance: str, kind: str) -> Iterator[MapRow]:
        """Every row for this destination instance that has a destination id (was written at some point)."""
        for row in self.conn.execute(
            "SELECT source_key, dst_key, dst_id, fingerprint, state, attempts, last_error FROM migrate_id_map"
            " WHERE direction = ? AND dst_instance = ? AND dst_kind = ? AND dst_id IS NOT NULL ORDER BY source_key",
            _bound((self.direction, instance, kind)),
        ):
            yield _from_row(MapRow, row)

    def record(
        self,
        instance: str,
        kind: str,
        entries: Iterable[tuple[str, str, str | None, str | None, str, str | None]],
        *,
        pass_id: str,
        op: str,
    ) -> None:
        """Upsert map rows ``(source_key, dst_key, dst_id, fingerprint, state, error)`` and journal them, in one
        transaction. An ``in_flight`` row counts one more attempt; a None ``dst_id`` keeps the known one."""
        now = _now()
        rows = list(entries)
        with transaction(self.conn):
            self.conn.executemany(
                "INSERT INTO migrate_id_map (direction, dst_instance, dst_kind, source_key, dst_key, dst_id,"
                " fingerprint, state, attempts, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (direction, dst_instance, dst_kind, source_key) DO UPDATE SET"
                " dst_key = excluded.dst_key, dst_id = COALESCE(excluded.dst_id, migrate_id_map.dst_id),"
                " fingerprint = COALESCE(excluded.fingerprint, migrate_id_map.fingerprint),"
                " state = excluded.state, attempts = migrate_id_map.attempts + excluded.attempts,"
                " last_error = excluded.last_error, updated_at = excluded.updated_at",
                [
                    _bound((self.direction, instance, kind, sk, key, did, fp, st, int(st == "in_flight"), err, now))
                    for sk, key, did, fp, st, err in rows
                ],
            )
            self.conn.executemany(
                "INSERT INTO migrate_journal (pass_id, at, op, source_key, dst_key, dst_id, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    _bound((pass_id, now, op if st != "blocked" else "blocked", sk, key, did, err))
                    for sk, key, did, _, st, err in rows
                ],
            )

    def journal(self, pass_id: str | None = None) -> Iterator[tuple[str, str | None, str | None, str | None]]:
        """``(op, source_key, dst_id, detail)`` in order, of one pass or all."""
        sql = "SELECT op, source_key, dst_id, detail FROM migrate_journal"
        args: tuple[Any, ...] = ()
        if pass_id is not None:
            sql += " WHERE pass_id = ?"
            args = (pass_id,)
        yield from self.conn.execute(sql + " ORDER BY seq", _bound(args))


_Record = TypeVar("_Record", "MapRow", "PassRecord")


def _from_row(cls: type[_Record], row: tuple[Any, ...]) -> _Record:
    """An attrs record from a row selected in the order of its fields."""
    return cls(**{f.name: v for f, v in zip(attrs.fields(cls), row, strict=True)})


class Containers:
    """Destination containers a direction created (a Label Studio project), remembered by a deterministic key.
    Without a store, or ``read_only`` (plan), what it learns stays in memory."""

    def __init__(self, state: MigrationState | None, direction: str, *, read_only: bool = False) -> None:
        self._state = state
        self._direction = direction
        self._read_only = read_only
        self._memory: dict[tuple[str, str], str] = {}

    def get(self, kind: str, key: str) -> str | None:
        if (kind, key) in self._memory or self._state is None:
            return self._memory.get((kind, key))
        row = self._state.conn.execute(
            "SELECT dst_id FROM migrate_containers WHERE direction = ? AND kind = ? AND key = ?",
            _bound((self._direction, kind, key)),
        ).fetchone()
        return None if row is None else str(row[0])

    def put(self, kind: str, key: str, dst_id: str) -> None:
        if self._state is None or self._read_only:
            self._memory[(kind, key)] = dst_id
            return
        with transaction(self._state.conn):
            self._state.conn.execute(
                "INSERT INTO migrate_containers (direction, kind, key, dst_id) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (direction, kind, key) DO UPDATE SET dst_id = excluded.dst_id",
                _bound((self._direction, kind, key, dst_id)),
            )


def states(rows: Mapping[str, MapRow]) -> dict[str, int]:
    out = dict.fromkeys(STATES, 0)
    for row in rows.values():
        out[row.state] = out.get(row.state, 0) + 1
    return out
