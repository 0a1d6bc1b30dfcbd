"""``on_invalid`` on a real adapter: the option, the per-listing override, and the items endpoint's hydration."""

from __future__ import annotations

import pytest
import responses

import runtrack

from .payloads import QUEUE, adapter, add_runs_page, rid, v1_row

ROWS = [v1_row(0), v1_row(1, total_cost="<string>"), v1_row(2)]


@responses.activate
def test_a_bad_row_stops_the_listing_by_default() -> None:
    add_runs_page(QUEUE, 0, ROWS)
    with pytest.raises(runtrack.PayloadError) as info:
        list(adapter().runs(queue_id=QUEUE))
    assert info.value.path is not None and info.value.path.startswith("$[1]")


@responses.activate
@pytest.mark.parametrize("how", ["option", "runs"])
def test_skip_lists_the_other_runs_and_reports_the_bad_one(how: str) -> None:
    add_runs_page(QUEUE, 0, ROWS)
    if how == "option":
        it = adapter(on_invalid="skip").runs(queue_id=QUEUE)
    else:
        it = adapter().runs(queue_id=QUEUE, on_invalid="skip")
    assert [r.native_id for r in it] == [rid(0), rid(2)]
    [skipped] = it.skipped
    assert skipped.native_id == rid(1)
    assert skipped.path.startswith("$[1]")
    assert "<string>" in skipped.reason


def test_on_invalid_values_are_checked() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="on_invalid"):
        adapter(on_invalid="ignore")
    with pytest.raises(runtrack.ConfigurationError, match="on_invalid"):
        adapter().runs(queue_id=QUEUE, on_invalid="ignore")
