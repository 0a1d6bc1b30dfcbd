"""Tasks with annotations and labeling-config controls, on responses captured from a real 1.23.2 server."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from responses import matchers
from runtrack_labelstudio import Control, LabelStudioAdapter, parse_label_config

import runtrack

from .helpers import BASE, DATA


def capture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


def add_page(page: int, name: str, page_size: int = 1) -> None:
    cap = capture(name)
    responses.get(
        f"{BASE}/api/tasks/",
        json=cap["body"],
        status=cap["status"],
        match=[
            matchers.query_param_matcher(
                {"project": "2", "fields": "all", "page": str(page), "page_size": str(page_size)}
            )
        ],
    )


@responses.activate
def test_tasks_walk_numbered_pages_until_total_without_asking_past_the_end(legacy: LabelStudioAdapter) -> None:
    add_page(1, "tasks_fields_all_page1")
    add_page(2, "tasks_fields_all_page2")
    add_page(3, "tasks_fields_all_page3_invalid")  # 404 "Invalid page." if it were asked for
    tasks = list(legacy.tasks(2, page_size=1))
    assert [t.id for t in tasks] == [4, 5] and len(responses.calls) == 2
    first = tasks[0]
    assert first.data["output"] == "a1" and first.meta == {"langsmith": {"run_id": "x"}} and first.project == 2
    assert [(a.id, a.was_cancelled) for a in first.annotations] == [(1, False), (2, True)]
    done = first.annotations[0]
    assert done.completed_by == 1 and done.task_id == 4 and done.updated_at is not None
    assert [r["from_name"] for r in done.result] == ["verdict", "quality", "confidence", "comment", "corrected"]
    assert tasks[1].annotations == ()


@responses.activate
def test_a_page_past_the_end_is_a_typed_error_with_the_cursor(legacy: LabelStudioAdapter) -> None:
    body = capture("tasks_fields_all_page1")["body"]
    body = {**body, "total": 5}  # the server claims more than it has
    responses.get(
        f"{BASE}/api/tasks/", json=body, match=[matchers.query_param_matcher({"page": "1"}, strict_match=False)]
    )
    add_page(2, "tasks_fields_all_page3_invalid")
    tasks = legacy.tasks(2, page_size=1)
    with pytest.raises(runtrack.NotFoundError, match="Invalid page") as info:
        list(tasks)
    assert info.value.cursor is not None


@responses.activate
def test_a_bad_annotation_names_its_json_path(legacy: LabelStudioAdapter) -> None:
    body = capture("tasks_fields_all_page1")["body"]
    task = dict(body["tasks"][0])
    task["annotations"] = [task["annotations"][0], {"id": "seven", "result": []}]
    responses.get(f"{BASE}/api/tasks/", json={**body, "tasks": [task], "total": 1})
    with pytest.raises(runtrack.PayloadError) as info:
        list(legacy.tasks(2))
    assert info.value.path == "$.tasks[0].annotations[1].id"


@responses.activate
def test_labeling_config_controls(legacy: LabelStudioAdapter) -> None:
    responses.get(f"{BASE}/api/projects/2/", json=capture("project_review_config")["body"])
    controls = legacy.labeling_config(2)
    assert list(controls) == ["verdict", "quality", "confidence", "comment", "corrected"]
    assert controls["verdict"] == Control(
        name="verdict",
        type="choices",
        to_name="output",
        choices=("good", "bad"),
        attrs={"name": "verdict", "toName": "output", "choice": "single"},
    )
    assert controls["quality"].max_rating == 5 and controls["confidence"].type == "number"
    assert {controls["comment"].type, controls["corrected"].type} == {"textarea"}


def test_controls_other_than_the_four_are_ignored_and_bad_xml_is_a_payload_error() -> None:
    config = '<View><Labels name="ner" toName="t"><Label value="A"/></Labels><Rating name="r" toName="t"/></View>'
    assert list(parse_label_config(config)) == ["r"] and parse_label_config(config)["r"].max_rating == 5
    with pytest.raises(runtrack.PayloadError) as info:
        parse_label_config("<View><Choices name='x'></View>")
    assert info.value.path == "$.label_config"


def test_project_ids_are_checked(legacy: LabelStudioAdapter) -> None:
    with pytest.raises(runtrack.ConfigurationError, match="project"):
        legacy.tasks("seven")
