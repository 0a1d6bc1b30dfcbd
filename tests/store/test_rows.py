"""A run's store document and content hash: the document is ``dump_run`` as JSON (with or without orjson), and the
hash changes with every field, ``raw`` included, and with nothing else."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

import runtrack
from runtrack import Actor, ReviewStatus, RunStatus
from runtrack.store import rows

from .memory import make_run


@pytest.fixture(params=["orjson", "stdlib"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "stdlib":
        from runtrack import convert

        monkeypatch.setattr(rows, "_orjson_dumps", None)
        monkeypatch.setattr(convert, "_orjson_dumps", None)
    elif rows._orjson_dumps is None:
        pytest.skip("orjson is not installed")
    return str(request.param)


VARIANTS: list[dict[str, Any]] = [
    {},
    {"created_by": Actor(id="1", username="ann", email="a@example.com"), "review_status": ReviewStatus.PENDING},
    {"raw": {"big": 10**30, "text": "ü €", "nested": [{"a": None}]}},  # beyond 64-bit integers
    {"raw": {"lone": "\ud800"}},  # a lone surrogate
    {"metrics": {"cost": Decimal("1E-7"), "n": 3, "f": 0.1}, "tags": ()},
    {"created_at": datetime(2025, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))},
    {"created_at": None, "started_at": None, "ended_at": None, "raw": None, "parent_uid": "p", "url": "u"},
]


@pytest.mark.parametrize("changes", VARIANTS)
def test_the_document_is_dump_run_and_loads_back_equal(path: str, changes: dict[str, Any]) -> None:
    run = make_run(1, **changes)
    enc = rows.Encoded(run)
    assert json.loads(enc.doc) == json.loads(json.dumps(runtrack.dump_run(run)))
    assert rows.decode(enc.doc) == run
    enc.doc.encode()  # storable text (no lone surrogates left unescaped)
    row = dict(zip(rows.RUN_COLUMNS, enc.row("src"), strict=True))
    assert json.loads(row["metrics_json"]) == runtrack.dump_run(run)["metrics"]
    assert row["content_hash"] == enc.hash == rows.fingerprint(make_run(1, **changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "other"},
        {"status": RunStatus.FAILED},
        {"status_raw": "FAILED"},
        {"review_status": ReviewStatus.REVIEWED},
        {"ended_at": datetime(2025, 1, 1, tzinfo=timezone.utc)},
        {"created_by": Actor(id="2")},
        {"scope": {"box": "b"}},
        {"metrics": {"tokens": 1, "cost": Decimal("0.1"), "accuracy": 0.5}},  # 0.10 -> 0.1 is a change
        {"metrics": {"tokens": 1.0, "cost": Decimal("0.10"), "accuracy": 0.5}},  # int -> float is a change
        {"error": "boom"},
        {"tags": ("x",)},
        {"url": "https://x"},
        {"raw": {"id": "r1", "box": "a", "state": "succeeded", "nested": {"list": [1, 1.5, None], "big": 10**20 + 1}}},
    ],
)
def test_every_change_of_the_document_changes_the_hash(path: str, changes: dict[str, Any]) -> None:
    base = make_run(1, metrics={"tokens": 1, "cost": Decimal("0.10"), "accuracy": 0.5})
    changed = attrs.evolve(base, **changes)
    assert json.dumps(runtrack.dump_run(changed)) != json.dumps(runtrack.dump_run(base))  # its document differs
    assert rows.fingerprint(changed) != rows.fingerprint(base)
    assert rows.fingerprint(attrs.evolve(base)) == rows.fingerprint(base)


def test_timestamps_sort_as_text_in_time_order() -> None:
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    later = [t, t + timedelta(microseconds=1), t + timedelta(seconds=1), t + timedelta(days=400)]
    texts = [rows.timestamp(v) for v in later]
    assert texts == sorted(texts) and texts[0] == "2025-01-01T00:00:00.000000Z"
    assert rows.timestamp(datetime(2025, 1, 1)) == texts[0]  # naive means UTC
