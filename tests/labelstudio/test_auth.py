"""Label Studio credentials: legacy tokens, personal access tokens (refresh, cache, lock, expiry), env fallbacks."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest
import responses
from runtrack_labelstudio import LabelStudioAdapter, PersonalAccessTokenAuth
from runtrack_labelstudio.auth import decode_jwt_payload

import runtrack

from .helpers import BASE, LEGACY, T0, Clock, access_token, add_captured, captured, make_jwt, pat_token

REFRESH = f"{BASE}/api/token/refresh/"
ML_ONE = f"{BASE}/api/ml/1"


def refresh_calls() -> list[Any]:
    return [c for c in responses.calls if c.request.url == REFRESH]


def add_refresh(*tokens: str) -> None:
    for token in tokens:
        responses.post(REFRESH, json={"access": token})


@responses.activate
def test_legacy_token_is_sent_with_token_scheme(legacy: LabelStudioAdapter) -> None:
    add_captured("GET", ML_ONE, "34_ml_get")
    legacy.ml_backend(1)
    assert responses.calls[0].request.headers["Authorization"] == f"Token {LEGACY}"
    assert not refresh_calls()


@responses.activate
def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", BASE + "/")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", LEGACY)
    src = runtrack.connect("labelstudio")
    assert isinstance(src, LabelStudioAdapter)
    assert src.transport.base_url == BASE and src.instance == "ls.example.test"
    add_captured("GET", ML_ONE, "34_ml_get")
    src.ml_backend(1)
    assert responses.calls[0].request.headers["Authorization"] == f"Token {LEGACY}"


def test_missing_key_names_the_environment_variable() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="LABEL_STUDIO_API_KEY"):
        LabelStudioAdapter(base_url=BASE, environ={})
    with pytest.raises(runtrack.ConfigurationError, match="LABEL_STUDIO_URL"):
        LabelStudioAdapter(api_key=LEGACY, environ={})


@responses.activate
def test_pat_is_exchanged_on_the_prefixed_refresh_url_and_sent_as_bearer(clock: Clock) -> None:
    """The refresh keeps the /ls prefix (the vendor SDK posts to https://host/api/token/refresh/)."""
    pat = captured("07_token_refresh")["request"]["body"]["refresh"]
    access = captured("07_token_refresh")["body"]["access"]
    add_refresh(access)
    add_captured("GET", ML_ONE, "34_ml_get")
    src = LabelStudioAdapter(base_url=BASE, api_key=pat, environ={})
    assert len(responses.calls) == 0  # nothing happens before the first request

    src.ml_backend(1)
    refresh, call = responses.calls
    assert refresh.request.url == "https://ls.example.test/ls/api/token/refresh/"
    assert json.loads(refresh.request.body) == {"refresh": pat}
    assert "Authorization" not in refresh.request.headers
    assert call.request.headers["Authorization"] == f"Bearer {access}"
    assert isinstance(src.transport.auth, PersonalAccessTokenAuth)
    assert src.transport.auth.refreshes == 1


@responses.activate
def test_access_token_is_cached_until_shortly_before_it_expires(clock: Clock) -> None:
    first, second = access_token(T0, n=1), access_token(T0 + 280, n=2)
    add_refresh(first, second)
    responses.get(ML_ONE, json=captured("34_ml_get")["body"])
    src = LabelStudioAdapter(base_url=BASE, api_key=pat_token(), environ={})

    src.ml_backend(1)
    clock.time = T0 + 269  # 5-minute token, refreshed 30 s early: still valid
    src.ml_backend(1)
    assert len(refresh_calls()) == 1
    clock.time = T0 + 271
    src.ml_backend(1)
    assert len(refresh_calls()) == 2
    bearer = [c.request.headers["Authorization"] for c in responses.calls if c.request.url == ML_ONE]
    assert bearer == [f"Bearer {first}", f"Bearer {first}", f"Bearer {second}"]


@responses.activate
def test_lifetime_comes_from_the_server_clock_not_the_local_one(clock: Clock) -> None:
    """A local clock 10 minutes ahead of the server must not make every request refresh."""
    clock.time = T0 + 600
    add_refresh(access_token(T0), access_token(T0 + 300, n=2))
    responses.get(ML_ONE, json=captured("34_ml_get")["body"])
    src = LabelStudioAdapter(base_url=BASE, api_key=pat_token(), environ={})
    for _ in range(3):
        src.ml_backend(1)
    assert len(refresh_calls()) == 1


@responses.activate
def test_one_refresh_under_concurrency(clock: Clock) -> None:
    def slow_refresh(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(0.05)  # widen the race window; the lock, not luck, must keep this to one call
        return 200, {}, json.dumps({"access": access_token()})

    responses.add_callback(responses.POST, REFRESH, callback=slow_refresh, content_type="application/json")
    responses.get(ML_ONE, json=captured("34_ml_get")["body"])
    src = LabelStudioAdapter(base_url=BASE, api_key=pat_token(), environ={})
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            src.ml_backend(1)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(refresh_calls()) == 1
    assert len([c for c in responses.calls if c.request.url == ML_ONE]) == 8


@responses.activate
def test_a_401_refreshes_once_and_retries(clock: Clock) -> None:
    stale, fresh = access_token(n=1), access_token(n=2)
    add_refresh(stale, fresh)
    add_captured("GET", ML_ONE, "02_projects_bad_token")  # 401 "Invalid token."
    responses.get(ML_ONE, json=captured("34_ml_get")["body"])
    src = LabelStudioAdapter(base_url=BASE, api_key=pat_token(), environ={})
    assert src.ml_backend(1).id == 1
    bearer = [c.request.headers["Authorization"] for c in responses.calls if c.request.url == ML_ONE]
    assert bearer == [f"Bearer {stale}", f"Bearer {fresh}"]


@responses.activate
def test_refused_pat_is_an_authentication_error_without_the_token(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    pat = pat_token()
    add_captured("POST", REFRESH, "12_token_refresh_garbage")  # 401 "Token is invalid"
    src = LabelStudioAdapter(base_url=BASE, api_key=pat, environ={})
    with caplog.at_level(logging.DEBUG), pytest.raises(runtrack.AuthenticationError) as info:
        src.ml_backend(1)
    err = info.value
    assert err.status_code == 401 and err.platform == "labelstudio"
    assert "POST api/token/refresh/" in str(err) and "Token is invalid" in str(err)
    assert "refused the personal access token" in str(err) and "Personal Access Token" in str(err)
    assert len(responses.calls) == 1  # no API request went out without credentials
    for text in (str(err), repr(err), repr(src), repr(src.transport.auth), caplog.text):
        assert pat not in text


@responses.activate
def test_legacy_tokens_disabled_by_the_organization(legacy: LabelStudioAdapter) -> None:
    add_captured("GET", ML_ONE, "14_whoami_legacy_when_disabled")
    with pytest.raises(runtrack.AuthenticationError, match="legacy token authentication has been disabled"):
        legacy.ml_backend(1)
    assert len(responses.calls) == 1  # a static token is not retried


def test_expired_pat_fails_before_any_request(clock: Clock) -> None:
    pat = pat_token(exp=T0 - 1)
    with responses.RequestsMock() as mock:
        with pytest.raises(runtrack.AuthenticationError) as info:
            LabelStudioAdapter(base_url=BASE, api_key=pat, environ={})
        assert len(mock.calls) == 0
    text = str(info.value)
    assert "expired at 2026-11-23T23:10:16Z" in text and "create a new personal access token" in text
    assert pat not in text


def test_pat_without_expiry_fails_before_any_request(clock: Clock) -> None:
    with responses.RequestsMock() as mock:
        with pytest.raises(runtrack.AuthenticationError, match="no expiration"):
            LabelStudioAdapter(base_url=BASE, api_key=pat_token(exp=None), environ={})
        assert len(mock.calls) == 0


def test_an_access_token_is_not_a_personal_access_token(clock: Clock) -> None:
    with pytest.raises(runtrack.ConfigurationError, match=r"\*access\* token"):
        LabelStudioAdapter(base_url=BASE, api_key=access_token(), environ={})
    with pytest.raises(runtrack.ConfigurationError, match="'id_token'"):
        LabelStudioAdapter(base_url=BASE, api_key=pat_token(token_type="id_token"), environ={})


@responses.activate
def test_pat_expiring_during_a_session_fails_before_the_refresh(clock: Clock) -> None:
    add_refresh(access_token())
    responses.get(ML_ONE, json=captured("34_ml_get")["body"])
    src = LabelStudioAdapter(base_url=BASE, api_key=pat_token(exp=T0 + 3600), environ={})
    src.ml_backend(1)
    clock.time = T0 + 3601
    with pytest.raises(runtrack.AuthenticationError, match="expired at"):
        src.ml_backend(1)
    assert len(refresh_calls()) == 1


def test_key_shapes() -> None:
    assert decode_jwt_payload(LEGACY) is None
    assert decode_jwt_payload("a.b.c") is None  # three parts, but no JSON payload
    assert decode_jwt_payload("x." + "W10" + ".y") is None  # a JSON array is no claim set
    assert decode_jwt_payload(make_jwt({"exp": 1})) == {"exp": 1}
    with pytest.raises(runtrack.ConfigurationError, match="empty"):
        LabelStudioAdapter(base_url=BASE, api_key="  ", environ={})


@responses.activate
def test_secrets_never_show(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    pat, access = pat_token(), access_token()
    add_refresh(access)
    responses.get(ML_ONE, body=f"upstream echoed {access} and {pat}", status=502)
    src = LabelStudioAdapter(base_url=BASE, api_key=pat, environ={}, max_retries=1)
    with caplog.at_level(logging.DEBUG), pytest.raises(runtrack.ServerError) as info:
        src.ml_backend(1)
    for text in (str(info.value), repr(src), repr(src.transport.auth), repr(src.config), caplog.text):
        assert pat not in text and access not in text
    assert "***" in str(info.value)


@responses.activate
def test_refresh_and_reads_are_retried_on_transient_errors(clock: Clock, no_sleep: list[float]) -> None:
    responses.post(REFRESH, body="", status=503)
    add_refresh(access_token())
    responses.get(ML_ONE, body="", status=502)
    responses.get(ML_ONE, json=captured("34_ml_get")["body"])
    src = LabelStudioAdapter(base_url=BASE, api_key=pat_token(), environ={})
    assert src.ml_backend(1).id == 1
    assert [c.response.status_code for c in responses.calls] == [503, 200, 502, 200]
    assert len(no_sleep) == 2
