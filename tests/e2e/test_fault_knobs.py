"""Every adapter lists everything from its fake over real HTTP under each fault knob: no run lost or duplicated."""

from __future__ import annotations

from typing import Any

import pytest

from runtrack.testing import ServerErrors
from runtrack.testing.pytest_plugin import RuntrackFakes

from .platforms import MAX_RETRIES, PLATFORMS, Platform

pytestmark = pytest.mark.e2e

#: knob name -> (fault settings, the fault kind the fake must have injected, or None). Faults are sparse enough that
#: no request fails more than ``MAX_RETRIES`` times in a row even when another request (a prefetch, a fan-out
#: worker) takes the request numbers in between.
KNOBS: dict[str, tuple[dict[str, Any], str | None]] = {
    "latency": ({"latency": 0.002}, None),
    "429": ({"rate_limit_every": 5}, "rate_limit"),
    "429-retry-after-seconds": ({"rate_limit_every": 5, "retry_after": 2}, "rate_limit"),
    "429-retry-after-http-date": ({"rate_limit_every": 5, "retry_after": "http-date"}, "rate_limit"),
    # a burst as long as the retry budget is ridden out
    "5xx-burst": ({"server_errors": ServerErrors(start=2, count=MAX_RETRIES, statuses=(502, 503))}, "server_error"),
    "5xx-every": ({"server_errors": ServerErrors(every=6, statuses=(502, 503, 504))}, "server_error"),
    "connection-reset": ({"reset_every": 5}, "reset"),
    "truncated-json": ({"truncate_every": 5}, "truncate"),
    "truncated-connection": ({"truncate_every": 5, "truncate_mode": "connection"}, "truncate"),
    "html-error-pages": (
        {"html_errors": True, "rate_limit_every": 5, "server_errors": ServerErrors(every=7)},
        "server_error",
    ),
}


@pytest.mark.parametrize("knob", list(KNOBS))
@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.id)
def test_listing_under_a_fault_is_exactly_the_ground_truth(
    platform: Platform, knob: str, runtrack_fakes: RuntrackFakes, runtrack_no_sleep: list[float]
) -> None:
    settings, kind = KNOBS[knob]
    fake = platform.start(runtrack_fakes)
    truth = platform.truth(fake)
    adapter = platform.connect(runtrack_fakes, fake)
    fake.faults.configure(**settings)

    got = platform.keys(adapter.runs(page_size=platform.page_size))

    platform.assert_exactly_once(got, truth)
    injected = fake.faults.injected_kinds()
    if kind is not None:
        assert kind in injected  # the fault really hit the listing
    # every injected fault cost exactly one retry (and so one wait): none was swallowed, none retried twice
    assert len(runtrack_no_sleep) == len(injected)
    if knob == "429-retry-after-seconds":
        assert set(runtrack_no_sleep) == {2.0}
    elif knob == "429-retry-after-http-date":
        assert all(0.0 <= wait <= 2.0 for wait in runtrack_no_sleep)  # one second ahead, to the whole second
    elif knob == "429":
        assert all(0.25 <= wait <= 0.5 for wait in runtrack_no_sleep)  # first backoff step, jittered
