"""labelstudio-to-langsmith without a Label Studio server: options, and what is blocked and why (Label Studio
answers from `responses`, LangSmith is the fake)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from runtrack_labelstudio import LabelStudioAdapter

import runtrack
from runtrack.testing import FakeLangSmith

from .helpers import BASE, DATA, LEGACY

UNKNOWN_RUN = "0190a1b2-c3d4-7ef0-a5b6-000000000000"


@pytest.fixture
def fake() -> Iterator[FakeLangSmith]:
    with FakeLangSmith(queues=1, runs_per_queue=3) as server:
        yield server


def connect(fake: FakeLangSmith) -> tuple[LabelStudioAdapter, Any]:
    ls = LabelStudioAdapter(base_url=BASE, api_key=LEGACY, environ={})
    lsm = runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key, environ={})
    return ls, lsm


def task(task_id: int, data: dict[str, Any], *, cancelled: bool = False) -> dict[str, Any]:
    result = [{"from_name": "verdict", "to_name": "output", "type": "choices", "value": {"choices": ["good"]}}]
    annotation = {"id": 100 + task_id, "result": result, "was_cancelled": cancelled, "completed_by": 1}
    return {"id": task_id, "project": 2, "data": {"output": "a", **data}, "meta": {}, "annotations": [annotation]}


def serve_project(tasks: list[dict[str, Any]]) -> None:
    project = json.loads((DATA / "project_review_config.json").read_text())["body"]
    responses.get(f"{BASE}/api/projects/2/", json=project)
    responses.get(f"{BASE}/api/tasks/", json={"total": len(tasks), "tasks": tasks})


def test_it_is_registered_and_needs_a_project(fake: FakeLangSmith) -> None:
    assert "labelstudio-to-langsmith" in runtrack.available_migrations()
    ls, lsm = connect(fake)
    with pytest.raises(runtrack.ConfigurationError, match="project"):
        runtrack.migration("labelstudio-to-langsmith", source=ls, target=lsm)
    with pytest.raises(runtrack.ConfigurationError, match="scores"):
        runtrack.migration("labelstudio-to-langsmith", source=ls, target=lsm, project=2, scores="[1, 2]")
    with pytest.raises(runtrack.ConfigurationError, match="needs a langsmith target"):
        runtrack.migration("labelstudio-to-langsmith", source=ls, target=ls, project=2)


def test_command_line_option_strings_are_parsed(fake: FakeLangSmith) -> None:
    ls, lsm = connect(fake)
    mig = runtrack.migration(
        "labelstudio-to-langsmith",
        source=ls,
        target=lsm,
        project="2",
        scores='{"review": {"yes": 1, "no": 0}}',
        keys='{"quality": "helpfulness"}',
        comment="notes, remarks",
        correction="",
        normalize_ratings="yes",
        extend_trace_retention="false",
        dataset="reviewed",
    )
    mapping = mig.direction.mapping  # type: ignore[attr-defined]
    assert mapping.score_of("review", "yes") == 1.0 and mapping.key("quality") == "helpfulness"
    assert mapping.comment == frozenset({"notes", "remarks"}) and mapping.correction == frozenset()
    assert mapping.normalize_ratings is True and mig.direction.config["extend_trace_retention"] is False
    name, dataset_id = mig.direction.dataset  # type: ignore[attr-defined]
    assert name == "reviewed" and dataset_id == runtrack.migrate.destination_key(
        "labelstudio-to-langsmith", "langsmith", lsm.instance, "dataset", f"{ls.instance}:reviewed"
    )
    with pytest.raises(runtrack.ConfigurationError, match="normalize_ratings"):
        runtrack.migration("labelstudio-to-langsmith", source=ls, target=lsm, project=2, normalize_ratings="maybe")


@responses.activate
def test_blocked_items_say_why_and_nothing_is_written(fake: FakeLangSmith) -> None:
    responses.add_passthru(fake.base_url)
    known = fake.runs_by_queue[fake.queue_ids[0]][0]
    serve_project(
        [
            task(1, {"text": "no run id here"}),
            task(2, {"langsmith_run_id": UNKNOWN_RUN}),
            task(3, {"langsmith_run_id": known}),
            task(4, {"langsmith_run_id": known}, cancelled=True),
        ]
    )
    ls, lsm = connect(fake)
    plan = runtrack.migration("labelstudio-to-langsmith", source=ls, target=lsm, project=2).plan()
    entries = {e.source_key: e for e in plan.items}
    host = ls.instance
    assert set(entries) == {f"{host}:101:*", f"{host}:102:verdict", f"{host}:103:verdict"}  # 104 was cancelled
    assert "carries no LangSmith run id" in (entries[f"{host}:101:*"].reason or "")
    assert f"run {UNKNOWN_RUN} is not in LangSmith" in (entries[f"{host}:102:verdict"].reason or "")
    assert entries[f"{host}:103:verdict"].action == "create"
    assert plan.counts == {"create": 1, "update": 0, "skip": 0, "blocked": 2}
    assert fake.feedback() == [] and fake.count("/api/v1/runs/query") == 1


@responses.activate
def test_a_run_without_session_id_is_blocked(fake: FakeLangSmith, monkeypatch: pytest.MonkeyPatch) -> None:
    responses.add_passthru(fake.base_url)
    known = fake.runs_by_queue[fake.queue_ids[0]][0]
    serve_project([task(3, {"langsmith_run_id": known})])
    ls, lsm = connect(fake)
    original = lsm.runs_by_id
    monkeypatch.setattr(lsm, "runs_by_id", lambda ids: {k: {**v, "session_id": None} for k, v in original(ids).items()})
    (entry,) = runtrack.migration("labelstudio-to-langsmith", source=ls, target=lsm, project=2).plan().items
    assert entry.action == "blocked" and "has no session_id" in (entry.reason or "")
