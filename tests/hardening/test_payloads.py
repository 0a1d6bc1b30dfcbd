"""Hostile and unusual payloads: a typed error naming the JSON path, or read correctly; every output format stays
valid UTF-8 and strict JSON, and no run is lost or merged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import runtrack
from runtrack.cli import main
from runtrack.migrate import Migration
from runtrack.report import FORMATS
from runtrack.testing import Response

from ..migrate.memory_sink import MemoryDirection, MemorySink
from .servers import LANGSMITH_KEY, Hostile

NOW = "2025-01-02T03:04:05Z"


def row(**fields: Any) -> dict[str, Any]:
    return {"id": "run-1", "name": "n", "status": "success", "start_time": NOW, **fields}


@pytest.fixture
def serve() -> Iterator[Any]:
    """``serve(body_bytes)``: a LangSmith queue whose runs endpoint answers ``body_bytes``; returns the base URL."""
    servers: list[Hostile] = []

    def start(body: bytes) -> str:
        def answer(req: Any) -> Response:
            if req.path.endswith("/runs") and req.q("offset") in (None, "0"):
                return Response.raw_json(body)
            return Response.json([])

        server = Hostile(answer).start()
        servers.append(server)
        return server.base_url

    yield start
    for server in servers:
        server.stop()


def _runs(base_url: str) -> list[runtrack.Run]:
    with runtrack.connect("langsmith", base_url=base_url, api_key=LANGSMITH_KEY, max_retries=0) as ad:
        return list(ad.runs(queue_id="q"))


def _cli(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, bytes, bytes]:
    monkeypatch.setenv("LANGSMITH_API_KEY", LANGSMITH_KEY)
    code = main(list(argv))
    out, err = capsysbinary.readouterr()
    return code, out, err


def _runs_cli(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch, url: str, *argv: str
) -> tuple[int, bytes, bytes]:
    """``runtrack runs langsmith`` on the queue ``q`` of the server at ``url``."""
    return _cli(
        capsysbinary, monkeypatch, "runs", "langsmith", "--scope", "queue_id=q", "--option", f"base_url={url}", *argv
    )


def _config(tmp_path: Path, base_url: str) -> str:
    path = tmp_path / "runtrack.toml"
    path.write_text(f'[[source]]\nadapter = "langsmith"\nbase_url = "{base_url}"\nscope = {{ queue_id = "q" }}\n')
    return str(path)


def _strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------------- lone surrogates, invalid UTF-8

SURROGATE_BODY = json.dumps([row(id="run-\ud800", name="a\udfffb", error="e\udc80")]).encode()


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv"])
def test_lone_surrogates_keep_runs_output_valid_utf8(
    fmt: str, serve: Any, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = serve(SURROGATE_BODY)
    code, out, err = _runs_cli(capsysbinary, monkeypatch, url, "--format", fmt)
    assert code == 0, err
    text = out.decode("utf-8")  # strict: valid UTF-8
    assert "\\ud800" in text
    if fmt == "json":
        (run,) = _strict(text)
        assert run["native_id"] == "run-\ud800" and run["name"] == "a\udfffb"  # the escape is lossless


@pytest.mark.parametrize("fmt", FORMATS)
def test_lone_surrogates_keep_every_report_format_valid_utf8(
    fmt: str, serve: Any, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps([row(id="run-\ud800", status="error", error="boom \ud800")]).encode()
    config = _config(tmp_path, serve(body))
    code, out, err = _cli(capsysbinary, monkeypatch, "report", "--config", config, "--format", fmt)
    assert code == 0, err
    out.decode("utf-8")
    report_file = tmp_path / f"report.{fmt}"
    assert main(["report", "--config", config, "--format", fmt, "-o", str(report_file)]) == 0
    report_file.read_bytes().decode("utf-8")


def test_export_with_lone_surrogates_is_valid_utf8_and_lossless(
    serve: Any, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, serve(SURROGATE_BODY))
    out_file = tmp_path / "runs.jsonl"
    code, _, err = _cli(capsysbinary, monkeypatch, "export", "--config", config, "-o", str(out_file))
    assert code == 0, err
    with out_file.open(encoding="utf-8") as fp:
        (run,) = list(runtrack.read_jsonl(fp))
    assert run.native_id == "run-\ud800"


def test_parquet_export_with_lone_surrogates_and_numbers_json_cannot_hold(
    serve: Any, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    body = SURROGATE_BODY.replace(b'"error"', b'"big": 1e400, "nan": NaN, "error"')
    config = _config(tmp_path, serve(body))
    out_dir = tmp_path / "runs.parquet"
    argv = ("export", "--config", config, "--format", "parquet", "-o", str(out_dir))
    code, _, err = _cli(capsysbinary, monkeypatch, *argv)
    assert code == 0, err
    (row,) = pq.read_table(out_dir).to_pylist()  # pyarrow reads strings as strict UTF-8
    assert row["native_id"] == "run-\\ud800" and row["error"] == "e\\udc80"  # as in tables and CSV
    raw = _strict(row["raw"])  # the JSON columns stay strict JSON, and the escape is lossless there
    assert raw["id"] == "run-\ud800" and raw["big"] is None and raw["nan"] is None


def test_a_migration_plans_items_with_lone_surrogates(tmp_path: Path) -> None:
    source = [{"id": "run-\ud800", "value": "v\udc80"}, {"id": "run-2", "value": "ok"}]
    sink = MemorySink()
    plan = Migration(MemoryDirection(source=source, target=sink), store=tmp_path / "s.db", settle_seconds=0).plan()
    assert plan.counts == {"create": 2, "update": 0, "skip": 0, "blocked": 0}
    assert sink.objects == {}


def test_ids_that_differ_only_in_invalid_utf8_stay_two_runs(serve: Any) -> None:
    body = b'[{"id": "run-\xff", "start_time": "%s"}, {"id": "run-\xfe", "start_time": "%s"}]' % (
        NOW.encode(),
        NOW.encode(),
    )
    runs = _runs(serve(body))
    assert len(runs) == 2
    assert len({r.native_id for r in runs}) == 2 and len({r.uid for r in runs}) == 2


# --------------------------------------------------------------------------- typed errors naming the path


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"id": {"a": 1}}, "$[0].id"),
        ({"id": [1, 2]}, "$[0].id"),
        ({"id": True}, "$[0].id"),
        ({"start_time": "9999-12-31T23:59:59-23:59"}, "$[0].start_time"),
        ({"end_time": "0001-01-01T00:00:00+01:00"}, "$[0].end_time"),
        ({"total_cost": "sNaN"}, "$[0].total_cost"),
        ({"total_cost": "NaN"}, "$[0].total_cost"),
        ({"prompt_cost": "-Infinity"}, "$[0].prompt_cost"),
        ({"total_cost": "<1e400>"}, "$[0].total_cost"),
        ({"total_tokens": "<1e400>"}, "$[0].total_tokens"),
        ({"name": {"first": "x"}}, "$[0].name"),
        ({"name": ["x"]}, "$[0].name"),
    ],
)
def test_unreadable_values_are_payload_errors_naming_the_path(
    fields: dict[str, Any],
    path: str,
    serve: Any,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = json.dumps([row(**fields)]).encode().replace(b'"<1e400>"', b"1e400")
    url = serve(body)
    with pytest.raises(runtrack.PayloadError) as info:
        _runs(url)
    assert info.value.path == path
    code, _out, err = _runs_cli(capsysbinary, monkeypatch, url)
    assert code == 1
    assert f"at {path}" in err.decode() and "internal error" not in err.decode()


def test_deep_nesting_is_a_payload_error(serve: Any) -> None:
    depth = 100_000
    body = b'[{"id": "r", "extra": ' + b"[" * depth + b"]" * depth + b"}]"
    with pytest.raises(runtrack.PayloadError, match="nested too deeply") as info:
        _runs(serve(body))
    assert info.value.path == "$"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_nesting_python_can_read_is_written_too(
    fmt: str, serve: Any, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    depth = 600
    body = json.dumps([row(extra=json.loads("[" * depth + "]" * depth))]).encode()
    url = serve(body)
    code, out, err = _runs_cli(capsysbinary, monkeypatch, url, "--format", fmt)
    assert code == 0, err
    assert b'"extra":' in out.replace(b'": ', b'":')


def test_non_string_error_and_name_are_read_as_text(
    serve: Any, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps([row(status="error", name=5, error={"type": "Timeout", "after": 30})]).encode()
    url = serve(body)
    (run,) = _runs(url)
    assert run.name == "5" and run.error == '{"after":30,"type":"Timeout"}'
    code, out, err = _runs_cli(capsysbinary, monkeypatch, url)
    assert code == 0, err
    assert b"Timeout" in out


# --------------------------------------------------------------------------- strict JSON out


def test_numbers_json_cannot_hold_are_written_as_null(
    serve: Any, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'[{"id": "r", "start_time": "%s", "big": 1e400, "neg": -1e400, "nan": NaN, "inf": Infinity}]' % NOW.encode()
    url = serve(body)
    for fmt in ("json", "jsonl", "csv"):
        code, out, err = _runs_cli(capsysbinary, monkeypatch, url, "--format", fmt)
        assert code == 0, err
        assert b"Infinity" not in out and b"NaN" not in out
    code, out, _ = _runs_cli(capsysbinary, monkeypatch, url, "--format", "json")
    (run,) = _strict(out.decode())
    assert run["raw"]["big"] is None and run["raw"]["nan"] is None
    config = _config(tmp_path, url)
    out_file = tmp_path / "x.jsonl"
    assert main(["export", "--config", config, "-o", str(out_file)]) == 0
    _strict(out_file.read_text(encoding="utf-8"))
    code, out, _ = _cli(capsysbinary, monkeypatch, "report", "--config", config, "--format", "json")
    _strict(out.decode())


def test_store_outputs_write_numbers_json_cannot_hold_as_null(
    serve: Any, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Synced into a store (which keeps the payload as read), then every output of the store is strict JSON."""
    body = b'[{"id": "r", "start_time": "%s", "big": 1e400, "nan": NaN, "inf": -Infinity}]' % NOW.encode()
    config, store = _config(tmp_path, serve(body)), str(tmp_path / "runs.db")
    assert _cli(capsysbinary, monkeypatch, "sync", "--config", config, "--store", store)[0] == 0
    code, out, err = _cli(capsysbinary, monkeypatch, "runs", "langsmith", "--store", store, "--format", "json")
    assert code == 0, err
    (run,) = _strict(out.decode())
    assert run["raw"]["big"] is None and run["raw"]["nan"] is None and run["raw"]["inf"] is None
    code, out, err = _cli(capsysbinary, monkeypatch, "report", "--store", store, "--format", "json")
    assert code == 0, err
    _strict(out.decode())
    out_file = tmp_path / "x.jsonl"
    assert _cli(capsysbinary, monkeypatch, "export", "--store", store, "-o", str(out_file))[0] == 0
    assert _strict(out_file.read_text(encoding="utf-8"))["raw"]["inf"] is None
    pq = pytest.importorskip("pyarrow.parquet")
    dataset = tmp_path / "runs.parquet"
    argv = ("export", "--store", store, "--format", "parquet", "-o", str(dataset))
    assert _cli(capsysbinary, monkeypatch, *argv)[0] == 0
    (row,) = pq.read_table(dataset).to_pylist()
    assert _strict(row["raw"])["big"] is None


