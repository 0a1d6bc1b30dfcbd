"""The Run model, datetime parsing, open enums and lossless JSON round trips."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

import runtrack
import runtrack.model
from runtrack.convert import format_datetime, open_enum, parse_datetime, parse_decimal
from runtrack.model import make_uid

UTC = timezone.utc


def sample_run(**kw: object) -> runtrack.Run:
    fields: dict[str, object] = {
        "platform": "langsmith",
        "instance": "api.smith.langchain.com",
        "kind": "annotation_queue_run",
        "native_id": "8b1e",
        "name": "ChatOpenAI",
        "status": runtrack.RunStatus.FAILED,
        "status_raw": "error",
        "review_status": runtrack.ReviewStatus.PENDING,
        "created_at": datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        "started_at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "ended_at": datetime(2024, 1, 2, 3, 4, 7, 500000, tzinfo=UTC),
        "created_by": runtrack.Actor(id="7", username="ada", email=None),
        "parent_uid": make_uid("langsmith", "api.smith.langchain.com", "annotation_queue_run", "p1"),
        "scope": {"queue_id": "q1", "trace_id": "t1"},
        "metrics": {"total_tokens": 1200, "accuracy": 0.5, "total_cost": Decimal("0.000123400")},
        "error": "Timeout",
        "tags": ("a", "b"),
        "url": "https://smith.langchain.com/o/x",
        "raw": {"id": "8b1e", "unknown_field": [1, {"nested": None}], "cost": "0.0001234", "big": 2**70},
    }
    fields.update(kw)
    return runtrack.Run(**fields)  # type: ignore[arg-type]


def test_run_is_frozen_and_keyword_only() -> None:
    run = sample_run()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        run.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        runtrack.Run("langsmith", "h", "k", "1")  # type: ignore[misc]
    assert attrs.evolve(run, name="y").name == "y"


def test_uid_is_pure_stable_and_distinct() -> None:
    a = sample_run()
    assert a.uid == sample_run().uid == make_uid(a.platform, a.instance, a.kind, a.native_id)
    assert a.uid == make_uid(a.platform, a.instance.upper(), a.kind, a.native_id)  # hosts are case-insensitive
    name = f"{a.platform}|{a.instance}|{a.kind}|{a.native_id}"
    assert a.uid == str(uuid.uuid5(runtrack.model.UID_NAMESPACE, name))  # a standard UUIDv5
    for native in ("0", "ü日本", "x" * 300):
        assert make_uid("p", "h", "k", native) == str(uuid.uuid5(runtrack.model.UID_NAMESPACE, f"p|h|k|{native}"))
    others = {
        sample_run(platform="foundry").uid,
        sample_run(instance="eu.api.smith.langchain.com").uid,
        sample_run(kind="other").uid,
        sample_run(native_id="8b1f").uid,
    }
    assert a.uid not in others
    assert len(others) == 4
    assert hash(a) == hash(sample_run())


def test_duration_is_derived() -> None:
    assert sample_run().duration == timedelta(seconds=2.5)
    assert sample_run(ended_at=None).duration is None
    assert sample_run(started_at=None).duration is None


def test_status_terminal() -> None:
    assert runtrack.RunStatus.SUCCEEDED.is_terminal
    assert not runtrack.RunStatus.RUNNING.is_terminal
    assert not runtrack.RunStatus.UNKNOWN.is_terminal


def test_lossless_json_round_trip() -> None:
    run = sample_run()
    data = runtrack.converter.unstructure(run)
    text = json.dumps(data)  # JSON-safe: plain types only
    back = runtrack.converter.structure(json.loads(text), runtrack.Run)
    assert back == run
    assert back.metrics["total_cost"] == Decimal("0.000123400")
    assert isinstance(back.metrics["total_cost"], Decimal)
    assert isinstance(back.metrics["total_tokens"], int)
    assert back.raw == run.raw
    assert data["created_at"] == "2024-01-02T03:04:05.123456Z"
    assert data["status"] == "FAILED"


def test_round_trip_of_a_minimal_run() -> None:
    run = runtrack.Run(platform="p", instance="h", kind="k", native_id="1")
    assert runtrack.load_run(json.loads(json.dumps(runtrack.dump_run(run)))) == run


def test_unknown_status_in_stored_json_is_open() -> None:
    data = runtrack.dump_run(sample_run())
    data["status"] = "PAUSED"
    assert runtrack.load_run(data).status is runtrack.RunStatus.UNKNOWN


def test_structure_errors_name_the_path() -> None:
    data = runtrack.dump_run(sample_run())
    data["created_at"] = "yesterday"
    with pytest.raises(runtrack.PayloadError, match=r"\$\.created_at"):
        runtrack.load_run(data)
    data = runtrack.dump_run(sample_run())
    data["metrics"]["total_tokens"] = [1]
    with pytest.raises(runtrack.PayloadError, match=r"metrics"):
        runtrack.load_run(data)


def test_jsonl_round_trip_and_errors() -> None:
    runs = [sample_run(native_id=str(i)) for i in range(3)]
    buf = io.StringIO()
    assert runtrack.write_jsonl(runs, buf) == 3
    buf.seek(0)
    assert list(runtrack.read_jsonl(buf)) == runs
    bad = io.StringIO(buf.getvalue() + '{"platform": \n')
    with pytest.raises(runtrack.PayloadError, match="export.jsonl:4: invalid JSON"):
        list(runtrack.read_jsonl(bad, source="export.jsonl"))


DATETIMES = [
    ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-05-01T10:00:00z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-05-01T10:00:00+00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-05-01T12:30:00+02:30", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-05-01T05:00:00-0500", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),  # naive = UTC
    ("2024-05-01 10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-05-01T10:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ("2024-05-01T10:00:00.123Z", datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)),
    ("2024-05-01T10:00:00.123456789Z", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),  # nanoseconds
    ("2024-05-01T10:00:00.5", datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    (datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 10, tzinfo=UTC)),
]


@pytest.fixture(params=["UTC", "Asia/Kolkata"])
def local_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run under another local time zone: naive values must still mean UTC, never local time."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("text", "expected"), DATETIMES)
def test_parse_datetime_table(text: object, expected: datetime, local_tz: str) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is UTC


def test_parse_datetime_unknown_and_invalid() -> None:
    assert parse_datetime(None) is None
    assert parse_datetime("") is None
    with pytest.raises(runtrack.PayloadError, match=r"at \$\.start_time: invalid datetime 'soon'"):
        parse_datetime("soon", "$.start_time")
    with pytest.raises(runtrack.PayloadError, match="got int"):
        parse_datetime(1714557600, "$.t")


def test_format_datetime_is_utc_z() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    assert format_datetime(datetime(2024, 5, 1, 15, 30, tzinfo=ist)) == "2024-05-01T10:00:00Z"
    assert format_datetime(datetime(2024, 5, 1, 10)) == "2024-05-01T10:00:00Z"


def test_the_datetime_table_under_kolkata_in_a_fresh_process() -> None:
    # time.tzset in-process is not enough for every library; a child process started with TZ proves it.
    code = (
        "from runtrack.convert import parse_datetime;"
        "d = parse_datetime('2024-05-01T10:00:00');"
        "print(d.isoformat(), d.timestamp())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "TZ": "Asia/Kolkata"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["2024-05-01T10:00:00+00:00", "1714557600.0"]


def test_open_enum() -> None:
    table = {"success": runtrack.RunStatus.SUCCEEDED}
    assert open_enum(runtrack.RunStatus, table, "SUCCESS") == (runtrack.RunStatus.SUCCEEDED, "SUCCESS")
    assert open_enum(runtrack.RunStatus, table, "paused") == (runtrack.RunStatus.UNKNOWN, "paused")
    assert open_enum(runtrack.RunStatus, table, None) == (runtrack.RunStatus.UNKNOWN, None)


def test_parse_decimal() -> None:
    assert parse_decimal("0.00012") == Decimal("0.00012")
    assert parse_decimal(0.1) == Decimal("0.1")  # no float noise
    assert parse_decimal(3) == Decimal(3)
    assert parse_decimal(None) is None
    assert parse_decimal("") is None
    with pytest.raises(runtrack.PayloadError, match=r"at \$\.cost: invalid decimal"):
        parse_decimal("abc", "$.cost")
    with pytest.raises(runtrack.PayloadError, match="boolean"):
        parse_decimal(True)
