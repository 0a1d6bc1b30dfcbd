"""Mapping one ModelStudioRun to runtrack.Run: status table, times, actor, scope, raw, uid."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest
from runtrack_foundry import KIND, FoundryAdapter
from runtrack_foundry.mapping import looks_like_rid, run_parser

import runtrack
from runtrack.model import make_uid

from .conftest import HOST, STUDIO_A, USER

# The example of the palantir.com docs for ListModelStudioRunsResponse.data[0].
DOCS_EXAMPLE = {
    "runId": "a1b2c3d4e5f6",
    "configVersion": 1,
    "startedTime": "2003-05-06T12:34:56.789Z",
    "startedBy": "f05f8da4-b84c-4fca-9c77-8af0b13d11de",
    "buildRid": "ri.foundry-build.main.build.a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "jobRid": "ri.foundry-build.main.job.a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "buildStatus": "RUNNING",
    "resolvedOutputs": {
        "model": {
            "type": "model",
            "modelRid": "ri.models.main.model.a1b2c3d4-e5f6-7890-abcd-ef1234567890",
            "modelVersionRid": "ri.models.main.model-version.a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        }
    },
}

parse = run_parser(platform="foundry", instance=HOST, model_studio_rid=STUDIO_A)


def with_fields(**changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(DOCS_EXAMPLE)
    for key, value in changes.items():
        if value is ...:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def test_docs_example() -> None:
    item = copy.deepcopy(DOCS_EXAMPLE)
    run = parse(item)
    assert run.platform == "foundry" and run.kind == KIND == "model_studio_run" and run.instance == HOST
    assert run.native_id == "a1b2c3d4e5f6"
    assert run.uid == make_uid("foundry", HOST, "model_studio_run", "a1b2c3d4e5f6")
    assert run.status is runtrack.RunStatus.RUNNING and run.status_raw == "RUNNING"
    assert run.started_at == datetime(2003, 5, 6, 12, 34, 56, 789000, tzinfo=timezone.utc)
    assert run.created_at == run.started_at
    assert run.ended_at is None and run.duration is None  # Foundry gives no end time
    assert run.created_by == runtrack.Actor(id="f05f8da4-b84c-4fca-9c77-8af0b13d11de")
    assert dict(run.scope) == {
        "model_studio_rid": STUDIO_A,
        "config_version": "1",
        "build_rid": DOCS_EXAMPLE["buildRid"],
        "job_rid": DOCS_EXAMPLE["jobRid"],
        "output.model.model_rid": "ri.models.main.model.a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "output.model.model_version_rid": "ri.models.main.model-version.a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    }
    assert dict(run.metrics) == {}
    assert run.raw is item and run.raw == DOCS_EXAMPLE


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("RUNNING", runtrack.RunStatus.RUNNING),
        ("SUCCEEDED", runtrack.RunStatus.SUCCEEDED),
        ("FAILED", runtrack.RunStatus.FAILED),
        ("CANCELED", runtrack.RunStatus.CANCELED),
        ("succeeded", runtrack.RunStatus.SUCCEEDED),
        ("NOT_STARTED", runtrack.RunStatus.UNKNOWN),
        ("", runtrack.RunStatus.UNKNOWN),
    ],
)
def test_build_status(raw: str, status: runtrack.RunStatus) -> None:
    run = parse(with_fields(buildStatus=raw))
    assert run.status is status
    assert run.status_raw == raw


@pytest.mark.parametrize("absent", [..., None], ids=["missing", "null"])
def test_no_build_status_yet_is_queued_without_raw(absent: Any) -> None:
    run = parse(with_fields(buildStatus=absent))
    assert run.status is runtrack.RunStatus.QUEUED
    assert run.status_raw is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-07-01T10:00:00Z", datetime(2026, 7, 1, 10, tzinfo=timezone.utc)),
        ("2026-07-01T12:00:00+02:00", datetime(2026, 7, 1, 10, tzinfo=timezone.utc)),
        ("2026-07-01T10:00:00", datetime(2026, 7, 1, 10, tzinfo=timezone.utc)),  # naive means UTC
        ("2026-07-01T10:00:00.123456789Z", datetime(2026, 7, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)),
    ],
)
def test_started_time_is_aware_utc(value: str, expected: datetime) -> None:
    run = parse(with_fields(startedTime=value))
    assert run.started_at == expected
    assert run.started_at is not None and run.started_at.tzinfo is timezone.utc


@pytest.mark.parametrize("outputs", [{}, ..., None], ids=["empty", "missing", "null"])
def test_no_resolved_outputs_yet(outputs: Any) -> None:
    run = parse(with_fields(resolvedOutputs=outputs))
    assert not [k for k in run.scope if k.startswith("output.")]
    assert run.native_id == "a1b2c3d4e5f6"


def test_resolved_outputs_of_every_shape() -> None:
    outputs = {
        "model": {"type": "model", "modelRid": "ri.m.main.model.1", "experimentRid": "ri.m.main.experiment.9"},
        "other": {"type": "dataset", "rid": "ri.foundry.main.dataset.2"},
        "weird": "not-an-object",
        "untyped": {"modelVersionRid": "mv-3"},
    }
    run = parse(with_fields(resolvedOutputs=outputs))
    scope = dict(run.scope)
    assert scope["output.model.model_rid"] == "ri.m.main.model.1"
    assert scope["output.model.experiment_rid"] == "ri.m.main.experiment.9"
    assert "output.model.model_version_rid" not in scope  # absent stays absent
    assert scope["output.other.type"] == "dataset"
    assert scope["output.untyped.model_version_rid"] == "mv-3"
    assert not [k for k in scope if k.startswith("output.weird")]
    assert run.raw["resolvedOutputs"]["weird"] == "not-an-object"  # kept in raw


def test_resolved_outputs_of_the_wrong_type_name_the_field() -> None:
    with pytest.raises(runtrack.PayloadError) as info:
        parse(with_fields(resolvedOutputs=["model"]))
    assert info.value.path == "$.resolvedOutputs"


def test_rids_of_unknown_shapes_are_kept() -> None:
    run = parse(with_fields(buildRid="build-17", jobRid="ri.newservice..job.x:y", startedBy="svc-user"))
    assert run.scope["build_rid"] == "build-17" and run.scope["job_rid"] == "ri.newservice..job.x:y"
    assert run.created_by == runtrack.Actor(id="svc-user")
    assert looks_like_rid(DOCS_EXAMPLE["buildRid"]) and not looks_like_rid("build-17")


def test_unknown_fields_are_kept_in_raw() -> None:
    run = parse(with_fields(newField={"nested": [1, 2]}, priority=3))
    assert run.raw["newField"] == {"nested": [1, 2]} and run.raw["priority"] == 3


def test_optional_fields_missing() -> None:
    item = {"runId": "r-1"}
    run = parse(item)
    assert run.native_id == "r-1" and run.started_at is None and run.created_by is None
    assert dict(run.scope) == {"model_studio_rid": STUDIO_A}


@pytest.mark.parametrize("run_id", [..., None, "", ["x"]], ids=["missing", "null", "empty", "list"])
def test_a_run_without_run_id_is_a_payload_error(run_id: Any) -> None:
    with pytest.raises(runtrack.PayloadError) as info:
        parse(with_fields(runId=run_id))
    assert info.value.path == "$.runId"


def test_a_non_object_item_is_a_payload_error() -> None:
    with pytest.raises(runtrack.PayloadError, match="expected a run object"):
        parse(["a1b2c3d4e5f6"])


def test_uid_is_stable_and_instance_scoped() -> None:
    other = run_parser(platform="foundry", instance="other.palantirfoundry.test", model_studio_rid=STUDIO_A)
    a, b = parse(with_fields()), parse(with_fields(buildStatus="SUCCEEDED"))
    assert a.uid == b.uid  # a status change is the same run
    assert other(with_fields()).uid != a.uid


def test_round_trip_through_the_converter(foundry: FoundryAdapter) -> None:
    run = parse(with_fields(startedBy=USER))
    again = runtrack.load_run(runtrack.dump_run(run))
    assert again == run and again.raw == DOCS_EXAMPLE | {"startedBy": USER}


def test_runs_of_one_user_share_an_equal_actor() -> None:
    first, second = parse(with_fields(runId="r1")), parse(with_fields(runId="r2"))
    assert first.created_by == second.created_by == runtrack.Actor(id=DOCS_EXAMPLE["startedBy"])
    odd = parse(with_fields(startedBy={"type": "service"}))  # an unexpected shape does not crash the listing
    assert odd.created_by is not None and odd.raw["startedBy"] == {"type": "service"}
