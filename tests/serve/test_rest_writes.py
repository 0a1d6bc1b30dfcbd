"""Writes through `runtrack serve` (own fakes: they change what the fakes hold), a listing that fails half-way
(the problem carries the cursor to resume from), and --read-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

pytest.importorskip("mcp")

from runtrack.testing import ServerErrors

from .conftest import PLATFORMS, Served, Server, http_server

pytestmark = pytest.mark.e2e


def call(served: Served, method: str, url: str, **kwargs: Any) -> requests.Response:
    response = requests.request(method, url, timeout=60, **kwargs)
    served.record(response.text)
    return response


def test_a_failing_listing_answers_the_cursor_to_resume_from(own: Served, own_server: Server) -> None:
    fake, platform = own.fakes["foundry"], PLATFORMS["foundry"]
    runs_url = own_server.url + "/v1/runs"
    fake.faults.configure(server_errors=ServerErrors(start=3, count=10**6))  # two pages, then only 503s
    try:
        first = call(own, "GET", runs_url, params={"source": "foundry", "limit": 200}).json()
        assert len(first["runs"]) == 2 * platform.page_size and first["next_cursor"]
        failed = call(own, "GET", runs_url, params={"source": "foundry", "cursor": first["next_cursor"]})
        assert failed.status_code == 502 and failed.headers["content-type"] == "application/problem+json"
        problem = failed.json()
        assert (problem["error"], problem["upstream_status"], problem["platform"]) == ("ServerError", 503, "foundry")
        assert problem["detail"].endswith(f"resume with cursor={problem['cursor']}")
    finally:
        fake.faults.clear()
    runs, cursor = first["runs"], problem["cursor"]
    while cursor:
        page = call(own, "GET", runs_url, params={"source": "foundry", "limit": 200, "cursor": cursor})
        runs += page.json()["runs"]
        cursor = page.json()["next_cursor"]
    got = [(r["scope"]["model_studio_rid"], r["native_id"]) for r in runs]
    platform.assert_exactly_once(got, platform.truth(fake))


def test_create_and_cancel_a_label_studio_run(own: Served, own_server: Server) -> None:
    fake = own.fakes["labelstudio"]
    prompt = fake.prompt_ids[0]
    version = fake.versions_by_prompt[prompt][0]
    body = {"prompt_id": prompt, "version_id": version, "project": fake.project_ids[0]}
    created = call(own, "POST", own_server.url + "/v1/sources/labelstudio/runs", json=body)
    assert created.status_code == 201, created.text
    run = created.json()["run"]
    assert (run["platform"], run["status"]) == ("labelstudio", "QUEUED")
    canceled = call(own, "POST", own_server.url + f"/v1/runs/{run['uid']}/cancel")
    assert canceled.status_code == 202, canceled.text
    assert canceled.json() == {
        "source": "labelstudio",
        "uid": run["uid"],
        "native_id": run["native_id"],
        "cancel_requested": True,
    }
    after = call(own, "GET", own_server.url + f"/v1/runs/{run['uid']}").json()["run"]
    assert after["status"] == "CANCELED"


def test_launch_and_queue(own: Served, own_server: Server) -> None:
    rid = own.fakes["foundry"].studio_rids[0]
    launched = call(own, "POST", own_server.url + "/v1/sources/foundry/runs", json={"model_studio_rid": rid})
    assert launched.status_code == 201, launched.text
    assert launched.json()["run"]["scope"]["model_studio_rid"] == rid
    ls = own.fakes["langsmith"]
    queue, run_id = ls.queue_ids[0], ls.runs_by_queue[ls.queue_ids[1]][0]
    added = call(
        own, "POST", own_server.url + f"/v1/queues/{queue}/runs", json={"source": "langsmith", "run_ids": [run_id]}
    )
    assert added.status_code == 200, added.text
    assert added.json()["added"] == 1 and added.json()["entries"][0]["run_id"] == run_id
    assert run_id in ls.runs_by_queue[queue]


def test_write_errors(own: Served, own_server: Server) -> None:
    def problem(response: requests.Response, status: int) -> str:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        detail: str = response.json()["detail"]
        return detail

    url = own_server.url
    assert "no such action" in problem(call(own, "POST", f"{url}/v1/sources/langsmith/runs", json={}), 405)
    assert "prompt_id" in problem(call(own, "POST", f"{url}/v1/sources/labelstudio/runs", json={}), 400)
    fake = own.fakes["labelstudio"]
    bad = {
        "prompt_id": fake.prompt_ids[0],
        "version_id": fake.versions_by_prompt[fake.prompt_ids[0]][0],
        "project": 999,
    }
    assert "999" in problem(call(own, "POST", f"{url}/v1/sources/labelstudio/runs", json=bad), 400)
    assert "JSON" in problem(call(own, "POST", f"{url}/v1/sources/foundry/runs", data=b"{nope"), 400)
    assert "run_ids" in problem(call(own, "POST", f"{url}/v1/queues/q/runs", json={"source": "langsmith"}), 400)
    assert "no run with uid nope" in problem(call(own, "POST", f"{url}/v1/runs/nope/cancel"), 404)
    assert call(own, "GET", f"{url}/v1/sources").status_code == 200


def test_read_only_refuses_writes(own: Served, tmp_path: Path) -> None:
    with http_server(own, "serve", "--config", str(own.config), "--read-only") as server:
        rid = own.fakes["foundry"].studio_rids[0]
        refused = call(own, "POST", server.url + "/v1/sources/foundry/runs", json={"model_studio_rid": rid})
        assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
        sources = call(own, "GET", server.url + "/v1/sources").json()
        assert sources["read_only"] is True
        assert json.dumps(sources).count('"actions": []') == 3


def test_a_rate_limited_platform_is_a_429_with_retry_after(own: Served, own_server: Server) -> None:
    fake = own.fakes["foundry"]
    fake.faults.configure(rate_limit_every=1, retry_after=5)
    try:
        limited = call(own, "GET", own_server.url + "/v1/runs", params={"source": "foundry"})
    finally:
        fake.faults.clear()
    assert limited.status_code == 429 and limited.headers["retry-after"] == "5", limited.text
    body = limited.json()
    assert (body["error"], body["retry_after"]) == ("RateLimitError", 5.0) and body["cursor"].startswith("rts1.")
    resumed = call(own, "GET", own_server.url + "/v1/runs", params={"source": "foundry", "cursor": body["cursor"]})
    assert resumed.status_code == 200 and resumed.json()["runs"]
