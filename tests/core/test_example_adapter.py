"""A small adapter written only from public core pieces: offset and token pagination, fan-out, resume."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

import runtrack
from runtrack.adapter import Option, common_options
from runtrack.convert import open_enum, parse_datetime
from runtrack.http import ErrorInfo, HeaderAuth
from runtrack.paginate import FanOut, HttpListing, Listing, OffsetLimit, PageToken, Request

BASE = "https://tracker.example.test/prefix"
STATUS = {"ok": runtrack.RunStatus.SUCCEEDED, "bad": runtrack.RunStatus.FAILED}


class TrackerAdapter(runtrack.Adapter):
    """Boxes hold runs. Boxes list with page tokens, runs with offset/limit."""

    name = "tracker"
    kind = "job"
    options = (
        *common_options(base_url_env=("TRACKER_URL",), api_key_env=("TRACKER_KEY",)),
        Option(name="team", env=("TRACKER_TEAM",)),
    )

    def make_auth(self) -> HeaderAuth:
        return HeaderAuth({"X-Key": self.config["api_key"]})

    def describe_error(self, response: Any) -> ErrorInfo:
        body = response.json()
        return ErrorInfo(message=body.get("message"), vendor_code=body.get("code"))

    def parse(self, box: str) -> Any:
        def parse(item: dict[str, Any]) -> runtrack.Run:
            status, raw = open_enum(runtrack.RunStatus, STATUS, item.get("state"))
            return runtrack.Run(
                platform=self.name,
                instance=self.instance,
                kind=self.kind,
                native_id=str(item["id"]),
                status=status,
                status_raw=raw,
                started_at=parse_datetime(item.get("start"), "$.start"),
                scope={"box": box},
                raw=item,
            )

        return parse

    def box_runs(self, box: str, page_size: int | None) -> Listing[runtrack.Run]:
        return HttpListing(
            self.transport.json,
            Request(path=f"boxes/{box}/runs"),
            OffsetLimit(),
            self.parse(box),
            page_size=page_size,
            max_page_size=3,
            key=lambda item: item["id"],
        )

    def listing(self, *, page_size: int | None = None, box: str | None = None) -> Listing[runtrack.Run]:
        if box is not None:
            return self.box_runs(box, page_size)
        boxes = HttpListing(self.transport.json, Request(path="boxes"), PageToken(), lambda b: b["name"])
        return FanOut(boxes, lambda name: self.box_runs(name, page_size), container_id=str)


def run_page(box: str, ids: list[int]) -> list[dict[str, Any]]:
    return [{"id": f"{box}-{i}", "state": "ok" if i % 2 else "bad", "start": "2024-05-01T10:00:00"} for i in ids]


def add_box_pages(box: str, total: int, page: int = 3) -> None:
    for offset in range(0, total + 1, page):
        ids = list(range(offset, min(total, offset + page)))
        responses.get(
            f"{BASE}/boxes/{box}/runs",
            json=run_page(box, ids),
            match=[responses.matchers.query_param_matcher({"offset": str(offset), "limit": str(page)})],
        )


@pytest.fixture
def tracker() -> TrackerAdapter:
    return TrackerAdapter(base_url=BASE, api_key="s3cret-key", environ={})


@responses.activate
def test_offset_listing_with_clamped_page_size(tracker: TrackerAdapter) -> None:
    add_box_pages("a", 7)
    runs = list(tracker.runs(box="a", page_size=50))
    assert [r.native_id for r in runs] == [f"a-{i}" for i in range(7)]
    assert {r.status for r in runs} == {runtrack.RunStatus.SUCCEEDED, runtrack.RunStatus.FAILED}
    assert runs[0].started_at is not None and runs[0].started_at.utcoffset().total_seconds() == 0
    assert all(call.request.headers["X-Key"] == "s3cret-key" for call in responses.calls)


@responses.activate
def test_fan_out_and_resume_in_a_new_context(tracker: TrackerAdapter, tmp_path: Any) -> None:
    responses.get(f"{BASE}/boxes", json={"data": [{"name": "a"}], "nextPageToken": "t1"})
    responses.get(
        f"{BASE}/boxes",
        json={"data": [{"name": "b"}, {"name": "c"}]},
        match=[responses.matchers.query_param_matcher({"pageToken": "t1"})],
    )
    for box, total in (("a", 4), ("b", 0), ("c", 5)):
        add_box_pages(box, total)

    pages = tracker.runs().pages()
    first = [next(pages), next(pages)]  # a: 3 items, then 1
    checkpoint = tmp_path / "cursor.json"
    checkpoint.write_text(json.dumps({"cursor": first[-1].next_cursor}))
    del pages

    # A new adapter object and a cursor read back from disk: as after a process restart.
    again = TrackerAdapter(base_url=BASE, api_key="s3cret-key", environ={})
    cursor = json.loads(checkpoint.read_text())["cursor"]
    rest = [r.native_id for r in again.runs(cursor=cursor)]
    seen = [r.native_id for p in first for r in p.items]
    assert seen == ["a-0", "a-1", "a-2", "a-3"]
    assert rest == [f"c-{i}" for i in range(5)]


@responses.activate
def test_error_carries_resume_cursor_and_vendor_code(tracker: TrackerAdapter) -> None:
    offset = responses.matchers.query_param_matcher
    responses.get(f"{BASE}/boxes/a/runs", json=run_page("a", [0, 1, 2]), match=[offset({"offset": "0", "limit": "3"})])
    responses.get(
        f"{BASE}/boxes/a/runs",
        json={"message": "box is locked", "code": "LOCKED"},
        status=409,
        match=[offset({"offset": "3", "limit": "3"})],
    )
    it = tracker.runs(box="a")
    got = []
    with pytest.raises(runtrack.RequestError) as info:
        for run in it:
            got.append(run.native_id)
    assert got == ["a-0", "a-1", "a-2"]
    err = info.value
    assert err.status_code == 409 and err.vendor_code == "LOCKED" and err.platform == "tracker"
    assert "box is locked" in str(err) and "s3cret" not in str(err)
    assert err.cursor is not None
    responses.reset()
    responses.get(f"{BASE}/boxes/a/runs", json=[], match=[offset({"offset": "3", "limit": "3"})])
    assert list(tracker.runs(box="a", cursor=err.cursor)) == []


def test_missing_option_names_env_variable() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="TRACKER_KEY"):
        TrackerAdapter(base_url=BASE, environ={})
    with pytest.raises(runtrack.ConfigurationError, match="valid: api_key, base_url"):
        TrackerAdapter(base_url=BASE, api_key="k", colour="red", environ={})
    assert TrackerAdapter(environ={"TRACKER_URL": BASE, "TRACKER_KEY": "k"}).instance == "tracker.example.test"


def test_no_io_before_iteration(tracker: TrackerAdapter) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        it = tracker.runs()
        assert len(mock.calls) == 0
        assert "not started" in repr(it)


def test_unknown_scope_keyword_is_a_configuration_error(tracker: TrackerAdapter) -> None:
    with pytest.raises(runtrack.ConfigurationError, match=r"unknown scope keyword\(s\) bx .*valid: box"):
        tracker.runs(bx="a")
