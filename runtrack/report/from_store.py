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

_SCALE = 12  #: decimals of the integer units exact money sums use in SQL
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SUMMED = (*m.TOKENS, m.TOTAL_COST, m.PREDICTIONS, m.CORRECT)

# seconds between two stored timestamps ('YYYY-MM-DDTHH:MM:SS.ffffffZ'), exact: whole seconds and microseconds
_SECONDS = (
    "((strftime('%s', substr(r.ended_at, 1, 19)) - strftime('%s', substr(r.started_at, 1, 19))) * 1000000"
    " + (CAST(substr(r.ended_at, 21, 6) AS INTEGER) - CAST(substr(r.started_at, 21, 6) AS INTEGER))) / 1000000.0"
)
# the sketch bucket of a duration d, as durations._key computes it
_BUCKET = (
    f"CASE WHEN abs(d) < {_ZERO!r} THEN 0 ELSE (CASE WHEN d > 0 THEN 1 ELSE -1 END)"
    f" * max(1, CAST(ceil(ln(abs(d) / {_ZERO!r}) / {_LOG_GAMMA!r}) AS INTEGER)) END"
)
_HAS_USAGE = " OR ".join(f"instr(r.metrics_json, '\"{k}\":') > 0" for k in (*m.TOKENS, m.TOTAL_COST))
_HAS_ACCURACY = f"instr(r.metrics_json, '\"{m.PREDICTIONS}\":') > 0 AND instr(r.metrics_json, '\"{m.CORRECT}\":') > 0"
# a plain decimal string with at most _SCALE decimals, as integer units of 10^-_SCALE
_PLAIN = (
    "j.type = 'text' AND j.atom NOT GLOB '*[^0-9.]*' AND j.atom GLOB '[0-9]*'"
    " AND length(j.atom) - length(replace(j.atom, '.', '')) <= 1"
    f" AND length(j.atom) - instr(j.atom || '.', '.') <= {_SCALE}"
)
_UNITS = (
    f"CAST(substr(j.atom, 1, instr(j.atom || '.', '.') - 1) AS INTEGER) * {10**_SCALE}"
    f" + CAST(substr(substr(j.atom, instr(j.atom || '.', '.') + 1) || '{'0' * _SCALE}', 1, {_SCALE}) AS INTEGER)"
)
_FRACTION = "max(0, length(j.atom) - instr(j.atom || '.', '.'))"


