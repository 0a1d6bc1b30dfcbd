"""The store's tables, its schema version (``PRAGMA user_version``) and the in-place upgrades between versions.

The store owns the tables created here and nothing else in the file: other components (migrations) keep their own
tables, versioned on their own, next to these. ``user_version`` counts this module's schema only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from . import facts
from .errors import StoreError, StoreVersionError

__all__ = ["BUSY_TIMEOUT_MS", "SCHEMA_VERSION", "configure", "connect", "ensure_schema"]

#: Version of the tables below; a file with a higher ``user_version`` is refused.
SCHEMA_VERSION = 2

#: How long a statement waits for another connection's write lock before SQLite reports "database is locked".
BUSY_TIMEOUT_MS = 30_000

# Times are RFC 3339 UTC text with exactly six fractional digits and "Z", so text order is time order.
_V1 = """
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,  -- stable (explicit): run_docs and listing_members refer to it
  uid             TEXT NOT NULL UNIQUE,
  platform        TEXT NOT NULL,
  instance        TEXT NOT NULL,
  kind            TEXT NOT NULL,
  native_id       TEXT NOT NULL,
  source          TEXT NOT NULL,   -- the [[source]] name (or adapter name) of the sync that last wrote the run
  name            TEXT,
  status          TEXT NOT NULL,
  status_raw      TEXT,
  review_status   TEXT,
  created_at      TEXT,
  started_at      TEXT,
  ended_at        TEXT,
  at              TEXT,            -- created_at, else started_at: what --since compares
  parent_uid      TEXT,
  error           TEXT,
  url             TEXT,
  scope_json      TEXT NOT NULL,
  metrics_json    TEXT NOT NULL,
  tags_json       TEXT NOT NULL,
  schema_version  INTEGER NOT NULL,
  content_hash    TEXT NOT NULL,   -- of the lossless document in run_docs
  first_seen_at   TEXT NOT NULL,
  last_changed_at TEXT NOT NULL,
  deleted_at      TEXT             -- set when a complete scan no longer returned the run
);
CREATE INDEX runs_platform_at ON runs(platform, at);
CREATE INDEX runs_source_at ON runs(source, at);
CREATE INDEX runs_status_at ON runs(status, at);
CREATE INDEX runs_at ON runs(at);
CREATE INDEX runs_changed ON runs(last_changed_at);

-- the lossless run (runtrack.dump_run as JSON, raw included), apart so that queries over runs stay small
-- (a rowid table: documents of a few KB would each take overflow pages in a WITHOUT ROWID table)
CREATE TABLE run_docs (
  id  INTEGER PRIMARY KEY,  -- runs.id
  doc TEXT NOT NULL
);

CREATE TABLE status_history (
  id         INTEGER PRIMARY KEY,
  uid        TEXT NOT NULL,
  at         TEXT NOT NULL,
  status     TEXT NOT NULL,
  status_raw TEXT
);
CREATE INDEX status_history_uid ON status_history(uid, id);

-- one row per listing (source x scope)
CREATE TABLE listings (
  id               INTEGER PRIMARY KEY,
  listing_key      TEXT NOT NULL UNIQUE,  -- source|adapter:instance:kind:scope
  source           TEXT NOT NULL,
  adapter          TEXT NOT NULL,
  scope_json       TEXT NOT NULL,
  mode             TEXT NOT NULL CHECK (mode IN ('scan', 'cursor')),
  pass_id          INTEGER NOT NULL DEFAULT 0,  -- the current (or last) pass
  pass_started_at  TEXT,
  pass_since       TEXT,             -- cursor mode: the lower bound the current pass asked for
  resume_cursor    TEXT,             -- page.next_cursor of the last committed page of an unfinished pass
  watermark        TEXT,             -- cursor mode: the largest cursor-field value committed
  last_complete_at TEXT
);
CREATE INDEX listings_source ON listings(source);

