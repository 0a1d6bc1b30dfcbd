"""FakeFoundry over real HTTP: Bearer auth, preview=true, Conjure errors, page tokens, launch, builds."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

import requests

from runtrack.testing import FakeFoundry

CONJURE_KEYS = {"errorCode", "errorName", "errorInstanceId", "parameters"}
PREVIEW: dict[str, Any] = {"preview": "true"}


def studio_url(fd: FakeFoundry, rid: str, tail: str = "") -> str:
    return f"{fd.base_url}/api/v2/models/modelStudios/{rid}{tail}"


def all_pages(session: requests.Session, url: str, **params: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    data: list[Any] = []
    bodies: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = dict(PREVIEW, **params, **({"pageToken": token} if token else {}))
        response = session.get(url, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        bodies.append(body)
        data += body["data"]
        token = body.get("nextPageToken")
        if token is None:
            return data, bodies


def test_bearer_auth_and_conjure_401(fd: FakeFoundry) -> None:
    url = studio_url(fd, fd.studio_rids[0], "/runs")
    for headers, name in (
        ({}, "MissingCredentials"),
        ({"Authorization": "Bearer nope"}, "Default:Unauthorized"),
        ({"Authorization": fd.token}, "Default:Unauthorized"),
    ):
        response = requests.get(url, params=PREVIEW, headers=headers)
        assert response.status_code == 401
        assert response.json().keys() == CONJURE_KEYS and response.json()["errorName"] == name


def test_preview_true_is_required_on_every_model_studio_call(fd: FakeFoundry, fd_http: requests.Session) -> None:
    rid = fd.studio_rids[0]
    calls = [
        ("GET", ""),
        ("GET", "/runs"),
        ("GET", "/configVersions"),
        ("GET", "/configVersions/latest"),
        ("GET", "/configVersions/1"),
        ("POST", "/launch"),
    ]
    for method, tail in calls:
        for params in ({}, {"preview": "false"}):
            response = fd_http.request(method, studio_url(fd, rid, tail), params=params)
            assert response.status_code == 400, (method, tail)
            body = response.json()
            assert body["errorCode"] == "INVALID_ARGUMENT" and body["errorName"] == "ApiFeaturePreviewUsageOnly"
            assert re.fullmatch(r"[0-9a-f-]{36}", body["errorInstanceId"]) and body["parameters"] == {}
    assert fd.runs_by_studio[rid] == [r["runId"] for r in fd.studio_runs(rid)]  # nothing was launched


def test_pages_follow_next_page_token_until_it_is_absent(fd: FakeFoundry, fd_http: requests.Session) -> None:
    rid = fd.studio_rids[0]
    data, bodies = all_pages(fd_http, studio_url(fd, rid, "/runs"), pageSize=100)
    assert [len(b["data"]) for b in bodies] == [100, 100, 30]
    assert "nextPageToken" not in bodies[-1] and all(b["nextPageToken"] for b in bodies[:-1])
    assert [r["runId"] for r in data] == fd.runs_by_studio[rid]
    assert len(fd.all_run_ids()) == 460
    default, _ = all_pages(fd_http, studio_url(fd, rid, "/runs"))
    assert len(default) == 230


def test_runs_look_like_the_docs(fd: FakeFoundry) -> None:
    rows = fd.studio_runs(fd.studio_rids[0]) + fd.studio_runs(fd.studio_rids[1])
    assert all({"runId", "configVersion", "startedTime", "startedBy", "buildRid", "jobRid"} <= r.keys() for r in rows)
    assert all(datetime.fromisoformat(r["startedTime"].replace("Z", "+00:00")).tzinfo for r in rows)
    assert any(r["startedTime"].endswith("+02:00") for r in rows) and any(r["startedTime"].endswith("Z") for r in rows)
    status = Counter(r.get("buildStatus", "<absent>") for r in rows)
    assert {"SUCCEEDED", "FAILED", "RUNNING", "CANCELED", None, "<absent>"} <= status.keys()
    assert status.keys() - {"SUCCEEDED", "FAILED", "RUNNING", "CANCELED", None, "<absent>"}  # an unknown value
    assert any("resolvedOutputs" not in r for r in rows) and any(r.get("resolvedOutputs") == {} for r in rows)
    models = [r["resolvedOutputs"]["model"] for r in rows if r.get("resolvedOutputs")]
    assert any("experimentRid" not in m for m in models) and any(m["type"] != "model" for m in models)
    assert all(r["buildRid"].startswith("ri.foundry-build.main.build.") for r in rows)


def test_config_version_filter_and_not_found(fd: FakeFoundry, fd_http: requests.Session) -> None:
    rid = fd.studio_rids[0]
    url = studio_url(fd, rid, "/runs")
    per_version = {v: all_pages(fd_http, url, configVersion=v, pageSize=40)[0] for v in fd.config_versions(rid)}
    assert all(all(r["configVersion"] == v for r in rows) for v, rows in per_version.items())
    assert sum(map(len, per_version.values())) == 230
    missing = fd_http.get(url, params={**PREVIEW, "configVersion": 99})
    assert missing.status_code == 404
    assert missing.json()["errorName"] == "ModelStudioConfigVersionNotFound"
    assert missing.json()["parameters"] == {"studioRid": rid, "configVersion": 99}


def test_unknown_studio_and_bad_paging(fd: FakeFoundry, fd_http: requests.Session) -> None:
    unknown = fd_http.get(studio_url(fd, "ri.models.main.model-studio.nope", "/runs"), params=PREVIEW)
    assert unknown.status_code == 404 and unknown.json()["errorName"] == "ModelStudioNotFound"
    assert unknown.json()["parameters"] == {"studioRid": "ri.models.main.model-studio.nope"}
    url = studio_url(fd, fd.studio_rids[0], "/runs")
    assert fd_http.get(url, params={**PREVIEW, "pageSize": 0}).json()["errorName"] == "InvalidPageSize"
    bad = fd_http.get(url, params={**PREVIEW, "pageToken": "v1.bm9wZQ"})
    assert bad.status_code == 400 and bad.json()["errorName"] == "InvalidPageToken"
    other = fd_http.get(studio_url(fd, fd.studio_rids[1], "/runs"), params={**PREVIEW, "pageSize": 10}).json()
    mixed = fd_http.get(url, params={**PREVIEW, "pageToken": other["nextPageToken"]})
    assert mixed.json()["errorName"] == "InvalidPageToken"  # a token only works for its own listing


def test_page_size_is_clamped(fd_http: requests.Session) -> None:
    with FakeFoundry(studios=1, runs_per_studio=30, max_page_size=8) as fake:
        fd_http.headers["Authorization"] = f"Bearer {fake.token}"
        _, bodies = all_pages(fd_http, studio_url(fake, fake.studio_rids[0], "/runs"), pageSize=1000)
        assert [len(b["data"]) for b in bodies] == [8, 8, 8, 6]


def test_launch_adds_a_running_run_at_the_head(fd: FakeFoundry, fd_http: requests.Session) -> None:
    rid = fd.studio_rids[0]
    first, _ = all_pages(fd_http, studio_url(fd, rid, "/runs"), pageSize=10)
    response = fd_http.post(studio_url(fd, rid, "/launch"), params=PREVIEW)
    assert response.status_code == 200
    run = response.json()
    assert run["buildStatus"] == "RUNNING" and run["configVersion"] == max(fd.config_versions(rid))
    assert fd.runs_by_studio[rid][0] == run["runId"] and len(fd.runs_by_studio[rid]) == 231
    head = fd_http.get(studio_url(fd, rid, "/runs"), params={**PREVIEW, "pageSize": 1}).json()
    assert head["data"][0]["runId"] == run["runId"]
    build = fd_http.get(f"{fd.base_url}/api/v2/orchestration/builds/{run['buildRid']}").json()
    assert build["status"] == "RUNNING" and "finishedTime" not in build
    fd.finish_run(run["runId"], "FAILED", duration_s=90)
    build = fd_http.get(f"{fd.base_url}/api/v2/orchestration/builds/{run['buildRid']}").json()
    assert build["status"] == "FAILED" and build["finishedTime"] == "2025-09-01T12:02:30.000Z"
    assert len(first) == 230


def test_launch_errors(fd: FakeFoundry, fd_http: requests.Session) -> None:
    empty = fd.studio_rids[2]
    assert fd_http.post(studio_url(fd, empty, "/launch"), params=PREVIEW).status_code == 404
    fd.launch_denied.add(fd.studio_rids[0])
    denied = fd_http.post(studio_url(fd, fd.studio_rids[0], "/launch"), params=PREVIEW)
    assert denied.status_code == 403 and denied.json()["errorName"] == "LaunchModelStudioPermissionDenied"


def test_config_versions_list_latest_and_get(fd: FakeFoundry, fd_http: requests.Session) -> None:
    rid = fd.studio_rids[0]
    versions, bodies = all_pages(fd_http, studio_url(fd, rid, "/configVersions"), pageSize=2)
    assert [v["version"] for v in versions] == [3, 2, 1] and len(bodies) == 2
    assert {
        "name",
        "version",
        "trainerId",
        "trainer",
        "workerConfig",
        "resources",
        "createdBy",
        "createdTime",
    } <= versions[0].keys()
    latest = fd_http.get(studio_url(fd, rid, "/configVersions/latest"), params=PREVIEW)
    assert latest.json() == versions[0]
    assert fd_http.get(studio_url(fd, rid, "/configVersions/2"), params=PREVIEW).json() == versions[1]
    assert fd_http.get(studio_url(fd, rid, "/configVersions/9"), params=PREVIEW).status_code == 404
    nothing = fd_http.get(studio_url(fd, fd.studio_rids[2], "/configVersions/latest"), params=PREVIEW)
    assert nothing.status_code == 200 and nothing.content == b""
    assert fd_http.get(studio_url(fd, rid), params=PREVIEW).json()["rid"] == rid


def test_builds_are_ga_and_report_finish_times(fd: FakeFoundry, fd_http: requests.Session) -> None:
    rows = fd.studio_runs(fd.studio_rids[0])
    done = next(r for r in rows if r.get("buildStatus") == "SUCCEEDED")
    running = next(r for r in rows if r.get("buildStatus") == "RUNNING")
    build = fd_http.get(f"{fd.base_url}/api/v2/orchestration/builds/{done['buildRid']}").json()
    assert build["status"] == "SUCCEEDED" and build["finishedTime"] > done["startedTime"]
    assert build["jobRids"] == [done["jobRid"]]
    batch = fd_http.post(
        f"{fd.base_url}/api/v2/orchestration/builds/getBatch",
        json=[
            {"buildRid": done["buildRid"]},
            {"buildRid": running["buildRid"]},
            {"buildRid": "ri.foundry-build.main.build.missing"},
        ],
    ).json()["data"]
    assert set(batch) == {done["buildRid"], running["buildRid"]} and "finishedTime" not in batch[running["buildRid"]]
    too_many = [{"buildRid": done["buildRid"]}] * 101
    assert fd_http.post(f"{fd.base_url}/api/v2/orchestration/builds/getBatch", json=too_many).status_code == 400
    missing = fd_http.get(f"{fd.base_url}/api/v2/orchestration/builds/ri.foundry-build.main.build.x")
    assert missing.status_code == 404 and missing.json()["errorName"] == "BuildNotFound"
    jobs = fd_http.get(f"{fd.base_url}/api/v2/orchestration/builds/{done['buildRid']}/jobs").json()
    assert jobs["data"][0]["rid"] == done["jobRid"] and "nextPageToken" not in jobs
    job_url = f"{fd.base_url}/api/v2/orchestration/jobs/{done['jobRid']}"
    assert fd_http.get(job_url).json()["errorName"] == "ApiFeaturePreviewUsageOnly"
    assert fd_http.get(job_url, params=PREVIEW).json()["finishedTime"] == build["finishedTime"]


def test_api_not_deployed_is_404_with_empty_body(fd_http: requests.Session) -> None:
    with FakeFoundry(model_studio_deployed=False) as fake:
        fd_http.headers["Authorization"] = f"Bearer {fake.token}"
        response = fd_http.get(studio_url(fake, fake.studio_rids[0], "/runs"), params=PREVIEW)
        assert response.status_code == 404 and response.content == b""
