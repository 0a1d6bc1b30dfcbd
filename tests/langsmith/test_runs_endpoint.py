"""The deprecated GET /api/v1/annotation-queues/{id}/runs: offset/limit paging and the §2.2 edge cases."""

from __future__ import annotations

import pytest
import responses

import runtrack
from runtrack import ReviewStatus

from .payloads import QUEUE, TENANT, adapter, add_runs_page, add_runs_pages, calls_to, rid, runs_url, v1_row

ENDPOINT_RUNS = {"endpoint": "runs"}
LIMIT_MSG = "Input should be less than or equal to 100"


@responses.activate
def test_empty_queue_is_one_request() -> None:
    add_runs_page(QUEUE, 0, [])
    assert list(adapter().runs(queue_id=QUEUE)) == []
    assert len(responses.calls) == 1


@responses.activate
def test_a_short_last_page_ends_the_listing() -> None:
    add_runs_pages(QUEUE, 250)
    runs = list(adapter().runs(queue_id=QUEUE))
    assert [r.native_id for r in runs] == [rid(i) for i in range(250)]
    assert len(responses.calls) == 3  # offsets 0, 99, 198 (52 rows): no extra request


@responses.activate
def test_an_exact_multiple_of_the_page_size_ends_on_the_overlapping_short_page() -> None:
    add_runs_pages(QUEUE, 200)
    assert len(list(adapter().runs(queue_id=QUEUE))) == 200
    offsets = [c.request.params["offset"] for c in responses.calls]
    assert offsets == ["0", "99", "198"]  # the overlap makes the last page short: no empty page needed


@pytest.mark.parametrize(("asked", "sent"), [(500, 100), (100, 100), (7, 7), (1, 1), (None, 100)])
@responses.activate
def test_page_size_is_clamped_to_the_vendor_limit(asked: int | None, sent: int) -> None:
    add_runs_page(QUEUE, 0, [], limit=sent)
    list(adapter().runs(queue_id=QUEUE, page_size=asked))
    assert responses.calls[0].request.params["limit"] == str(sent)


@responses.activate
def test_422_validation_error_is_readable() -> None:
    responses.get(
        runs_url(),
        status=422,
        json={
            "detail": [
                {
                    "loc": ["query", "limit"],
                    "msg": "Input should be less than or equal to 100",
                    "type": "less_than_equal",
                }
            ]
        },
    )
    with pytest.raises(runtrack.RequestError) as info:
        list(adapter().runs(queue_id=QUEUE))
    err = info.value
    assert err.status_code == 422 and err.vendor_code == "less_than_equal" and err.platform == "langsmith"
    assert f"query.limit: {LIMIT_MSG}" in str(err)
    assert err.cursor is not None and len(responses.calls) == 1  # a 422 is not retried


@responses.activate
def test_offset_drift_duplicates_are_dropped_by_id_and_counted() -> None:
    # Between the two requests a run was removed from the front: offset 3 now starts with the third run again.
    add_runs_page(QUEUE, 0, [v1_row(0), v1_row(1), v1_row(2)], limit=3)
    add_runs_page(QUEUE, 3, [v1_row(2), v1_row(3), v1_row(4)], limit=3)
    add_runs_page(QUEUE, 6, [v1_row(5)], limit=3)
    it = adapter().runs(queue_id=QUEUE, page_size=3)
    assert [r.native_id for r in it] == [rid(i) for i in range(6)]
    assert it.duplicates == 1


@responses.activate
def test_429_with_retry_after_waits_as_told(no_sleep: list[float]) -> None:
    responses.get(runs_url(), status=429, json={"detail": "Too many requests"}, headers={"Retry-After": "7"})
    add_runs_page(QUEUE, 0, [v1_row(1)])
    assert [r.native_id for r in adapter().runs(queue_id=QUEUE)] == [rid(1)]
    assert no_sleep == [7.0]


@responses.activate
def test_429_without_retry_after_backs_off(no_sleep: list[float]) -> None:
    responses.get(runs_url(), status=429, json={"detail": "Too many requests"})
    responses.get(runs_url(), status=429, body="rate limited")
    add_runs_page(QUEUE, 0, [v1_row(1)])
    assert len(list(adapter().runs(queue_id=QUEUE))) == 1
    assert len(no_sleep) == 2 and 0 < no_sleep[0] <= 0.5 and no_sleep[0] < no_sleep[1] <= 1.0


@responses.activate
def test_429_after_the_retries_carries_a_resume_cursor() -> None:
    add_runs_page(QUEUE, 0, [v1_row(0), v1_row(1)], limit=2)
    responses.get(runs_url(), status=429, json={"detail": "slow down"}, headers={"Retry-After": "3"})
    src = adapter(max_retries=1)
    seen = []
    with pytest.raises(runtrack.RateLimitError) as info:
        for run in src.runs(queue_id=QUEUE, page_size=2):
            seen.append(run.native_id)
    assert seen == [rid(0), rid(1)]
    assert info.value.retry_after == 3.0 and info.value.cursor is not None
    assert len(calls_to(runs_url())) == 3  # the first page, then one try and one retry
    responses.reset()
    add_runs_page(QUEUE, 2, [v1_row(2)], limit=2)
    assert [r.native_id for r in src.runs(queue_id=QUEUE, page_size=2, cursor=info.value.cursor)] == [rid(2)]


