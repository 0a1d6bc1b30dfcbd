"""The operations layer in-process over fakes (no server): credentials that fail, filters, the bounded live lookup,
and the write tools through the SDK's in-process client."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from mcp import Client

import runtrack
import runtrack.serve.operations as operations
from runtrack.config import Config, parse_config
from runtrack.serve.mcp_tools import build_mcp
from runtrack.serve.operations import Operations
from runtrack.serve.problems import ServeError, http_status, problem
from runtrack.testing import FakeLabelStudio, FakeLangSmith
from runtrack.testing.pytest_plugin import RuntrackFakes

pytestmark = pytest.mark.e2e


def config(**sources: dict[str, Any]) -> Config:
    registry = runtrack.plugins.adapter_registry()
    raw = [{"name": name, **spec} for name, spec in sources.items()]
    return parse_config({"source": raw}, adapters={n: i.cls for n, i in registry.items()})


@pytest.fixture
def langsmith(runtrack_fakes: RuntrackFakes) -> FakeLangSmith:
    return runtrack_fakes.langsmith(seed=2, queues=2, runs_per_queue=9)


def test_refused_credentials_and_a_missing_variable(langsmith: FakeLangSmith) -> None:
    spec = {"adapter": "langsmith", "base_url": langsmith.base_url, "api_key_env": "K", "max_retries": 0}
    wrong = Operations(config(ls=spec), environ={"K": "lsv2_wrong_key_value_123"})
    with pytest.raises(runtrack.AuthenticationError) as caught:
        wrong.list_runs(source="ls")
    doc = problem(caught.value)
    assert doc["status"] == 502 and doc["upstream_status"] in (401, 403)
    assert "lsv2_wrong_key_value_123" not in json.dumps(doc) and langsmith.api_key not in json.dumps(doc)
    assert doc["cursor"].startswith("rts1.")  # a listing error: the server's own cursor to resume with
    with pytest.raises(runtrack.AuthenticationError) as lookup:
        wrong.get_run(uid="0000")
    assert "cursor" not in problem(lookup.value)  # a lookup has nothing to resume
    unset = Operations(config(ls=spec), environ={})
    with pytest.raises(ServeError) as missing:
        unset.list_runs(source="ls")
    assert http_status(missing.value) == 503 and "K" in str(missing.value)


def test_status_and_since_filters_equal_filtering_everything(langsmith: FakeLangSmith) -> None:
    spec = {"adapter": "langsmith", "base_url": langsmith.base_url, "api_key_env": "K"}
    ops = Operations(config(ls=spec), environ={"K": langsmith.api_key})
    everything = ops.list_runs(source="ls", limit=200)["runs"]
    assert len(everything) == 18
    for status in {r["status"] for r in everything}:
        got = ops.list_runs(source="ls", status=status.lower(), limit=200)["runs"]
        assert got == [r for r in everything if r["status"] == status]
    times = sorted(r["created_at"] for r in everything)
    cut = times[len(times) // 2]
    got = ops.list_runs(source="ls", since=cut, limit=200)["runs"]
    assert got == [r for r in everything if r["created_at"] >= cut] and 0 < len(got) < len(everything)


def test_a_live_lookup_is_a_bounded_scan(langsmith: FakeLangSmith, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = {"adapter": "langsmith", "base_url": langsmith.base_url, "api_key_env": "K"}
    ops = Operations(config(ls=spec), environ={"K": langsmith.api_key})
    last = ops.list_runs(source="ls", limit=200)["runs"][-1]
    assert ops.get_run(uid=last["uid"])["run"] == last
    monkeypatch.setattr(operations, "MAX_SCAN", 5)
    with pytest.raises(runtrack.NotFoundError, match="among the first 5 runs"):
        ops.get_run(uid=last["uid"])


def test_write_tools_through_the_in_process_client(runtrack_fakes: RuntrackFakes) -> None:
    lb: FakeLabelStudio = runtrack_fakes.labelstudio(seed=3, prompts=1, versions_per_prompt=1, runs_per_version=2)
    ls: FakeLangSmith = runtrack_fakes.langsmith(seed=3, queues=2, runs_per_queue=3)
    cfg = config(
        lb={"adapter": "labelstudio", "base_url": lb.base_url, "api_key_env": "LB"},
        ls={"adapter": "langsmith", "base_url": ls.base_url, "api_key_env": "LS"},
    )
    ops = Operations(cfg, environ={"LB": lb.token, "LS": ls.api_key}, clock=lambda: datetime.now(timezone.utc))
    prompt = lb.prompt_ids[0]
    created_ids: list[str] = []

    async def main() -> None:
        async with Client(build_mcp(ops)) as client:
            params = {"prompt_id": prompt, "version_id": lb.versions_by_prompt[prompt][0], "project": lb.project_ids[0]}
            created = await client.call_tool("create_run", {"source": "lb", "params": params})
            assert not created.is_error, created.content
            run = created.structured_content["run"]  # type: ignore[index]
            created_ids.append(run["native_id"])
            canceled = await client.call_tool("cancel_run", {"source": "lb", "native_id": run["native_id"]})
            assert not canceled.is_error and canceled.structured_content["cancel_requested"] is True  # type: ignore[index]
            queue, run_id = ls.queue_ids[0], ls.runs_by_queue[ls.queue_ids[1]][0]
            added = await client.call_tool("add_to_queue", {"source": "ls", "queue_id": queue, "run_ids": [run_id]})
            assert not added.is_error and added.structured_content["added"] == 1  # type: ignore[index]
            empty = await client.call_tool("add_to_queue", {"source": "ls", "queue_id": queue, "run_ids": []})
            assert empty.is_error
            wrong = await client.call_tool("create_run", {"source": "ls"})
            assert wrong.is_error and "no such action" in wrong.content[0].text  # type: ignore[union-attr]

    anyio.run(main)
    assert ops.get_run(source="lb", native_id=created_ids[0])["run"]["status"] == "CANCELED"
