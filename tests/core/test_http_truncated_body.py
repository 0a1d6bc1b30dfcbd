"""A 2xx JSON body cut off on the way is a transport fault: safe requests are fetched again within the one retry
budget; anything else that is not JSON fails at once."""

from __future__ import annotations

from typing import Any

import pytest
import responses

import runtrack
from runtrack.http import Transport
from runtrack.paginate import Request

BASE = "https://api.example.test"
WHOLE = '{"data": [{"id": 1}, {"id": 2}], "nextPageToken": "t"}'
CUT = WHOLE[: len(WHOLE) // 2]


def transport(**kw: Any) -> Transport:
    kw.setdefault("rng", lambda: 1.0)
    return Transport(BASE, platform="demo", **kw)


@responses.activate
def test_a_truncated_get_body_is_fetched_again(no_sleep: list[float]) -> None:
    responses.get(f"{BASE}/x", body=CUT, content_type="application/json")
    responses.get(f"{BASE}/x", body=WHOLE, content_type="application/json")
    assert transport().get_json("x")["nextPageToken"] == "t"
    assert len(responses.calls) == 2
    assert no_sleep == [0.5]  # the first backoff step


@responses.activate
def test_retries_stop_at_the_maximum_with_a_payload_error() -> None:
    responses.get(f"{BASE}/x", body=CUT, content_type="application/json")
    with pytest.raises(runtrack.PayloadError, match=r"not valid JSON.*\(after 2 retries\)") as info:
        transport(max_retries=2).get_json("x")
    assert len(responses.calls) == 3
    assert info.value.status_code == 200
    assert info.value.path == "$"


@responses.activate
def test_one_budget_for_http_errors_and_truncated_bodies() -> None:
    responses.get(f"{BASE}/x", status=503)
    responses.get(f"{BASE}/x", body=CUT, content_type="application/json")
    responses.get(f"{BASE}/x", body=CUT, content_type="application/json")
    with pytest.raises(runtrack.PayloadError, match=r"after 2 retries"):
        transport(max_retries=2).get_json("x")
    assert len(responses.calls) == 3


@responses.activate
def test_one_budget_lets_a_503_and_a_cut_body_through() -> None:
    responses.get(f"{BASE}/x", status=503)
    responses.get(f"{BASE}/x", body=CUT, content_type="application/json")
    responses.get(f"{BASE}/x", body=WHOLE, content_type="application/json")
    assert transport(max_retries=2).get_json("x")["data"] == [{"id": 1}, {"id": 2}]
    assert len(responses.calls) == 3


@pytest.mark.parametrize("body", ["<!DOCTYPE html><html><body>Sign in</body></html>", "upstream said no"])
@responses.activate
def test_a_body_that_is_not_json_at_all_fails_at_once(body: str) -> None:
    responses.get(f"{BASE}/x", body=body, content_type="text/html")
    with pytest.raises(runtrack.PayloadError, match="not valid JSON") as info:
        transport().get_json("x")
    assert "retries" not in str(info.value)
    assert len(responses.calls) == 1


@responses.activate
def test_a_write_is_not_repeated_unless_idempotent() -> None:
    responses.post(f"{BASE}/launch", body=CUT, content_type="application/json")
    with pytest.raises(runtrack.PayloadError):
        transport().json(Request(method="POST", path="launch", idempotent=False))
    assert len(responses.calls) == 1
    responses.post(f"{BASE}/query", body=CUT, content_type="application/json")
    responses.post(f"{BASE}/query", body=WHOLE, content_type="application/json")
    assert transport().json(Request(method="POST", path="query", json={}, idempotent=True))["nextPageToken"] == "t"


@responses.activate
def test_no_retry_with_max_retries_zero() -> None:
    responses.get(f"{BASE}/x", body=CUT, content_type="application/json")
    with pytest.raises(runtrack.PayloadError):
        transport(max_retries=0).get_json("x")
    assert len(responses.calls) == 1
