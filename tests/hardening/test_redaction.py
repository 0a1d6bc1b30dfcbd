"""Secrets echoed by a server never reach an error: message, request id, vendor code, parameters, excerpts
(redacted before they are cut), header-value errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import runtrack
from runtrack.cli import main
from runtrack.testing import Request, Response

from .servers import FOUNDRY_TOKEN, LANGSMITH_KEY, LS_LEGACY, Hostile, leaked

STUDIO = "ri.foundry.main.model-studio.11111111-2222-3333-4444-555555555555"


def _echoes(req: Request) -> str:
    """Whatever credential the request carried, as a hostile server would echo it."""
    auth = req.header("Authorization") or ""
    return req.header("X-API-Key") or auth.split(" ", 1)[-1]


def _fields(exc: runtrack.RuntrackError) -> str:
    return " ".join(str(v) for v in (str(exc), repr(exc), exc.message, exc.request_id, exc.vendor_code))


ANSWERS: dict[str, Callable[[Request], Response]] = {
    "request id header": lambda req: Response.json({"detail": "no"}, 401, [("X-Request-Id", _echoes(req))]),
    "request id with prefix": lambda req: Response.json(
        {"detail": "no"}, 500, [("X-Request-Id", "req-" + _echoes(req)[:20])]
    ),
    "json detail": lambda req: Response.json({"detail": f"bad key {_echoes(req)}"}, 403),
    "cut at the excerpt end": lambda req: Response.json({"detail": "x" * 290 + _echoes(req)}, 400),
    "cut in plain text": lambda req: Response(400, ("y" * 295 + _echoes(req)).encode(), "text/plain"),
    "conjure error name and parameters": lambda req: Response.json(
        {
            "errorCode": "INVALID_ARGUMENT",
            "errorName": "Auth:" + _echoes(req),
            "errorInstanceId": _echoes(req),
            "parameters": {"token": _echoes(req), "header": "Bearer " + _echoes(req)[5:40]},
        },
        400,
    ),
    "not json": lambda req: Response(200, ("{oops " + _echoes(req)).encode(), "application/json"),
}


def _read(adapter: str, base_url: str) -> None:
    options: dict[str, Any] = {"base_url": base_url, "max_retries": 0}
    scope: dict[str, Any]
    if adapter == "langsmith":
        options["api_key"], scope = LANGSMITH_KEY, {"queue_id": "q1"}
    elif adapter == "foundry":
        options["api_key"], scope = FOUNDRY_TOKEN, {"model_studio_rid": STUDIO}
    else:
        options["api_key"], scope = LS_LEGACY, {"prompt_id": 1, "version_id": 2}
    with runtrack.connect(adapter, **options) as ad:
        list(ad.runs(**scope))


@pytest.mark.parametrize("adapter", ["langsmith", "foundry", "labelstudio"])
@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_no_error_field_shows_an_echoed_secret(adapter: str, case: str) -> None:
    with Hostile(ANSWERS[case]) as server, pytest.raises(runtrack.RuntrackError) as info:
        _read(adapter, server.base_url)
    assert not leaked(_fields(info.value), LANGSMITH_KEY, FOUNDRY_TOKEN, LS_LEGACY)


def test_the_cli_shows_no_piece_of_an_echoed_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGSMITH_API_KEY", LANGSMITH_KEY)
    with Hostile(ANSWERS["conjure error name and parameters"]) as server:
        code = main(
            ["--debug", "runs", "langsmith", "--scope", "queue_id=q", "--option", f"base_url={server.base_url}"]
        )
    out, err = capsys.readouterr()
    assert code == 1
    assert "HTTP 400" in err
    assert not leaked(out + err, LANGSMITH_KEY)


@pytest.mark.parametrize("pad", ["\n", "\r\n", " ", "\t"])
def test_whitespace_around_a_key_is_stripped(pad: str) -> None:
    seen: list[str | None] = []

    def answer(req: Request) -> Response:
        seen.append(req.header("X-API-Key"))
        return Response.json([])

    with Hostile(answer) as server:
        ad = runtrack.connect("langsmith", base_url=server.base_url, api_key=pad + LANGSMITH_KEY + pad)
        assert list(ad.runs(queue_id="q")) == []
        ad.close()
    assert seen == [LANGSMITH_KEY]


@pytest.mark.parametrize("bad", ["\n", "\r", "\x00"])
def test_a_key_that_cannot_be_a_header_is_refused_without_showing_it(bad: str) -> None:
    key = LANGSMITH_KEY[:20] + bad + LANGSMITH_KEY[20:]
    with Hostile(lambda req: Response.json([])) as server:
        ad = runtrack.connect("langsmith", base_url=server.base_url, api_key=key)
        with pytest.raises(runtrack.ConfigurationError, match="X-API-Key header") as info:
            list(ad.runs(queue_id="q"))
        ad.close()
        assert server.request_count == 0
    assert not leaked(_fields(info.value), LANGSMITH_KEY)


def test_an_error_pickled_and_back_stays_redacted() -> None:
    import pickle

    with Hostile(ANSWERS["request id header"]) as server, pytest.raises(runtrack.RuntrackError) as info:
        _read("langsmith", server.base_url)
    again = pickle.loads(pickle.dumps(info.value))
    assert not leaked(_fields(again) + json.dumps(again.__dict__, default=str), LANGSMITH_KEY)


def test_a_proxy_password_never_shows_in_a_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://bob:ProxyPa55wordX@127.0.0.1:9")
    ad = runtrack.connect("langsmith", base_url="http://127.0.0.1:9", api_key=LANGSMITH_KEY, max_retries=0)
    with pytest.raises(runtrack.NetworkError) as info:
        list(ad.runs(queue_id="q"))
    ad.close()
    assert "ProxyPa55" not in _fields(info.value)
    assert "bob:***@" in str(info.value) or "127.0.0.1" in str(info.value)


def test_any_url_password_in_an_error_is_redacted() -> None:
    exc = runtrack.NetworkError("cannot reach proxy http://bob:UrlPa55word@proxy.corp:8080/ (and 'https://u:x2@h')")
    assert "UrlPa55word" not in str(exc) and "x2@" not in str(exc)
    assert "http://bob:***@proxy.corp:8080/" in str(exc)
