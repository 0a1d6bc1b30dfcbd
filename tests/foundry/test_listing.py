"""Listing runs: preview=true, page tokens, every end/continue rule of vendor-apis §3.4, fan-out and resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from runtrack_foundry import MAX_PAGE_SIZE, FoundryAdapter

import runtrack

from .conftest import BASE, STUDIO_A, STUDIO_B, TOKEN, add_runs_page, page, query, run_item, runs_url


def ids(runs: Any) -> list[str]:
    return [r.native_id for r in runs]


def test_every_request_carries_preview_page_size_token_and_config_version(http: Any, foundry: FoundryAdapter) -> None:
    http.get(
        runs_url(STUDIO_A),
        json=page([run_item(1), run_item(2)], "t1"),
        match=[query(pageSize=2, configVersion=3)],
    )
    http.get(
        runs_url(STUDIO_A),
        json=page([run_item(3)]),
        match=[query(pageSize=2, configVersion=3, pageToken="t1")],
    )
    runs = list(foundry.runs(model_studio_rid=STUDIO_A, config_version=3, page_size=2))
    assert ids(runs) == ["a-run-1", "a-run-2", "a-run-3"]


def test_page_size_is_clamped_to_the_cap(http: Any, foundry: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1)], size=MAX_PAGE_SIZE)
    assert ids(foundry.runs(model_studio_rid=STUDIO_A, page_size=MAX_PAGE_SIZE * 50)) == ["a-run-1"]


def test_max_items_is_not_the_wire_page_size(http: Any, foundry: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(i) for i in range(5)], "t1")
    runs = list(foundry.runs(model_studio_rid=STUDIO_A, max_items=3))
    assert ids(runs) == ["a-run-0", "a-run-1", "a-run-2"]


@pytest.mark.parametrize("end", ["absent", None, ""], ids=["absent", "null", "empty-string"])
def test_listing_ends_on_absent_null_or_empty_token(http: Any, foundry: FoundryAdapter, end: Any) -> None:
    body: dict[str, Any] = {"data": [run_item(1)]}
    if end != "absent":
        body["nextPageToken"] = end
    http.get(runs_url(STUDIO_A), json=body, match=[query(pageSize=1000)])
    pages = list(foundry.runs(model_studio_rid=STUDIO_A).pages())
    assert len(pages) == 1 and pages[0].next_cursor is None
    assert ids(pages[0].items) == ["a-run-1"]


def test_an_empty_page_with_a_token_continues(http: Any, foundry: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1)], "t1")
    add_runs_page(STUDIO_A, [], "t2", page_token="t1")
    add_runs_page(STUDIO_A, [run_item(2)], page_token="t2")
    assert ids(foundry.runs(model_studio_rid=STUDIO_A)) == ["a-run-1", "a-run-2"]


@pytest.mark.parametrize("data", ["missing", None], ids=["missing", "null"])
def test_null_or_missing_data_is_an_empty_page(http: Any, foundry: FoundryAdapter, data: Any) -> None:
    first: dict[str, Any] = {"nextPageToken": "t1"}
    if data != "missing":
        first["data"] = data
    http.get(runs_url(STUDIO_A), json=first, match=[query(pageSize=1000)])
    http.get(runs_url(STUDIO_A), json={"data": None}, match=[query(pageSize=1000, pageToken="t1")])
    pages = list(foundry.runs(model_studio_rid=STUDIO_A).pages())
    assert [len(p.items) for p in pages] == [0, 0]
    assert pages[-1].next_cursor is None


def test_a_repeated_token_raises_pagination_error_with_a_cursor(http: Any, foundry: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1)], "t1")
    add_runs_page(STUDIO_A, [run_item(2)], "t2", page_token="t1")
    add_runs_page(STUDIO_A, [run_item(3)], "t1", page_token="t2")  # back to a token it already gave
    got: list[str] = []
    with pytest.raises(runtrack.PaginationError, match="repeated") as info:
        for run in foundry.runs(model_studio_rid=STUDIO_A):
            got.append(run.native_id)
    # the page that handed back an old token is not delivered; the cursor re-fetches it (nothing lost or doubled)
    assert got == ["a-run-1", "a-run-2"]
    assert info.value.cursor is not None
    http.reset()  # the server behaves again
    add_runs_page(STUDIO_A, [run_item(3)], page_token="t2")
    assert [r.native_id for r in foundry.runs(model_studio_rid=STUDIO_A, cursor=info.value.cursor)] == ["a-run-3"]


def test_a_token_that_is_not_a_string_is_a_payload_error(http: Any, foundry: FoundryAdapter) -> None:
    http.get(runs_url(STUDIO_A), json=page([run_item(1)], 12345), match=[query(pageSize=1000)])
    with pytest.raises(runtrack.PayloadError, match="nextPageToken"):
        list(foundry.runs(model_studio_rid=STUDIO_A))


def test_a_body_that_is_not_a_page_is_a_payload_error(http: Any, foundry: FoundryAdapter) -> None:
    http.get(runs_url(STUDIO_A), json={"data": {"runId": "x"}}, match=[query(pageSize=1000)])
    with pytest.raises(runtrack.PayloadError) as info:
        list(foundry.runs(model_studio_rid=STUDIO_A))
    assert info.value.path == "$.data"


def test_an_unreadable_item_names_its_json_path_and_resume_cursor(http: Any, foundry: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1)], "t1")
    add_runs_page(STUDIO_A, [run_item(2), run_item(3, startedTime="yesterday")], page_token="t1")
    got: list[str] = []
    with pytest.raises(runtrack.PayloadError) as info:
        for run in foundry.runs(model_studio_rid=STUDIO_A):
            got.append(run.native_id)
    assert got == ["a-run-1"]
    assert info.value.path == "$.data[1].startedTime"
    assert "$.data[1].startedTime" in str(info.value) and "yesterday" in str(info.value)
    # the cursor re-fetches the failing page
    add_runs_page(STUDIO_A, [run_item(2), run_item(3)], page_token="t1")
    assert info.value.cursor is not None
    assert ids(foundry.runs(model_studio_rid=STUDIO_A, cursor=info.value.cursor)) == ["a-run-2", "a-run-3"]


def test_unknown_config_version_is_an_error_not_an_empty_result(http: Any, foundry: FoundryAdapter) -> None:
    http.get(
        runs_url(STUDIO_A),
        status=404,
        json={
            "errorCode": "NOT_FOUND",
            "errorName": "ModelStudioConfigVersionNotFound",
            "errorInstanceId": "00813215-0844-4716-be7b-a3fe0fce9e42",
            "parameters": {"studioRid": STUDIO_A, "configVersion": 99},
        },
        match=[query(pageSize=1000, configVersion=99)],
    )
    with pytest.raises(runtrack.NotFoundError) as info:
        list(foundry.runs(model_studio_rid=STUDIO_A, config_version=99))
    err = info.value
    assert err.vendor_code == "ModelStudioConfigVersionNotFound" and err.status_code == 404
    assert "configVersion=99" in str(err) and "not an empty result" in str(err)


# --------------------------------------------------------------------------- fan-out over configured studios


def add_two_studios(mock: Any = responses) -> None:
    add_runs_page(STUDIO_A, [run_item(1), run_item(2)], "a1", mock=mock)
    add_runs_page(STUDIO_A, [run_item(3)], page_token="a1", mock=mock)
    add_runs_page(STUDIO_B, [run_item(1, studio="b")], "b1", mock=mock)
    add_runs_page(STUDIO_B, [], "b2", page_token="b1", mock=mock)
    add_runs_page(STUDIO_B, [run_item(2, studio="b")], page_token="b2", mock=mock)


def test_fan_out_lists_every_configured_studio_in_order(http: Any, foundry: FoundryAdapter) -> None:
    add_two_studios()
    runs = list(foundry.runs())
    assert ids(runs) == ["a-run-1", "a-run-2", "a-run-3", "b-run-1", "b-run-2"]
    assert [r.scope["model_studio_rid"] for r in runs] == [STUDIO_A] * 3 + [STUDIO_B] * 2


def test_fan_out_passes_the_config_version_filter_to_every_studio(http: Any, foundry: FoundryAdapter) -> None:
    http.get(
        runs_url(STUDIO_A), json=page([run_item(1, configVersion=2)]), match=[query(pageSize=1000, configVersion=2)]
    )
    http.get(runs_url(STUDIO_B), json=page([]), match=[query(pageSize=1000, configVersion=2)])
    runs = list(foundry.runs(config_version="2"))
    assert [r.scope["config_version"] for r in runs] == ["2"]


@pytest.mark.parametrize("stop_after", [1, 2, 3, 4])
def test_resume_across_studios_after_a_restart(tmp_path: Path, stop_after: int) -> None:
    """Save the cursor after ``stop_after`` pages, rebuild everything, resume: every run exactly once."""
    expected = ["a-run-1", "a-run-2", "a-run-3", "b-run-1", "b-run-2"]
    checkpoint = tmp_path / "cursor.json"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        add_two_studios(mock)
        src = FoundryAdapter(base_url=BASE, api_key=TOKEN, model_studios=[STUDIO_A, STUDIO_B], environ={})
        pages = src.runs().pages()
        seen: list[str] = []
        for _ in range(stop_after):
            p = next(pages)
            seen += ids(p.items)
            checkpoint.write_text(json.dumps({"cursor": p.next_cursor}))
        pages.close()  # the next page is fetched ahead while this one is consumed: let that request finish here
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        add_two_studios(mock)
        again = runtrack.connect(
            "foundry", base_url=BASE, api_key=TOKEN, model_studios=f"{STUDIO_A},{STUDIO_B}", environ={}
        )
        rest = ids(again.runs(cursor=json.loads(checkpoint.read_text())["cursor"]))
        assert seen + rest == expected
        # resuming fetched only what was left: no request for a page already read
        assert len(mock.calls) == 5 - stop_after


def test_an_error_in_the_second_studio_resumes_there(http: Any, foundry: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1)])
    add_runs_page(STUDIO_B, [run_item(1, studio="b")], "b1")
    http.get(
        runs_url(STUDIO_B),
        status=403,
        json={
            "errorCode": "PERMISSION_DENIED",
            "errorName": "ApiUsageDenied",
            "errorInstanceId": "e1",
            "parameters": {},
        },
        match=[query(pageSize=1000, pageToken="b1")],
    )
    got: list[str] = []
    with pytest.raises(runtrack.AuthenticationError) as info:
        for run in foundry.runs():
            got.append(run.native_id)
    assert got == ["a-run-1", "b-run-1"]
    cursor = info.value.cursor
    assert cursor is not None
    http.get(runs_url(STUDIO_B), json=page([run_item(2, studio="b")]), match=[query(pageSize=1000, pageToken="b1")])
    assert ids(foundry.runs(cursor=cursor)) == ["b-run-2"]


def test_a_cursor_from_another_scope_is_refused(http: Any, foundry: FoundryAdapter) -> None:
    add_runs_page(STUDIO_A, [run_item(1)], "a1")
    first = next(foundry.runs(model_studio_rid=STUDIO_A).pages())
    assert first.next_cursor is not None
    with pytest.raises(runtrack.PaginationError, match="belongs to the listing"):
        foundry.runs(model_studio_rid=STUDIO_B, cursor=first.next_cursor)


def test_concurrent_fan_out_keeps_order_and_cursors() -> None:
    def listed(concurrency: int) -> list[tuple[list[str], str | None]]:
        with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
            add_two_studios(mock)
            src = FoundryAdapter(
                base_url=BASE, api_key=TOKEN, model_studios=[STUDIO_A, STUDIO_B], concurrency=concurrency, environ={}
            )
            return [(ids(p.items), p.next_cursor) for p in src.runs().pages()]

    sequential = listed(1)
    assert listed(2) == sequential
    assert [i for items, _ in sequential for i in items] == ["a-run-1", "a-run-2", "a-run-3", "b-run-1", "b-run-2"]


@pytest.mark.parametrize("bad", [0, 17, "many"])
def test_concurrency_option_is_checked(bad: object) -> None:
    with pytest.raises(runtrack.ConfigurationError, match="concurrency"):
        FoundryAdapter(base_url=BASE, api_key=TOKEN, concurrency=bad, environ={})
