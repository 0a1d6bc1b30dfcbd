"""enrich_end_times: ended_at from the Orchestration builds (getBatch, <= 100 per request, cached when finished)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import responses
from runtrack_foundry import FoundryAdapter

import runtrack

from .conftest import BASE, STUDIO_A, STUDIO_B, TOKEN, add_runs_page, run_item

BATCH_URL = f"{BASE}/api/v2/orchestration/builds/getBatch"
STARTED = datetime(2026, 7, 1, 10, 1, 0, 123000, tzinfo=timezone.utc)


def build(rid: str, status: str, finished: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "rid": rid,
        "branchName": "master",
        "createdTime": "2026-07-01T10:00:00Z",
        "createdBy": "u",
        "fallbackBranches": [],
        "jobRids": [],
        "retryCount": 0,
        "retryBackoffDuration": {"unit": "SECONDS", "value": 30},
        "abortOnFailure": False,
        "status": status,
    }
    if finished is not None:
        body["finishedTime"] = finished
    return body


def bid(n: int, studio: str = "a") -> str:
    return f"ri.foundry-build.main.build.{studio}-{n}"


def batch_rids(call: Any) -> list[str]:
    return [entry["buildRid"] for entry in json.loads(call.request.body)]


@pytest.fixture
def enriched() -> FoundryAdapter:
    return FoundryAdapter(
        base_url=BASE, api_key=TOKEN, model_studios=[STUDIO_A, STUDIO_B], enrich_end_times=True, environ={}
    )


def test_disabled_by_default_and_then_no_build_request(http: Any, foundry: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1)])
    runs = list(foundry.runs(model_studio_rid=STUDIO_A))
    assert runs[0].ended_at is None and len(http.calls) == 1


def test_finished_builds_fill_ended_at(http: Any, enriched: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1), run_item(2, status="RUNNING"), run_item(3), run_item(4, status="FAILED")])
    http.post(
        BATCH_URL,
        json={
            "data": {
                bid(1): build(bid(1), "SUCCEEDED", "2026-07-01T10:31:00.123Z"),
                bid(2): build(bid(2), "RUNNING", "2003-05-06T12:34:56.789Z"),  # the docs example does this
                # bid(3) is missing: no access, or deleted
                bid(4): build(bid(4), "FAILED", "2026-07-01T12:04:00+02:00"),
            }
        },
    )
    runs = list(enriched.runs(model_studio_rid=STUDIO_A))
    assert batch_rids(http.calls[1]) == [bid(1), bid(2), bid(3), bid(4)]
    assert "preview" not in http.calls[1].request.url  # the builds API is GA
    assert runs[0].ended_at == datetime(2026, 7, 1, 10, 31, 0, 123000, tzinfo=timezone.utc)
    assert runs[0].duration == timedelta(minutes=30)
    assert runs[1].ended_at is None and runs[2].ended_at is None
    assert runs[3].ended_at == datetime(2026, 7, 1, 10, 4, tzinfo=timezone.utc)
    assert runs[0].raw == run_item(1)  # the vendor payload is untouched
    assert runs[1].started_at == STARTED.replace(minute=2)


def test_batches_of_at_most_100(http: Any, enriched: FoundryAdapter) -> None:
    items = [run_item(i) for i in range(150)]
    add_runs_page(STUDIO_A, items)
    data = {bid(i): build(bid(i), "SUCCEEDED", "2026-07-01T11:00:00Z") for i in range(150)}
    http.post(BATCH_URL, json={"data": {k: v for k, v in data.items() if int(k.rsplit("-", 1)[1]) < 100}})
    http.post(BATCH_URL, json={"data": {k: v for k, v in data.items() if int(k.rsplit("-", 1)[1]) >= 100}})
    runs = list(enriched.runs(model_studio_rid=STUDIO_A))
    assert [len(batch_rids(c)) for c in http.calls[1:]] == [100, 50]
    assert all(r.ended_at is not None for r in runs)
    assert enriched.end_times.requests == 2


def test_finished_builds_are_cached_running_ones_asked_again(enriched: FoundryAdapter) -> None:
    with responses.RequestsMock() as mock:
        add_runs_page(STUDIO_A, [run_item(1), run_item(2, status="RUNNING")], mock=mock)
        builds = {bid(1): build(bid(1), "SUCCEEDED", "2026-07-01T11:00:00Z"), bid(2): build(bid(2), "RUNNING", None)}
        mock.post(BATCH_URL, json={"data": builds})
        first = list(enriched.runs(model_studio_rid=STUDIO_A))
    with responses.RequestsMock() as mock:
        add_runs_page(STUDIO_A, [run_item(1), run_item(2)], mock=mock)
        mock.post(BATCH_URL, json={"data": {bid(2): build(bid(2), "SUCCEEDED", "2026-07-01T12:00:00Z")}})
        second = list(enriched.runs(model_studio_rid=STUDIO_A))
        assert batch_rids(mock.calls[1]) == [bid(2)]  # bid(1) came from the cache
    assert first[0].ended_at == second[0].ended_at is not None
    assert first[1].ended_at is None and second[1].ended_at == datetime(2026, 7, 1, 12, tzinfo=timezone.utc)


def test_enrichment_works_across_the_fan_out_and_resume(http: Any, enriched: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1)])
    add_runs_page(STUDIO_B, [run_item(1, studio="b")])
    http.post(BATCH_URL, json={"data": {bid(1): build(bid(1), "CANCELED", "2026-07-01T11:00:00Z")}})
    http.post(BATCH_URL, json={"data": {bid(1, "b"): build(bid(1, "b"), "SUCCEEDED", "2026-07-01T11:00:00Z")}})
    pages = list(enriched.runs().pages())
    assert [p.items[0].ended_at is not None for p in pages] == [True, True]
    assert pages[-1].next_cursor is None


def test_a_refused_build_request_is_typed_and_resumable(http: Any, enriched: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1)])
    http.post(
        BATCH_URL,
        status=403,
        json={
            "errorCode": "PERMISSION_DENIED",
            "errorName": "ApiUsageDenied",
            "errorInstanceId": "x",
            "parameters": {},
        },
    )
    with pytest.raises(runtrack.AuthenticationError) as info:
        list(enriched.runs(model_studio_rid=STUDIO_A))
    assert info.value.vendor_code == "ApiUsageDenied" and info.value.cursor is not None
    assert "getBatch" in str(info.value)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"data": [1]}, "$.data"),
        ({"data": {bid(1): build(bid(1), "SUCCEEDED", "not a time")}}, f"$.data[{bid(1)!r}].finishedTime"),
    ],
)
def test_an_unreadable_build_answer_names_the_path(http: Any, enriched: FoundryAdapter, body: Any, path: str) -> None:
    add_runs_page(STUDIO_A, [run_item(1)])
    http.post(BATCH_URL, json=body)
    with pytest.raises(runtrack.PayloadError) as info:
        list(enriched.runs(model_studio_rid=STUDIO_A))
    assert info.value.path == path
