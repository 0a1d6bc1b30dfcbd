"""endpoint="auto": the deprecated /runs endpoint first, the successor /items endpoint after a 404 or 410."""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timezone
from typing import Any

import pytest
import responses
from runtrack_langsmith import LangSmithAdapter

import runtrack

from .payloads import (
    QUEUE,
    QUEUE_B,
    adapter,
    add_items_page,
    add_query,
    add_runs_page,
    calls_to,
    item,
    items_url,
    rid,
    runs_url,
    v1_row,
    v2_run,
)

GONE = {"detail": "This endpoint has been removed; use /api/v1/platform/annotation-queues/{id}/items"}


def auto_adapter(**options: Any) -> LangSmithAdapter:
    src = adapter(**options)
    src.clock = lambda: datetime(2026, 7, 10, tzinfo=timezone.utc)
    return src


def state_of(cursor: str) -> Any:
    text = cursor[len("rt1.") :]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))["s"]


@pytest.mark.parametrize("status", [404, 410])
@responses.activate
def test_a_gone_runs_endpoint_switches_to_items(status: int) -> None:
    responses.get(runs_url(), status=status, json=GONE)
    add_items_page(QUEUE, [item(0), item(1)], status="needs_my_review", next_cursor=None)
    add_query([v2_run(0), v2_run(1)])
    src = auto_adapter()
    pages = list(src.runs(queue_id=QUEUE, review_status="needs_my_review").pages())
    assert [r.native_id for p in pages for r in p.items] == [rid(0), rid(1)]
    assert state_of(pages[0].cursor)["e"] == "items"  # the cursor says which endpoint it belongs to
    assert len(calls_to(runs_url())) == 1  # a 404/410 is not retried


@responses.activate
def test_the_switch_is_remembered_for_the_queue() -> None:
    responses.get(runs_url(), status=404, json={"detail": "Not Found"})
    add_items_page(QUEUE, [], status="archived", next_cursor=None)
    add_items_page(QUEUE, [], status="archived", next_cursor=None)
    add_runs_page(QUEUE_B, 0, [v1_row(5)], status="completed")
    src = auto_adapter()
    list(src.runs(queue_id=QUEUE, review_status="completed"))
    list(src.runs(queue_id=QUEUE, review_status="completed"))
    assert len(calls_to(runs_url())) == 1 and len(calls_to(items_url())) == 2
    # a 404 may concern one queue only: another queue still starts on the deprecated endpoint
    assert [r.native_id for r in src.runs(queue_id=QUEUE_B, review_status="completed")] == [rid(5)]


@responses.activate
def test_410_gone_is_remembered_for_every_queue() -> None:
    responses.get(runs_url(), status=410, json=GONE)
    for queue in (QUEUE, QUEUE_B):
        add_items_page(queue, [], status="archived", next_cursor=None)
    src = auto_adapter()
    list(src.runs(queue_id=QUEUE, review_status="completed"))
    list(src.runs(queue_id=QUEUE_B, review_status="completed"))
    assert len(calls_to(runs_url())) == 1 and len(calls_to(runs_url(QUEUE_B))) == 0


@responses.activate
def test_a_switch_in_the_middle_restarts_the_queue_on_items(caplog: pytest.LogCaptureFixture) -> None:
    add_runs_page(QUEUE, 0, [v1_row(0), v1_row(1)], limit=2, status="needs_my_review")
    offset_2 = responses.matchers.query_param_matcher({"offset": "2"}, strict_match=False)
    responses.get(runs_url(), status=410, json=GONE, match=[offset_2])
    add_items_page(QUEUE, [item(0), item(1), item(2)], status="needs_my_review", next_cursor=None, page_size=2)
    add_query([v2_run(0), v2_run(1), v2_run(2)])
    with caplog.at_level(logging.WARNING, logger="runtrack.langsmith"):
        runs = list(auto_adapter().runs(queue_id=QUEUE, review_status="needs_my_review", page_size=2))
    # at least once: nothing is lost, the first two come again with the same uids
    assert [r.native_id for r in runs] == [rid(0), rid(1), rid(0), rid(1), rid(2)]
    assert runs[0].uid == runs[2].uid
    assert "restarting the queue there" in caplog.text


