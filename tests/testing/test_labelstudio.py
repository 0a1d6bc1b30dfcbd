"""FakeLabelStudio over real HTTP: Token and PAT auth, Prompts runs, ML backends, envelopes and HTML 404s."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import requests

from runtrack.testing import FakeLabelStudio

ENVELOPE = {"id", "status_code", "version", "detail", "exc_info"}


def claims(jwt: str) -> dict[str, Any]:
    part = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def bearer(lst: FakeLabelStudio) -> dict[str, str]:
    access = requests.post(lst.base_url + "/api/token/refresh/", json={"refresh": lst.pat}).json()["access"]
    return {"Authorization": f"Bearer {access}"}


# -- auth ---------------------------------------------------------------------------------------


def test_legacy_token_and_error_envelopes(lst: FakeLabelStudio) -> None:
    url = lst.base_url + "/api/prompts/"
    ok = requests.get(url, headers={"Authorization": f"Token {lst.token}"})
    assert ok.status_code == 200 and isinstance(ok.json(), list)
    none = requests.get(url)
    assert none.status_code == 401 and none.headers["WWW-Authenticate"] == "Token"
    assert none.json().keys() == ENVELOPE and none.json()["detail"] == "Authentication credentials were not provided."
    assert none.json()["version"] == "1.23.2" and none.json()["exc_info"] is None
    bad = requests.get(url, headers={"Authorization": "Token 0123"}).json()
    assert bad["detail"] == "Invalid token." and bad["id"] != none.json()["id"]


def test_legacy_tokens_can_be_disabled(lst: FakeLabelStudio) -> None:
    lst.legacy_tokens_enabled = False
    body = requests.get(lst.base_url + "/api/prompts/", headers={"Authorization": f"Token {lst.token}"}).json()
    assert body["status_code"] == 401 and "legacy token authentication has been disabled" in body["detail"]
    assert requests.get(lst.base_url + "/api/prompts/", headers=bearer(lst)).status_code == 200


def test_pat_refresh_gives_a_five_minute_access_jwt(lst: FakeLabelStudio) -> None:
    pat = claims(lst.pat)
    assert pat["token_type"] == "refresh" and pat["exp"] > time.time() + 100 * 365 * 86400
    response = requests.post(lst.base_url + "/api/token/refresh/", json={"refresh": lst.pat})
    assert response.status_code == 200 and response.json().keys() == {"access"}
    access = claims(response.json()["access"])
    assert access["token_type"] == "access" and 290 <= access["exp"] - time.time() <= 301
    headers = {"Authorization": f"Bearer {response.json()['access']}"}
    assert requests.get(lst.base_url + "/api/current-user/whoami", headers=headers).status_code == 200
    assert lst.refresh_count == 1


def test_pat_itself_is_rejected_as_bearer_and_as_token(lst: FakeLabelStudio) -> None:
    url = lst.base_url + "/api/current-user/whoami"
    as_bearer = requests.get(url, headers={"Authorization": f"Bearer {lst.pat}"})
    assert as_bearer.status_code == 401
    assert as_bearer.json()["detail"] == "Authentication credentials were not provided."
    as_token = requests.get(url, headers={"Authorization": f"Token {lst.pat}"})
    assert as_token.status_code == 401 and as_token.json()["detail"] == "Invalid token."


def test_bad_refresh_and_expired_access(lst: FakeLabelStudio) -> None:
    garbage = requests.post(lst.base_url + "/api/token/refresh/", json={"refresh": "not-a-jwt"})
    assert garbage.status_code == 401 and garbage.json()["detail"] == "Token is invalid"
    assert garbage.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    missing = requests.post(lst.base_url + "/api/token/refresh/", json={})
    assert missing.status_code == 400
    assert missing.json()["validation_errors"] == {"refresh": ["This field is required."]}
    expired = lst.access_token(ttl=-1)
    response = requests.get(lst.base_url + "/api/prompts/", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401


# -- prompts --------------------------------------------------------------------------------------


def test_prompts_plain_array_by_default(lst: FakeLabelStudio, lst_http: requests.Session) -> None:
    prompts = lst_http.get(lst.base_url + "/api/prompts/", params={"page": 2, "page_size": 1}).json()
    assert [p["id"] for p in prompts] == lst.prompt_ids  # old servers ignore page params
    assert any(p["description"] is None for p in prompts)
    assert all(p["associated_projects"] for p in prompts)


def test_prompts_paginated_with_absolute_links(lst_http: requests.Session) -> None:
    with FakeLabelStudio(prompts=5, paginated_prompts=True) as fake:
        lst_http.headers["Authorization"] = f"Token {fake.token}"
        first = lst_http.get(fake.base_url + "/api/prompts/", params={"page_size": 2}).json()
        assert first["count"] == 5 and first["previous"] is None
        assert first["next"] == f"{fake.base_url}/api/prompts/?page=2&page_size=2"
        seen = [p["id"] for p in first["results"]]
        page = first
        while page["next"]:
            page = lst_http.get(page["next"]).json()
            seen += [p["id"] for p in page["results"]]
        assert seen == fake.prompt_ids
        assert any("created_by" not in p for p in first["results"] + page["results"])
        second = lst_http.get(first["next"]).json()
        assert second["previous"] == f"{fake.base_url}/api/prompts/?page_size=2"
        invalid = lst_http.get(fake.base_url + "/api/prompts/", params={"page": 9})
        assert invalid.status_code == 404 and invalid.json()["detail"] == "Invalid page."


def test_community_edition_answers_prompts_with_the_html_404(lst_http: requests.Session) -> None:
    with FakeLabelStudio(community=True) as fake:
        lst_http.headers["Authorization"] = f"Token {fake.token}"
        for method, path in (
            ("GET", "/api/prompts/"),
            ("GET", "/api/prompts/11/versions"),
            ("POST", "/api/prompts/11/versions/23/inference-runs"),
        ):
            response = lst_http.request(method, fake.base_url + path, json={"project": 7})
            assert response.status_code == 404
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert "<title>404 | Label Studio</title>" in response.text
        assert lst_http.get(fake.base_url + "/api/ml/", params={"project": 7}).status_code == 200
        assert lst_http.get(fake.base_url + "/api/version/").json()["edition"] == "Community"


def test_versions_and_runs_walk_the_tree(lst: FakeLabelStudio, lst_http: requests.Session) -> None:
    seen: list[int] = []
    for prompt in lst_http.get(lst.base_url + "/api/prompts/").json():
        versions = lst_http.get(f"{lst.base_url}/api/prompts/{prompt['id']}/versions").json()
        assert [v["id"] for v in versions] == lst.versions_by_prompt[prompt["id"]]
        for version in versions:
            runs = lst_http.get(f"{lst.base_url}/api/prompts/{prompt['id']}/versions/{version['id']}/inference-runs")
            assert isinstance(runs.json(), list)
            seen += [r["id"] for r in runs.json()]
            assert all(r["parent_model"] == prompt["id"] and r["model_version"] == version["id"] for r in runs.json())
    assert sorted(seen) == sorted(lst.all_run_ids()) and len(seen) == 30


def test_runs_project_filter_and_shapes(lst: FakeLabelStudio, lst_http: requests.Session) -> None:
    url = f"{lst.base_url}/api/prompts/11/versions/23/inference-runs"
    every = lst_http.get(url).json()
    only = lst_http.get(url, params={"project": 7}).json()
    assert only and all(r["project"] == 7 for r in only) and len(only) < len(every)
    assert lst_http.get(url, params={"project": "x"}).json()["validation_errors"] == {
        "project": ["Enter a whole number."]
    }
    runs = [r for (p, v), ids in lst.runs_by_version.items() for r in lst.inference_runs(p, v)]
    statuses = {r["status"] for r in runs}
    assert {"Completed", "Failed", "Pending"} <= statuses and statuses - {
        "Pending",
        "InProgress",
        "Completed",
        "Failed",
        "Canceled",
    }
    assert all(r["completed_at"] is None and r["triggered_at"] is None for r in runs if r["status"] == "Pending")
    assert all(r["created_at"].endswith("Z") for r in runs)
    assert any(r["created_by"] is None for r in runs) and any(isinstance(r["created_by"], dict) for r in runs)
    assert lst_http.get(f"{lst.base_url}/api/prompts/11/versions/25/inference-runs").status_code == 404


def test_create_and_cancel_a_run(lst: FakeLabelStudio, lst_http: requests.Session) -> None:
    url = f"{lst.base_url}/api/prompts/11/versions/23/inference-runs"
    missing = lst_http.post(url, json={})
    assert missing.status_code == 400 and missing.json()["validation_errors"] == {
        "project": ["This field is required."]
    }
    created = lst_http.post(url, json={"project": 7, "project_subset": "Sample", "sample_subset_size": 50})
    assert created.status_code == 201
    run = created.json()
    assert run["status"] == "Pending" and run["completed_at"] is None and run["sample_subset_size"] == 50
    assert run["id"] in lst.all_run_ids()
    cancel = lst_http.post(f"{url}/{run['id']}/cancel")
    assert cancel.status_code == 200 and cancel.json() == {"detail": "Inference run canceled"}
    after = next(r for r in lst_http.get(url).json() if r["id"] == run["id"])
    assert after["status"] == "Canceled" and after["completed_at"]
    assert lst_http.post(f"{url}/99999/cancel").status_code == 404
    form = lst_http.post(url, data={"project": "8"})
    assert form.status_code == 201 and form.json()["project"] == 8


def test_old_wire_shapes(lst_http: requests.Session) -> None:
    with FakeLabelStudio(wire="2.0") as fake:
        lst_http.headers["Authorization"] = f"Token {fake.token}"
        runs = lst_http.get(f"{fake.base_url}/api/prompts/11/versions/23/inference-runs").json()
        assert all("model_version" not in r and not isinstance(r["created_by"], dict) for r in runs)
        versions = lst_http.get(f"{fake.base_url}/api/prompts/11/versions").json()
        assert all(isinstance(v["score"], str) for v in versions)


# -- ML backends ----------------------------------------------------------------------------------


def test_ml_list_needs_a_project_and_health_checks_each_backend(
    lst: FakeLabelStudio, lst_http: requests.Session
) -> None:
    for params in ({}, {"project": 999}):
        response = lst_http.get(lst.base_url + "/api/ml/", params=params)
        assert response.status_code == 404
        assert response.json()["detail"] == "No Project matches the given query."
    backends = lst_http.get(lst.base_url + "/api/ml", params={"project": 7}).json()
    assert [b["id"] for b in backends] == lst.ml_backend_ids[7]
    assert lst.ml_health_checks == len(backends)
    assert {b["state"] for b in backends} == {"CO", "DI", "ER"}
    assert all(not any(k.startswith("_") for k in b) for b in backends)
    odd = lst_http.get(lst.base_url + "/api/ml", params={"project": 8}).json()
    assert {"PR", "XX"} <= {b["state"] for b in odd}


def test_ml_detail_has_no_trailing_slash(lst: FakeLabelStudio, lst_http: requests.Session) -> None:
    assert lst_http.get(lst.base_url + "/api/ml/3").json()["id"] == 3
    for path in ("/api/ml/3/", "/api/ml/999"):
        response = lst_http.get(lst.base_url + path)
        assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")
        assert len(response.content) > 10_000


def test_train_returns_empty_200_and_the_next_get_resets_the_state(
    lst: FakeLabelStudio, lst_http: requests.Session
) -> None:
    response = lst_http.post(lst.base_url + "/api/ml/3/train", json={"use_ground_truth": True})
    assert response.status_code == 200 and response.content == b"" and response.headers["Content-Length"] == "0"
    assert lst.ml_trainings == [3]
    assert lst_http.get(lst.base_url + "/api/ml/3").json()["state"] == "CO"  # update_state() ran again
    lst_http.post(lst.base_url + "/api/ml/4/train")
    assert lst.ml_trainings == [3, 4]


def test_ml_versions_three_outcomes(lst: FakeLabelStudio, lst_http: requests.Session) -> None:
    assert lst_http.get(lst.base_url + "/api/ml/3/versions").json() == {"versions": ["model-3-v1", "model-3-v2"]}
    down = lst_http.get(lst.base_url + "/api/ml/4/versions")
    assert down.status_code == 500 and "error" in down.json()
    fallback = lst_http.get(lst.base_url + "/api/ml/7/versions").json()
    assert fallback == {"versions": ["model-7-v2"], "message": "Upgrade your ML backend version to latest."}


def test_unknown_routes_and_methods(lst: FakeLabelStudio, lst_http: requests.Session) -> None:
    assert lst_http.get(lst.base_url + "/api/prompts").headers["Content-Type"].startswith("text/html")
    response = lst_http.put(lst.base_url + "/api/prompts/")
    assert response.status_code == 405 and response.json()["detail"] == 'Method "PUT" not allowed.'
    assert lst_http.delete(lst.base_url + "/api/ml/6").status_code == 204
    assert lst_http.get(lst.base_url + "/api/ml/6").status_code == 404