-- which listings returned a run in their current pass (a run can sit in two queues)
CREATE TABLE listing_members (
  listing_id   INTEGER NOT NULL,  -- listings.id
  run_id       INTEGER NOT NULL,  -- runs.id
  pass_id      INTEGER NOT NULL,
  last_seen_at TEXT NOT NULL,
  PRIMARY KEY (listing_id, run_id)
) WITHOUT ROWID;
CREATE INDEX listing_members_run ON listing_members(run_id);

-- one row per finished or failed sync pass (an invocation of Store.sync for one listing)
CREATE TABLE syncs (
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL,
  listing_key TEXT NOT NULL,
  mode        TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  read        INTEGER NOT NULL,
  inserted    INTEGER NOT NULL,
  changed     INTEGER NOT NULL,
  unchanged   INTEGER NOT NULL,
  deleted     INTEGER NOT NULL,
  complete    INTEGER NOT NULL,
  resumed     INTEGER NOT NULL,
  error       TEXT,
  cursor      TEXT
);
CREATE INDEX syncs_source ON syncs(source, id);
"""

# the report's typed columns (runtrack.store.facts), read through one covering index instead of parsing
# metrics_json; errors and open (possibly stuck) runs through partial covering indexes of the few runs that
# have one or are open (the report's OPEN_STATUSES); what a sync pass changed through the history's times and
# the runs' first-seen times
_V2_INDEXES = f"""
CREATE INDEX runs_report ON runs(id, deleted_at, status, review_status, {", ".join(facts.COLUMNS)});
CREATE INDEX runs_error ON runs(id, deleted_at, error) WHERE error IS NOT NULL AND error <> '';
CREATE INDEX runs_open ON runs(id, deleted_at, status, started_at, created_at, native_id, uid, hour)
  WHERE status IN ('RUNNING', 'QUEUED');
CREATE INDEX status_history_at ON status_history(at);
CREATE INDEX runs_first_seen ON runs(first_seen_at);
"""
_FILL_BATCH = 5000


def _v2(conn: sqlite3.Connection) -> None:
    """Schema 2: the typed report columns, filled in place for the runs already stored, and their indexes."""
    for column in facts.COLUMNS:
        kind = {"currency": "TEXT", "metrics_odd": "INTEGER NOT NULL DEFAULT 0"}.get(column, "INTEGER")
        conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    update = f"UPDATE runs SET {', '.join(f'{c} = ?' for c in facts.COLUMNS)} WHERE id = ?"
    select = "SELECT id, at, started_at, ended_at, metrics_json, scope_json FROM runs WHERE id > ? ORDER BY id LIMIT ?"
    last = -(2**63)
    while rows := conn.execute(select, (last, _FILL_BATCH)).fetchall():
        conn.executemany(update, [(*facts.stored_values(*row[1:]), row[0]) for row in rows])
        last = rows[-1][0]
    _script(conn, _V2_INDEXES)


def _script(conn: sqlite3.Connection, sql: str) -> None:
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


#: ``_UPGRADES[v]`` turns a version ``v - 1`` store into version ``v`` (SQL, or a function for data that SQL alone
#: cannot convert), inside one transaction.
_UPGRADES: dict[int, str | Callable[[sqlite3.Connection], None]] = {1: _V1, 2: _v2}


def configure(conn: sqlite3.Connection) -> sqlite3.Connection:
    """WAL (readers never block the writer), a busy timeout, explicit transactions (``BEGIN``/``COMMIT``)."""
    conn.isolation_level = None
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a commit survives a process kill
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def connect(path: Path) -> sqlite3.Connection:
    """A new connection to ``path`` configured like the store's own."""
    try:
        return configure(sqlite3.connect(path, check_same_thread=False))
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a runtrack store ({exc})") from None


def ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Create the tables of a new store, upgrade an older one in place, refuse a newer one."""
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a runtrack store ({exc})") from None
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{path} was written by a newer runtrack (store schema version {version}; this runtrack reads versions "
            f"up to {SCHEMA_VERSION}): upgrade runtrack to read it"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # re-read under the write lock: another process may have upgraded the file meanwhile
            if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= target:
                conn.execute("COMMIT")
                continue
            upgrade = _UPGRADES[target]
            if isinstance(upgrade, str):
                _script(conn, upgrade)
            else:
                upgrade(conn)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
