"""Mapping LangSmith payloads to Run: status, review status, times, tokens and costs, scope, links, raw."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from runtrack_langsmith.mapping import KIND, map_item_run, queue_run_parser

import runtrack
from runtrack import ReviewStatus, RunStatus
from runtrack.model import make_uid

from .payloads import QUEUE, SESSION, TENANT, item, qrid, rid, v1_row, v2_run

INSTANCE = "api.smith.langchain.com"
WEB = "https://smith.langchain.com"


def parse(row: dict[str, Any], review: ReviewStatus | None = ReviewStatus.PENDING) -> runtrack.Run:
    return queue_run_parser(instance=INSTANCE, queue_id=QUEUE, review=review, web=WEB)(row)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("success", RunStatus.SUCCEEDED),
        ("SUCCESS", RunStatus.SUCCEEDED),
        ("Error", RunStatus.FAILED),
        ("pending", RunStatus.RUNNING),
        ("PENDING", RunStatus.RUNNING),
        ("interrupted", RunStatus.UNKNOWN),
        ("timeout", RunStatus.UNKNOWN),
    ],
)
def test_status_is_case_insensitive_and_unknown_keeps_the_raw_string(raw: str, status: RunStatus) -> None:
    run = parse(v1_row(1, status=raw))
    assert run.status is status and run.status_raw == raw


def test_missing_status_is_unknown_without_raw() -> None:
    row = v1_row(1)
    del row["status"]
    run = parse(row)
    assert run.status is RunStatus.UNKNOWN and run.status_raw is None


def test_a_full_row() -> None:
    row = v1_row(7, parent_run_id=rid(1), trace_id=rid(1), tags=["prod", "v2"], error=None)
    run = parse(row)
    assert run.platform == "langsmith" and run.kind == KIND == "trace_run" and run.native_id == rid(7)
    assert run.uid == make_uid("langsmith", INSTANCE, KIND, rid(7))
    assert run.parent_uid == make_uid("langsmith", INSTANCE, KIND, rid(1))
    assert run.name == "ChatOpenAI"
    assert run.started_at == datetime(2025, 5, 8, 17, 42, 3, 118204, tzinfo=timezone.utc)  # naive means UTC
    assert run.ended_at == datetime(2025, 5, 8, 17, 42, 5, 902311, tzinfo=timezone.utc)
    assert run.created_at == run.started_at and run.duration is not None
    assert run.scope == {"queue_id": QUEUE, "session_id": SESSION, "trace_id": rid(1), "queue_run_id": qrid(7)}
    assert run.metrics == {
        "input_tokens": 412,
        "output_tokens": 96,
        "total_tokens": 508,
        "input_cost": Decimal("0.0000618"),
        "output_cost": Decimal("0.0000576"),
        "total_cost": Decimal("0.0001194"),
    }
    assert all(type(run.metrics[k]) is Decimal for k in ("input_cost", "output_cost", "total_cost"))
    assert run.tags == ("prod", "v2")
    assert run.url == f"{WEB}/o/{TENANT}/projects/p/{SESSION}/r/{rid(7)}?trace_id={rid(7)}"
    assert run.raw is row  # the payload as received, unknown fields included
    assert run.review_status is ReviewStatus.PENDING


def test_offsets_and_z_are_normalized_to_utc() -> None:
    run = parse(v1_row(1, start_time="2025-05-08T19:42:03+02:00", end_time="2025-05-08T17:42:05Z"))
    assert run.started_at == datetime(2025, 5, 8, 17, 42, 3, tzinfo=timezone.utc)
    assert run.ended_at is not None and run.ended_at.tzinfo is timezone.utc


def test_a_pending_run_with_nulls() -> None:
    row = v1_row(
        2,
        status="pending",
        start_time=None,
        end_time=None,
        inputs=None,
        outputs=None,
        error=None,
        extra=None,
        events=None,
        serialized=None,
        feedback_stats=None,
        tags=None,
        app_path=None,
        prompt_tokens=None,
        completion_tokens=None,
        total_tokens=None,
        prompt_cost=None,
        completion_cost=None,
        total_cost=None,
    )
    run = parse(row)
    assert run.status is RunStatus.RUNNING
    assert run.started_at is None and run.ended_at is None and run.created_at is None and run.duration is None
    assert run.metrics == {}  # unknown stays absent, never 0
    assert run.tags == () and run.url is None and run.error is None
    assert run.raw["inputs"] is None


def test_missing_start_time_field() -> None:
    row = v1_row(3)
    del row["start_time"], row["end_time"]
    assert parse(row).started_at is None


def test_zero_tokens_from_the_server_are_kept_and_a_failed_run_carries_its_error() -> None:
    run = parse(v1_row(4, status="error", error="TimeoutError('60s')", prompt_tokens=0, total_cost="0"))
    assert run.status is RunStatus.FAILED and run.error == "TimeoutError('60s')"
    assert run.metrics["input_tokens"] == 0 and run.metrics["total_cost"] == Decimal("0")


def test_unknown_run_type_and_unknown_fields_are_kept_in_raw() -> None:
    row = v1_row(5, run_type="agent", brand_new_field={"x": 1})
    run = parse(row)
    assert run.raw["run_type"] == "agent" and run.raw["brand_new_field"] == {"x": 1}
    assert run.status is RunStatus.SUCCEEDED


def test_large_extra_and_events_pass_through() -> None:
    big = {"metadata": {"blob": "x" * 200_000}}
    run = parse(v1_row(6, extra=big, events=[{"name": "new_token"}] * 1000))
    assert run.raw["extra"] is big and len(run.raw["events"]) == 1000


@pytest.mark.parametrize(
    ("over", "path"),
    [
        ({"start_time": "yesterday"}, "$.start_time"),
        ({"total_cost": "cheap"}, "$.total_cost"),
        ({"prompt_tokens": "412"}, "$.prompt_tokens"),
        ({"tags": "prod"}, "$.tags"),
    ],
)
def test_unreadable_values_name_their_path(over: dict[str, Any], path: str) -> None:
    with pytest.raises(runtrack.PayloadError) as info:
        parse(v1_row(1, **over))
    assert info.value.path == path


@pytest.mark.parametrize(
    ("fields", "review"),
    [
        ({}, ReviewStatus.PENDING),
        ({"last_reviewed_time": "2025-05-10T10:00:00"}, ReviewStatus.PENDING),
        ({"last_reviewed_time": "2025-05-10T10:00:00", "completed_by": ["3f1c"]}, ReviewStatus.REVIEWED),
        ({"completed_by": ["3f1c"]}, ReviewStatus.REVIEWED),
    ],
)
def test_review_status_without_a_filter_comes_from_the_review_fields(
    fields: dict[str, Any], review: ReviewStatus
) -> None:
    assert parse(v1_row(1, **fields), review=None).review_status is review


def test_the_filter_decides_the_review_status() -> None:
    assert parse(v1_row(1, completed_by=["x"]), review=ReviewStatus.PENDING).review_status is ReviewStatus.PENDING


def test_item_run_uses_v2_names_and_gives_the_same_uid_as_the_v1_row() -> None:
    it, v2 = item(9), v2_run(9, parent_run_ids=[rid(1), rid(2)])
    run = map_item_run(it, v2, instance=INSTANCE, queue_id=QUEUE, review=ReviewStatus.REVIEWED, web=WEB)
    assert run.uid == parse(v1_row(9)).uid
    assert run.status is RunStatus.SUCCEEDED and run.status_raw == "SUCCESS"
    assert run.parent_uid == make_uid("langsmith", INSTANCE, KIND, rid(2))  # the direct parent is the last
    assert run.scope == {"queue_id": QUEUE, "queue_run_id": qrid(9), "session_id": SESSION, "trace_id": rid(9)}
    assert run.metrics["total_cost"] == Decimal("0.0000045") and run.metrics["total_tokens"] == 15
    assert run.started_at == datetime(2026, 7, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
    assert run.review_status is ReviewStatus.REVIEWED
    assert run.raw == {"item": it, "run": v2}
    assert run.url == f"{WEB}/o/{TENANT}/projects/p/{SESSION}/r/{rid(9)}"


def test_item_without_its_run_keeps_what_the_item_knows() -> None:
    it = item(3)
    run = map_item_run(it, None, instance=INSTANCE, queue_id=QUEUE, review=ReviewStatus.PENDING, web=WEB)
    assert run.native_id == rid(3) and run.status is RunStatus.UNKNOWN and run.status_raw is None
    assert run.scope == {"queue_id": QUEUE, "queue_run_id": qrid(3), "session_id": SESSION}
    assert run.raw == {"item": it, "run": None} and run.metrics == {}


def test_runs_round_trip_through_the_converter() -> None:
    for run in (
        parse(v1_row(1)),
        map_item_run(item(2), v2_run(2), instance=INSTANCE, queue_id=QUEUE, review=ReviewStatus.PENDING, web=WEB),
    ):
        assert runtrack.load_run(runtrack.dump_run(run)) == run
