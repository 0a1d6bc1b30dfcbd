"""``on_invalid="skip"``: one bad item no longer stops a listing for good (issue 15 item 21)."""

from __future__ import annotations

from typing import Any

import pytest

from runtrack.errors import PayloadError
from runtrack.paginate import HttpListing, OffsetLimit, PageToken, Request, RunIterator, SkippedItem

from .helpers import Server, offset_server, token_server


def parse(item: Any) -> Any:
    if item.get("cost") == "<string>":
        raise PayloadError("invalid decimal '<string>'", path="$.cost")
    return item["id"]


PAGES = {
    None: {"data": [{"id": "a"}, {"id": "b", "cost": "<string>"}, {"id": "c"}], "nextPageToken": "t"},
    "t": {"data": [{"id": "d"}, {"cost": "<string>"}]},
}


def test_raise_is_the_default_and_names_the_item() -> None:
    it = RunIterator(HttpListing(token_server(PAGES), Request(path="x"), PageToken(), parse), name="t")
    with pytest.raises(PayloadError) as info:
        list(it)
    assert info.value.path == "$.data[1].cost"


def test_skip_lists_every_other_item_and_reports_what_it_left_out() -> None:
    lst = HttpListing(token_server(PAGES), Request(path="x"), PageToken(), parse, on_invalid="skip")
    it = RunIterator(lst, name="t")
    assert list(it) == ["a", "c", "d"]
    assert it.skipped == [
        SkippedItem(path="$.data[1].cost", native_id="b", reason="invalid decimal '<string>'"),
        SkippedItem(path="$.data[1].cost", native_id=None, reason="invalid decimal '<string>'"),
    ]


def test_skip_with_an_item_without_id_in_a_keyed_listing() -> None:
    items = [{"id": 0}, {"cost": 1}, {"id": 2}]
    lst = HttpListing(
        offset_server(items), Request(path="x"), OffsetLimit(), lambda x: x["id"], key=lambda x: x["id"], page_size=10
    )
    with pytest.raises(PayloadError, match="item has no id"):
        list(RunIterator(lst, name="t"))
    lst = HttpListing(
        offset_server(items),
        Request(path="x"),
        OffsetLimit(),
        lambda x: x["id"],
        key=lambda x: x["id"],
        page_size=10,
        on_invalid="skip",
    )
    it = RunIterator(lst, name="t")
    assert list(it) == [0, 2]
    assert [(s.path, s.native_id) for s in it.skipped] == [("$[1]", None)]


def test_max_items_and_resume_across_a_skipped_item_lose_nothing() -> None:
    def listing() -> HttpListing[Any]:
        return HttpListing(
            Server(lambda r: PAGES[r.params.get("pageToken")]), Request(path="x"), PageToken(), parse, on_invalid="skip"
        )

    first = RunIterator(listing(), name="t", max_items=2)
    assert list(first) == ["a", "c"]
    assert list(RunIterator(listing(), name="t", cursor=first.last_cursor)) == ["d"]


def test_on_invalid_is_checked() -> None:
    with pytest.raises(ValueError, match="on_invalid"):
        HttpListing(offset_server([]), Request(path="x"), OffsetLimit(), parse, on_invalid="ignore")  # type: ignore[arg-type]


def test_a_page_of_items_without_ids_is_skipped_not_taken_for_a_repeated_page() -> None:
    pages = {None: {"data": [{"id": "a"}], "nextPageToken": "t"}, "t": {"data": [{"cost": 1}, {"cost": 2}]}}
    lst = HttpListing(
        token_server(pages), Request(path="x"), PageToken(), parse, key=lambda x: x["id"], on_invalid="skip"
    )
    it = RunIterator(lst, name="t")
    assert list(it) == ["a"]
    assert [s.path for s in it.skipped] == ["$.data[0]", "$.data[1]"]
