"""A run of 19+ digits inside a string (hex ids) keeps the fast parser; a 19+ digit number still goes to the stdlib."""

from __future__ import annotations

import json

import pytest

from runtrack import http

pytest.importorskip("orjson")

HEX_IDS = b'[{"job_id": "d24cc9b8773506171615975596df541f", "n": 1}, {"job_id": "12345678901234567890ab"}]'
BIG_NUMBERS = [
    b'{"a": 12345678901234567890}',
    b'{"a":-12345678901234567890}',
    b"[1,\n12345678901234567890]",
    b"12345678901234567890",
    b'{"a":1234567890123456789.5}',
]


def test_digits_inside_strings_keep_the_fast_path() -> None:
    assert http._may_hold_big_int(HEX_IDS) is False
    assert http._fast_loads(HEX_IDS) == json.loads(HEX_IDS)  # and it is orjson's answer, not _SLOW


@pytest.mark.parametrize("body", BIG_NUMBERS)
def test_a_long_number_still_goes_to_the_stdlib(body: bytes) -> None:
    assert http._fast_loads(body) is http._SLOW  # orjson would read it as a float
