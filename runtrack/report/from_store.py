"""The report's aggregation over a run store, in SQL: the same :class:`~.stats.Stats` a :class:`~.stats.Collector`
would fold from the stored runs, computed by a few ``GROUP BY`` queries instead of decoding every run (a million
runs: seconds instead of minutes, and memory that does not grow with them).

First the wanted listings' members (``listing_members``, keyed by listing id and run id: ``runs.id`` is the rowid)
are copied into a small temporary table sorted by run id, so every later pass reads ``runs`` in storage order. Then:
one pass for counts by status, review state and hour together with the metric sums (each metric read once per run;
integers summed by SQLite; money as exact integers of 10^-12 units when it is a plain decimal string of at most 12
decimals; any other value counted, then summed in Python once per distinct value); one pass for durations, bucketed
exactly like :class:`~.durations.Durations` (the values themselves are fetched for a row with at most
``EXACT_LIMIT``); one for errors grouped by text (named by :func:`~.stats.error_key` in Python once per distinct
text); and stuck runs through the status index. The results equal the per-run fold (a test compares every figure),
up to float rounding of float metrics.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import tempfile
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import metrics as m
from ..model import Metric, RunStatus
from .aggregate import SyncChange
from .durations import _LOG_GAMMA, _ZERO, EXACT_LIMIT
from .stats import (
    OPEN_STATUSES,
    STUCK_LISTED,
    Collector,
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
_NUMBERS = (*m.TOKENS, m.PREDICTIONS, m.CORRECT)  #: metrics summed as integers in SQL

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
# metric names appear in the stored JSON as "name": (values are numbers or decimal strings, never objects)
_HAS = "instr(r.metrics_json, '\"{}\":') > 0".format
_HAS_ACCURACY = f"{_HAS(m.PREDICTIONS)} AND {_HAS(m.CORRECT)}"


def _plain(v: str) -> str:
    """SQL: ``v`` is a plain decimal string (digits, at most one point) with at most _SCALE decimals."""
    return (
        f"typeof({v}) = 'text' AND {v} NOT GLOB '*[^0-9.]*' AND {v} GLOB '[0-9]*'"
        f" AND length({v}) - length(replace({v}, '.', '')) <= 1"
        f" AND length({v}) - instr({v} || '.', '.') <= {_SCALE}"
    )


def _units(v: str) -> str:
    """SQL: a plain decimal string as an integer of 10^-_SCALE units."""
    point = f"instr({v} || '.', '.')"
    return (
        f"CAST(substr({v}, 1, {point} - 1) AS INTEGER) * {10**_SCALE}"
        f" + CAST(substr(substr({v}, {point} + 1) || '{'0' * _SCALE}', 1, {_SCALE}) AS INTEGER)"
    )


def _group_expr(keys: Sequence[str], params: list[Any]) -> str:
    """SQL for the row label of ``--group-by`` keys, as :func:`~.stats.group_label` makes it."""
    parts = []
    for key in keys:
        parts.append(f"'{key.replace(chr(39), chr(39) * 2)}=' || coalesce(json_extract(r.scope_json, ?), '-')")
        params.append('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " || ',' || ".join(parts)


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
        conn.create_function("unixepoch", 1, unixepoch, deterministic=True)


def unixepoch(text: str | None) -> int | None:
    """``unixepoch()`` of SQLite 3.38+ for 'YYYY-MM-DDTHH:MM:SS' text (UTC)."""
    if text is None:
        return None
    when = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return int((when - _EPOCH).total_seconds())


class _Runs:
    """The runs of one fold: ``sel(rid, li)`` holds the rowid of each run of the wanted listings (``li``: the
    listing's index in ``keys``), sorted by rowid, in a scratch database file every connection of the fold
    attaches as ``x``; :meth:`sql` reads the runs with their listing and group label."""

    def __init__(self, conn: sqlite3.Connection, scratch: str, keys: Sequence[str], settings: ReportSettings) -> None:
        self.scratch = scratch
        self.keys = list(keys)
        self.params: list[Any] = []
        label = _group_expr(settings.group_by, self.params) if settings.group_by else "''"
        self.group = f"s.li || char(31) || {label}"
        self.where = "r.deleted_at IS NULL"
        if settings.since is not None:
            from ..store.rows import timestamp

            self.where += " AND (r.at >= ? OR r.at IS NULL)"
            self.params.append(timestamp(settings.since))
        marks = ", ".join("?" * len(keys))
        index = " ".join(f"WHEN ? THEN {i}" for i in range(len(keys)))
        self.attach(conn)
        # the members' primary key (listing_id, run_id) covers this: no run row is read here
        conn.execute(
            f"CREATE TABLE x.sel AS SELECT mm.run_id AS rid, CASE l.listing_key {index} END AS li"
            " FROM listings l CROSS JOIN listing_members mm ON mm.listing_id = l.id"
            f" WHERE l.listing_key IN ({marks}) ORDER BY mm.run_id",
            [*keys, *keys],
        )

    def attach(self, conn: sqlite3.Connection) -> None:
        _ensure_functions(conn)
        # room for the GROUP BY sorters (bounded: CACHE_KB, whatever the run count)
        conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")
        conn.execute("ATTACH DATABASE ? AS x", (self.scratch,))
        conn.execute("PRAGMA x.journal_mode = OFF")
        conn.execute("PRAGMA x.synchronous = OFF")

    def sql(self, select: str, *, extra: str = "", tail: str = "") -> tuple[str, list[Any]]:
        """``SELECT {group} AS g, {select} FROM sel s, runs r WHERE ... {tail}`` (runs read in storage order)."""
        where = self.where + (f" AND {extra}" if extra else "")
        return (
            f"SELECT {self.group} AS g, {select} FROM x.sel s CROSS JOIN runs r ON r.rowid = s.rid"
            f" WHERE {where} {tail}",
            list(self.params),
        )

    def split(self, g: str) -> tuple[str, str]:
        """(listing key, group label) of a ``g``."""
        li, _, label = g.partition("\x1f")
        return self.keys[int(li)], label


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
    with tempfile.TemporaryDirectory(prefix="runtrack-report-") as tmp:
        conn = store.connect()
        try:
            runs = _Runs(conn, str(Path(tmp) / "sel.db"), list(targets), settings)
            groups = _fold(store, conn, runs, settings)
        except sqlite3.OperationalError as exc:
            if "overflow" not in str(exc):
                raise
            return _fold_per_run(store, targets, settings)  # an integer sum past 2**63: Python's integers
        finally:
            conn.close()
    total = 0
    for g, stats in groups.items():
        key, label = runs.split(g)
        for result in targets.get(key, ()):
            result.groups.setdefault(label if settings.group_by else scope_label(result.scope), Stats()).merge(stats)
            result.read += stats.runs
            total += stats.runs
    return total


def _fold_per_run(store: Store, targets: Mapping[str, Sequence[SourceResult]], settings: ReportSettings) -> int:
    """Every stored run decoded and folded by a Collector: the slow path, for sums SQLite cannot hold."""
    total = 0
    for results in targets.values():
        for result in results:
            result.groups.clear()
            result.read = 0
    for key, results in targets.items():
        for result in results:
            total += Collector(result, settings).add(store.runs(listing=key, since=settings.since))
    return total


def _fold(store: Store, conn: sqlite3.Connection, q: _Runs, settings: ReportSettings) -> dict[str, Stats]:
    """The figures' passes on two connections at once (SQLite runs them without the GIL: two cores, two passes),
    each into its own Stats, merged at the end."""
    mine: dict[str, Stats] = {}
    theirs: dict[str, Stats] = {}
    failure: list[BaseException] = []

    def collector(groups: dict[str, Stats]) -> Any:
        def stats(g: str) -> Stats:
            s = groups.get(g)
            if s is None:
                s = groups[g] = Stats()
            return s

        return stats

    other = store.connect()

    def other_half() -> None:
        try:
            q.attach(other)
            _metrics(other, q, collector(theirs))
            _stuck(other, q, settings, collector(theirs))
        except BaseException as exc:  # raised again in the calling thread
            failure.append(exc)
        finally:
            other.close()

    thread = threading.Thread(target=other_half, name="runtrack-report-fold")
    thread.start()
    try:
        _counts(conn, q, collector(mine))
        _durations(conn, q, collector(mine))
        _errors(conn, q, collector(mine))
    except BaseException:
        with contextlib.suppress(sqlite3.ProgrammingError):  # already closed: the other half is done
            other.interrupt()  # Ctrl-C or an error here: the other half stops at once instead of finishing its pass
        raise
    finally:
        thread.join()
    if failure:
        raise failure[0]
    for g, stats in theirs.items():
        collector(mine)(g).merge(stats)
    return mine


def _counts(conn: sqlite3.Connection, q: _Runs, stats: Any) -> None:
    """Runs by status, review state and hour (and how many reported usage)."""
    sql, params = q.sql(
        "r.status, r.review_status, substr(r.at, 1, 13) AS hour, count(*)",
        tail="GROUP BY g, r.status, r.review_status, hour",
    )
    for g, status_text, review, hour, n in conn.execute(sql, params):
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
                counts = s.hourly[key] = Counter()
            counts[status] += n


def _metrics(conn: sqlite3.Connection, q: _Runs, stats: Any) -> None:
    """Metric sums per group, day and currency, over the runs that report any."""
    values, params = _metric_values(q)
    c = m.TOTAL_COST
    # each value classified once per run (a subquery level each, none flattened): integer or not, and the cost as
    # none (0), integer (1), plain decimal (2) or other (3); then only plain columns are aggregated
    ints = ", ".join(f"CASE WHEN typeof({k}) = 'integer' THEN {k} END AS {k}" for k in _NUMBERS)
    # a value SQL does not sum exactly (not an integer; for the cost, not a plain decimal either) sets ``odd``
    odd = " OR ".join(f"({k} IS NOT NULL AND typeof({k}) <> 'integer')" for k in _NUMBERS)
    kind = f"CASE WHEN {c} IS NULL THEN 0 WHEN typeof({c}) = 'integer' THEN 1 WHEN {_plain(c)} THEN 2 ELSE 3 END"
    used = " OR ".join(f"{k} IS NOT NULL" for k in (*m.TOKENS, c))
    classified = (
        f"SELECT g, day, cur, {ints}, {c}, {kind} AS kind, {odd} AS odd, {used} AS used FROM ({values}) LIMIT -1"
    )
    units = f"CASE kind WHEN 1 THEN {c} * {10**_SCALE} WHEN 2 THEN {_units(c)} END"
    places = f"CASE kind WHEN 2 THEN max(0, length({c}) - instr({c} || '.', '.')) ELSE 0 END"
    prepared = f"SELECT *, {units} AS units, {places} AS places FROM ({classified}) LIMIT -1"
    sums = [f"sum({k})" for k in _NUMBERS]
    sums += ["sum(units)", "max(places)", "count(CASE WHEN kind = 3 OR odd THEN 1 END)", f"count({m.PREDICTIONS})"]
    sql = f"SELECT g, day, cur, sum(used), {', '.join(sums)} FROM ({prepared}) GROUP BY g, day, cur"
    odd_values = False
    for g, day, cur, used_n, *rest in conn.execute(sql, params):
        s = stats(g)
        if used_n and day is not None:
            s.usage(_hour_key(day + "T00") // 24).runs += used_n
        for k, total in zip(_NUMBERS, rest, strict=False):
            if total is not None:
                _add_metric(s, day, cur, k, int(total))
        units_sum, most_places, odd_n, accuracy_runs = rest[len(_NUMBERS) :]
        if units_sum is not None:
            amount = Decimal(int(units_sum)).scaleb(-_SCALE).quantize(Decimal(1).scaleb(-int(most_places or 0)))
            _add_metric(s, day, cur, c, amount)
        odd_values = odd_values or bool(odd_n)
        s.accuracy_runs += accuracy_runs
    others = (*_NUMBERS, c) if odd_values else ()
    for k in others:  # rare: floats, exponents, long fractions
        _other_values(conn, q, stats, k)


def _metric_values(q: _Runs) -> tuple[str, list[Any]]:
    """Each run's day, the currency of its cost, and its metric values (predictions and correct only when it has
    both), for the runs that report any metric, each read once: the subquery is not flattened."""
    currency = f"coalesce(nullif(json_extract(r.scope_json, '$.{m.CURRENCY}'), ''), '{m.DEFAULT_CURRENCY}')"
    some = "r.metrics_json <> '{}'"
    values = [f"CASE WHEN {some} THEN json_extract(r.metrics_json, '$.{k}') END AS {k}" for k in m.TOKENS]
    values.append(f"CASE WHEN {some} THEN json_extract(r.metrics_json, '$.{m.TOTAL_COST}') END AS {m.TOTAL_COST}")
    values += [
        f"CASE WHEN {some} AND {_HAS_ACCURACY} THEN json_extract(r.metrics_json, '$.{k}') END AS {k}"
        for k in (m.PREDICTIONS, m.CORRECT)
    ]
    return q.sql(
        f"substr(r.at, 1, 10) AS day, CASE WHEN {_HAS(m.TOTAL_COST)} THEN {currency} END AS cur, " + ", ".join(values),
        extra=some,
        tail="LIMIT -1",
    )


def _other_values(conn: sqlite3.Connection, q: _Runs, stats: Any, k: str) -> None:
    """Sum the values of metric ``k`` SQL could not sum exactly (floats, exponents, long fractions, decimal
    strings of a count), once per distinct value, with Python's arithmetic."""
    inner, params = _metric_values(q)
    exact = f"typeof({k}) = 'integer'" + (f" OR ({_plain(k)})" if k == m.TOTAL_COST else "")
    sql = (
        f"SELECT g, day, cur, typeof({k}), {k}, count(*) FROM ({inner})"
        f" WHERE {k} IS NOT NULL AND NOT ({exact}) GROUP BY 1, 2, 3, 4, 5"
    )
    for g, day, cur, kind, value, n in conn.execute(sql, params):
        one: Metric = Decimal(value) if kind == "text" else float(value) if kind == "real" else int(value)
        if k == m.TOTAL_COST:
            one = to_decimal(one)
        _add_metric(stats(g), day, cur, k, one * n)
        if k == m.PREDICTIONS:  # the integer ones were counted with the SQL sums
            stats(g).accuracy_runs += n


