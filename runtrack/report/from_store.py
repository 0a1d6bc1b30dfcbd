"""The report's aggregation over a run store, in SQL: the same :class:`~.stats.Stats` a :class:`~.stats.Collector`
would fold from the stored runs, computed by a few ``GROUP BY`` queries over the ``runs`` table instead of decoding
every run (a million runs: seconds instead of minutes, and memory that does not grow with them).

What runs in SQL: counts by status, review state and hour; durations bucketed like :class:`~.durations.Durations`
(exact values are fetched when a row has at most ``EXACT_LIMIT``); stuck runs (count and the oldest, with links);
errors grouped by text (named by :func:`~.stats.error_key` in Python, once per distinct text); metric sums per day
and currency, one JSON parse per run (``json_each``). Integer metrics are summed exactly by SQLite; decimal strings
(money) as integers of 10^-12 units when they have at most 12 decimals, so the sums stay exact; any other value (a
float, an exponent, a longer fraction) is summed in Python from its distinct values. The results equal the per-run
fold (a test compares them), up to float rounding for float metrics.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import metrics as m
from ..model import Metric, RunStatus
from .aggregate import SyncChange
from .durations import _LOG_GAMMA, _ZERO, EXACT_LIMIT
from .stats import (
    OPEN_STATUSES,
    STUCK_LISTED,
    ReportSettings,
    SourceResult,
    Stats,
    StuckRun,
    add_metric,
    error_key,
    scope_label,
    to_decimal,
)

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["fold_listings", "store_changes"]

CACHE_KB = 32 * 1024  #: page cache of the fold's connection, main and temporary database each
_SCALE = 12  #: decimals of the integer units exact money sums use in SQL
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SUMMED = (*m.TOKENS, m.TOTAL_COST, m.PREDICTIONS, m.CORRECT)

# seconds between two stored timestamps ('YYYY-MM-DDTHH:MM:SS.ffffffZ'), exact: whole seconds and microseconds
_SECONDS = (
    "((unixepoch(substr(r.ended_at, 1, 19)) - unixepoch(substr(r.started_at, 1, 19))) * 1000000"
    " + (substr(r.ended_at, 21, 6) - substr(r.started_at, 21, 6))) / 1000000.0"
)
# the sketch bucket of a duration d, as durations._key computes it
_BUCKET = (
    f"CASE WHEN abs(d) < {_ZERO!r} THEN 0 ELSE (CASE WHEN d > 0 THEN 1 ELSE -1 END)"
    f" * max(1, CAST(ceil(ln(abs(d) / {_ZERO!r}) / {_LOG_GAMMA!r}) AS INTEGER)) END"
)
_HAS_USAGE = " OR ".join(f"instr(r.metrics_json, '\"{k}\":') > 0" for k in (*m.TOKENS, m.TOTAL_COST))
_HAS_ACCURACY = f"instr(r.metrics_json, '\"{m.PREDICTIONS}\":') > 0 AND instr(r.metrics_json, '\"{m.CORRECT}\":') > 0"


def _plain(atom: str) -> str:
    """SQL: ``atom`` is a plain decimal string (digits, at most one point) with at most _SCALE decimals."""
    return (
        f"{atom} NOT GLOB '*[^0-9.]*' AND {atom} GLOB '[0-9]*'"
        f" AND length({atom}) - length(replace({atom}, '.', '')) <= 1"
        f" AND length({atom}) - instr({atom} || '.', '.') <= {_SCALE}"
    )


def _units(atom: str) -> str:
    """SQL: a plain decimal string as an integer of 10^-_SCALE units."""
    point = f"instr({atom} || '.', '.')"
    return (
        f"CAST(substr({atom}, 1, {point} - 1) AS INTEGER) * {10**_SCALE}"
        f" + CAST(substr(substr({atom}, {point} + 1) || '{'0' * _SCALE}', 1, {_SCALE}) AS INTEGER)"
    )


def _places(atom: str) -> str:
    return f"max(0, length({atom}) - instr({atom} || '.', '.'))"


def _group_expr(keys: Sequence[str], params: list[Any]) -> str:
    """SQL for the row label of ``--group-by`` keys, as :func:`~.stats.group_label` makes it."""
    parts = []
    for key in keys:
        parts.append(f"'{_sql_text(key)}=' || coalesce(json_extract(r.scope_json, ?), '-')")
        params.append('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " || ',' || ".join(parts)


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def _ensure_functions(conn: sqlite3.Connection) -> None:
    """SQLite builds without the math functions (or older than 3.38, without ``unixepoch``) get Python's."""
    try:
        conn.execute("SELECT ln(2.0), ceil(1.5)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("ln", 1, math.log, deterministic=True)
        conn.create_function("ceil", 1, math.ceil, deterministic=True)
    try:
        conn.execute("SELECT unixepoch('2025-01-01T00:00:00')").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("unixepoch", 1, _unixepoch, deterministic=True)


def _unixepoch(text: str | None) -> int | None:
    if text is None:
        return None
    when = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return int((when - _EPOCH).total_seconds())


class _Query:
    """The runs of one fold, copied once into a narrow temporary table ``rep`` (one pass over ``runs`` joined to
    the listings that returned each run; not deleted; since the cut-off): every figure's query then scans that
    instead of the wide ``runs`` and its join. ``g`` is ``listing_key`` + US + the group label; ``d`` the
    duration in seconds; ``cur`` the currency of the cost; run identity columns only for open runs (stuck)."""

    def __init__(self, conn: sqlite3.Connection, keys: Sequence[str], settings: ReportSettings) -> None:
        params: list[Any] = []
        label = _group_expr(settings.group_by, params) if settings.group_by else "''"
        marks = ", ".join("?" * len(keys))
        where = ["r.deleted_at IS NULL", f"mm.listing_key IN ({marks})"]
        params.extend(keys)
        if settings.since is not None:
            from ..store.rows import timestamp

            where.append("(r.at >= ? OR r.at IS NULL)")
            params.append(timestamp(settings.since))
        is_open = f"r.status IN ({', '.join(repr(s.value) for s in OPEN_STATUSES)})"
        has_metrics = "r.metrics_json <> '{}'"
        currency = f"coalesce(nullif(json_extract(r.scope_json, '$.{m.CURRENCY}'), ''), '{m.DEFAULT_CURRENCY}')"
        columns = [
            f"mm.listing_key || char(31) || {label} AS g",
            "r.status AS status",
            "r.review_status AS review_status",
            "r.at AS at",
            f"CASE WHEN r.started_at IS NOT NULL AND r.ended_at IS NOT NULL THEN {_SECONDS} END AS d",
            f"CASE WHEN {is_open} THEN coalesce(r.started_at, r.created_at) END AS since",
            *(f"CASE WHEN {is_open} THEN r.{c} END AS {c}" for c in ("uid", "native_id", "name", "url")),
            "nullif(r.error, '') AS error",
            f"CASE WHEN {has_metrics} THEN r.metrics_json END AS metrics_json",
            f"CASE WHEN {has_metrics} THEN {currency} END AS cur",
        ]
        conn.execute("DROP TABLE IF EXISTS temp.rep")
        # the listings' members drive the loop (their primary key starts with listing_key), each run by its uid
        conn.execute(
            f"CREATE TEMP TABLE rep AS SELECT {', '.join(columns)} FROM listing_members mm "
            f"CROSS JOIN runs r ON r.uid = mm.uid WHERE {' AND '.join(where)}",
            params,
        )

    def sql(self, select: str, *, extra: str = "", tail: str = "", each: bool = False) -> tuple[str, list[Any]]:
        """``SELECT g, {select} FROM rep r [, json_each(r.metrics_json) j] WHERE {extra} {tail}``."""
        tables = "temp.rep r" + (" CROSS JOIN json_each(r.metrics_json) j" if each else "")
        return f"SELECT r.g AS g, {select} FROM {tables} WHERE {extra or '1'} {tail}", []


def _hour_key(text: str) -> int:
    when = datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), tzinfo=timezone.utc)
    return int((when - _EPOCH).total_seconds() // 3600)


def _time(text: str) -> datetime:
    from ..convert import parse_datetime

    value = parse_datetime(text)
    assert value is not None
    return value


def _status(value: str) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        return RunStatus.UNKNOWN


def fold_listings(store: Store, targets: Mapping[str, Sequence[SourceResult]], settings: ReportSettings) -> int:
    """Add the stored runs of each listing (a key of ``targets``) to its results, as :class:`~.stats.Collector`
    would (grouped by ``settings.group_by``, else under each result's scope label); returns the runs added."""
    for results in targets.values():
        for result in results:
            if not settings.group_by:
                result.groups.setdefault(scope_label(result.scope), Stats())
    if not targets:
        return 0
    conn = store.connect()
    try:
        _ensure_functions(conn)
        # room for the GROUP BY sorters and the temporary table in memory (bounded: 32 MB each, not per run)
        conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")
        conn.execute(f"PRAGMA temp.cache_size = -{CACHE_KB}")
        groups = _fold(conn, _Query(conn, list(targets), settings), settings)
    finally:
        conn.close()
    total = 0
    for key_and_label, stats in groups.items():
        key, _, label = key_and_label.partition("\x1f")
        for result in targets.get(key, ()):
            result.groups.setdefault(label if settings.group_by else scope_label(result.scope), Stats()).merge(stats)
            result.read += stats.runs
            total += stats.runs
    return total


def _fold(conn: sqlite3.Connection, q: _Query, settings: ReportSettings) -> dict[str, Stats]:
    groups: dict[str, Stats] = {}

    def stats(g: str) -> Stats:
        s = groups.get(g)
        if s is None:
            s = groups[g] = Stats()
        return s

    _counts(conn, q, stats)
    _durations(conn, q, stats)
    _stuck(conn, q, settings, stats)
    _errors(conn, q, stats)
    _metrics(conn, q, stats)
    return groups


def _counts(conn: sqlite3.Connection, q: _Query, stats: Any) -> None:
    sql, params = q.sql(
        f"r.status, r.review_status, substr(r.at, 1, 13) AS hour, count(*), sum({_HAS_USAGE})",
        tail="GROUP BY g, r.status, r.review_status, hour",
    )
    for g, status_text, review, hour, n, with_usage in conn.execute(sql, params):
        s = stats(g)
        status = _status(status_text)
        s.runs += n
        s.status[status] += n
        if review == "PENDING":
            s.pending += n
        elif review == "REVIEWED":
            s.reviewed += n
        if hour is not None:
            key = _hour_key(hour)
            counts = s.hourly.get(key)
            if counts is None:
                counts = s.hourly[key] = type(s.status)()
            counts[status] += n
            if with_usage:
                s.usage(key // 24).runs += with_usage


def _durations(conn: sqlite3.Connection, q: _Query, stats: Any) -> None:
    inner, params = q.sql("r.d AS d", extra="r.d IS NOT NULL")
    sql = f"SELECT g, {_BUCKET} AS k, count(*), max(d) FROM ({inner}) GROUP BY g, k"
    buckets: dict[str, list[tuple[int, int, float]]] = {}
    for g, k, n, top in conn.execute(sql, params):
        buckets.setdefault(g, []).append((k, n, top))
    small = [g for g, rows in buckets.items() if sum(n for _, n, _ in rows) <= EXACT_LIMIT]
    for g, rows in buckets.items():
        if g not in small:
            stats(g).durations.add_buckets(rows)
    if small:
        marks = ", ".join("?" * len(small))
        sql = f"SELECT g, d FROM ({inner}) WHERE g IN ({marks})"
        for g, d in conn.execute(sql, [*params, *small]):
            stats(g).durations.add(d)


def _stuck(conn: sqlite3.Connection, q: _Query, settings: ReportSettings, stats: Any) -> None:
    from ..store.rows import timestamp

    before = timestamp(settings.now - settings.stuck_after)
    extra = f"r.since < '{before}'"
    sql, params = q.sql(
        "r.since AS since, r.native_id || '|' || r.uid AS tie, r.uid, r.native_id, r.name, r.status, r.url",
        extra=extra,
    )
    ranked = (
        f"SELECT g, since, uid, native_id, name, status, url FROM "
        f"(SELECT *, row_number() OVER (PARTITION BY g ORDER BY since, tie) AS n FROM ({sql})) "
        f"WHERE n <= {STUCK_LISTED}"
    )
    counted, params2 = q.sql("count(*)", extra=extra, tail="GROUP BY g")
    for g, n in conn.execute(counted, params2):
        stats(g).stuck += n
    for g, since_text, uid, native_id, name, status, url in conn.execute(ranked, params):
        run = StuckRun(
            since=_time(since_text), uid=uid, native_id=native_id, name=name, status=_status(status), url=url
        )
        stats(g).add_stuck(run, count=0)


def _errors(conn: sqlite3.Connection, q: _Query, stats: Any) -> None:
    sql, params = q.sql("r.error, count(*)", extra="r.error IS NOT NULL", tail="GROUP BY g, r.error")
    for g, error, n in conn.execute(sql, params):
        stats(g).add_error(error_key(error), n)


def _metrics(conn: sqlite3.Connection, q: _Query, stats: Any) -> None:
    try:
        rows = _metric_sums(conn, q, exact_in_sql=True)
    except sqlite3.OperationalError as exc:  # an integer sum past 2**63: every value goes the Python way
        if "overflow" not in str(exc):
            raise
        rows = _metric_sums(conn, q, exact_in_sql=False)
    accuracy_runs: dict[str, int] = {}
    for g, day, cur, key, kind, json_type, atom, ints, units, places, n in rows:
        value: Metric
        if kind == 1:
            value = int(ints)
        elif kind == 2:
            value = Decimal(int(units)).scaleb(-_SCALE).quantize(Decimal(1).scaleb(-int(places)))
        else:  # floats, exponents, long fractions: summed here, once per distinct value
            one: Metric = Decimal(atom) if json_type == "text" else float(atom) if json_type == "real" else int(atom)
            value = one * n
        _add_metric(stats(g), day, cur, key, value)
        if key == m.PREDICTIONS:
            accuracy_runs[g] = accuracy_runs.get(g, 0) + n
    for g, n in accuracy_runs.items():
        stats(g).accuracy_runs += n


def _metric_sums(conn: sqlite3.Connection, q: _Query, *, exact_in_sql: bool) -> list[tuple[Any, ...]]:
    """One pass over the metrics (one JSON parse per run): per group, day, currency and name, the sum of the
    integers (kind 1), of the plain decimals as units (kind 2), and every other value with its count (kind 0)."""
    keys = ", ".join(f"'{k}'" for k in _SUMMED)
    pair = f"(j.key NOT IN ('{m.PREDICTIONS}', '{m.CORRECT}') OR ({_HAS_ACCURACY}))"
    kind = f"CASE WHEN j.type = 'integer' THEN 1 WHEN j.type = 'text' AND {_plain('j.atom')} THEN 2 ELSE 0 END"
    inner, params = q.sql(
        "substr(r.at, 1, 10) AS day, r.cur AS cur, j.key AS key, j.type AS type, j.atom AS atom, "
        + (f"{kind} AS kind" if exact_in_sql else "0 AS kind"),
        extra=f"r.metrics_json IS NOT NULL AND j.key IN ({keys}) AND {pair}",
        each=True,
    )
    sql = (
        "SELECT g, day, cur, key, kind, CASE WHEN kind = 0 THEN type END AS t, CASE WHEN kind = 0 THEN atom END AS a,"
        f" sum(CASE WHEN kind = 1 THEN atom END), sum(CASE WHEN kind = 2 THEN {_units('atom')} END),"
        f" max(CASE WHEN kind = 2 THEN {_places('atom')} END), count(*)"
        f" FROM ({inner}) GROUP BY g, day, cur, key, kind, t, a"
    )
    return conn.execute(sql, params).fetchall()


def _add_metric(s: Stats, day: str | None, currency: str, key: str, value: Metric) -> None:
    usage = s.usage(_hour_key(day + "T00") // 24) if day and key not in (m.PREDICTIONS, m.CORRECT) else None
    if key == m.TOTAL_COST:
        amount = to_decimal(value)
        s.cost[currency] = s.cost.get(currency, Decimal(0)) + amount
        if usage is not None:
            usage.cost[currency] = usage.cost.get(currency, Decimal(0)) + amount
    elif key == m.PREDICTIONS:
        s.predictions = add_metric(s.predictions, value)
    elif key == m.CORRECT:
        s.correct = add_metric(s.correct, value)
    else:
        s.tokens[key] = add_metric(s.tokens.get(key, 0), value)
        if usage is not None:
            usage.tokens[key] = add_metric(usage.tokens.get(key, 0), value)


def store_changes(store: Store, sources: Sequence[str]) -> list[SyncChange]:
    """For each source (in order): what the latest sync pass of each of its listings did, summed, and the status
    transitions it saw (from the status history, between the pass's start and end, of the listings' runs)."""
    from ..store.rows import timestamp

    out: list[SyncChange] = []
    conn = store.connect()
    try:
        for source in sources:
            latest: dict[str, Any] = {}
            previous: dict[str, Any] = {}
            for record in store.syncs(source=source):
                if record.listing not in latest:
                    latest[record.listing] = record
                elif record.listing not in previous:
                    previous[record.listing] = record
            if not latest:
                continue
            passes = list(latest.values())
            keys = list(latest)
            marks = ", ".join("?" * len(keys))
            sql = (
                "SELECT (SELECT p.status FROM status_history p WHERE p.uid = h.uid AND p.id < h.id"
                " ORDER BY p.id DESC LIMIT 1) AS old, h.status, count(*) FROM status_history h"
                " WHERE h.at >= ? AND h.at <= ?"
                f" AND h.uid IN (SELECT mm.uid FROM listing_members mm WHERE mm.listing_key IN ({marks}))"
                " GROUP BY old, h.status"
            )
            start = timestamp(min(p.started_at for p in passes))
            end = timestamp(max(p.finished_at for p in passes))
            transitions = {
                (None if old is None else _status(old), _status(new)): n
                for old, new, n in conn.execute(sql, [start, end, *keys])
            }
            errors = [p.error for p in passes if p.error]
            out.append(
                SyncChange(
                    source=source,
                    finished_at=max(p.finished_at for p in passes),
                    previous_at=max((p.finished_at for p in previous.values()), default=None),
                    read=sum(p.read for p in passes),
                    inserted=sum(p.inserted for p in passes),
                    changed=sum(p.changed for p in passes),
                    deleted=sum(p.deleted for p in passes),
                    complete=all(p.complete for p in passes),
                    error=errors[0] if errors else None,
                    transitions=transitions,
                )
            )
    finally:
        conn.close()
    return out
