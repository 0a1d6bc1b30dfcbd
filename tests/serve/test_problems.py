"""How errors read to clients (status, problem document) and the server cursors (no server needed)."""

from __future__ import annotations

import pytest

import runtrack
from runtrack.serve.paging import CURSOR_PREFIX, Position, decode_position, encode_position, fingerprint
from runtrack.serve.problems import ServeError, http_status, problem


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (runtrack.ConfigurationError("scope: unknown keyword"), 400),
        (runtrack.RequestError("rejected", status_code=409), 409),
        (runtrack.RequestError("rejected", status_code=None), 400),
        (runtrack.NotFoundError("gone", status_code=404), 404),
        (runtrack.RateLimitError("slow down", status_code=429), 429),
        (runtrack.AuthenticationError("bad key", status_code=401), 502),
        (runtrack.ServerError("down", status_code=503), 502),
        (runtrack.NetworkError("reset"), 502),
        (runtrack.PayloadError("odd", path="$.data[0]"), 502),
        (runtrack.PaginationError("repeated token"), 502),
        (ServeError("read-only", status=403, title="Read-only"), 403),
        (KeyError("x"), 500),
    ],
)
def test_statuses(error: Exception, status: int) -> None:
    assert http_status(error) == status
    assert problem(error)["status"] == status


def test_problem_document_fields() -> None:
    error = runtrack.PayloadError("no id", path="$.data[3].id", platform="foundry", cursor="c1", status_code=200)
    doc = problem(error)
    assert doc == {
        "type": "urn:runtrack:problem:payload-error",
        "title": "Payload error",
        "status": 502,
        "detail": "[foundry] at $.data[3].id: no id; resume with cursor=c1",
        "error": "PayloadError",
        "platform": "foundry",
        "upstream_status": 200,
        "path": "$.data[3].id",
        "cursor": "c1",
    }
    limited = problem(runtrack.RateLimitError("wait", retry_after=7.0))
    assert limited["retry_after"] == 7.0
    assert problem(ServeError("x", status=404, title="Unknown source"))["type"] == "urn:runtrack:problem:unknown-source"


def test_an_unexpected_exception_shows_only_its_type() -> None:
    doc = problem(RuntimeError("token=abc123 leaked in a message"))
    assert doc["status"] == 500 and doc["error"] == "RuntimeError" and "abc123" not in str(doc)


def test_retry_after_header() -> None:
    pytest.importorskip("starlette")
    from runtrack.serve.rest import problem_response

    response = problem_response(runtrack.RateLimitError("wait", retry_after=7.5))
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.media_type == "application/problem+json"


def test_cursor_round_trip_and_refusals() -> None:
    request = fingerprint("langsmith", {}, None, None, False)
    position = Position(listing=1, cursor="rt1.abc", skip=3)
    cursor = encode_position(position, request)
    assert cursor.startswith(CURSOR_PREFIX)
    assert decode_position(cursor, request, listings=2) == position
    for bad, message in [
        ("rt1.abc", "not a cursor of this server"),
        (CURSOR_PREFIX + "!!!", "damaged"),
        (encode_position(position, fingerprint("foundry")), "another request"),
        (cursor, "out of range"),
    ]:
        with pytest.raises(ServeError, match=message) as caught:
            decode_position(bad, request, listings=1 if bad == cursor else 2)
        assert http_status(caught.value) == 400
