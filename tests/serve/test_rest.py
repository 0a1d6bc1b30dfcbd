"""`runtrack serve` through a plain HTTP client: the /v1 API over the three fakes, problem+json errors, the bearer
token, and the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytest.importorskip("mcp")

import runtrack
from runtrack.cli import main
from runtrack.serve.app import check_bind, is_loopback

from .conftest import PLATFORMS, TOKEN, Served, Server, assert_no_secrets, http_server, runtrack_cli, timeless

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def rest(served: Served) -> Iterator[Server]:
    """``runtrack serve`` with a token: every request must carry it, also on 127.0.0.1."""
    with http_server(served, "serve", "--config", str(served.config), env={"RUNTRACK_SERVE_TOKEN": TOKEN}) as server:
        yield server
    assert_no_secrets(served)


def get(served: Served, server: Server, path: str, **params: Any) -> requests.Response:
    response = requests.get(server.url + path, params=params, headers=AUTH, timeout=60)
    served.record(response.text + json.dumps(dict(response.headers)))
    return response


def problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status and doc["type"].startswith("urn:runtrack:problem:") and doc["detail"]
    return doc


def test_sources(served: Served, rest: Server) -> None:
    body = get(served, rest, "/v1/sources").json()
    assert body["reads_from"] == "live" and body["read_only"] is False
    assert {s["name"]: (s["adapter"], s["actions"]) for s in body["sources"]} == {
        "langsmith": ("langsmith", ["add_to_queue"]),
        "foundry": ("foundry", ["create_run"]),
        "labelstudio": ("labelstudio", ["create_run", "cancel_run"]),
    }


def test_runs_pages_equal_the_ground_truth(served: Served, rest: Server) -> None:
    for name, platform in PLATFORMS.items():
        runs, cursor = [], None
        while True:
            params: dict[str, Any] = {"source": name, "limit": 6, "include_raw": "true"}
            response = get(served, rest, "/v1/runs", **params, **({"cursor": cursor} if cursor else {}))
            assert response.status_code == 200, response.text
            page = response.json()
            runs += [runtrack.converter.structure(r, runtrack.Run) for r in page["runs"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        platform.assert_exactly_once(platform.keys(runs), platform.truth(served.fakes[name]))
    # filters: every FAILED run of the source, and nothing else
    truth = [r for r in runs if r.status is runtrack.RunStatus.FAILED]
    failed = get(served, rest, "/v1/runs", source="labelstudio", status="failed", limit=200).json()
    assert [r["uid"] for r in failed["runs"]] == [r.uid for r in truth] and failed["next_cursor"] is None


def test_get_run_and_report(served: Served, rest: Server) -> None:
    listed = get(served, rest, "/v1/runs", source="foundry", limit=4).json()["runs"][-1]
    assert get(served, rest, f"/v1/runs/{listed['uid']}").json() == {"source": "foundry", "run": listed}
    cli = runtrack_cli(served, "report", "--config", str(served.config), "--format", "json", "--top-errors", "2")
    assert timeless(get(served, rest, "/v1/report", top_errors=2).json()) == timeless(json.loads(cli))


def test_errors_are_problem_json_and_the_server_keeps_serving(served: Served, rest: Server) -> None:
    unknown = problem(get(served, rest, "/v1/runs", source="nope"), 404)
    assert unknown["title"] == "Unknown source" and "valid: foundry, labelstudio, langsmith" in unknown["detail"]
    assert "limit" in problem(get(served, rest, "/v1/runs", limit="ten"), 400)["detail"]
    assert "between 1 and 200" in problem(get(served, rest, "/v1/runs", limit=500), 400)["detail"]
    assert "cursor" in problem(get(served, rest, "/v1/runs", cursor="garbage"), 400)["detail"]
    assert "SUCCEEDED" in problem(get(served, rest, "/v1/runs", status="done"), 400)["detail"]
    assert "7d" in problem(get(served, rest, "/v1/runs", since="yesterday"), 400)["detail"]
    scope = problem(get(served, rest, "/v1/runs", source="langsmith", **{"scope.queue": "q"}), 400)
    assert "queue_id" in scope["detail"]
    assert "give source too" in problem(get(served, rest, "/v1/runs", **{"scope.queue_id": "q"}), 400)["detail"]
    bad_id = problem(get(served, rest, "/v1/runs", source="labelstudio", **{"scope.prompt_id": "x/y"}), 400)
    assert "prompt_id" in bad_id["detail"]
    missing = problem(get(served, rest, "/v1/runs/00000000-0000-0000-0000-000000000000"), 404)
    assert missing["error"] == "NotFoundError"
    assert problem(get(served, rest, "/v1/nothing"), 404)["title"] == "Not Found"
    wrong_method = requests.delete(rest.url + "/v1/sources", headers=AUTH, timeout=30)
    assert "DELETE /v1/sources" in problem(wrong_method, 405)["detail"] and "GET" in wrong_method.headers["allow"]
    assert get(served, rest, "/v1/sources").status_code == 200


def test_bearer_token_is_required(served: Served, rest: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = requests.get(rest.url + "/v1/sources", headers=headers, timeout=30)
        served.record(response.text)
        problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
    mcp = requests.post(rest.url + "/mcp", json={}, timeout=30)
    assert mcp.status_code == 401


def test_the_mcp_endpoint_is_mounted_in_the_same_app(served: Served, rest: Server) -> None:
    import anyio
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    from .test_mcp import SEVEN, call

    async def main() -> None:
        async with (
            httpx2.AsyncClient(headers=AUTH, timeout=60) as client,
            streamable_http_client(rest.url + "/mcp", http_client=client) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            assert [t.name for t in (await session.list_tools()).tools] == SEVEN
            page = await call(served, session, "list_runs", source="labelstudio", limit=3)
            rest_page = get(served, rest, "/v1/runs", source="labelstudio", limit=3).json()
            assert page == rest_page

    anyio.run(main)


def test_openapi_document_is_valid_and_complete(served: Served, rest: Server) -> None:
    from openapi_spec_validator import validate

    doc = get(served, rest, "/v1/openapi.json").json()
    validate(doc)
    operations = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert operations == {
        ("/v1/sources", "get"),
        ("/v1/runs", "get"),
        ("/v1/runs/{uid}", "get"),
        ("/v1/report", "get"),
        ("/v1/sources/{source}/runs", "post"),
        ("/v1/runs/{uid}/cancel", "post"),
        ("/v1/queues/{queue_id}/runs", "post"),
    }
    ids = {item[m]["operationId"] for item in doc["paths"].values() for m in item}
    assert ids == {"list_sources", "list_runs", "get_run", "run_report", "create_run", "cancel_run", "add_to_queue"}


def test_a_non_loopback_bind_without_a_token_is_refused(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RUNTRACK_SERVE_TOKEN", raising=False)
    for argv in (["serve"], ["mcp", "--transport", "http"]):
        assert main([*argv, "--config", str(served.config), "--host", "0.0.0.0"]) == 2
        err = capsys.readouterr().err
        assert "RUNTRACK_SERVE_TOKEN" in err and "--host 0.0.0.0" in err
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "::", "example.com"))
    check_bind("0.0.0.0", "a-token")  # with a token it may start
    with pytest.raises(runtrack.ConfigurationError):
        check_bind("::", None)


def test_a_missing_extra_names_it(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mcp" else real(name, *a))
    assert main(["mcp", "--config", str(served.config)]) == 2
    assert "pip install 'runtrack[mcp]'" in capsys.readouterr().err


def test_a_missing_store_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RUNTRACK_STORE", raising=False)
    assert main(["serve", "--store"]) == 2  # ./runtrack.db, which is not there
    assert "runtrack.db does not exist" in capsys.readouterr().err
