"""The successor GET /api/v1/platform/annotation-queues/{id}/items, hydrated through POST /api/v2/runs/query."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
import responses
from runtrack_langsmith import LangSmithAdapter
from runtrack_langsmith.hydrate import SELECTS

import runtrack
from runtrack import ReviewStatus, RunStatus

from .payloads import (
    PROJECT_B,
    QUERY_URL,
    QUEUE,
    SESSION,
    adapter,
    add_items_page,
    add_query,
    bodies,
    calls_to,
    item,
    items_url,
    rid,
    v2_run,
)

NOW = datetime(2026, 7, 10, 9, 30, tzinfo=timezone.utc)


def items_adapter(**options: object) -> LangSmithAdapter:
    src = adapter(endpoint="items", **options)
    src.clock = lambda: NOW
    return src


@responses.activate
def test_items_are_hydrated_in_item_order_with_an_explicit_window() -> None:
    add_items_page(
        QUEUE, [item(0), item(1), item(2, start="2026-06-20T08:00:00Z")], status="needs_my_review", next_cursor="c2"
    )
    add_items_page(QUEUE, [item(3)], status="needs_my_review", next_cursor=None, cursor="c2")
    add_query([v2_run(2), v2_run(0), v2_run(1, status="ERROR", error="boom")], ids=[rid(0), rid(1), rid(2)])
    add_query([v2_run(3, status="pending")], ids=[rid(3)])
    runs = list(items_adapter().runs(queue_id=QUEUE, review_status="needs_my_review"))
    assert [r.native_id for r in runs] == [rid(0), rid(1), rid(2), rid(3)]
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SUCCEEDED, RunStatus.RUNNING]
    assert runs[1].error == "boom" and all(r.review_status is ReviewStatus.PENDING for r in runs)
    first, second = bodies(QUERY_URL)
    assert first["project_ids"] == [SESSION] and first["ids"] == [rid(0), rid(1), rid(2)]
    # the v2 query only looks one day back unless told: the window is always explicit
    assert first["min_start_time"] == "2026-06-19T08:00:00Z"  # earliest item start minus a day
    assert first["max_start_time"] == "2026-07-11T09:30:00Z"  # now plus a day
    assert first["selects"] == list(SELECTS) and {"ID", "INPUTS", "OUTPUTS", "APP_PATH"} <= set(SELECTS)
    assert first["page_size"] == 3 and "cursor" not in first
    assert second["ids"] == [rid(3)] and second["min_start_time"] == "2026-06-30T12:00:00.123456Z"
    item_calls = calls_to(items_url())
    assert item_calls[0].request.params == {"status": "needs_my_review", "item_type": "RUN", "page_size": "100"}
    assert item_calls[1].request.params["cursor"] == "c2"


@responses.activate
def test_an_item_without_start_time_widens_the_window_to_all_history() -> None:
    add_items_page(QUEUE, [item(0, start=None), item(1)], status="archived", next_cursor=None)
    add_query([v2_run(0), v2_run(1)])
    runs = list(items_adapter().runs(queue_id=QUEUE, review_status="completed"))
    assert [r.review_status for r in runs] == [ReviewStatus.REVIEWED] * 2
    [body] = bodies(QUERY_URL)
    assert body["min_start_time"] == "2000-01-01T00:00:00Z"


@responses.activate
def test_runs_of_several_projects_go_in_one_query() -> None:
    add_items_page(QUEUE, [item(0), item(1, project=PROJECT_B), item(2)], status="archived", next_cursor=None)
    add_query([v2_run(0), v2_run(1, project=PROJECT_B), v2_run(2)])
    runs = list(items_adapter().runs(queue_id=QUEUE, review_status="completed"))
    assert [r.scope["session_id"] for r in runs] == [SESSION, PROJECT_B, SESSION]
    [body] = bodies(QUERY_URL)
    assert body["project_ids"] == sorted([SESSION, PROJECT_B])


@responses.activate
def test_the_run_query_follows_next_cursor_in_the_body() -> None:
    add_items_page(QUEUE, [item(0), item(1)], status="archived", next_cursor=None)
    add_query([v2_run(1)], next_cursor="q2")
    add_query([v2_run(0)], cursor="q2")
    runs = list(items_adapter().runs(queue_id=QUEUE, review_status="completed"))
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]
    first, second = bodies(QUERY_URL)
    assert second == {**first, "cursor": "q2"}


@responses.activate
def test_runs_the_query_does_not_return_are_kept_from_the_item(caplog: pytest.LogCaptureFixture) -> None:
    add_items_page(QUEUE, [item(0), item(1), item(2, project_id=None)], status="archived", next_cursor=None)
    add_query([v2_run(0)], ids=[rid(0), rid(1)])  # item 2 has no project: it cannot be queried
    src = items_adapter()
    with caplog.at_level(logging.WARNING, logger="runtrack.langsmith"):
        runs = list(src.runs(queue_id=QUEUE, review_status="completed"))
    assert [r.native_id for r in runs] == [rid(0), rid(1), rid(2)]
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.UNKNOWN, RunStatus.UNKNOWN]
    assert runs[1].raw == {"item": item(1), "run": None}
    assert "2 run(s) named by queue items were not returned" in caplog.text


@responses.activate
def test_non_run_items_are_left_out_and_max_items_still_resumes_at_the_right_item() -> None:
    thread = item(1, item_type="THREAD", run_id=None, thread_id="t-1")
    example = item(4, run_id=None, source_proposed_example_id="ex-1")
    add_items_page(QUEUE, [item(0), thread, item(2), item(3), example], status="archived", next_cursor=None)
    add_query([v2_run(0), v2_run(2), v2_run(3)])
    pages = list(items_adapter().runs(queue_id=QUEUE, review_status="completed", max_items=2).pages())
    assert [r.native_id for p in pages for r in p.items] == [rid(0), rid(2)]
    assert pages[-1].next_cursor is not None
    responses.reset()
    add_items_page(QUEUE, [item(0), thread, item(2), item(3), example], status="archived", next_cursor=None)
    add_query([v2_run(3)], ids=[rid(3)])
    rest = list(items_adapter().runs(queue_id=QUEUE, review_status="completed", cursor=pages[-1].next_cursor))
    assert [r.native_id for r in rest] == [rid(3)]


@responses.activate
def test_the_read_only_query_post_is_retried(no_sleep: list[float]) -> None:
    add_items_page(QUEUE, [item(0)], status="archived", next_cursor=None)
    responses.post(QUERY_URL, status=503, body="upstream busy")
    add_query([v2_run(0)])
    [run] = items_adapter().runs(queue_id=QUEUE, review_status="completed")
    assert run.status is RunStatus.SUCCEEDED
    assert len(calls_to(QUERY_URL)) == 2 and len(no_sleep) == 1


@responses.activate
def test_without_review_status_every_section_is_listed_in_turn() -> None:
    add_items_page(QUEUE, [item(0)], status="needs_my_review", next_cursor=None)
    add_items_page(QUEUE, [], status="needs_others_review", next_cursor=None)
    add_items_page(QUEUE, [item(2)], status="archived", next_cursor=None)
    add_query([v2_run(0)], ids=[rid(0)])
    add_query([v2_run(2)], ids=[rid(2)])
    runs = list(items_adapter().runs(queue_id=QUEUE))
    assert [(r.native_id, r.review_status) for r in runs] == [
        (rid(0), ReviewStatus.PENDING),
        (rid(2), ReviewStatus.REVIEWED),
    ]


@pytest.mark.parametrize(
    ("archived", "sections"),
    [(True, ["archived"]), (False, ["needs_my_review", "needs_others_review"])],
)
@responses.activate
def test_archived_chooses_the_sections(archived: bool, sections: list[str]) -> None:
    for section in sections:
        add_items_page(QUEUE, [], status=section, next_cursor=None)
    assert list(items_adapter().runs(queue_id=QUEUE, archived=archived)) == []
    assert [c.request.params["status"] for c in responses.calls] == sections


@responses.activate
def test_resume_inside_the_sections_from_a_saved_cursor() -> None:
    add_items_page(QUEUE, [item(0)], status="needs_my_review", next_cursor="c2")
    add_query([v2_run(0)])
    first = next(items_adapter().runs(queue_id=QUEUE).pages())
    assert [r.native_id for r in first.items] == [rid(0)] and first.next_cursor is not None
    responses.reset()
    add_items_page(QUEUE, [item(1)], status="needs_my_review", next_cursor=None, cursor="c2")
    add_items_page(QUEUE, [item(2)], status="needs_others_review", next_cursor=None)
    add_items_page(QUEUE, [], status="archived", next_cursor=None)
    add_query([v2_run(1)], ids=[rid(1)])
    add_query([v2_run(2)], ids=[rid(2)])
    rest = list(items_adapter().runs(queue_id=QUEUE, cursor=first.next_cursor))
    assert [r.native_id for r in rest] == [rid(1), rid(2)]
    assert calls_to(items_url())[0].request.params["cursor"] == "c2"


@responses.activate
def test_an_empty_page_that_carries_a_cursor_continues() -> None:
    add_items_page(QUEUE, [], status="archived", next_cursor="c2")
    add_items_page(QUEUE, [item(0)], status="archived", next_cursor=None, cursor="c2")
    add_query([v2_run(0)])
    assert len(list(items_adapter().runs(queue_id=QUEUE, review_status="completed"))) == 1


@responses.activate
def test_page_size_is_clamped_on_the_items_endpoint() -> None:
    add_items_page(QUEUE, [], status="archived", next_cursor=None, page_size=100)
    list(items_adapter().runs(queue_id=QUEUE, review_status="completed", page_size=1000))
    assert responses.calls[0].request.params["page_size"] == "100"


@responses.activate
def test_an_unreadable_hydrated_run_names_the_query_and_path() -> None:
    add_items_page(QUEUE, [item(0)], status="archived", next_cursor=None)
    add_query([v2_run(0, start_time="not a time")])
    with pytest.raises(runtrack.PayloadError) as info:
        list(items_adapter().runs(queue_id=QUEUE, review_status="completed"))
    assert "POST api/v2/runs/query" in str(info.value) and info.value.path == "$.items[0].start_time"
    assert info.value.cursor is not None


@responses.activate
def test_a_project_the_query_cannot_find_is_a_clear_error() -> None:
    add_items_page(QUEUE, [item(0)], status="archived", next_cursor=None)
    responses.post(
        QUERY_URL,
        status=404,
        json={"type": "about:blank", "title": "Not Found", "status": 404, "detail": "session not found"},
    )
    with pytest.raises(runtrack.NotFoundError, match="Not Found: session not found") as info:
        list(items_adapter().runs(queue_id=QUEUE, review_status="completed"))
    assert "POST api/v2/runs/query" in str(info.value)
