"""create_run (launch) and config versions (list with page tokens, one version, latest)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from runtrack_foundry import ConfigVersion, FoundryAdapter

import runtrack

from .conftest import BASE, STUDIO_A, STUDIO_B, USER, add_runs_page, page, query, run_item

STUDIO_URL = f"{BASE}/api/v2/models/modelStudios/{STUDIO_A}"
LAUNCH_URL = f"{STUDIO_URL}/launch"
VERSIONS_URL = f"{STUDIO_URL}/configVersions"


def launched() -> dict[str, Any]:
    return run_item(7, status="RUNNING", configVersion=3, resolvedOutputs={})


# --------------------------------------------------------------------------- launch


def test_launch_posts_without_body_and_returns_the_normalized_run(http: Any, foundry: FoundryAdapter) -> None:
    http.post(LAUNCH_URL, json=launched(), match=[query()])
    run = foundry.create_run(model_studio_rid=STUDIO_A)
    request = http.calls[0].request
    assert request.method == "POST" and not request.body
    assert request.headers["Authorization"].startswith("Bearer ")
    assert isinstance(run, runtrack.Run) and run.native_id == "a-run-7"
    assert run.status is runtrack.RunStatus.RUNNING and run.created_by == runtrack.Actor(id=USER)
    assert run.scope["model_studio_rid"] == STUDIO_A and run.scope["config_version"] == "3"
    # the launched run and the same run listed later are one run
    add_runs_page(STUDIO_A, [run_item(7, status="SUCCEEDED", configVersion=3)])
    listed = next(iter(foundry.runs(model_studio_rid=STUDIO_A)))
    assert listed.uid == run.uid and listed.status is runtrack.RunStatus.SUCCEEDED


def test_launch_alias(http: Any, foundry: FoundryAdapter) -> None:
    http.post(LAUNCH_URL, json=launched(), match=[query()])
    assert foundry.launch(STUDIO_A).native_id == "a-run-7"


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_launch_is_never_retried(http: Any, foundry: FoundryAdapter, no_sleep: list[float], status: int) -> None:
    http.post(LAUNCH_URL, status=status, body="busy")
    with pytest.raises((runtrack.ServerError, runtrack.RateLimitError)):
        foundry.create_run(model_studio_rid=STUDIO_A)
    assert len(http.calls) == 1 and no_sleep == []


def test_launch_permission_denied(http: Any, foundry: FoundryAdapter) -> None:
    body = {
        "errorCode": "PERMISSION_DENIED",
        "errorName": "LaunchModelStudioPermissionDenied",
        "errorInstanceId": "i-1",
        "parameters": {"studioRid": STUDIO_A},
    }
    http.post(LAUNCH_URL, status=403, json=body)
    with pytest.raises(runtrack.AuthenticationError) as info:
        foundry.create_run(model_studio_rid=STUDIO_A)
    assert info.value.vendor_code == "LaunchModelStudioPermissionDenied" and "api:models-write" in str(info.value)


@pytest.mark.parametrize(("body", "path"), [("", "$"), ({"buildRid": "b"}, "$.runId")], ids=["empty", "no-run-id"])
def test_unreadable_launch_response(http: Any, foundry: FoundryAdapter, body: Any, path: str) -> None:
    if body == "":
        http.post(LAUNCH_URL, body="")
    else:
        http.post(LAUNCH_URL, json=body)
    with pytest.raises(runtrack.PayloadError) as info:
        foundry.create_run(model_studio_rid=STUDIO_A)
    assert info.value.path == path and "launch" in str(info.value)


def test_launch_argument_checks(foundry: FoundryAdapter) -> None:
    with pytest.raises(runtrack.ConfigurationError, match="model_studio_rid"):
        foundry.create_run()
    with pytest.raises(runtrack.ConfigurationError, match="latest config version"):
        foundry.create_run(model_studio_rid=STUDIO_A, config_version=2)


# --------------------------------------------------------------------------- config versions


def version(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"baseline-v{n}",
        "version": n,
        "trainerId": "ri.models.main.trainer.t",
        "trainer": {"trainerId": "ri.models.main.trainer.t", "version": "1.4.0"},
        "workerConfig": {"inputs": {}, "outputs": {"model": {"type": "model", "modelRid": "ri.models.main.model.m"}}},
        "resources": {"memory": "16G", "cpu": "4", "gpu": "B300"},
        "changelog": "bump lr",
        "createdBy": USER,
        "createdTime": "2026-06-30T09:00:00Z",
        **extra,
    }


def test_config_versions_page_with_tokens(http: Any, foundry: FoundryAdapter) -> None:
    http.get(VERSIONS_URL, json=page([version(1), version(2)], "v1"), match=[query(pageSize=2)])
    http.get(VERSIONS_URL, json=page([version(3)], ""), match=[query(pageSize=2, pageToken="v1")])
    versions = list(foundry.config_versions(STUDIO_A, page_size=2))
    assert [v.version for v in versions] == [1, 2, 3]
    first = versions[0]
    assert first == ConfigVersion(
        model_studio_rid=STUDIO_A,
        version=1,
        name="baseline-v1",
        trainer_id="ri.models.main.trainer.t",
        trainer_version="1.4.0",
        resources={"memory": "16G", "cpu": "4", "gpu": "B300"},  # a GPU type the docs do not list yet
        changelog="bump lr",
        created_at=datetime(2026, 6, 30, 9, tzinfo=timezone.utc),
        created_by=runtrack.Actor(id=USER),
        raw=version(1),
    )


def test_config_versions_resume_from_a_cursor(http: Any, foundry: FoundryAdapter) -> None:
    http.get(VERSIONS_URL, json=page([version(1)], "v1"), match=[query(pageSize=1000)])
    first = next(foundry.config_versions(STUDIO_A).pages())
    assert first.next_cursor is not None
    http.get(VERSIONS_URL, json=page([version(2)]), match=[query(pageSize=1000, pageToken="v1")])
    assert [v.version for v in foundry.config_versions(STUDIO_A, cursor=first.next_cursor)] == [2]
    with pytest.raises(runtrack.PaginationError):
        foundry.config_versions(STUDIO_B, cursor=first.next_cursor)


def test_config_version_without_a_version_number_names_the_path(http: Any, foundry: FoundryAdapter) -> None:
    http.get(VERSIONS_URL, json=page([version(1), version(2, version="two")]))
    with pytest.raises(runtrack.PayloadError) as info:
        list(foundry.config_versions(STUDIO_A))
    assert info.value.path == "$.data[1].version"


def test_one_config_version(http: Any, foundry: FoundryAdapter) -> None:
    http.get(f"{VERSIONS_URL}/3", json=version(3), match=[query()])
    assert foundry.config_version(STUDIO_A, 3).name == "baseline-v3"


def test_missing_config_version_is_not_found(http: Any, foundry: FoundryAdapter) -> None:
    body = {
        "errorCode": "NOT_FOUND",
        "errorName": "ModelStudioConfigVersionNotFound",
        "errorInstanceId": "i",
        "parameters": {"studioRid": STUDIO_A, "configVersion": 9},
    }
    http.get(f"{VERSIONS_URL}/9", status=404, json=body)
    with pytest.raises(runtrack.NotFoundError, match="configVersion=9"):
        foundry.config_version(STUDIO_A, 9)


def test_latest_config_version(http: Any, foundry: FoundryAdapter) -> None:
    http.get(f"{VERSIONS_URL}/latest", json=version(4), match=[query()])
    latest = foundry.latest_config_version(STUDIO_A)
    assert latest is not None and latest.version == 4


@pytest.mark.parametrize("status", [200, 204])
def test_latest_config_version_of_a_studio_without_versions(http: Any, foundry: FoundryAdapter, status: int) -> None:
    http.get(f"{VERSIONS_URL}/latest", status=status, body="")
    assert foundry.latest_config_version(STUDIO_A) is None
