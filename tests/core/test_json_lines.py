"""The export write path: dump_run passes raw through, and orjson writes the same bytes as the stdlib."""

from __future__ import annotations

import io
import json
import random
import struct
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

import runtrack
from runtrack import convert
from runtrack.convert import base_converter, dump_run, encode_json_line, encode_runs, read_jsonl, write_jsonl
from runtrack.testing import FakeLangSmith

pytest.importorskip("orjson")


def stdlib(value: Any, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """``encode_json_line`` as it runs where orjson is not installed."""
    with monkeypatch.context() as m:
        m.setattr(convert, "_orjson_dumps", None)
        return encode_json_line(value)


def run(**kw: Any) -> runtrack.Run:
    fields: dict[str, Any] = {"platform": "p", "instance": "h.example.test", "kind": "run", "native_id": "n-1"}
    return runtrack.Run(**{**fields, **kw})


TRICKY: dict[str, Any] = {
    "non_ascii": "Grüße, 東京, emoji 😀, nbsp\u00a0, line sep \u2028, bom \ufeff, del \x7f, nul \x00, tab\t",
    "quotes": 'a "quoted" \\ back\\slash /',
    "big_ints": [2**63 - 1, 2**63, -(2**64) - 1, 10**40],
    "money": Decimal("0.10"),
    "money_list": [Decimal("12345678901234567890.000000001"), Decimal("-0"), Decimal("1E+3")],
    "when": datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
    "naive": datetime(2024, 5, 1, 10, 0, 0),
    "floats": [0.1, 1e16, 1e-7, 1.5e-5, 0.00012, 123456789.125, -0.0, 5e-324, 1.7976931348623157e308],
    "nested": {"deep": [{"x": [1, [2, [3, {"y": None, "z": True}]]]}]},
}


@pytest.mark.parametrize("key", list(TRICKY))
def test_orjson_and_the_stdlib_write_the_same_bytes(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"raw": {key: TRICKY[key]}, "list": [TRICKY[key]]}
    fast = encode_json_line(value)
    assert fast == stdlib(value, monkeypatch)
    assert fast.endswith(b"\n") and fast.count(b"\n") == 1
    json.loads(fast)  # strict JSON


def test_every_float_shape_is_written_as_the_stdlib_writes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    floats = [10.0**k for k in range(-30, 30)] + [1.5 * 10.0**k for k in range(-30, 30)]
    floats += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(3000)]
    floats = [f for f in floats if f == f and abs(f) != float("inf")]
    for f in floats:
        value = {"v": f, "l": [f, -f]}
        assert encode_json_line(value) == stdlib(value, monkeypatch), f


def test_nan_and_infinity_become_null_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"a": float("nan"), "b": [float("inf"), -float("inf"), 1.0]}
    assert encode_json_line(value) == stdlib(value, monkeypatch) == b'{"a":null,"b":[null,null,1.0]}\n'


def test_a_lone_surrogate_is_escaped_and_reads_back(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"id": "run-\ud800", "ok": "é"}
    line = encode_json_line(value)
    assert line == stdlib(value, monkeypatch)
    line.decode("utf-8")  # valid UTF-8
    assert json.loads(line) == value


def test_dump_run_is_the_converters_output_with_raw_passed_through() -> None:
    from runtrack_langsmith.mapping import queue_run_parser

    fake = FakeLangSmith(seed=3, queues=1, runs_per_queue=40)
    queue = fake.queue_ids[0]
    parse = queue_run_parser(instance="h.example.test", queue_id=queue, review=None, web="https://h.example.test")
    runs = [parse(row) for row in fake.queue_runs(queue)]
    runs.append(
        run(
            status=runtrack.RunStatus.FAILED,
            review_status=runtrack.ReviewStatus.REVIEWED,
            created_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
            created_by=runtrack.Actor(id="7", username="ana"),
            scope={"queue": "q"},
            metrics={"cost": Decimal("0.25"), "tokens": 12, "score": 0.5},
            tags=("a", "b"),
            raw={"money": "0.25", "nested": [1, {"x": None}]},
        )
    )
    for r in runs:
        dumped = dump_run(r)
        assert dumped == base_converter().unstructure(r)
        assert list(dumped) == list(base_converter().unstructure(r))  # the same key order, so the same bytes
        assert dumped["raw"] is r.raw  # not copied


def test_a_page_reads_back_equal_and_both_writers_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [
        run(native_id=f"n-{i}", raw={"text": "Grüße 😀", "big": 2**70, "cost": Decimal("1.10")}, metrics={"m": 1.5e-7})
        for i in range(5)
    ]
    block = encode_runs(runs)
    with monkeypatch.context() as m:
        m.setattr(convert, "_orjson_dumps", None)
        assert encode_runs(runs) == block
    text = io.StringIO()
    assert write_jsonl(runs, text) == 5
    assert text.getvalue().encode() == block
    back = list(read_jsonl(io.StringIO(block.decode())))
    assert [r.uid for r in back] == [r.uid for r in runs]
    assert back[0].raw == {"text": "Grüße 😀", "big": 2**70, "cost": "1.10"}  # Decimal in raw: a string, as before


@pytest.mark.parametrize("write", [runtrack.convert.run_line, runtrack.convert.run_json])
def test_how_deep_a_payload_may_be_does_not_depend_on_the_callers_stack(write: Any) -> None:
    """Python's JSON writer counts a payload's depth on top of the caller's frames: 600 levels written from 500
    frames deep failed as "nested too deeply" while the same run written from the top passed (a flaky CI test).
    Such a run is written again on a thread of its own; one too deep for any stack is still a PayloadError."""
    import sys

    nested: Any = []
    for _ in range(600):
        nested = [nested]
    run = runtrack.Run(platform="p", instance="h", kind="k", native_id="deep", raw={"extra": nested})
    room = sys.getrecursionlimit() - 550

    def from_depth(n: int) -> Any:
        return write(run) if n == 0 else from_depth(n - 1)

    text = from_depth(room)
    assert (text.decode() if isinstance(text, bytes) else text).count("[") >= 600

    too_deep: Any = []
    for _ in range(5000):
        too_deep = [too_deep]
    with pytest.raises(runtrack.PayloadError, match="nested too deeply"):
        write(runtrack.Run(platform="p", instance="h", kind="k", native_id="deeper", raw={"extra": too_deep}))
