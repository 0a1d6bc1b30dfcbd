"""The report over a run store, aggregated in SQL, equals the per-run fold of the same stored runs (every figure of
the JSON document), over runs that try the SQL's edges; and the store's last sync shows as "what changed"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from runtrack import ReviewStatus, Run, RunStatus, open_store
from runtrack.report import Collector, ReportSettings, SourceResult, build, render, report_dict
from runtrack.report.durations import EXACT_LIMIT
from runtrack.report.from_store import store_changes
from runtrack.sources import read_store
from runtrack.store import Store
from tests.store.memory import MemoryAdapter

NOW = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
STATUSES = list(RunStatus)
COSTS: list[Any] = [
    Decimal("0.10"),
    Decimal("1E-7"),  # an exponent: summed in Python
    Decimal("0.123456789012345"),  # more than 12 decimals: summed in Python
    Decimal("-0.5"),
    Decimal("12"),
    3,  # an int cost
    0.25,  # a float cost
    Decimal("0.000001"),
]


def edge_run(i: int, box: str) -> Run:
    """Box ``a``: every status, missing times; box ``b``: finished runs, enough durations for the sketch."""
    status = STATUSES[i % len(STATUSES)] if box == "a" else (RunStatus.SUCCEEDED, RunStatus.FAILED)[i % 2]
    created = NOW - timedelta(hours=5 * i + (i % 7)) if i % 11 else None
    started = (created or NOW - timedelta(days=3)) + timedelta(seconds=i % 13) if i % 5 or box == "b" else None
    ended = started + timedelta(seconds=(i % 17) * 3.5, microseconds=i) if started and status.is_terminal else None
    if i % 23 == 0 and started:
        ended = started - timedelta(seconds=2)  # clocks disagree: a negative duration
    metrics: dict[str, Any] = {}
    if i % 3 == 0:
        metrics |= {"input_tokens": i, "output_tokens": 2 * i, "total_cost": COSTS[i % len(COSTS)]}
    if i % 4 == 0:
        metrics |= {"total_tokens": 0.5 * i}  # float tokens
    if i % 6 == 1:
        metrics |= {"predictions": 10, "correct": i % 10}
    if i % 9 == 2:
        metrics |= {"predictions": 7}  # without correct: not counted for accuracy
    if i % 13 == 5:
        metrics |= {"predictions": 8.0, "correct": Decimal("3")}  # counts that are not integers
    errors = [
        None,
        "",
        "model timeout\nretry later",
        "Traceback (most recent call last):\n  x\nValueError: bad",
        "x" * 300,
    ]
    return Run(
        platform="memory",
        instance="mem.example",
        kind="run",
        native_id=f"r{i}",
        name=f"<b>run {i}</b>",
        status=status,
        created_at=created,
        started_at=started,
        ended_at=ended,
        review_status=[None, *ReviewStatus][i % 3],
        scope={"box": box, **({"currency": ["EUR", ""][i % 2]} if i % 4 == 1 else {}), "team": f"t{i % 3}"},
        metrics=metrics,
        error=errors[i % len(errors)],
        url=f"https://mem.example/r{i}",
    )


FIRST = [edge_run(i, "a") for i in range(300)] + [edge_run(i, "b") for i in range(300, 300 + EXACT_LIMIT + 200)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("store") / "runs.db"
    adapter = MemoryAdapter(FIRST)
    with open_store(path) as store:
        for box in ("a", "b"):
            store.sync(adapter, source="mem", page_size=1000, clock=lambda: NOW - timedelta(hours=1), box=box)
        adapter.data = [
            attrs.evolve(r, status=RunStatus.SUCCEEDED) if r.status is RunStatus.RUNNING else r for r in adapter.data
        ] + [edge_run(9000, "a")]
        for box in ("a", "b"):
            store.sync(adapter, source="mem", page_size=1000, clock=lambda: NOW, box=box)
        # a second source listing every run: each run is a member of two listings, counted in both
        store.sync(adapter, source="all", page_size=1000, clock=lambda: NOW)
        yield store


def _flat(doc: Any, path: str = "$") -> dict[str, Any]:
    """JSON path -> leaf value: a failure names the figures that differ."""
    if isinstance(doc, dict):
        return {k: v for key, value in doc.items() for k, v in _flat(value, f"{path}.{key}").items()}
    if isinstance(doc, list):
        return {k: v for i, value in enumerate(doc) for k, v in _flat(value, f"{path}[{i}]").items()}
    return {path: doc}


def per_run(store: Store, settings: ReportSettings) -> list[SourceResult]:
    results = []
    for info in store.listings():
        result = SourceResult(source=info.source, adapter=info.adapter, scope=info.scope, read_at=info.last_complete_at)
        result.finished_at = result.read_at
        Collector(result, settings).add(store.runs(listing=info.key, since=settings.since))
        results.append(result)
    return results


@pytest.mark.parametrize(
    "settings",
    [
        ReportSettings(now=NOW),
        ReportSettings(now=NOW, since=NOW - timedelta(days=20), stuck_after=timedelta(hours=1), top_errors=2),
        ReportSettings(now=NOW, group_by=("team", "nope")),
    ],
    ids=["plain", "since", "group-by"],
)
def test_sql_aggregation_equals_the_per_run_fold(store: Store, settings: ReportSettings) -> None:
    sql = report_dict(build(read_store(store, None, settings), settings))
    fold = report_dict(build(per_run(store, settings), settings))
    assert _flat(sql) == _flat(fold)
    boxes = {row["scope"]: row for row in sql["sources"][0]["scopes"]}
    if not settings.group_by and settings.since is None:
        assert boxes["box=b"]["duration_seconds"]["exact"] is False  # the sketch path was taken
        assert boxes["box=a"]["duration_seconds"]["exact"] is True
    assert sql["sources"][0]["totals"]["cost"]  # the edge costs were summed
    assert [source["name"] for source in sql["sources"]] == ["mem", "all"]
    assert sql["sources"][1]["totals"]["runs"] == sum(row["runs"] for row in sql["sources"][0]["scopes"])


def test_what_changed_since_the_previous_sync(store: Store) -> None:
    (change,) = store_changes(store, ["mem"])
    assert change.previous_at == NOW - timedelta(hours=1) and change.finished_at == NOW
    assert change.inserted == 1 and change.read == 301 + EXACT_LIMIT + 200 and change.complete
    running = sum(1 for run in FIRST if run.status is RunStatus.RUNNING)
    assert change.changed == running
    new = edge_run(9000, "a").status
    assert change.transitions == {(RunStatus.RUNNING, RunStatus.SUCCEEDED): running, (None, new): 1}
    settings = ReportSettings(now=NOW)
    rep = build(read_store(store, None, settings), settings, store=str(store.path), changes=[change])
    page = render(rep, "html")
    assert 'data-table="changes"' in page and "running → succeeded" in page
    assert "Changed by the last sync" in render(rep, "table")
    assert report_dict(rep)["changes"][0]["transitions"][0]["runs"] >= 1


def test_sums_past_what_sqlite_integers_hold_fall_back_to_python(tmp_path: Path) -> None:
    big = [attrs.evolve(edge_run(i, "a"), metrics={"input_tokens": 2**62}) for i in range(3)]
    with open_store(tmp_path / "big.db") as store:
        store.sync(MemoryAdapter(big), source="mem", box="a")
        settings = ReportSettings(now=NOW)
        (result,) = read_store(store, None, settings)
    assert result.groups["box=a"].tokens == {"input_tokens": 3 * 2**62} and result.read == 3