def _group_expr(keys: Sequence[str], params: list[Any]) -> str:
    """SQL for the row label of ``--group-by`` keys, as :func:`~.stats.group_label` makes it."""
    parts = []
    for key in keys:
        parts.append(f"'{_sql_text(key)}=' || coalesce(json_extract(r.scope_json, ?), '-')")
        params.append('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " || ',' || ".join(parts)


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def _ensure_math(conn: sqlite3.Connection) -> None:
    """SQLite builds without the math functions get Python's (the same C library underneath)."""
    try:
        conn.execute("SELECT ln(2.0), ceil(1.5)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("ln", 1, math.log, deterministic=True)
        conn.create_function("ceil", 1, math.ceil, deterministic=True)


class _Query:
    """The FROM/WHERE shared by every query of one fold: the runs of the listings (each joined to the listings
    that returned it), not deleted, since the cut-off; ``g`` is ``listing_key`` + US + the group label."""

    def __init__(self, keys: Sequence[str], settings: ReportSettings) -> None:
        self.params: list[Any] = []
        label = _group_expr(settings.group_by, self.params) if settings.group_by else "''"
        self.group = f"mm.listing_key || char(31) || {label}"
        marks = ", ".join("?" * len(keys))
        where = ["r.deleted_at IS NULL", f"mm.listing_key IN ({marks})"]
        self.where_params: list[Any] = list(keys)
        if settings.since is not None:
            from ..store.rows import timestamp

            where.append("(r.at >= ? OR r.at IS NULL)")
            self.where_params.append(timestamp(settings.since))
        self.where = " AND ".join(where)

    def sql(self, select: str, *, extra: str = "", tail: str = "", each: bool = False) -> tuple[str, list[Any]]:
        """``SELECT {group} AS g, {select} FROM runs r ... WHERE ... {extra} {tail}`` and its parameters; ``each``
        adds ``json_each(r.metrics_json) j``."""
        where = self.where + (f" AND {extra}" if extra else "")
        # runs drive the loop (one pass over the table), the listings of each run come from listing_members_uid
        tables = "runs r CROSS JOIN listing_members mm ON mm.uid = r.uid"
        if each:
            tables += " CROSS JOIN json_each(r.metrics_json) j"
        params = [*self.params, *self.where_params]
        return f"SELECT {self.group} AS g, {select} FROM {tables} WHERE {where} {tail}", params


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
        _ensure_math(conn)
        groups = _fold(conn, _Query(list(targets), settings), settings)
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
    timed = "r.started_at IS NOT NULL AND r.ended_at IS NOT NULL"
    inner, params = q.sql(f"{_SECONDS} AS d", extra=timed)
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
    open_ = ", ".join(f"'{s.value}'" for s in OPEN_STATUSES)
    since = "coalesce(r.started_at, r.created_at)"
    extra = f"r.status IN ({open_}) AND {since} < '{before}'"
    sql, params = q.sql(
        f"{since} AS since, r.native_id || '|' || r.uid AS tie, r.uid, r.native_id, r.name, r.status, r.url",
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
    sql, params = q.sql("r.error, count(*)", extra="r.error IS NOT NULL AND r.error <> ''", tail="GROUP BY g, r.error")
    for g, error, n in conn.execute(sql, params):
        stats(g).add_error(error_key(error), n)


def _metrics(conn: sqlite3.Connection, q: _Query, stats: Any) -> None:
    keys = ", ".join(f"'{k}'" for k in _SUMMED)
    currency = f"coalesce(nullif(json_extract(r.scope_json, '$.{m.CURRENCY}'), ''), '{m.DEFAULT_CURRENCY}')"
    accuracy = (m.PREDICTIONS, m.CORRECT)
    pair = f"(j.key NOT IN ('{accuracy[0]}', '{accuracy[1]}') OR ({_HAS_ACCURACY}))"
    base = f"r.metrics_json <> '{{}}' AND j.key IN ({keys}) AND {pair}"
    select = (
        f"substr(r.at, 1, 10) AS day, {currency} AS cur, j.key, "
        f"sum(CASE WHEN j.type = 'integer' THEN j.atom END), "
        f"sum(CASE WHEN {_PLAIN} THEN {_UNITS} END), "
        f"max(CASE WHEN {_PLAIN} THEN {_FRACTION} END), "
        f"count(CASE WHEN j.type = 'integer' OR ({_PLAIN}) THEN 1 END)"
    )
    sql, params = q.sql(select, extra=base, tail="GROUP BY g, day, cur, j.key", each=True)
    accuracy_runs: dict[str, int] = {}
    try:
        rows = conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:  # an integer sum past 2**63: every value goes the Python way
        if "overflow" not in str(exc):
            raise
        rows = []
        plain = "0"
    else:
        plain = f"j.type = 'integer' OR ({_PLAIN})"
    for g, day, cur, key, ints, units, places, n in rows:
        value: Metric | None = None
        if ints is not None:
            value = int(ints)
        if units is not None:
            exact = Decimal(int(units)).scaleb(-_SCALE).quantize(Decimal(1).scaleb(-int(places or 0)))
            value = exact if value is None else add_metric(value, exact)
        if value is not None:
            _add_metric(stats(g), day, cur, key, value)
        if key == m.PREDICTIONS and n:
            accuracy_runs[g] = accuracy_runs.get(g, 0) + n
    # everything else (floats, exponents, long fractions): summed in Python, once per distinct value
    rest, params = q.sql(
        f"substr(r.at, 1, 10) AS day, {currency} AS cur, j.key, j.type, j.atom, count(*)",
        extra=f"{base} AND NOT ({plain})",
        tail="GROUP BY g, day, cur, j.key, j.type, j.atom",
        each=True,
    )
    for g, day, cur, key, kind, atom, n in conn.execute(rest, params):
        one: Metric = Decimal(atom) if kind == "text" else float(atom) if kind == "real" else int(atom)
        _add_metric(stats(g), day, cur, key, one * n)
        if key == m.PREDICTIONS:
            accuracy_runs[g] = accuracy_runs.get(g, 0) + n
    for g, n in accuracy_runs.items():
        stats(g).accuracy_runs += n


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
