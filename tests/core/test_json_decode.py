"""The transport decodes with orjson when it is installed, and always gives what ``json.loads`` would."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import responses

import runtrack
from runtrack import http
from runtrack.http import Transport

BASE = "https://api.example.test"


def fetch(body: bytes | str, content_type: str = "application/json") -> Any:
    responses.get(f"{BASE}/x", body=body, content_type=content_type)
    return Transport(BASE, platform="demo").get_json("x")


@pytest.fixture(params=["orjson", "stdlib"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with the fast path (when orjson is installed) and without it."""
    if request.param == "orjson":
        if http._orjson_loads is None:
            pytest.skip("orjson is not installed")
    else:
        monkeypatch.setattr(http, "_orjson_loads", None)
    return str(request.param)


CASES = [
    '{"data": [{"id": "r1", "n": 3, "x": 0.1, "ok": true, "none": null, "t": "caf\\u00e9 \\u2713"}]}',
    '[{"id": 18446744073709551615}, {"id": -9223372036854775808}]',  # the 64-bit limits orjson keeps exact
    '{"big": 123456789012345678901234567890, "neg": -9223372036854775809}',  # beyond: the stdlib keeps them exact
    '[12345678901234567890, "12345678901234567890"]',
    '{"a": 1, "a": 2}',
    '{"s": "\\ud800 lone surrogate"}',
    '{"x": 1e400}',
    '{"text": "日本語"}',
]


@responses.activate
@pytest.mark.parametrize("body", CASES)
def test_same_result_as_json_loads(parser: str, body: str) -> None:
    assert fetch(body.encode()) == json.loads(body)


@responses.activate
def test_big_integers_stay_integers(parser: str) -> None:
    data = fetch(b'{"id": 123456789012345678901234567890, "ids": [98765432109876543210]}')
    assert data == {"id": 123456789012345678901234567890, "ids": [98765432109876543210]}
    assert type(data["id"]) is int


@responses.activate
def test_nan_and_infinity_as_the_stdlib_reads_them(parser: str) -> None:
    data = fetch(b'{"a": NaN, "b": Infinity}')
    assert math.isnan(data["a"])
    assert data["b"] == math.inf


@responses.activate
def test_declared_non_utf8_charset_is_honoured(parser: str) -> None:
    # "é" in Latin-1 is one byte that is not valid UTF-8: the body is read in the declared charset.
    data = fetch('{"name": "café"}'.encode("latin-1"), content_type="application/json; charset=iso-8859-1")
    assert data == {"name": "café"}


@responses.activate
def test_invalid_json_is_still_a_payload_error(parser: str) -> None:
    with pytest.raises(runtrack.PayloadError, match="not valid JSON"):
        fetch(b'{"data": [1, 2')


@responses.activate
def test_empty_body_is_none(parser: str) -> None:
    assert fetch(b"") is None
