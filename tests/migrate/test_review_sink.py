"""The Label Studio review-task sink's requests (mocked with ``responses``) and the engine's bisection of a batch
Label Studio rejects whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from runtrack_labelstudio.review import default_label_config
from runtrack_labelstudio.review_sink import PROJECT_KEY_MARK, ReviewTaskSink

import runtrack
from runtrack.migrate import BatchRejected, Containers, Item, Migration

BASE = "http://ls.test"
FIELDS = {"input", "output", "run_name"}


def _sink(project: int | None = 7, **kwargs: Any) -> ReviewTaskSink:
    adapter = runtrack.connect("labelstudio", base_url=BASE, api_key="t" * 40, max_retries=0)
    defaults: dict[str, Any] = {
        "containers": Containers(None, "d"),
        "data_fields": FIELDS,
        "project": project,
        "project_key": "pk-1",
        "title": "Review",
        "label_config": default_label_config().replace('<Text name="run" value="$run_name"/>', ""),
    }
    return ReviewTaskSink(adapter, **{**defaults, **kwargs})  # type: ignore[arg-type]


def _item(n: int, key: str | None = None) -> Item:
    payload = {
        "data": {"input": f"in {n}", "output": f"out {n}", "run_name": "r"},
        "prediction": {"model_version": "langsmith:m", "result": [], "score": None},
    }
    return Item(source_key=f"run-{n}", payload=payload, key=key or f"key-{n}")


def _project(rsps: responses.RequestsMock, project: int = 7, config: str | None = None) -> None:
    body = {"id": project, "label_config": config or default_label_config()}
    rsps.get(f"{BASE}/api/projects/{project}/", json=body)


@responses.activate
def test_lookup_filters_by_key_in_the_url_and_reads_tasks_back() -> None:
    _project(responses.mock)
    task = {
        "id": 11,
        "data": {"input": "in 1", "output": "out 1", "run_name": "r", "runtrack_key": "key-1"},
        "predictions": [
            {"id": 5, "model_version": "langsmith:m", "result": [], "score": None, "created_at": "x"},
            {"id": 9, "model_version": "backend", "result": [{"x": 1}], "score": 0.4},
        ],
    }
    responses.get(f"{BASE}/api/tasks/", json={"total": 1, "tasks": [task]})
    sink = _sink(lookup_size=2)
    found = sink.lookup([_item(1), _item(2), _item(3)])
    assert sink.instance == "ls.test/projects/7"
    assert list(found) == ["key-1"]
    assert found["key-1"].dest_id == "11"
    assert found["key-1"].fingerprint == _item(1).fingerprint  # the oldest prediction is runtrack's
    lookups = [c for c in responses.calls if urlsplit(c.request.url).path == "/api/tasks/"]
    assert len(lookups) == 2  # 3 keys, 2 per request
    query = parse_qs(urlsplit(lookups[0].request.url).query)
    assert query["project"] == ["7"] and query["include"] == ["id,data,predictions"]
    [flt] = json.loads(query["query"][0])["filters"]["items"]
    assert flt == {"filter": "filter:tasks:data.runtrack_key", "operator": "in_list", "type": "String",
                   "value": ["key-1", "key-2"]}  # fmt: skip


@responses.activate
def test_create_imports_tasks_with_predictions_and_maps_ids_in_order() -> None:
    _project(responses.mock)
    responses.post(f"{BASE}/api/projects/7/import", json={"task_count": 2, "task_ids": [21, 22]}, status=201)
    ids = _sink().create([_item(1), _item(2)])
    assert ids == {"key-1": "21", "key-2": "22"}
    call = responses.calls[-1]
    assert parse_qs(urlsplit(call.request.url).query) == {"return_task_ids": ["true"]}
    body = json.loads(call.request.body)
    assert body[0] == {
        "data": {"input": "in 1", "output": "out 1", "run_name": "r", "runtrack_key": "key-1"},
        "predictions": [{"model_version": "langsmith:m", "result": [], "score": None}],
    }


@responses.activate
def test_a_400_is_a_rejected_batch_and_is_not_retried() -> None:
    _project(responses.mock)
    responses.post(
        f"{BASE}/api/projects/7/import",
        json={"detail": "Validation error", "validation_errors": {"non_field_errors": ["Error at item 0: bad"]}},
        status=400,
    )
    with pytest.raises(BatchRejected, match="Error at item 0: bad"):
        _sink().create([_item(1)])
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 1


@responses.activate
def test_a_body_over_the_request_limit_is_rejected_before_sending() -> None:
    _project(responses.mock)
    with pytest.raises(BatchRejected, match="over the 100-byte request limit"):
        _sink(max_request_bytes=100).create([_item(1)])
    assert all(c.request.method == "GET" for c in responses.calls)


def test_the_engine_bisects_a_rejected_batch_down_to_the_bad_task(tmp_path: Path) -> None:
    """Label Studio refuses a whole import when one task is bad: 8 tasks, task 5 bad → 7 written, 1 blocked."""
    imported: list[list[str]] = []

    def on_import(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        if any(t["data"]["input"] == "in 5" for t in body):
            return 400, {"Content-Type": "application/json"}, json.dumps({"detail": "task 5 is bad"})
        imported.append([t["data"]["input"] for t in body])
        start = sum(map(len, imported)) - len(body)
        return 201, {}, json.dumps({"task_ids": list(range(100 + start, 100 + start + len(body)))})

    class Direction(runtrack.migrate.Direction):
        name = "test-to-labelstudio"
        source_platform = "test"
        target_platform = "labelstudio"

        def items(self, **scope: Any) -> Any:
            return iter([_item(n, key="") for n in range(8)])

        def sink(self, containers: Containers) -> ReviewTaskSink:
            return _sink(batch_size=8)

    with responses.RequestsMock() as rsps:
        _project(rsps)
        rsps.get(f"{BASE}/api/tasks/", json={"total": 0, "tasks": []})
        rsps.add_callback(responses.POST, f"{BASE}/api/projects/7/import", callback=on_import)
        result = Migration(Direction(source=None, target=None), store=tmp_path / "s.db").apply()
    assert result.counts["created"] == 7 and result.counts["blocked"] == 1
    [failure] = result.failures
    assert failure.source_key == "run-5" and failure.blocked and "task 5 is bad" in failure.reason
    assert sorted(i for batch in imported for i in batch) == [f"in {n}" for n in range(8) if n != 5]
    assert max(map(len, imported)) == 4  # the halves that were fine went through whole


@responses.activate
def test_update_patches_data_and_the_runtrack_prediction() -> None:
    _project(responses.mock)
    task = {
        "id": 11,
        "data": {"input": "old", "output": "old", "run_name": "r", "runtrack_key": "key-1"},
        "predictions": [{"id": 5, "model_version": "langsmith:m", "result": [], "score": None}],
    }
    responses.get(f"{BASE}/api/tasks/", json={"total": 1, "tasks": [task]})
    responses.patch(f"{BASE}/api/tasks/11/", json={})
    responses.patch(f"{BASE}/api/predictions/5/", json={})
    sink = _sink()
    item = _item(1)
    item = Item(
        source_key=item.source_key,
        key="key-1",
        payload={**item.payload, "prediction": {"model_version": "langsmith:m", "result": [{"a": 1}], "score": None}},
    )
    found = sink.lookup([item])["key-1"]
    sink.update([(item, found)])
    patches = [c for c in responses.calls if c.request.method == "PATCH"]
    assert [urlsplit(c.request.url).path for c in patches] == ["/api/tasks/11/", "/api/predictions/5/"]
    assert json.loads(patches[0].request.body)["data"]["runtrack_key"] == "key-1"
    assert json.loads(patches[1].request.body)["result"] == [{"a": 1}]


@responses.activate
def test_prepare_creates_the_project_once_with_its_key_in_the_description() -> None:
    responses.get(f"{BASE}/api/projects/", json={"count": 0, "next": None, "results": []})
    responses.post(f"{BASE}/api/projects/", json={"id": 42}, status=201)
    containers = Containers(None, "d")
    sink = _sink(project=None, containers=containers)
    assert sink.instance == "ls.test/projects/new"
    sink.prepare()
    assert sink.instance == "ls.test/projects/42"
    assert containers.get("project", "pk-1") == "42"
    body = json.loads(responses.calls[-1].request.body)
    assert PROJECT_KEY_MARK + "pk-1" in body["description"] and body["title"] == "Review"


@responses.activate
def test_a_project_created_by_a_killed_pass_is_found_by_its_key() -> None:
    page1 = {"count": 2, "next": f"{BASE}/api/projects/?page=2", "results": [{"id": 1, "description": "x"}]}
    page2 = {"count": 2, "next": None, "results": [{"id": 9, "description": f"y\n\n{PROJECT_KEY_MARK}pk-1"}]}
    responses.get(
        f"{BASE}/api/projects/",
        json=page1,
        match=[responses.matchers.query_param_matcher({"page": "1", "page_size": "100"})],
    )
    responses.get(
        f"{BASE}/api/projects/",
        json=page2,
        match=[responses.matchers.query_param_matcher({"page": "2", "page_size": "100"})],
    )
    sink = _sink(project=None)
    sink.prepare()
    assert sink.instance == "ls.test/projects/9"
    assert all(c.request.method == "GET" for c in responses.calls)


@responses.activate
def test_a_given_project_whose_config_reads_unknown_fields_is_refused() -> None:
    _project(responses.mock, config='<View><Text name="t" value="$transcript"/></View>')
    with pytest.raises(runtrack.ConfigurationError, match=r"project 7: the labeling config reads \$transcript"):
        _ = _sink().instance