# --------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize("value", ["99999999999999d", "999999d", "1e400s"])
def test_an_impossible_since_is_a_usage_error(
    value: str, serve: Any, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, serve(b"[]"))
    code, _out, err = _cli(capsysbinary, monkeypatch, "report", "--config", config, "--since", value)
    assert code == 2, err
    assert b"--since" in err and b"internal error" not in err
    code, _, err = _cli(capsysbinary, monkeypatch, "report", "--config", config, "--stuck-after", value)
    assert code == 2 or value == "999999d", err
    Path(config).write_text(Path(config).read_text() + f'[report]\nsince = "{value}"\n')
    code, _, err = _cli(capsysbinary, monkeypatch, "report", "--config", config)
    assert code == 2 and b"report.since" in err


@pytest.mark.parametrize("queue_id", [{"x": 1}, ["q"], True, None])
def test_a_container_id_that_is_no_id_is_a_payload_error(queue_id: Any) -> None:
    def answer(req: Any) -> Response:
        first = req.q("offset") in (None, "0")
        return Response.json([{"id": queue_id, "name": "q"}] if first and req.path.endswith("queues") else [])

    with Hostile(answer) as server, pytest.raises(runtrack.PayloadError) as info:
        list(runtrack.connect("langsmith", base_url=server.base_url, api_key=LANGSMITH_KEY).runs())
    assert info.value.path == "$[0].id"
