"""LangSmith specifics over real HTTP: offset drift on the deprecated runs endpoint, and the automatic fallback to
the items endpoint when the runs endpoint answers 404 or 410.

What offset paging can promise when runs are inserted at the head of a queue while it is listed (``offset_drift``):
every run that existed when the listing started is listed exactly once. Insertions shift later runs to higher
offsets, so the next page repeats some runs (dropped by id and counted) and nothing is skipped. The inserted runs
sit before the offset already read, so they are missed; nothing in the API could find them without starting over.
(Deletions shift runs the other way; overlapping pages catch them, see tests/core/paginate/test_drift.py and
docs/pagination.md.) Across a resume in a new listing the memory of delivered ids starts empty, so runs inserted
between two sessions come again once: at-least-once, still no loss. The cursor-paged items endpoint never repeats a
run; it lists review sections one after another, so a section listed after the inserts may include new runs.
"""

from __future__ import annotations

from collections import Counter

import pytest

import runtrack
from runtrack.testing import FakeLangSmith
from runtrack.testing.pytest_plugin import RuntrackFakes

from .platforms import LANGSMITH, LANGSMITH_ITEMS, Key

pytestmark = pytest.mark.e2e

RUNS_PATH = "/api/v1/annotation-queues/"


def langsmith(fakes: RuntrackFakes, **options: object) -> FakeLangSmith:
    fake = LANGSMITH.start(fakes, **options)
    assert isinstance(fake, FakeLangSmith)
    return fake


def runs_endpoint_requests(fake: FakeLangSmith) -> int:
    return sum(1 for r in fake.requests if r.path.startswith(RUNS_PATH) and r.path.endswith("/runs"))


def test_offset_drift_lists_every_run_of_the_start_once_and_counts_the_repeats(runtrack_fakes: RuntrackFakes) -> None:
    fake = langsmith(runtrack_fakes)
    before = LANGSMITH.truth(fake)
    fake.faults.configure(offset_drift=2)
    it = LANGSMITH.connect(runtrack_fakes, fake).runs(page_size=LANGSMITH.page_size)
    got = LANGSMITH.keys(it)

    LANGSMITH.assert_exactly_once(got, before)
    assert fake.drift_inserted > 0
    after = LANGSMITH.truth(fake)
    assert len(after) == len(before) + fake.drift_inserted
    assert not set(got) & (set(after) - set(before))  # the runs inserted at the head were missed
    # each later page of a queue repeated the 2 runs inserted after the page before it
    pages_per_queue = [sum(1 for r in fake.requests if r.path == f"{RUNS_PATH}{q}/runs") for q in fake.queue_ids]
    assert it.duplicates == sum(2 * (n - 1) for n in pages_per_queue)


def test_offset_drift_does_not_touch_the_cursor_paged_items_endpoint(runtrack_fakes: RuntrackFakes) -> None:
    fake = langsmith(runtrack_fakes)
    before = LANGSMITH_ITEMS.truth(fake)
    fake.faults.configure(offset_drift=2)
    it = LANGSMITH_ITEMS.connect(runtrack_fakes, fake).runs(page_size=LANGSMITH_ITEMS.page_size)
    got = LANGSMITH_ITEMS.keys(it)
    assert fake.drift_inserted > 0
    assert it.duplicates == 0
    assert len(got) == len(set(got))  # no duplicates
    assert set(before) <= set(got) <= set(LANGSMITH_ITEMS.truth(fake))
    # a review section listed after the inserts starts at the new head, so it may list some of the new runs


def test_offset_drift_between_sessions_repeats_runs_but_loses_none(runtrack_fakes: RuntrackFakes) -> None:
    fake = langsmith(runtrack_fakes)
    before = LANGSMITH.truth(fake)
    adapter = LANGSMITH.connect(runtrack_fakes, fake)
    first = next(iter(adapter.runs(page_size=LANGSMITH.page_size).pages()))
    queue = fake.queue_ids[0]
    fake.insert_runs(queue, 3)  # three new runs at the head of the queue being listed, between two sessions
    rest = LANGSMITH.keys(adapter.runs(page_size=LANGSMITH.page_size, cursor=first.next_cursor))
    got = LANGSMITH.keys(first.items) + rest

    assert set(before) <= set(got)
    repeated = sorted(k for k, n in Counter(got).items() if n > 1)
    assert repeated == sorted(LANGSMITH.keys(first.items)[-3:])  # the last 3 runs of the first page, once more


@pytest.mark.parametrize("status", [404, 410])
def test_a_retired_runs_endpoint_falls_back_to_items(status: int, runtrack_fakes: RuntrackFakes) -> None:
    fake = langsmith(runtrack_fakes, runs_endpoint_status=status)
    truth = LANGSMITH_ITEMS.truth(fake)
    got = LANGSMITH_ITEMS.keys(LANGSMITH.connect(runtrack_fakes, fake).runs(page_size=LANGSMITH.page_size))
    LANGSMITH_ITEMS.assert_exactly_once(got, truth)
    # 404 may be about one queue, so each queue tries the runs endpoint once; 410 Gone retires it for all
    assert runs_endpoint_requests(fake) == (len(fake.queue_ids) if status == 404 else 1)


def test_the_runs_endpoint_retired_mid_queue_restarts_that_queue_on_items(runtrack_fakes: RuntrackFakes) -> None:
    fake = langsmith(runtrack_fakes)
    truth = LANGSMITH.truth(fake)
    adapter = LANGSMITH.connect(runtrack_fakes, fake)
    got: list[Key] = []
    for n, page in enumerate(adapter.runs(page_size=LANGSMITH.page_size).pages()):
        got += LANGSMITH.keys(page.items)
        if n == 0:
            fake.runs_endpoint_status = 410

    assert set(got) == set(truth)  # nothing lost
    # at least once: only what the first queue had delivered from the runs endpoint comes again; that is its first
    # page, or two pages when the next one was already prefetched before the switch
    repeated = {k for k, n in Counter(got).items() if n > 1}
    queue = [k for k in truth if k[0] == fake.queue_ids[0]]
    assert repeated in ({*queue[:7]}, {*queue[:14]})


def test_a_runs_endpoint_cursor_resumes_on_items_once_the_endpoint_is_gone(runtrack_fakes: RuntrackFakes) -> None:
    fake = langsmith(runtrack_fakes)
    truth = LANGSMITH.truth(fake)
    first = next(iter(LANGSMITH.connect(runtrack_fakes, fake).runs(page_size=LANGSMITH.page_size).pages()))
    fake.runs_endpoint_status = 404
    rest = LANGSMITH.keys(LANGSMITH.connect(runtrack_fakes, fake).runs(page_size=7, cursor=first.next_cursor))
    got = LANGSMITH.keys(first.items) + rest
    assert set(got) == set(truth)
    assert sorted(k for k, n in Counter(got).items() if n > 1) == sorted(LANGSMITH.keys(first.items))


def test_endpoint_runs_does_not_fall_back_and_says_where_to_resume(runtrack_fakes: RuntrackFakes) -> None:
    fake = langsmith(runtrack_fakes, runs_endpoint_status=410)
    with pytest.raises(runtrack.RuntrackError) as info:
        list(LANGSMITH.connect(runtrack_fakes, fake, endpoint="runs").runs())
    assert info.value.status_code == 410
    assert info.value.cursor is not None
    assert not any("/items" in r.path for r in fake.requests)
