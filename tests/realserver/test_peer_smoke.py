"""The harness works, and the Label Studio 1.23.2 behaviours our adapter must handle are real.

Plain ``requests`` only: these tests pin the server's wire behaviour, not runtrack's code.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from .peer import LabelStudioPeer

ERROR_ENVELOPE_KEYS = {"id", "status_code", "version", "detail", "exc_info"}


def _get(peer: LabelStudioPeer, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", peer.legacy_headers())
    return requests.get(peer.url(path), timeout=60, **kwargs)


def _assert_error_envelope(r: requests.Response, status: int, detail: str) -> None:
    assert r.status_code == status, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) >= ERROR_ENVELOPE_KEYS, body
    assert body["status_code"] == status
    assert body["detail"] == detail
    assert body["version"] == "1.23.2"
    assert body["exc_info"] is None


def _assert_html_404(r: requests.Response) -> None:
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert "404" in r.text[:5000]


# ------------------------------------------------------------------------------------------ harness


def test_peer_is_loopback_and_healthy(ls_peer: LabelStudioPeer) -> None:
    assert ls_peer.base_url.startswith("http://127.0.0.1:")
    assert ls_peer.fake_ml_url.startswith("http://127.0.0.1:")
    assert ls_peer.fake_ml_noversions_url.startswith("http://127.0.0.1:")
    assert "legacy_token" not in repr(ls_peer)
    assert ls_peer.legacy_token not in repr(ls_peer)
    assert ls_peer.pat not in repr(ls_peer)
    r = requests.get(ls_peer.url("/health/"), timeout=30)
    assert r.status_code == 200
    assert r.json() == {"status": "UP"}
    version = _get(ls_peer, "/api/version/").json()
    assert version["release"] == ls_peer.version == "1.23.2"


def test_project_has_config_and_tasks(ls_peer: LabelStudioPeer) -> None:
    r = _get(ls_peer, f"/api/projects/{ls_peer.project_id}/")
    assert r.status_code == 200
    project = r.json()
    assert project["id"] == ls_peer.project_id
    assert '<Choices name="label" toName="text"' in project["label_config"]
    assert project["task_number"] == 3


def test_project_list_is_count_next_previous_results(ls_peer: LabelStudioPeer) -> None:
    r = _get(ls_peer, "/api/projects/", params={"page": 1, "page_size": 1})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert body["count"] >= 1
    assert len(body["results"]) == 1
    # out-of-range page: 404 in the JSON envelope
    _assert_error_envelope(_get(ls_peer, "/api/projects/", params={"page": 999}), 404, "Invalid page.")


# ------------------------------------------------------------------------------------------ auth


def test_legacy_token_auth(ls_peer: LabelStudioPeer) -> None:
    r = _get(ls_peer, "/api/current-user/whoami")
    assert r.status_code == 200
    assert r.json()["email"] == ls_peer.username
    assert len(ls_peer.legacy_token) == 40
    int(ls_peer.legacy_token, 16)


def test_wrong_legacy_token_is_401_error_envelope(ls_peer: LabelStudioPeer) -> None:
    r = _get(ls_peer, "/api/current-user/whoami", headers={"Authorization": "Token " + "0" * 40})
    _assert_error_envelope(r, 401, "Invalid token.")


def test_no_auth_is_401(ls_peer: LabelStudioPeer) -> None:
    r = requests.get(ls_peer.url("/api/projects/"), headers={"Accept": "application/json"}, timeout=30)
    assert r.status_code == 401
    assert set(r.json()) >= ERROR_ENVELOPE_KEYS


def test_pat_refresh_gives_access_token_for_bearer(ls_peer: LabelStudioPeer) -> None:
    r = requests.post(ls_peer.url("/api/token/refresh/"), json={"refresh": ls_peer.pat}, timeout=30)
    assert r.status_code == 200
    access = r.json()["access"]
    assert access.count(".") == 2
    assert access != ls_peer.pat
    who = _get(ls_peer, "/api/current-user/whoami", headers={"Authorization": f"Bearer {access}"})
    assert who.status_code == 200
    assert who.json()["email"] == ls_peer.username
    projects = _get(ls_peer, "/api/projects/", headers=ls_peer.bearer_headers())
    assert projects.status_code == 200
    assert projects.json()["count"] >= 1


def test_pat_used_directly_is_401(ls_peer: LabelStudioPeer) -> None:
    bearer = _get(ls_peer, "/api/current-user/whoami", headers={"Authorization": f"Bearer {ls_peer.pat}"})
    _assert_error_envelope(bearer, 401, "Authentication credentials were not provided.")
    token = _get(ls_peer, "/api/current-user/whoami", headers={"Authorization": f"Token {ls_peer.pat}"})
    _assert_error_envelope(token, 401, "Invalid token.")


def test_garbage_refresh_is_401(ls_peer: LabelStudioPeer) -> None:
    r = requests.post(ls_peer.url("/api/token/refresh/"), json={"refresh": "not-a-jwt"}, timeout=30)
    _assert_error_envelope(r, 401, "Token is invalid")


def test_second_pat_is_409(ls_peer: LabelStudioPeer) -> None:
    r = requests.post(ls_peer.url("/api/token/"), json={}, headers=ls_peer.legacy_headers(), timeout=30)
    _assert_error_envelope(r, 409, "You already have a valid token. Please revoke it before creating a new one.")


# ------------------------------------------------------------------------------------------ ML backends


def test_ml_list_for_project(ls_peer: LabelStudioPeer) -> None:
    r = _get(ls_peer, "/api/ml", params={"project": ls_peer.project_id})
    assert r.status_code == 200
    backends = r.json()
    assert isinstance(backends, list)  # a plain list, no pagination envelope
    by_id = {b["id"]: b for b in backends}
    assert set(by_id) == {ls_peer.ml_backend_id, ls_peer.noversions_ml_backend_id}
    main = by_id[ls_peer.ml_backend_id]
    assert main["url"] == ls_peer.fake_ml_url
    assert main["project"] == ls_peer.project_id
    assert main["state"] == "CO"
    assert main["readable_state"] == "Connected"
    assert main["model_version"].startswith("fake-v")
    assert by_id[ls_peer.noversions_ml_backend_id]["url"] == ls_peer.fake_ml_noversions_url


def test_ml_list_health_checks_every_backend(ls_peer: LabelStudioPeer) -> None:
    before = len(ls_peer.fake_ml_requests())
    assert _get(ls_peer, "/api/ml", params={"project": ls_peer.project_id}).status_code == 200
    new = ls_peer.fake_ml_requests()[before:]
    seen = {(e["backend"], e["method"], e["path"].split("?")[0].rstrip("/")) for e in new}
    for backend in ("fake-ml", "fake-ml-noversions"):
        assert (backend, "GET", "/health") in seen, new
        assert (backend, "POST", "/setup") in seen, new


def test_ml_list_without_or_with_unknown_project_is_404_json(ls_peer: LabelStudioPeer) -> None:
    _assert_error_envelope(_get(ls_peer, "/api/ml"), 404, "No Project matches the given query.")
    unknown = _get(ls_peer, "/api/ml", params={"project": 999999})
    _assert_error_envelope(unknown, 404, "No Project matches the given query.")


def test_ml_get_detail_without_trailing_slash(ls_peer: LabelStudioPeer) -> None:
    r = _get(ls_peer, f"/api/ml/{ls_peer.ml_backend_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == ls_peer.ml_backend_id
    assert body["state"] == "CO"
    assert body["url"] == ls_peer.fake_ml_url


def test_ml_get_with_trailing_slash_is_html_404(ls_peer: LabelStudioPeer) -> None:
    _assert_html_404(_get(ls_peer, f"/api/ml/{ls_peer.ml_backend_id}/"))


def test_ml_get_unknown_id_is_html_404(ls_peer: LabelStudioPeer) -> None:
    _assert_html_404(_get(ls_peer, "/api/ml/999999"))


def test_ml_train_is_200_empty_and_reaches_backend_webhook(ls_peer: LabelStudioPeer) -> None:
    before = len(ls_peer.fake_ml_requests("fake-ml"))
    r = requests.post(
        ls_peer.url(f"/api/ml/{ls_peer.ml_backend_id}/train"),
        json={"use_ground_truth": True},
        headers=ls_peer.legacy_headers(),
        timeout=60,
    )
    assert r.status_code == 200
    assert r.content == b""
    # LS posts START_TRAINING to the backend's /webhook (not /train); give its thread a moment.
    deadline = time.monotonic() + 10
    webhooks: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not webhooks:
        webhooks = [e for e in ls_peer.fake_ml_requests("fake-ml")[before:] if e["path"].startswith("/webhook")]
        time.sleep(0.1)
    assert webhooks, ls_peer.fake_ml_requests("fake-ml")[before:]
    assert webhooks[0]["method"] == "POST"
    assert webhooks[0]["body"]["action"] == "START_TRAINING"
    assert webhooks[0]["body"]["project"]["id"] == ls_peer.project_id
    versions = _get(ls_peer, f"/api/ml/{ls_peer.ml_backend_id}/versions").json()["versions"]
    assert len(versions) >= 2


def test_ml_versions(ls_peer: LabelStudioPeer) -> None:
    r = _get(ls_peer, f"/api/ml/{ls_peer.ml_backend_id}/versions")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"versions"}
    assert body["versions"][0] == "fake-v1"
    assert all(v.startswith("fake-v") for v in body["versions"])


def test_ml_versions_fallback_when_backend_has_no_versions_route(ls_peer: LabelStudioPeer) -> None:
    r = _get(ls_peer, f"/api/ml/{ls_peer.noversions_ml_backend_id}/versions")
    assert r.status_code == 200
    body = r.json()
    assert body["versions"] == ["fake-v1"]
    assert body["message"] == "Upgrade your ML backend version to latest."


# ------------------------------------------------------------------------------------------ Enterprise only


def test_prompts_are_enterprise_only_html_404(ls_peer: LabelStudioPeer) -> None:
    for path in (
        "/api/prompts/",
        "/api/prompts",
        "/api/prompts/1/versions/1/inference-runs",
        "/api/model-provider-connections/",
    ):
        r = _get(ls_peer, path)
        assert r.status_code == 404, path
        assert r.headers["Content-Type"].startswith("text/html"), path
