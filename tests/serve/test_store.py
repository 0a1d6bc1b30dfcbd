"""Serving a store alone: reads answer from the file with the fakes stopped (no network), writes are off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import requests

pytest.importorskip("mcp")

import runtrack

from .conftest import PLATFORMS, Served, Server, assert_no_secrets, http_server, runtrack_cli, start_fakes
from .test_mcp import SEVEN, call, stdio_session

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path, dict[str, list[Any]]]]:
    """A store synced from fresh fakes, the ground truth read before the fakes stopped, and the fakes gone."""
    tmp = tmp_path_factory.mktemp("store")
    store = tmp / "runs.db"
    with start_fakes(tmp) as served:
        runtrack_cli(served, "sync", "--config", str(served.config), "--store", str(store), "-q")
        truth = {name: platform.truth(served.fakes[name]) for name, platform in PLATFORMS.items()}
    served.env.pop("RUNTRACK_CONFIG", None)
    yield served, store, truth
    assert_no_secrets(served)


@pytest.fixture(scope="module")
def server(
    stored: tuple[Served, Path, dict[str, list[Any]]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    served, store, _ = stored
    with http_server(served, "serve", "--store", str(store)) as server:
        yield server


def test_reads_come_from_the_store(stored: tuple[Served, Path, dict[str, list[Any]]], server: Server) -> None:
    served, store, truth = stored
    sources = requests.get(server.url + "/v1/sources", timeout=30).json()
    assert (sources["reads_from"], sources["read_only"]) == ("store", True)
    assert {s["name"] for s in sources["sources"]} == set(PLATFORMS)
    for name in PLATFORMS:
        runs, cursor = [], None
        while True:
            params: dict[str, Any] = {"source": name, "limit": 9, "include_raw": "true"}
            page = requests.get(
                server.url + "/v1/runs", params={**params, **({"cursor": cursor} if cursor else {})}, timeout=30
            )
            served.record(page.text)
            assert page.status_code == 200, page.text
            runs += [runtrack.converter.structure(r, runtrack.Run) for r in page.json()["runs"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        # the store keeps a run once by uid (a LangSmith run in two queues is one run there)
        uids = [r.uid for r in runs]
        assert len(set(uids)) == len(uids)
        assert {r.native_id for r in runs} == {key[-1] for key in truth[name]}
    one = runs[-1]
    assert requests.get(f"{server.url}/v1/runs/{one.uid}", timeout=30).json()["run"]["uid"] == one.uid
    got_report = requests.get(server.url + "/v1/report", timeout=30).json()
    expected = json.loads(runtrack_cli(served, "report", "--store", str(store), "--format", "json"))
    del got_report["generated_at"], expected["generated_at"]  # read_at: when the store last read each listing
    assert got_report == expected
    scoped = requests.get(server.url + "/v1/runs", params={"scope.queue_id": "q"}, timeout=30)
    assert scoped.status_code == 400 and "from a store" in scoped.json()["detail"]


def test_writes_are_off(stored: tuple[Served, Path, dict[str, list[Any]]], server: Server) -> None:
    refused = requests.post(server.url + "/v1/sources/foundry/runs", json={}, timeout=30)
    assert refused.status_code == 403 and "serves a store alone" in refused.json()["detail"]


def test_mcp_from_the_store(stored: tuple[Served, Path, dict[str, list[Any]]]) -> None:
    served, store, truth = stored

    async def main() -> None:
        async with stdio_session(served, "--store", str(store), config=False) as session:
            assert [t.name for t in (await session.list_tools()).tools] == SEVEN[:4]
            page = await call(served, session, "list_runs", source="labelstudio", limit=200)
            assert len(page["runs"]) == len(truth["labelstudio"]) and page["next_cursor"] is None
            report = await call(served, session, "run_report", sources=["labelstudio"])
            assert [s["name"] for s in report["sources"]] == ["labelstudio"]

    anyio.run(main)
