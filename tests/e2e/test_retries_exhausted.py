"""When a fault outlasts the retries: the typed error, after exactly the configured attempts, carries a cursor, and
resuming from it once the fault is gone completes the listing with every run exactly once."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

import runtrack
from runtrack.testing import FakeServer, ServerErrors
from runtrack.testing.pytest_plugin import RuntrackFakes, connect_options

from .platforms import FOUNDRY, MAX_RETRIES, PLATFORMS, Key, Platform

pytestmark = pytest.mark.e2e

ATTEMPTS = MAX_RETRIES + 1

#: case -> (fault settings, expected error, its status code, answers the failing request gets before the error)
CASES: dict[str, tuple[dict[str, Any], type[runtrack.RuntrackError], int | None, int]] = {
    "429": ({"rate_limit_every": 1, "retry_after": 1}, runtrack.RateLimitError, 429, ATTEMPTS),
    "5xx": ({"server_errors": ServerErrors(every=1, statuses=(502, 503, 504))}, runtrack.ServerError, 504, ATTEMPTS),
    "500-not-retried": ({"server_errors": ServerErrors(every=1, statuses=(500,))}, runtrack.ServerError, 500, 1),
    "html-503": ({"html_errors": True, "server_errors": ServerErrors(every=1)}, runtrack.ServerError, 503, ATTEMPTS),
    "connection-reset": ({"reset_every": 1}, runtrack.NetworkError, None, ATTEMPTS),
    "truncated-connection": (
        {"truncate_every": 1, "truncate_mode": "connection"},
        runtrack.NetworkError,
        None,
        ATTEMPTS,
    ),
    "truncated-json": ({"truncate_every": 1}, runtrack.PayloadError, 200, ATTEMPTS),
}


def faulted_attempts(fake: FakeServer) -> Counter[tuple[str, ...]]:
    """How many answers with an injected fault each distinct request got (retries of one request repeat it)."""
    return Counter(
        (r.method, r.path, json.dumps(r.query, sort_keys=True), r.body.decode("utf-8", "replace"))
        for r in fake.requests
        if r.fault is not None
    )


def interrupted_listing(
    platform: Platform, fakes: RuntrackFakes, fake: FakeServer, settings: dict[str, Any]
) -> tuple[list[Key], runtrack.RuntrackError]:
    """List the first page, then turn the fault on; return what was delivered and the error that stopped it."""
    adapter = platform.connect(fakes, fake)
    got: list[Key] = []
    with pytest.raises(runtrack.RuntrackError) as info:
        for n, page in enumerate(adapter.runs(page_size=platform.page_size).pages()):
            got += platform.keys(page.items)
            if n == 0:
                fake.faults.configure(**settings)  # also restarts the request count
    return got, info.value


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.id)
def test_retries_stop_at_the_maximum_with_a_typed_error_and_the_cursor_resumes(
    platform: Platform, case: str, runtrack_fakes: RuntrackFakes
) -> None:
    settings, error_class, status, answered = CASES[case]
    fake = platform.start(runtrack_fakes)
    truth = platform.truth(fake)

    got, err = interrupted_listing(platform, runtrack_fakes, fake, settings)

    assert type(err) is error_class
    assert err.platform == platform.vendor
    assert err.status_code == status
    # the failing request was answered this often (its retries included), and no request more often; a request
    # prefetched meanwhile may have failed too, but it is retried under the same budget
    attempts = faulted_attempts(fake)
    assert max(attempts.values()) == answered
    if answered > 1:
        assert f"after {MAX_RETRIES} retries" in str(err)
    if case == "html-503":
        assert "<html" not in str(err).lower()  # summarised, never dumped
    assert err.cursor is not None and err.cursor.startswith("rt1.")
    assert f"resume with cursor={err.cursor}" in str(err)
    secrets = {connect_options(fake)["api_key"], getattr(fake, "pat", None)} - {None}
    assert not any(secret in str(err) or secret in repr(err) for secret in secrets)
    assert 0 < len(got) < len(truth)

    fake.faults.clear()
    resumed = platform.keys(
        platform.connect(runtrack_fakes, fake).runs(page_size=platform.page_size, cursor=err.cursor)
    )
    platform.assert_exactly_once(got + resumed, truth)


def test_a_repeated_page_token_stops_with_a_pagination_error_that_resumes_exactly_once(
    runtrack_fakes: RuntrackFakes,
) -> None:
    fake = FOUNDRY.start(runtrack_fakes)
    truth = FOUNDRY.truth(fake)
    got, err = interrupted_listing(FOUNDRY, runtrack_fakes, fake, {"repeat_token": 1})
    assert type(err) is runtrack.PaginationError
    assert "repeated" in str(err)
    assert fake.faults.injected_kinds() == ["repeat_token"]  # detected at once, never looped
    assert err.cursor is not None
    fake.faults.clear()
    resumed = FOUNDRY.keys(FOUNDRY.connect(runtrack_fakes, fake).runs(page_size=FOUNDRY.page_size, cursor=err.cursor))
    FOUNDRY.assert_exactly_once(got + resumed, truth)


def test_resuming_while_tokens_keep_repeating_still_completes_exactly_once(runtrack_fakes: RuntrackFakes) -> None:
    """Foundry repeats every third page token: each error's cursor re-fetches the page it refused, so resuming
    again and again gets through the whole listing without a duplicate."""
    fake = FOUNDRY.start(runtrack_fakes)
    truth = FOUNDRY.truth(fake)
    fake.faults.configure(repeat_token=3)
    adapter = FOUNDRY.connect(runtrack_fakes, fake)
    got: list[Key] = []
    cursor: str | None = None
    errors = 0
    while True:
        try:
            for page in adapter.runs(page_size=FOUNDRY.page_size, cursor=cursor).pages():
                got += FOUNDRY.keys(page.items)
                cursor = page.next_cursor
            break
        except runtrack.PaginationError as exc:
            errors += 1
            assert errors <= len(truth), "resuming does not make progress"
            cursor = exc.cursor
    assert errors >= 2
    FOUNDRY.assert_exactly_once(got, truth)