@responses.activate
def test_a_runs_cursor_resumes_on_runs_while_the_endpoint_works() -> None:
    add_runs_page(QUEUE, 0, [v1_row(0), v1_row(1)], limit=2)
    first = next(auto_adapter().runs(queue_id=QUEUE, page_size=2).pages())
    assert state_of(first.next_cursor or "")["e"] == "runs"
    responses.reset()
    add_runs_page(QUEUE, 2, [v1_row(2)], limit=2)
    rest = list(auto_adapter().runs(queue_id=QUEUE, page_size=2, cursor=first.next_cursor))
    assert [r.native_id for r in rest] == [rid(2)]


@responses.activate
def test_a_runs_cursor_after_the_endpoint_is_gone_restarts_on_items() -> None:
    add_runs_page(QUEUE, 0, [v1_row(0), v1_row(1)], limit=2)
    first = next(auto_adapter().runs(queue_id=QUEUE, page_size=2).pages())
    responses.reset()
    responses.get(runs_url(), status=410, json=GONE)
    add_items_page(QUEUE, [item(0)], status="needs_my_review", next_cursor=None, page_size=2)
    add_items_page(QUEUE, [], status="needs_others_review", next_cursor=None, page_size=2)
    add_items_page(QUEUE, [], status="archived", next_cursor=None, page_size=2)
    add_query([v2_run(0)])
    rest = list(auto_adapter().runs(queue_id=QUEUE, page_size=2, cursor=first.next_cursor))
    assert [r.native_id for r in rest] == [rid(0)]


@responses.activate
def test_an_items_cursor_continues_on_items_without_asking_runs() -> None:
    responses.get(runs_url(), status=404, json={"detail": "Not Found"})
    add_items_page(QUEUE, [item(0)], status="archived", next_cursor="c2")
    add_query([v2_run(0)])
    first = next(auto_adapter().runs(queue_id=QUEUE, review_status="completed").pages())
    responses.reset()
    add_items_page(QUEUE, [item(1)], status="archived", next_cursor=None, cursor="c2")
    add_query([v2_run(1)])
    fresh = auto_adapter()  # a new process: nothing remembered, the cursor alone decides
    rest = list(fresh.runs(queue_id=QUEUE, review_status="completed", cursor=first.next_cursor))
    assert [r.native_id for r in rest] == [rid(1)] and len(calls_to(runs_url())) == 0


@responses.activate
def test_a_cursor_of_the_other_endpoint_is_refused_when_the_endpoint_is_fixed() -> None:
    add_runs_page(QUEUE, 0, [v1_row(0)], limit=1)
    first = next(auto_adapter().runs(queue_id=QUEUE, page_size=1).pages())
    with pytest.raises(runtrack.PaginationError, match="endpoint='auto' or endpoint='runs'"):
        list(auto_adapter(endpoint="items").runs(queue_id=QUEUE, page_size=1, cursor=first.next_cursor))


@responses.activate
def test_when_both_endpoints_say_not_found_the_error_is_the_items_one() -> None:
    responses.get(runs_url(), status=404, json={"detail": "Not Found"})
    responses.get(items_url(), status=404, json={"detail": "Annotation queue not found"})
    with pytest.raises(runtrack.NotFoundError, match="Annotation queue not found") as info:
        list(auto_adapter().runs(queue_id=QUEUE, review_status="completed"))
    assert "platform/annotation-queues" in str(info.value)


@responses.activate
def test_other_errors_do_not_switch() -> None:
    responses.get(runs_url(), status=403, json={"detail": "Forbidden"})
    with pytest.raises(runtrack.AuthenticationError):
        list(auto_adapter().runs(queue_id=QUEUE))
    assert len(calls_to(items_url())) == 0
