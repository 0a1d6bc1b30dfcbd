"""The transport: URL joining, retries, Retry-After, error mapping and secret redaction."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
import requests
import responses

import runtrack
from runtrack.http import ErrorInfo, HeaderAuth, RefreshingAuth, Secret, Transport, join_url, parse_retry_after
from runtrack.paginate import Request

BASE = "https://api.example.test/prefix"
KEY = "sk-live-abcdef123456"


def transport(**kw: Any) -> Transport:
    kw.setdefault("auth", HeaderAuth({"X-API-Key": Secret(KEY)}))
    kw.setdefault("rng", lambda: 1.0)
    return Transport(BASE, platform="demo", **kw)


def test_join_url_keeps_prefixes() -> None:
    assert join_url("https://h/ls/", "/api/ml") == "https://h/ls/api/ml"
    assert join_url("https://h/ls", "api/ml") == "https://h/ls/api/ml"
    assert join_url("https://h", "https://other/x?page=2") == "https://other/x?page=2"


def test_bad_base_url() -> None:
    with pytest.raises(ValueError, match="http"):
        Transport("ftp://x", platform="demo")


@responses.activate
def test_get_json_with_prefix_headers_and_timeout() -> None:
    responses.get(f"{BASE}/api/items", json={"ok": True})
    t = transport(timeout=(1.0, 2.0))
    assert t.get_json("api/items", params={"a": 1, "skip": None}) == {"ok": True}
    sent = responses.calls[0].request
    assert sent.url == f"{BASE}/api/items?a=1"
    assert sent.headers["X-API-Key"] == KEY
    assert sent.headers["User-Agent"].startswith(f"runtrack/{runtrack.__version__} (demo)")
    assert sent.req_kwargs["timeout"] == (1.0, 2.0)


@responses.activate
@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retries_transient_statuses(status: int, no_sleep: list[float]) -> None:
    responses.get(f"{BASE}/x", status=status, json={"detail": "slow down"})
    responses.get(f"{BASE}/x", json=[1])
    assert transport().get_json("x") == [1]
    assert len(responses.calls) == 2
    assert len(no_sleep) == 1


@responses.activate
def test_retry_after_seconds_and_http_date(no_sleep: list[float]) -> None:
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "7"})
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    responses.get(f"{BASE}/x", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    responses.get(f"{BASE}/x", json=[])
    transport().get_json("x")
    assert no_sleep[0] == 7
    assert 27 <= no_sleep[1] <= 30


@responses.activate
def test_retry_after_is_capped(no_sleep: list[float], caplog: pytest.LogCaptureFixture) -> None:
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "3600"})
    responses.get(f"{BASE}/x", json=[])
    with caplog.at_level(logging.WARNING):
        transport(retry_after_cap=10).get_json("x")
    assert no_sleep == [10]
    assert "waiting the cap" in caplog.text


@responses.activate
def test_backoff_is_exponential_jittered_and_bounded(no_sleep: list[float]) -> None:
    for _ in range(5):
        responses.get(f"{BASE}/x", status=502)
    with pytest.raises(runtrack.ServerError) as info:
        transport(max_retries=4, backoff=1.0, backoff_max=3.0, rng=lambda: 0.0).get_json("x")
    assert no_sleep == [0.5, 1.0, 1.5, 1.5]  # half of min(3, 1*2^n): bounded jitter at its low end
    assert info.value.status_code == 502
    assert "after 4 retries" in str(info.value)
    assert len(responses.calls) == 5


@responses.activate
def test_429_after_retries_is_rate_limit_error_with_retry_after() -> None:
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "2"}, json={"detail": "Too many"})
    with pytest.raises(runtrack.RateLimitError) as info:
        transport(max_retries=1).get_json("x")
    assert info.value.retry_after == 2
    assert info.value.status_code == 429
    assert "Too many" in str(info.value)


@responses.activate
def test_connection_reset_is_retried_then_network_error(no_sleep: list[float]) -> None:
    responses.get(f"{BASE}/x", body=requests.ConnectionError(f"reset by peer, key={KEY}"))
    responses.get(f"{BASE}/x", json=[1])
    assert transport().get_json("x") == [1]
    responses.reset()
    responses.get(f"{BASE}/y", body=requests.ConnectionError(f"Connection reset by peer key={KEY}"))
    with pytest.raises(runtrack.NetworkError) as info:
        transport(max_retries=2).get_json("y")
    assert "after 2 retries" in str(info.value)
    assert KEY not in str(info.value)


@responses.activate
def test_post_is_not_retried_unless_idempotent(no_sleep: list[float]) -> None:
    responses.post(f"{BASE}/launch", status=503)
    with pytest.raises(runtrack.ServerError):
        transport().json(Request(method="POST", path="launch", json={}, idempotent=False))
    assert len(responses.calls) == 1
    responses.post(f"{BASE}/launch", body=requests.ConnectionError("reset"))
    with pytest.raises(runtrack.NetworkError):
        transport().json(Request(method="POST", path="launch", json={}, idempotent=False))
    assert len(responses.calls) == 2
    responses.reset()
    responses.post(f"{BASE}/query", status=503)
    responses.post(f"{BASE}/query", json={"ok": 1})
    assert transport().json(Request(method="POST", path="query", json={}, idempotent=True)) == {"ok": 1}


@responses.activate
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, runtrack.AuthenticationError),
        (403, runtrack.AuthenticationError),
        (404, runtrack.NotFoundError),
        (400, runtrack.RequestError),
        (422, runtrack.RequestError),
        (500, runtrack.ServerError),
    ],
)
def test_status_mapping(status: int, cls: type[Exception]) -> None:
    responses.get(f"{BASE}/x", status=status, json={"detail": "nope"}, headers={"X-Request-Id": "req-42"})
    with pytest.raises(cls) as info:
        transport(max_retries=0).get_json("x")
    err = info.value
    assert isinstance(err, runtrack.RuntrackError)
    assert err.status_code == status
    assert err.request_id == "req-42"
    assert "nope" in str(err)
    assert "request id req-42" in str(err)


@responses.activate
def test_vendor_error_hook_and_retry_override() -> None:
    responses.get(f"{BASE}/x", status=503, json={"errorName": "Overloaded", "hint": "DO_NOT_RETRY"})

    def describe(resp: requests.Response) -> ErrorInfo:
        body = resp.json()
        return ErrorInfo(message="busy", vendor_code=body["errorName"], retry=body["hint"] != "DO_NOT_RETRY")

    with pytest.raises(runtrack.ServerError) as info:
        transport(describe_error=describe).get_json("x")
    assert info.value.vendor_code == "Overloaded"
    assert len(responses.calls) == 1


@responses.activate
def test_a_broken_error_hook_still_gives_the_http_error() -> None:
    responses.get(f"{BASE}/x", status=400, body="plain text problem")

    def describe(resp: requests.Response) -> ErrorInfo:
        raise KeyError("oops")

    with pytest.raises(runtrack.RequestError, match="plain text problem"):
        transport(describe_error=describe).get_json("x")


@responses.activate
def test_html_error_page_is_summarised_not_dumped() -> None:
    page = "<!DOCTYPE html><html>" + "x" * 170_000 + "</html>"
    responses.get(f"{BASE}/x", status=404, body=page, content_type="text/html")
    with pytest.raises(runtrack.NotFoundError) as info:
        transport().get_json("x")
    assert len(str(info.value)) < 300
    assert "HTML page" in str(info.value)


@responses.activate
def test_invalid_json_is_payload_error() -> None:
    responses.get(f"{BASE}/x", body='{"data": [1, 2', content_type="application/json")
    with pytest.raises(runtrack.PayloadError, match="not valid JSON"):
        transport().get_json("x")


@responses.activate
def test_secrets_never_leak(caplog: pytest.LogCaptureFixture) -> None:
    t = transport()
    assert KEY not in repr(t)
    assert KEY not in repr(t.auth)
    assert repr(Secret(KEY)) == "Secret('***')"
    assert str(Secret(KEY)) == "Secret('***')"
    # the server echoes the key back in an error body, a JSON detail and a text body
    responses.get(f"{BASE}/a", status=401, json={"detail": f"Invalid key {KEY}"})
    responses.get(f"{BASE}/b", status=500, body=f"trace: key={KEY}")
    responses.get(f"{BASE}/c", status=200, body=f"not json {KEY}")
    responses.get(f"{BASE}/d", status=429, json={"detail": KEY})
    responses.get(f"{BASE}/d", status=429, json={"detail": KEY})
    with caplog.at_level(logging.DEBUG):
        for path in ("a", "b", "c", "d"):
            with pytest.raises(runtrack.RuntrackError) as info:
                transport(max_retries=1).get_json(path)
            assert KEY not in str(info.value)
            assert KEY not in repr(info.value)
            assert KEY not in str(info.value.args)
    assert KEY not in caplog.text


def test_secret_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))


@responses.activate
def test_refreshing_auth_refreshes_on_401_once() -> None:
    tokens = iter(["tok-1", "tok-2", "tok-3"])
    auth = RefreshingAuth(lambda: (next(tokens), time.time() + 300))
    responses.get(f"{BASE}/x", status=401, json={"detail": "expired"})
    responses.get(f"{BASE}/x", json=[1])
    t = Transport(BASE, platform="demo", auth=auth)
    assert t.get_json("x") == [1]
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer tok-1", "Bearer tok-2"]
    responses.get(f"{BASE}/y", status=401, json={"detail": "still no"})
    with pytest.raises(runtrack.AuthenticationError):
        t.get_json("y")
    assert "tok-" not in repr(auth)


def test_refreshing_auth_caches_until_leeway_and_refreshes_once_under_concurrency() -> None:
    calls: list[int] = []
    now = [1000.0]

    def obtain() -> tuple[str, float]:
        calls.append(1)
        time.sleep(0.01)
        return f"t{len(calls)}", now[0] + 300

    auth = RefreshingAuth(obtain, leeway=30, clock=lambda: now[0])
    threads = [threading.Thread(target=auth.headers) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1
    now[0] += 250
    assert auth.headers() == {"Authorization": "Bearer t1"}
    now[0] += 25  # within 30 s of expiry
    assert auth.headers() == {"Authorization": "Bearer t2"}


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5
    assert parse_retry_after("-3") == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412480.0 - 10) == 10


def test_sessions_are_per_thread() -> None:
    t = transport()
    main = t.session
    other: list[requests.Session] = []
    th = threading.Thread(target=lambda: other.append(t.session))
    th.start()
    th.join()
    assert other[0] is not main
    assert t.session is main
    t.close()


@responses.activate
def test_replaced_tokens_stay_redacted() -> None:
    tokens = iter(["old-token-1111", "new-token-2222"])
    auth = RefreshingAuth(lambda: (next(tokens), time.time() + 300))
    responses.get(f"{BASE}/x", status=401, json={"detail": "expired"})
    responses.get(f"{BASE}/x", status=400, json={"detail": "bad request by old-token-1111 and new-token-2222"})
    with pytest.raises(runtrack.RequestError) as info:
        Transport(BASE, platform="demo", auth=auth).get_json("x")
    assert "old-token-1111" not in str(info.value)
    assert "new-token-2222" not in str(info.value)


@responses.activate
def test_adapter_error_messages_are_capped() -> None:
    responses.get(f"{BASE}/x", status=400, json={})
    t = transport(describe_error=lambda r: ErrorInfo(message="y" * 5000))
    with pytest.raises(runtrack.RequestError) as info:
        t.get_json("x")
    assert len(str(info.value)) < 400


def test_connection_errors_are_short_and_say_the_cause() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t = Transport(f"http://127.0.0.1:{port}", platform="demo", max_retries=0)
    with pytest.raises(runtrack.NetworkError) as info:
        t.get_json("api/x")
    text = str(info.value)
    assert "Connection refused" in text
    assert "object at 0x" not in text
    assert "HTTPConnectionPool" not in text