def _durations(conn: sqlite3.Connection, q: _Runs, stats: Any) -> None:
    timed = "r.started_at IS NOT NULL AND r.ended_at IS NOT NULL"
    inner, params = q.sql(f"{_SECONDS} AS d", extra=timed, tail="LIMIT -1")  # d computed once per run
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
        for g, d in conn.execute(f"SELECT g, d FROM ({inner}) WHERE g IN ({marks})", [*params, *small]):
            stats(g).durations.add(d)


def _stuck(conn: sqlite3.Connection, q: _Runs, settings: ReportSettings, stats: Any) -> None:
    from ..store.rows import timestamp

    before = timestamp(settings.now - settings.stuck_after)
    since = "coalesce(r.started_at, r.created_at)"
    open_ = ", ".join(f"'{s.value}'" for s in OPEN_STATUSES)
    extra = f"r.status IN ({open_}) AND {since} < '{before}'"
    sql, params = q.sql(
        f"{since} AS since, r.native_id || '|' || r.uid AS tie, r.uid, r.native_id, r.name, r.status, r.url",
        extra=extra,
    )
    ranked = (
        "SELECT g, since, uid, native_id, name, status, url, total FROM (SELECT *, row_number() OVER "
        f"(PARTITION BY g ORDER BY since, tie) AS n, count(*) OVER (PARTITION BY g) AS total FROM ({sql}))"
        f" WHERE n <= {STUCK_LISTED}"
    )
    counted: set[str] = set()
    for g, since_text, uid, native_id, name, status, url, total in conn.execute(ranked, params):
        s = stats(g)
        if g not in counted:
            counted.add(g)
            s.stuck += total
        run = StuckRun(
            since=_time(since_text), uid=uid, native_id=native_id, name=name, status=_status(status), url=url
        )
        s.add_stuck(run, count=0)


