"""Fan-out across containers (queues, studios, prompts and versions) resumes from any cursor, in a new process as
it were: a fresh adapter per page, cuts in the middle of a page, and concurrent fan-out under faults."""

from __future__ import annotations

import pytest

from runtrack.testing import ServerErrors
from runtrack.testing.pytest_plugin import RuntrackFakes

from .platforms import PLATFORMS, Key, Platform

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.id)
def test_one_page_per_adapter_resumed_from_the_last_next_cursor(
    platform: Platform, runtrack_fakes: RuntrackFakes
) -> None:
    fake = platform.start(runtrack_fakes)
    truth = platform.truth(fake)
    got: list[Key] = []
    cursor: str | None = None
    for _ in range(200):
        adapter = platform.connect(runtrack_fakes, fake)  # a new adapter each time: nothing kept in memory
        page = next(iter(adapter.runs(page_size=platform.page_size, cursor=cursor).pages()))
        got += platform.keys(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    platform.assert_exactly_once(got, truth)


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.id)
def test_max_items_cuts_inside_pages_and_last_cursor_resumes(platform: Platform, runtrack_fakes: RuntrackFakes) -> None:
    fake = platform.start(runtrack_fakes)
    truth = platform.truth(fake)
    adapter = platform.connect(runtrack_fakes, fake)
    got: list[Key] = []
    cursor: str | None = None
    for _ in range(200):
        it = adapter.runs(page_size=platform.page_size, cursor=cursor, max_items=5)
        batch = platform.keys(it)
        got += batch
        cursor = it.last_cursor
        if cursor is None:
            break
        assert len(batch) == 5
    platform.assert_exactly_once(got, truth)


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.id)
def test_concurrent_fan_out_keeps_order_and_cursors_under_faults(
    platform: Platform, runtrack_fakes: RuntrackFakes
) -> None:
    fake = platform.start(runtrack_fakes)
    truth = platform.truth(fake)
    sequential = [
        (platform.keys(p.items), p.cursor, p.next_cursor)
        for p in platform.connect(runtrack_fakes, fake).runs(page_size=platform.page_size).pages()
    ]
    # Workers share the fault counter, so a retry may land on the next fault: sparse faults, a larger budget.
    fake.faults.configure(rate_limit_every=7, reset_every=11, server_errors=ServerErrors(every=13, statuses=(502,)))
    adapter = platform.connect(runtrack_fakes, fake, concurrency=3, max_retries=8)
    concurrent = [
        (platform.keys(p.items), p.cursor, p.next_cursor) for p in adapter.runs(page_size=platform.page_size).pages()
    ]
    assert fake.faults.injected
    assert concurrent == sequential
    platform.assert_exactly_once([k for keys, _, _ in concurrent for k in keys], truth)


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.id)
def test_listing_one_container_equals_its_share_of_the_fan_out(
    platform: Platform, runtrack_fakes: RuntrackFakes
) -> None:
    fake = platform.start(runtrack_fakes)
    truth = platform.truth(fake)
    adapter = platform.connect(runtrack_fakes, fake)
    first = truth[0]
    if platform.vendor == "langsmith":
        scope = {"queue_id": first[0]}
    elif platform.vendor == "foundry":
        scope = {"model_studio_rid": first[0]}
    else:
        scope = {"prompt_id": first[0], "version_id": first[1]}
    share = [k for k in truth if k[: len(scope)] == tuple(scope.values())]
    platform.assert_exactly_once(platform.keys(adapter.runs(page_size=platform.page_size, **scope)), share)
