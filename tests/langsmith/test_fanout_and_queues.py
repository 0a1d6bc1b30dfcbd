"""Every queue (fan-out over GET /api/v1/annotation-queues), resuming across queues, and queues()."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import responses
from runtrack_langsmith import Queue

import runtrack

from .payloads import (
    BASE,
    QUEUE,
    QUEUE_B,
    adapter,
    add_items_page,
    add_query,
    add_runs_page,
    calls_to,
    item,
    rid,
    runs_url,
    v1_row,
    v2_run,
)

QUEUES_URL = f"{BASE}/api/v1/annotation-queues"
QUEUE_C = "3c0c7c7e-2a7e-4a7f-9d55-0c9d2b6f7a30"


def queue(queue_id: str, name: str, **over: Any) -> dict[str, Any]:
    data = {
        "id": queue_id,
        "name": name,
        "description": None,
        "tenant_id": "2b7f5a3c-0e1d-4f6a-8b9c-1d2e3f4a5b6c",
        "queue_type": "single",
        "created_at": "2025-05-02T14:03:11.524913",
        "updated_at": "2025-05-09T08:12:40.100200",
        "total_runs": 3,
        "num_reviewers_per_item": 1,
        "rubric_keys": ["correctness"],
    }
    data.update(over)
    return data


def add_queues_page(offset: int, queues: list[dict[str, Any]], *, limit: int = 100, **params: str) -> None:
    matcher = responses.matchers.query_param_matcher({"offset": str(offset), "limit": str(limit), **params})
    responses.get(QUEUES_URL, json=queues, match=[matcher])


@responses.activate
def test_without_queue_id_every_queue_is_listed_in_turn() -> None:
    add_queues_page(0, [queue(QUEUE, "support"), queue(QUEUE_B, "sales")])
    add_runs_page(QUEUE, 0, [v1_row(0), v1_row(1)])
    add_runs_page(QUEUE_B, 0, [v1_row(1), v1_row(2)])  # run 1 sits in both queues
    runs = list(adapter().runs())
    assert [(r.native_id, r.scope["queue_id"]) for r in runs] == [
        (rid(0), QUEUE),
        (rid(1), QUEUE),
        (rid(1), QUEUE_B),
        (rid(2), QUEUE_B),
    ]
    assert runs[1].uid == runs[2].uid  # the same LangSmith run, whichever queue listed it


@responses.activate
def test_concurrent_fan_out_keeps_the_order_and_the_cursors() -> None:
    add_queues_page(0, [queue(QUEUE, "a"), queue(QUEUE_B, "b"), queue(QUEUE_C, "c")])
    add_runs_page(QUEUE, 0, [v1_row(0), v1_row(1)], limit=2)
    add_runs_page(QUEUE, 2, [], limit=2)
    add_runs_page(QUEUE_B, 0, [v1_row(2)], limit=2)
    add_runs_page(QUEUE_C, 0, [v1_row(3)], limit=2)
    sequential = [(p.cursor, [r.uid for r in p.items]) for p in adapter().runs(page_size=2).pages()]
    concurrent = [(p.cursor, [r.uid for r in p.items]) for p in adapter(concurrency=3).runs(page_size=2).pages()]
    assert concurrent == sequential and len(sequential) == 4


def test_concurrency_is_bounded() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="between 1 and 16"):
        adapter(concurrency=0)


@responses.activate
def test_the_queue_listing_pages_with_offset_and_limit() -> None:
    queues = [queue(f"00000000-0000-4000-8000-{i:012d}", f"q{i}") for i in range(150)]
    add_queues_page(0, queues[:100])
    # the second page overlaps the first by a queue: it must start with one already listed (docs/pagination.md)
    add_queues_page(99, queues[99:])
    responses.get(re.compile(rf"{QUEUES_URL}/[0-9a-f-]+/runs\?offset=0&limit=100$"), json=[])
    assert list(adapter().runs()) == []
    assert len(calls_to(QUEUES_URL)) == 2 and len(responses.calls) == 152


@responses.activate
def test_resume_across_queues_after_a_restart(tmp_path: Path) -> None:
    add_queues_page(0, [queue(QUEUE, "a"), queue(QUEUE_B, "b"), queue(QUEUE_C, "c")])
    add_runs_page(QUEUE, 0, [v1_row(0), v1_row(1)], limit=2)
    add_runs_page(QUEUE, 2, [v1_row(2)], limit=2)
    pages = adapter().runs(page_size=2).pages()
    done = [next(pages), next(pages)]  # queue a is complete
    checkpoint = tmp_path / "cursor.json"
    checkpoint.write_text(json.dumps({"cursor": done[-1].next_cursor}))
    del pages

    responses.reset()
    add_queues_page(0, [queue(QUEUE, "a"), queue(QUEUE_B, "b"), queue(QUEUE_C, "c")])
    add_runs_page(QUEUE_B, 0, [v1_row(3), v1_row(4)], limit=2)
    add_runs_page(QUEUE_B, 2, [], limit=2)
    add_runs_page(QUEUE_C, 0, [v1_row(5)], limit=2)
    cursor = json.loads(checkpoint.read_text())["cursor"]
    rest = list(adapter().runs(page_size=2, cursor=cursor))
    assert [r.native_id for r in rest] == [rid(3), rid(4), rid(5)]
    assert calls_to(runs_url()) == []  # queue a is not listed again


@responses.activate
def test_max_items_inside_the_second_queue_resumes_exactly() -> None:
    add_queues_page(0, [queue(QUEUE, "a"), queue(QUEUE_B, "b")])
    add_runs_page(QUEUE, 0, [v1_row(0)])
    add_runs_page(QUEUE_B, 0, [v1_row(1), v1_row(2), v1_row(3)])
    it = adapter().runs(max_items=2)
    assert [r.native_id for r in it] == [rid(0), rid(1)]
    responses.reset()
    add_queues_page(0, [queue(QUEUE, "a"), queue(QUEUE_B, "b")])
    add_runs_page(QUEUE_B, 0, [v1_row(1), v1_row(2), v1_row(3)])
    assert [r.native_id for r in adapter().runs(cursor=it.last_cursor)] == [rid(2), rid(3)]


@responses.activate
def test_fan_out_with_the_fallback_and_resume_on_items() -> None:
    add_queues_page(0, [queue(QUEUE, "a"), queue(QUEUE_B, "b")])
    responses.get(runs_url(), status=410, json={"detail": "Gone"})
    add_items_page(QUEUE, [item(0)], status="archived", next_cursor=None)
    add_items_page(QUEUE_B, [item(1, queue_id=QUEUE_B)], status="archived", next_cursor="c2")
    add_query([v2_run(0)], ids=[rid(0)])
    add_query([v2_run(1)], ids=[rid(1)])
    src = adapter()
    src.clock = lambda: datetime(2026, 7, 10, tzinfo=timezone.utc)
    pages = src.runs(review_status="completed").pages()
    got = [next(pages), next(pages)]
    assert [r.scope["queue_id"] for p in got for r in p.items] == [QUEUE, QUEUE_B]
    assert calls_to(runs_url(QUEUE_B)) == []  # 410 is about the endpoint: queue b went straight to items
    responses.reset()
    add_queues_page(0, [queue(QUEUE, "a"), queue(QUEUE_B, "b")])
    add_items_page(QUEUE_B, [item(2, queue_id=QUEUE_B)], status="archived", next_cursor=None, cursor="c2")
    add_query([v2_run(2)], ids=[rid(2)])
    rest = list(adapter().runs(review_status="completed", cursor=got[-1].next_cursor))
    assert [r.native_id for r in rest] == [rid(2)]


@responses.activate
def test_queues_are_plain_records() -> None:
    add_queues_page(0, [queue(QUEUE, "support", description="weekly QA", extra_field=1), queue(QUEUE_B, "sales")])
    queues = list(adapter().queues())
    assert [q.id for q in queues] == [QUEUE, QUEUE_B] and all(isinstance(q, Queue) for q in queues)
    first = queues[0]
    assert first.name == "support" and first.description == "weekly QA" and first.total_runs == 3
    assert first.queue_type == "single" and first.created_at == datetime(2025, 5, 2, 14, 3, 11, 524913, timezone.utc)
    assert first.raw["extra_field"] == 1


@responses.activate
def test_queues_filters_page_size_and_resume() -> None:
    add_queues_page(0, [queue(QUEUE, "a"), queue(QUEUE_B, "b")], limit=2, name_contains="a")
    pages = adapter().queues(page_size=2, name_contains="a").pages()
    first = next(pages)
    assert [q.id for q in first.items] == [QUEUE, QUEUE_B]
    add_queues_page(2, [queue(QUEUE_C, "ca")], limit=2, name_contains="a")
    rest = list(adapter().queues(page_size=2, name_contains="a", cursor=first.next_cursor))
    assert [q.id for q in rest] == [QUEUE_C]
    with pytest.raises(runtrack.PaginationError, match="belongs to the listing"):
        adapter().queues(cursor=first.next_cursor)  # another filter, another listing


@responses.activate
def test_a_queue_without_id_is_a_payload_error() -> None:
    add_queues_page(0, [queue(QUEUE, "a"), {"name": "broken"}])
    with pytest.raises(runtrack.PayloadError) as info:
        list(adapter().queues())
    assert info.value.path == "$[1]"
