"""Whether a request may be sent twice follows its method unless the caller says otherwise (issue 15, item 23)."""

from __future__ import annotations

import pytest
import responses

import runtrack
import runtrack.paginate
from runtrack.http import HeaderAuth, Request, Secret, Transport

BASE = "https://api.example.test"


def transport() -> Transport:
    return Transport(BASE, platform="demo", auth=HeaderAuth({"X-API-Key": Secret("k")}), rng=lambda: 1.0)


@pytest.mark.parametrize(
    ("method", "idempotent", "sent"),
    [
        ("GET", None, 2),
        ("HEAD", None, 2),
        ("OPTIONS", None, 2),
        ("PUT", None, 2),
        ("DELETE", None, 2),
        ("POST", None, 1),  # the documented rule: a write is not repeated unless marked
        ("PATCH", None, 1),
        ("post", None, 1),
        ("POST", True, 2),  # a POST that only reads (a query), marked by its caller
        ("PUT", False, 1),  # a PUT the caller knows is not safe to repeat
    ],
)
@responses.activate
def test_a_503_is_retried_only_for_idempotent_requests(
    method: str, idempotent: bool | None, sent: int, no_sleep: list[float]
) -> None:
    responses.add(method.upper(), f"{BASE}/x", status=503)
    responses.add(method.upper(), f"{BASE}/x", status=204)
    request = Request(method=method, path="x", idempotent=idempotent)
    if sent == 2:
        assert transport().send(request).status_code == 204
    else:
        with pytest.raises(runtrack.ServerError):
            transport().send(request)
    assert len(responses.calls) == sent


def test_request_lives_in_the_transport_and_stays_importable_from_paginate() -> None:
    assert runtrack.paginate.Request is Request
    assert Request(method="post", path="x").method == "POST"
    assert Request(path="x").retry_safe and not Request(method="POST", path="x").retry_safe
