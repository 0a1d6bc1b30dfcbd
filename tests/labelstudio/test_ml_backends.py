"""ML backends on captured Label Studio 1.23.2 responses: list, get, train (200 without a body), versions, states."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

import pytest
import responses
from responses import matchers
from runtrack_labelstudio import BackendState, LabelStudioAdapter, MLBackend
from runtrack_labelstudio.ml_backends import parse_backend

import runtrack

from .helpers import BASE, add_captured, add_html_404, captured

ML_LIST = f"{BASE}/api/ml/"


def backend(**fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = copy.deepcopy(captured("34_ml_get")["body"])
    item.update(fields)
    return item


@responses.activate
def test_list_needs_a_project_and_maps_every_backend(legacy: LabelStudioAdapter) -> None:
    add_captured("GET", ML_LIST, "50_ml_list_two_backends", match=[matchers.query_param_matcher({"project": "1"})])
    first, second = legacy.ml_backends(project=1)
    assert first == MLBackend(
        id=1,
        project=1,
        url="http://127.0.0.1:9099",
        title="fake-ml-renamed",
        state=BackendState.CONNECTED,
        state_raw="CO",
        error=None,
        model_version="fake-v2",
        is_interactive=True,
        created_at=datetime(2026, 11, 23, 23, 10, 17, 880739, tzinfo=timezone.utc),
        updated_at=datetime(2026, 11, 23, 23, 10, 18, 367617, tzinfo=timezone.utc),
        raw=captured("50_ml_list_two_backends")["body"][0],
    )
    assert (second.id, second.title, second.is_interactive) == (2, "fake-ml-noversions", False)
    assert responses.calls[0].request.url == f"{ML_LIST}?project=1"


@responses.activate
def test_empty_list(legacy: LabelStudioAdapter) -> None:
    responses.get(ML_LIST, json=[])
    assert legacy.ml_backends(project="1") == []


@responses.activate
def test_unknown_project_is_not_found_with_the_vendor_detail(legacy: LabelStudioAdapter) -> None:
    add_captured("GET", ML_LIST, "30_ml_list_bad_project")
    with pytest.raises(runtrack.NotFoundError) as info:
        legacy.ml_backends(project=999999)
    assert "GET api/ml/?project=999999: HTTP 404: No Project matches the given query." in str(info.value)


@responses.activate
def test_detail_route_has_no_trailing_slash(legacy: LabelStudioAdapter) -> None:
    add_captured("GET", f"{BASE}/api/ml/1", "34_ml_get")
    got = legacy.ml_backend("1")
    assert (got.id, got.state, got.model_version) == (1, BackendState.CONNECTED, "fake-v1")
    assert responses.calls[0].request.url == f"{BASE}/api/ml/1"


@responses.activate
def test_unknown_backend_html_404_is_a_short_not_found(legacy: LabelStudioAdapter) -> None:
    add_html_404("GET", f"{BASE}/api/ml/999999")
    with pytest.raises(runtrack.NotFoundError) as info:
        legacy.ml_backend(999999)
    text = str(info.value)
    assert text == (
        "[labelstudio] GET api/ml/999999: HTTP 404: Label Studio has no such object or route "
        "(it answered its HTML 404 page)"
    )
    assert "Enterprise" not in text


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("CO", BackendState.CONNECTED),
        ("DI", BackendState.DISCONNECTED),
        ("ER", BackendState.ERROR),
        ("TR", BackendState.TRAINING),
        ("PR", BackendState.PREDICTING),
        ("STR", BackendState.UNKNOWN),
        (None, BackendState.UNKNOWN),
    ],
)
def test_state_codes(raw: str | None, state: BackendState) -> None:
    got = parse_backend(backend(state=raw))
    assert got.state is state and got.state_raw == raw


def test_nullable_fields_and_unknown_fields() -> None:
    item = backend(title=None, model_version="", error_message="boom", extra_params=None, new_field={"x": 1})
    got = parse_backend(item)
    assert (got.title, got.model_version, got.error) == (None, None, "boom")
    assert got.raw["new_field"] == {"x": 1}


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [("id", None, "$.id"), ("id", "abc", "$.id"), ("url", 5, "$.url"), ("created_at", "soon", "$.created_at")],
)
def test_unreadable_backend_values(field: str, value: Any, path: str) -> None:
    with pytest.raises(runtrack.PayloadError) as info:
        parse_backend(backend(**{field: value}))
    assert info.value.path == path


@responses.activate
def test_list_item_errors_name_the_item(legacy: LabelStudioAdapter) -> None:
    responses.get(ML_LIST, json=[backend(), backend(id=None)])
    with pytest.raises(runtrack.PayloadError) as info:
        legacy.ml_backends(project=1)
    assert info.value.path == "$[1].id"
    responses.replace(responses.GET, ML_LIST, json={"results": []})
    with pytest.raises(runtrack.PayloadError, match="expected a JSON array of ML backends"):
        legacy.ml_backends(project=1)


def test_backend_round_trips_through_the_converter() -> None:
    got = parse_backend(backend(state="ER", error_message="setup failed"))
    data = json.loads(json.dumps(runtrack.converter.unstructure(got)))
    assert data["state"] == "ERROR" and data["created_at"] == "2026-11-23T23:10:17.880739Z"
    assert runtrack.converter.structure(data, MLBackend) == got


# --------------------------------------------------------------------------- train


@responses.activate
def test_train_answers_200_without_body_so_the_backend_is_read_again(legacy: LabelStudioAdapter) -> None:
    train = add_captured("POST", f"{BASE}/api/ml/1/train", "40_ml_train")
    add_captured("GET", f"{BASE}/api/ml/1", "41_ml_get_after_train")
    got = legacy.train_ml_backend(1, use_ground_truth=True)
    assert train.call_count == 1 and json.loads(responses.calls[0].request.body) == {"use_ground_truth": True}
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]
    assert (got.state, got.model_version, got.error) == (BackendState.CONNECTED, "fake-v2", None)


@responses.activate
def test_failed_training_is_reported_from_the_re_read(legacy: LabelStudioAdapter) -> None:
    responses.post(f"{BASE}/api/ml/1/train", body="", status=200)
    error = "Can't connect to ML backend http://127.0.0.1:9099: Connection refused"
    responses.get(f"{BASE}/api/ml/1", json=backend(state="ER", readable_state="Error", error_message=error))
    got = legacy.train_ml_backend(1)
    assert got.state is BackendState.ERROR and got.error == error
    assert json.loads(responses.calls[0].request.body) == {}


@responses.activate
def test_train_is_not_retried(legacy: LabelStudioAdapter) -> None:
    responses.post(f"{BASE}/api/ml/1/train", body="", status=502)
    with pytest.raises(runtrack.ServerError):
        legacy.train_ml_backend(1)
    assert len(responses.calls) == 1


# --------------------------------------------------------------------------- versions


@responses.activate
def test_versions(legacy: LabelStudioAdapter) -> None:
    add_captured("GET", f"{BASE}/api/ml/1/versions", "42_ml_versions")
    got = legacy.ml_backend_versions(1)
    assert (got.backend_id, got.versions, got.message, got.fallback) == (1, ("fake-v1", "fake-v2"), None, False)


@responses.activate
def test_versions_fallback_when_the_model_server_cannot_list_them(legacy: LabelStudioAdapter) -> None:
    add_captured("GET", f"{BASE}/api/ml/2/versions", "49_ml2_versions_fallback")
    got = legacy.ml_backend_versions(2)
    assert got.versions == ("fake-v1",) and got.fallback
    assert got.message == "Upgrade your ML backend version to latest."


@responses.activate
def test_versions_error_body(legacy: LabelStudioAdapter) -> None:
    # The view passes the model server's failure through as {"error": ...}, with status 500 on a connection error.
    responses.get(f"{BASE}/api/ml/1/versions", json={"error": "Connection refused"}, status=500)
    with pytest.raises(runtrack.ServerError, match="HTTP 500: Connection refused"):
        legacy.ml_backend_versions(1)
    responses.replace(responses.GET, f"{BASE}/api/ml/1/versions", json={"versions": "v1"})
    with pytest.raises(runtrack.PayloadError) as info:
        legacy.ml_backend_versions(1)
    assert info.value.path == "$.versions"
