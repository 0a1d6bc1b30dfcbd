"""Label Studio error bodies in runtrack errors: the DRF envelope, validation errors, HTML pages."""

from __future__ import annotations

import pytest
import responses
from runtrack_labelstudio import LabelStudioAdapter
from runtrack_labelstudio.errors import MAX_MESSAGE

import runtrack

from .helpers import BASE, add_captured, captured


@responses.activate
def test_validation_errors_are_in_the_message_without_html(legacy: LabelStudioAdapter) -> None:
    add_captured("GET", f"{BASE}/api/ml/", "31_ml_create_unreachable")  # 400 with validation_errors
    with pytest.raises(runtrack.RequestError) as info:
        legacy.ml_backends(project=1)
    text = str(info.value)
    assert info.value.status_code == 400
    assert "HTTP 400: Validation error; Can't connect to ML backend http://127.0.0.1:1, health check failed." in text
    assert "<a href" not in text and "Learn more about how to set up" in text
    assert len(info.value.message) < MAX_MESSAGE + 60


@responses.activate
def test_field_validation_errors_name_the_field(legacy: LabelStudioAdapter) -> None:
    body = {
        "id": "x",
        "status_code": 400,
        "version": "1.23.2",
        "detail": "Validation error",
        "exc_info": None,
        "validation_errors": {"project": ["This field is required."], "timeout": ["A valid number is required."]},
    }
    responses.post(f"{BASE}/api/prompts/1/versions/2/inference-runs", json=body, status=400)
    with pytest.raises(
        runtrack.RequestError,
        match=r"Validation error; project: This field is required\.; timeout: A valid number is required\.",
    ):
        legacy.create_run(prompt_id=1, version_id=2, project=3)


@responses.activate
def test_server_error_detail(legacy: LabelStudioAdapter) -> None:
    add_captured("POST", f"{BASE}/api/ml/1/train", "36_ml_patch_without_url")  # 500 envelope
    with pytest.raises(runtrack.ServerError, match=r"HTTP 500: MLBackend\.healthcheck_\(\) missing 1 required"):
        legacy.train_ml_backend(1)
    assert len(responses.calls) == 1  # 500 is not a retry status


@responses.activate
def test_invalid_token_detail(legacy: LabelStudioAdapter) -> None:
    add_captured("GET", f"{BASE}/api/ml/1", "02_projects_bad_token")
    with pytest.raises(runtrack.AuthenticationError, match="HTTP 401: Invalid token."):
        legacy.ml_backend(1)


@responses.activate
def test_simplejwt_code_becomes_the_vendor_code(legacy: LabelStudioAdapter) -> None:
    body = {"detail": "Given token not valid for any token type", "code": "token_not_valid"}
    responses.get(f"{BASE}/api/ml/1", json=body, status=403)
    with pytest.raises(runtrack.AuthenticationError) as info:
        legacy.ml_backend(1)
    assert info.value.vendor_code == "token_not_valid"
    assert "HTTP 403 token_not_valid: Given token not valid" in str(info.value)


@responses.activate
def test_html_error_pages_other_than_404_stay_short(legacy: LabelStudioAdapter) -> None:
    responses.get(
        f"{BASE}/api/ml/1",
        body="<html><body>" + "<p>Bad gateway</p>" * 5000 + "</body></html>",
        status=500,
        content_type="text/html",
    )
    with pytest.raises(runtrack.ServerError) as info:
        legacy.ml_backend(1)
    assert "HTML page of" in str(info.value) and len(str(info.value)) < 200


@responses.activate
def test_errors_list_and_non_json_bodies(legacy: LabelStudioAdapter) -> None:
    responses.get(f"{BASE}/api/ml/1/versions", json={"errors": ["first", "second"]}, status=409)
    with pytest.raises(runtrack.RequestError, match="HTTP 409: first; second"):
        legacy.ml_backend_versions(1)
    responses.get(f"{BASE}/api/ml/2/versions", body="plain words", status=418, content_type="text/plain")
    with pytest.raises(runtrack.RequestError, match="HTTP 418: plain words"):
        legacy.ml_backend_versions(2)


def test_captured_envelope_shape_is_what_the_reader_expects() -> None:
    """Guards the fixture: the real 1.23.2 envelope carries id, status_code, version, detail, exc_info."""
    body = captured("30_ml_list_bad_project")["body"]
    assert set(body) == {"id", "status_code", "version", "detail", "exc_info"}
