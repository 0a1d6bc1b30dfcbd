"""Shapes from real vendor payloads: Label Studio's old single-object inference run without an id, LangSmith's
parent link in ``parent_run_ids`` only, Foundry's two spellings of build RIDs."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import pytest

import runtrack
from runtrack.model import make_uid
from runtrack.testing import Request, Response

from .servers import FOUNDRY_TOKEN, LANGSMITH_KEY, LS_LEGACY, Hostile

STUDIO = "ri.models.main.model-studio.aaaaaaaa-0000-4000-8000-000000000001"


def old_inference_run(status: str = "Completed", created_at: str = "2024-08-20T10:00:00Z") -> dict[str, Any]:
    """The single-object shape of the published examples (2024-08, 2024-12, 2025-05): no id, placeholders."""
    return {
        "organization": 1,
        "project": 7,
        "model_version": "model_version",
        "created_by": 4,
        "project_subset": "All",
        "status": status,
        "job_id": "job_id",
        "created_at": created_at,
        "triggered_at": "2024-08-20T10:00:01Z",
        "predictions_updated_at": "2024-08-20T10:05:00Z",
        "completed_at": "2024-08-20T10:05:00Z" if status == "Completed" else None,
    }


def _ls_runs(body: dict[str, Any]) -> list[runtrack.Run]:
    with (
        Hostile(lambda req: Response.json(body)) as server,
        runtrack.connect("labelstudio", base_url=server.base_url, api_key=LS_LEGACY) as ad,
    ):
        return list(ad.runs(prompt_id=3, version_id=5))


def test_the_old_single_object_shape_is_one_run_with_a_stable_derived_id() -> None:
    (pending,) = _ls_runs(old_inference_run("Pending"))
    (done,) = _ls_runs(old_inference_run("Completed"))
    (other,) = _ls_runs(old_inference_run(created_at="2024-12-01T00:00:00Z"))
    assert pending.native_id.startswith("derived-") and pending.native_id == done.native_id  # stable as it runs
    assert other.native_id != done.native_id
    assert done.status is runtrack.RunStatus.SUCCEEDED
    assert done.scope == {"prompt": "3", "version": "5", "project": "7"}  # the placeholder version is absent
    assert done.raw == old_inference_run("Completed")


def test_an_old_shape_item_in_an_array_is_read_too() -> None:
    with (
        Hostile(lambda req: Response.json([old_inference_run()])) as server,
        runtrack.connect("labelstudio", base_url=server.base_url, api_key=LS_LEGACY) as ad,
    ):
        (run,) = list(ad.runs(prompt_id=3, version_id=5))
    assert run.native_id.startswith("derived-")


def _langsmith_rows(rows: list[dict[str, Any]]) -> list[runtrack.Run]:
    def answer(req: Request) -> Response:
        return Response.json(rows if req.q("offset") in (None, "0") else [])

    with (
        Hostile(answer) as server,
        runtrack.connect("langsmith", base_url=server.base_url, api_key=LANGSMITH_KEY) as ad,
    ):
        return list(ad.runs(queue_id="q"))


def test_langsmith_parent_comes_from_parent_run_ids_when_parent_run_id_is_absent() -> None:
    base = {"status": "success", "start_time": "2025-01-01T00:00:00Z"}
    rows = [
        {"id": "child", "parent_run_ids": ["root", "middle"], **base},
        {"id": "both", "parent_run_id": "direct", "parent_run_ids": ["root", "other"], **base},
        {"id": "root", "parent_run_ids": [], **base},
    ]
    child, both, root = _langsmith_rows(rows)
    assert child.parent_uid == make_uid("langsmith", child.instance, child.kind, "middle")
    assert both.parent_uid == make_uid("langsmith", both.instance, both.kind, "direct")
    assert root.parent_uid is None


def _foundry(batch_data: dict[str, Any], caplog: pytest.LogCaptureFixture) -> list[runtrack.Run]:
    item = {
        "runId": "r1",
        "startedTime": "2026-07-01T10:00:00Z",
        "buildRid": "ri.foundry-build.main.build.b-1",
        "buildStatus": "SUCCEEDED",
    }

    def answer(req: Request) -> Response:
        if req.path.endswith("/getBatch"):
            return Response.json({"data": batch_data})
        return Response.json({"data": [item]})

    with (
        caplog.at_level(logging.WARNING, logger="runtrack"),
        Hostile(answer) as server,
        runtrack.connect("foundry", base_url=server.base_url, api_key=FOUNDRY_TOKEN, enrich_end_times=True) as ad,
    ):
        return list(ad.runs(model_studio_rid=STUDIO))


@pytest.mark.parametrize("spelling", ["ri.foundry.main.build.b-1", "ri.foundry-build.main.build.b-1"])
def test_foundry_build_rids_match_in_both_spellings(spelling: str, caplog: pytest.LogCaptureFixture) -> None:
    build = {"rid": spelling, "status": "SUCCEEDED", "finishedTime": "2026-07-01T10:30:00Z"}
    (run,) = _foundry({spelling: build}, caplog)
    assert run.ended_at == datetime(2026, 7, 1, 10, 30, tzinfo=timezone.utc)
    assert "did not return" not in caplog.text


def test_foundry_enrichment_warns_when_no_build_is_found(caplog: pytest.LogCaptureFixture) -> None:
    (run,) = _foundry({"ri.foundry.main.build.other": {"status": "SUCCEEDED"}}, caplog)
    assert run.ended_at is None
    assert "1 run(s) of this page have a build that" in caplog.text
    assert "ri.foundry-build.main.build.b-1" in caplog.text
