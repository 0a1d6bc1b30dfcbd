"""Pages of one LangSmith queue in flight together over real HTTP: the same pages and cursors as the serial
listing, exactly once under every fault knob, and under offset drift (runs inserted at the head after each page)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from runtrack.testing import FakeLangSmith, ServerErrors
from runtrack.testing.pytest_plugin import RuntrackFakes

from .platforms import LANGSMITH, Key

pytestmark = pytest.mark.e2e

PAGE = 20
SETTINGS: dict[str, dict[str, Any]] = {
    "none": {},
    "429": {"rate_limit_every": 5},
    "5xx": {"server_errors": ServerErrors(every=6, statuses=(502, 503))},
    "reset": {"reset_every": 7},
    "truncated": {"truncate_every": 5},
}


def one_queue(fakes: RuntrackFakes) -> tuple[FakeLangSmith, str, list[Key]]:
    fake = fakes.start("langsmith", seed=3, queues=1, runs_per_queue=230)
    assert isinstance(fake, FakeLangSmith)
    queue = fake.queue_ids[0]
    return fake, queue, [(queue, r) for r in fake.runs_by_queue[queue]]


@pytest.mark.parametrize("knob", list(SETTINGS))
def test_one_queue_with_pages_in_flight_is_exactly_the_serial_listing(
    knob: str, runtrack_fakes: RuntrackFakes, runtrack_no_sleep: list[float]
) -> None:
    fake, queue, truth = one_queue(runtrack_fakes)
    serial = list(LANGSMITH.connect(runtrack_fakes, fake, concurrency=1).runs(queue_id=queue, page_size=PAGE).pages())
    fake.faults.configure(**SETTINGS[knob])
    adapter = LANGSMITH.connect(runtrack_fakes, fake, concurrency=8, max_retries=6)
    parallel = list(adapter.runs(queue_id=queue, page_size=PAGE).pages())
    assert [(p.items, p.cursor, p.next_cursor) for p in parallel] == [
        (p.items, p.cursor, p.next_cursor) for p in serial
    ]
    LANGSMITH.assert_exactly_once(LANGSMITH.keys(r for p in parallel for r in p.items), truth)
    if knob == "429":
        assert adapter.transport.congestion.throttles > 0  # the window heard the vendor push back


@pytest.mark.parametrize("concurrency", [1, 8])
def test_offset_drift_with_pages_in_flight_lists_every_run_of_the_start_once(
    concurrency: int, runtrack_fakes: RuntrackFakes
) -> None:
    fake, queue, truth = one_queue(runtrack_fakes)
    fake.faults.configure(offset_drift=3)
    it = LANGSMITH.connect(runtrack_fakes, fake, concurrency=concurrency).runs(queue_id=queue, page_size=PAGE)
    got = LANGSMITH.keys(it)
    assert fake.drift_inserted > 0
    assert len(got) == len(set(got))
    assert [k for k in got if k in set(truth)] == truth
    assert it.duplicates > 0


def test_the_items_endpoint_hydrates_the_next_page_while_this_one_is_consumed(runtrack_fakes: RuntrackFakes) -> None:
    fake, queue, _ = one_queue(runtrack_fakes)
    adapter = LANGSMITH.connect(runtrack_fakes, fake, endpoint="items")
    pages = adapter.runs(queue_id=queue, page_size=PAGE, review_status="needs_my_review").pages()
    first = next(pages)
    assert first.items
    deadline = time.monotonic() + 10
    while fake.count("/api/v2/runs/query", "POST") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    # page 2 was hydrated (and page 3's items requested) while page 1 was still held by the consumer
    assert fake.count("/api/v2/runs/query", "POST") >= 2
    assert fake.count(f"/api/v1/platform/annotation-queues/{queue}/items", "GET") >= 3
    pages.close()
