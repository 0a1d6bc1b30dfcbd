"""The report's aggregation over a run store, in SQL: the same :class:`~.stats.Stats` a :class:`~.stats.Collector`
would fold from the stored runs, computed by a few ``GROUP BY`` queries instead of decoding every run (a million
runs: seconds instead of minutes, and memory that does not grow with them).

Every pass walks the wanted listings' members (``listing_members``, in run id order) into ``runs_report``, a
covering index of the typed columns the store writes for this (:mod:`runtrack.store.facts`: hour, duration in
microseconds, integer token and accuracy counts, cost as integer units of 10^-12, currency), so a run costs one
narrow index entry per pass and no JSON is parsed: one pass for counts by status, review state and hour together
with the metric sums per hour and currency; one for durations, bucketed exactly like :class:`~.durations.Durations` (the
values themselves are fetched for a group with at most ``EXACT_LIMIT``); one for errors grouped by text (through
the partial index ``runs_error``, named by :func:`~.stats.error_key` in Python once per distinct text); and stuck
runs through the status index. Runs whose report metrics the typed columns cannot hold exactly (``metrics_odd``:
float token counts, costs of more than 12 decimals) are folded from their JSON in Python. The results equal the
per-run fold (a test compares every figure).
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .. import metrics as m
from ..model import RunStatus
from ..store.facts import COST_SCALE, load_metrics
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
    hour_of,
    scope_label,
)

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["fold_listings", "store_changes"]

CACHE_KB = 32 * 1024  #: page cache of each of the fold's connections (room for the GROUP BY sorters)

Group = tuple[int, str]  #: (index of the listing in the wanted keys, group label)

# the sketch bucket of a duration d, as durations._key computes it
_BUCKET = (
    f"CASE WHEN abs(d) < {_ZERO!r} THEN 0 ELSE (CASE WHEN d > 0 THEN 1 ELSE -1 END)"
    f" * max(1, CAST(ceil(ln(abs(d) / {_ZERO!r}) / {_LOG_GAMMA!r}) AS INTEGER)) END"
)
_TOKENS = ", ".join(f"r.{k}" for k in m.TOKENS)
_USED = " OR ".join(f"r.{k} IS NOT NULL" for k in (*m.TOKENS, "cost_units"))


def _group_expr(keys: Sequence[str], params: list[Any]) -> str:
    """SQL for the row label of ``--group-by`` keys, as :func:`~.stats.group_label` makes it."""
    parts = []
    for key in keys:
        parts.append(f"'{key.replace(chr(39), chr(39) * 2)}=' || coalesce(json_extract(r.scope_json, ?), '-')")
        params.append('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " || ',' || ".join(parts)


def _ensure_functions(conn: sqlite3.Connection) -> None:
    """SQLite builds without the math functions get Python's."""
    try:
        conn.execute("SELECT ln(2.0), ceil(1.5)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("ln", 1, math.log, deterministic=True)
        conn.create_function("ceil", 1, math.ceil, deterministic=True)


class _Runs:
    """The runs of one fold: the members of the wanted listings (``keys``), each with ``li`` (its listing's index
    in ``keys``) and ``label`` (its ``--group-by`` label, else ''); :meth:`sql` reads them."""

    def __init__(self, conn: sqlite3.Connection, keys: Sequence[str], settings: ReportSettings) -> None:
        self.keys = list(keys)
        marks = ", ".join("?" * len(keys))
        ids = dict(conn.execute(f"SELECT listing_key, id FROM listings WHERE listing_key IN ({marks})", self.keys))
        self.wanted = wanted = [(i, int(ids[key])) for i, key in enumerate(self.keys) if key in ids]
        self.params: list[Any] = []
        self.label = _group_expr(settings.group_by, self.params) if settings.group_by else "''"
        self.li = "CASE mm.listing_id " + " ".join(f"WHEN {lid} THEN {i}" for i, lid in wanted) + " END"
        self.where = f"mm.listing_id IN ({', '.join(str(lid) for _, lid in wanted)}) AND r.deleted_at IS NULL"
        if settings.since is not None:
            from ..store.rows import timestamp

            # the hour first (in the covering index); the run's exact time only in the since's own hour
            self.where += " AND (r.hour > ? OR (r.hour = ? AND r.at >= ?) OR r.hour IS NULL)"
            hour = hour_of(settings.since)
            self.params += [hour, hour, timestamp(settings.since)]

    def sql(self, select: str, *, extra: str = "", tail: str = "", via: str = "report") -> tuple[str, list[Any]]:
        """``SELECT li, label, {select} ... WHERE ... {tail}`` over the wanted runs, read through the covering
        index ``runs_report`` (``via="report"``) or driven by the runs of a partial index (``via``: ``error``,
        ``open``), each joined to its listings."""
        where = self.where + (f" AND {extra}" if extra else "")
        if via == "report":
            joined = "listing_members mm CROSS JOIN runs r INDEXED BY runs_report ON r.id = mm.run_id"
        else:
            joined = f"runs r INDEXED BY runs_{via} CROSS JOIN listing_members mm ON mm.run_id = r.id"
        return f"SELECT {self.li} AS li, {self.label} AS label, {select} FROM {joined} WHERE {where} {tail}", list(
            self.params
        )


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
    keys = list(targets)
    conn = store.connect()
    try:
        runs = _Runs(conn, keys, settings)
        groups = _fold(store, conn, runs, settings) if runs.wanted else {}
    except sqlite3.OperationalError as exc:
        if "overflow" not in str(exc):
            raise
        return _fold_per_run(store, targets, settings)  # an integer sum past 2**63: Python's integers
    finally:
        conn.close()
    total = 0
    for (li, label), stats in groups.items():
        for result in targets.get(keys[li], ()):
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


Stat = Callable[[Group], Stats]


def _collector(groups: dict[Group, Stats]) -> Stat:
    def stats(g: Group) -> Stats:
        s = groups.get(g)
        if s is None:
            s = groups[g] = Stats()
        return s

    return stats


def _fold(store: Store, conn: sqlite3.Connection, q: _Runs, settings: ReportSettings) -> dict[Group, Stats]:
    """The figures' passes on two connections at once (SQLite runs them without the GIL: two cores, two passes),
    each into its own Stats, merged at the end."""
    mine: dict[Group, Stats] = {}
    theirs: dict[Group, Stats] = {}
    failure: list[BaseException] = []
    other = store.connect()

    def other_half() -> None:
        try:
            _prepare(other)
            _counts(other, q, _collector(theirs))
        except BaseException as exc:  # raised again in the calling thread
            failure.append(exc)
        finally:
            other.close()

    thread = threading.Thread(target=other_half, name="runtrack-report-fold")
    thread.start()
    try:
        _prepare(conn)
        _durations(conn, q, _collector(mine))
        _errors(conn, q, _collector(mine))
        _stuck(conn, q, settings, _collector(mine))
    except BaseException:
        with contextlib.suppress(sqlite3.ProgrammingError):  # already closed: the other half is done
            other.interrupt()  # Ctrl-C or an error here: the other half stops at once instead of finishing its pass
        raise
    finally:
        thread.join()
    if failure:
        raise failure[0]
    for g, stats in theirs.items():
        _collector(mine)(g).merge(stats)
    return mine


def _prepare(conn: sqlite3.Connection) -> None:
    _ensure_functions(conn)
    conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")


def _counts(conn: sqlite3.Connection, q: _Runs, stats: Stat) -> None:
    """Runs by status, review state and hour, and the metric sums by hour and currency, in one pass (one join, one
    sort); the days' usage is summed from the hours. Runs with ``metrics_odd`` have their metrics from JSON."""
    exact = "r.metrics_odd = 0"
    sums = ", ".join(f"sum(CASE WHEN {exact} THEN r.{k} END)" for k in (*m.TOKENS, m.PREDICTIONS, m.CORRECT))
    sql, params = q.sql(
        "r.status, r.hour, r.currency, count(*), count(CASE r.review_status WHEN 'PENDING' THEN 1 END),"
        f" count(CASE r.review_status WHEN 'REVIEWED' THEN 1 END), count(CASE WHEN {exact} AND ({_USED}) THEN 1 END),"
        f" {sums}, sum(CASE WHEN {exact} THEN r.cost_units END), max(CASE WHEN {exact} THEN r.cost_places END),"
        f" count(CASE WHEN {exact} THEN r.{m.PREDICTIONS} END)",
        tail="GROUP BY li, label, r.hour, r.status, r.currency",
    )
    statuses: dict[str, RunStatus] = {}
    for li, label, status_text, hour, currency, n, pending, reviewed, used, *rest in conn.execute(sql, params):
        s = stats((li, label))
        status = statuses.get(status_text) or statuses.setdefault(status_text, _status(status_text))
        s.runs += n
        s.status[status] += n
        s.pending += pending
        s.reviewed += reviewed
        if hour is not None:
            counts = s.hourly.get(hour)
            if counts is None:
                counts = s.hourly[hour] = Counter()
            counts[status] += n
        if used or rest[-1]:
            _add_sums(s, hour, currency, used, rest)
    sql, params = q.sql("r.hour, r.metrics_json, r.scope_json", extra="r.metrics_odd <> 0")
    for li, label, hour, metrics_json, scope_json in conn.execute(sql, params):  # rare: floats, long fractions
        stats((li, label)).add_metrics(load_metrics(metrics_json), json.loads(scope_json), hour)


def _add_sums(s: Stats, hour: int | None, currency: str | None, used: int, sums: Sequence[Any]) -> None:
    """One row's metric sums into ``s`` (and its day's usage when the runs have an hour and used tokens or cost)."""
    *tokens, predictions, correct, units, places, accuracy_runs = sums
    usage = s.usage(hour // 24) if hour is not None and used else None  # accuracy counts alone are not usage
    if usage is not None:
        usage.runs += used
    for name, total in zip(m.TOKENS, tokens, strict=True):
        if total is not None:
            s.tokens[name] = add_metric(s.tokens.get(name, 0), total)
            if usage is not None:
                usage.tokens[name] = add_metric(usage.tokens.get(name, 0), total)
    if accuracy_runs:
        s.predictions = add_metric(s.predictions, predictions)
        s.correct = add_metric(s.correct, correct)
        s.accuracy_runs += accuracy_runs
    if units is not None and currency is not None:
        amount = Decimal(units).scaleb(-COST_SCALE).quantize(Decimal(1).scaleb(-places))
        s.cost[currency] = s.cost.get(currency, Decimal(0)) + amount
        if usage is not None:
            usage.cost[currency] = usage.cost.get(currency, Decimal(0)) + amount


def _durations(conn: sqlite3.Connection, q: _Runs, stats: Stat) -> None:
    inner, params = q.sql("r.duration_us / 1000000.0 AS d", extra="r.duration_us IS NOT NULL", tail="LIMIT -1")
    sql = f"SELECT li, label, {_BUCKET} AS k, count(*), max(d) FROM ({inner}) GROUP BY li, label, k"
    buckets: dict[Group, list[tuple[int, int, float]]] = {}
    for li, label, k, n, top in conn.execute(sql, params):
        buckets.setdefault((li, label), []).append((k, n, top))
    small = {g for g, rows in buckets.items() if sum(n for _, n, _ in rows) <= EXACT_LIMIT}
    for g, rows in buckets.items():
        if g not in small:
            stats(g).durations.add_buckets(rows)
    if small:
        keys = [f"{li}\x1f{label}" for li, label in small]
        where = f"li || char(31) || label IN ({', '.join('?' * len(keys))})"
        for li, label, d in conn.execute(f"SELECT li, label, d FROM ({inner}) WHERE {where}", [*params, *keys]):
            stats((li, label)).durations.add(d)


def _stuck(conn: sqlite3.Connection, q: _Runs, settings: ReportSettings, stats: Stat) -> None:
    """Open runs older than the threshold, counted and ranked through the partial index ``runs_open``; only the
    listed ones (``STUCK_LISTED`` per group) are read from ``runs`` for their name and link."""
    from ..store.rows import timestamp

    before = timestamp(settings.now - settings.stuck_after)
    since = "coalesce(r.started_at, r.created_at)"
    open_ = ", ".join(f"'{s.value}'" for s in OPEN_STATUSES)
    sql, params = q.sql(
        f"r.id AS rid, {since} AS since, r.native_id || '|' || r.uid AS tie, r.uid, r.native_id, r.status",
        extra=f"r.status IN ({open_}) AND {since} < '{before}'",
        via="open",
    )
    ranked = (
        "SELECT x.li, x.label, x.since, x.uid, x.native_id, o.name, x.status, o.url, x.total FROM (SELECT *,"
        " row_number() OVER (PARTITION BY li, label ORDER BY since, tie) AS n,"
        f" count(*) OVER (PARTITION BY li, label) AS total FROM ({sql})) x"
        f" CROSS JOIN runs o ON o.id = x.rid WHERE x.n <= {STUCK_LISTED}"
    )
    counted: set[Group] = set()
    for li, label, since_text, uid, native_id, name, status, url, total in conn.execute(ranked, params):
        s = stats((li, label))
        if (li, label) not in counted:
            counted.add((li, label))
            s.stuck += total
        run = StuckRun(
            since=_time(since_text), uid=uid, native_id=native_id, name=name, status=_status(status), url=url
        )
        s.add_stuck(run, count=0)


def _time(text: str) -> datetime:
    from ..convert import parse_datetime

    value = parse_datetime(text)
    assert value is not None
    return value


def _errors(conn: sqlite3.Connection, q: _Runs, stats: Stat) -> None:
    sql, params = q.sql(
        "r.error, count(*)",
        extra="r.error IS NOT NULL AND r.error <> ''",
        tail="GROUP BY li, label, r.error",
        via="error",
    )
    for li, label, error, n in conn.execute(sql, params):
        stats((li, label)).add_error(error_key(error), n)


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
                " INDEXED BY status_history_at WHERE h.at >= ? AND h.at <= ?"
                # each history row of the pass's time range checked for membership (uid key, members' key), rather
                # than every member's uid read to build an IN list: a pass changes few of the runs it lists
                " AND EXISTS (SELECT 1 FROM runs r CROSS JOIN listing_members mm ON mm.run_id = r.id"
                " WHERE r.uid = h.uid AND mm.listing_id IN"
                f" (SELECT l.id FROM listings l WHERE l.listing_key IN ({marks})))"
                " GROUP BY old, h.status"
            )
            start = timestamp(min(p.started_at for p in passes))
            end = timestamp(max(p.finished_at for p in passes))
            # runs first seen in the window whose status never changed have no history rows (their one status
            # is in runs)
            # (through the first-seen index, each checked for membership: not every member's id into an IN list)
            firsts = (
                "SELECT NULL, r.status, count(*) FROM runs r INDEXED BY runs_first_seen"
                " WHERE r.first_seen_at >= ? AND r.first_seen_at <= ?"
                " AND EXISTS (SELECT 1 FROM listing_members mm WHERE mm.run_id = r.id AND mm.listing_id IN"
                f" (SELECT l.id FROM listings l WHERE l.listing_key IN ({marks})))"
                " AND NOT EXISTS (SELECT 1 FROM status_history h WHERE h.uid = r.uid) GROUP BY r.status"
            )
            transitions: dict[tuple[RunStatus | None, RunStatus], int] = Counter()
            for old, new, n in conn.execute(sql, [start, end, *keys]):
                transitions[(None if old is None else _status(old), _status(new))] += n
            for _, new, n in conn.execute(firsts, [start, end, *keys]):
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