def _errors(conn: sqlite3.Connection, q: _Runs, stats: Any) -> None:
    sql, params = q.sql("r.error, count(*)", extra="r.error IS NOT NULL AND r.error <> ''", tail="GROUP BY g, r.error")
    for g, error, n in conn.execute(sql, params):
        stats(g).add_error(error_key(error), n)


def _add_metric(s: Stats, day: str | None, currency: str | None, key: str, value: Metric) -> None:
    usage = s.usage(_hour_key(day + "T00") // 24) if day and key not in (m.PREDICTIONS, m.CORRECT) else None
    if key == m.TOTAL_COST:
        amount = to_decimal(value)
        cur = currency or m.DEFAULT_CURRENCY
        s.cost[cur] = s.cost.get(cur, Decimal(0)) + amount
        if usage is not None:
            usage.cost[cur] = usage.cost.get(cur, Decimal(0)) + amount
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
                " AND h.uid IN (SELECT r.uid FROM listings l CROSS JOIN listing_members mm ON mm.listing_id = l.id"
                f" CROSS JOIN runs r ON r.id = mm.run_id WHERE l.listing_key IN ({marks}))"
                " GROUP BY old, h.status"
            )
            start = timestamp(min(p.started_at for p in passes))
            end = timestamp(max(p.finished_at for p in passes))
            # runs first seen in the window whose status never changed have no history rows (their one status
            # is in runs)
            firsts = (
                "SELECT NULL, r.status, count(*) FROM runs r WHERE r.id IN (SELECT mm.run_id FROM listings l"
                f" CROSS JOIN listing_members mm ON mm.listing_id = l.id WHERE l.listing_key IN ({marks}))"
                " AND r.first_seen_at >= ? AND r.first_seen_at <= ?"
                " AND NOT EXISTS (SELECT 1 FROM status_history h WHERE h.uid = r.uid) GROUP BY r.status"
            )
            transitions: dict[tuple[RunStatus | None, RunStatus], int] = Counter()
            for old, new, n in conn.execute(sql, [start, end, *keys]):
                transitions[(None if old is None else _status(old), _status(new))] += n
            for _, new, n in conn.execute(firsts, [*keys, start, end]):
                transitions[(None, _status(new))] += n
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
                    transitions=dict(transitions),
                )
            )
    finally:
        conn.close()
    return out