@responses.activate
def test_org_scoped_key_asks_for_the_workspace_id() -> None:
    responses.get(runs_url(), status=403, json={"error": "org_scoped_key_requires_workspace"})
    with pytest.raises(runtrack.AuthenticationError) as info:
        list(adapter().runs(queue_id=QUEUE))
    err = info.value
    assert err.status_code == 403 and err.vendor_code == "org_scoped_key_requires_workspace"
    assert "LANGSMITH_WORKSPACE_ID" in str(err) and "workspace_id=" in str(err)
    assert len(responses.calls) == 1  # not retried


@responses.activate
def test_org_scoped_key_with_a_wrong_workspace_says_which_was_sent() -> None:
    responses.get(runs_url(), status=403, json={"error": "org_scoped_key_requires_workspace", "message": "nope"})
    with pytest.raises(runtrack.AuthenticationError, match=f"X-Tenant-Id={TENANT}"):
        list(adapter(workspace_id=TENANT).runs(queue_id=QUEUE))


@responses.activate
def test_other_errors_show_the_detail_without_the_key() -> None:
    responses.get(runs_url(), status=401, json={"detail": "Invalid token"})
    with pytest.raises(runtrack.AuthenticationError) as info:
        list(adapter().runs(queue_id=QUEUE))
    assert "Invalid token" in str(info.value) and "lsv2_pt_s3cret" not in str(info.value)


@responses.activate
def test_review_status_and_archived_are_sent() -> None:
    add_runs_page(QUEUE, 0, [v1_row(1)], status="completed", archived="false")
    [run] = adapter().runs(queue_id=QUEUE, review_status="Completed", archived=False)
    assert run.review_status is ReviewStatus.REVIEWED


@responses.activate
def test_needs_my_review_is_pending() -> None:
    add_runs_page(QUEUE, 0, [v1_row(1, completed_by=["someone"])], status="needs_my_review")
    [run] = adapter().runs(queue_id=QUEUE, review_status="needs_my_review")
    assert run.review_status is ReviewStatus.PENDING


@responses.activate
def test_max_items_stops_inside_a_page_and_the_cursor_resumes_after_it() -> None:
    add_runs_page(QUEUE, 0, [v1_row(i) for i in range(5)], limit=5)
    pages = list(adapter().runs(queue_id=QUEUE, page_size=5, max_items=2).pages())
    assert [r.native_id for r in pages[0].items] == [rid(0), rid(1)]
    assert len(responses.calls) == 1
    add_runs_page(QUEUE, 4, [v1_row(4)], limit=5)  # the page after a full one overlaps it by a run
    rest = [r.native_id for r in adapter().runs(queue_id=QUEUE, page_size=5, cursor=pages[-1].next_cursor)]
    assert rest == [rid(2), rid(3), rid(4)]


@responses.activate
def test_a_cursor_fits_the_same_scope_however_it_is_spelled() -> None:
    add_runs_page(QUEUE, 0, [v1_row(0)], limit=1, status="completed")
    first = next(adapter().runs(queue_id=QUEUE, review_status="Completed", page_size=1).pages())
    add_runs_page(QUEUE, 1, [], limit=1, status="completed")
    assert (
        list(adapter().runs(queue_id=f" {QUEUE}", review_status="completed", page_size=1, cursor=first.next_cursor))
        == []
    )
    with pytest.raises(runtrack.PaginationError, match="belongs to the listing"):
        adapter().runs(queue_id=QUEUE, review_status="needs_my_review", cursor=first.next_cursor)


@responses.activate
def test_a_row_without_id_names_its_place_and_the_cursor() -> None:
    add_runs_page(QUEUE, 0, [v1_row(0), {"name": "broken"}])
    with pytest.raises(runtrack.PayloadError) as info:
        list(adapter().runs(queue_id=QUEUE))
    assert info.value.path == "$[1]" and info.value.cursor is not None


@responses.activate
def test_an_object_instead_of_an_array_is_a_payload_error() -> None:
    responses.get(runs_url(), json={"runs": []})
    with pytest.raises(runtrack.PayloadError, match="expected a JSON array"):
        list(adapter().runs(queue_id=QUEUE))


@responses.activate
def test_endpoint_runs_never_falls_back() -> None:
    responses.get(runs_url(), status=404, json={"detail": "Not Found"})
    with pytest.raises(runtrack.NotFoundError):
        list(adapter(**ENDPOINT_RUNS).runs(queue_id=QUEUE))
    assert len(responses.calls) == 1
