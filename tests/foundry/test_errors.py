"""Foundry errors: the Conjure envelope, preview, the empty 404, QoS hints on 429/503, non-JSON bodies, secrets."""

from __future__ import annotations

from typing import Any

import pytest
from runtrack_foundry import FoundryAdapter

import runtrack

from .conftest import STUDIO_A, TOKEN, page, query, run_item, runs_url


def conjure(code: str, name: str, **params: Any) -> dict[str, Any]:
    return {"errorCode": code, "errorName": name, "errorInstanceId": "00813215-0844-4716", "parameters": params}


def fail(foundry: FoundryAdapter) -> runtrack.RuntrackError:
    with pytest.raises(runtrack.RuntrackError) as info:
        list(foundry.runs(model_studio_rid=STUDIO_A))
    return info.value


# errorCode -> status as the Conjure wire spec sets it, and the runtrack class each becomes.
ERROR_TABLE = [
    (400, "INVALID_ARGUMENT", "InvalidPageSize", runtrack.RequestError),
    (400, "INVALID_ARGUMENT", "InvalidPageToken", runtrack.RequestError),
    (400, "CUSTOM_CLIENT", "Custom:Thing", runtrack.RequestError),
    (401, "UNAUTHORIZED", "Default:Unauthorized", runtrack.AuthenticationError),
    (403, "PERMISSION_DENIED", "ApiUsageDenied", runtrack.AuthenticationError),
    (404, "NOT_FOUND", "ModelStudioNotFound", runtrack.NotFoundError),
    (409, "CONFLICT", "Default:Conflict", runtrack.RequestError),
    (413, "REQUEST_ENTITY_TOO_LARGE", "Default:RequestEntityTooLarge", runtrack.RequestError),
    (422, "CUSTOM_CLIENT", "Conjure:UnprocessableEntity", runtrack.RequestError),
    (500, "INTERNAL", "Default:Internal", runtrack.ServerError),
    (500, "FAILED_PRECONDITION", "Default:FailedPrecondition", runtrack.ServerError),
    (500, "TIMEOUT", "Default:Timeout", runtrack.ServerError),
    (500, "CUSTOM_SERVER", "Custom:ServerThing", runtrack.ServerError),
]


@pytest.mark.parametrize(("status", "code", "name", "cls"), ERROR_TABLE, ids=[row[2] for row in ERROR_TABLE])
def test_conjure_error_table(http: Any, foundry: FoundryAdapter, status: int, code: str, name: str, cls: type) -> None:
    http.get(
        runs_url(STUDIO_A), status=status, json=conjure(code, name, studioRid=STUDIO_A), match=[query(pageSize=1000)]
    )
    err = fail(foundry)
    assert type(err) is cls
    assert err.status_code == status and err.vendor_code == name and err.platform == "foundry"
    assert code in str(err) and f"studioRid={STUDIO_A}" in str(err) and "00813215-0844-4716" in str(err)
    assert err.cursor is not None
    assert len(http.calls) == 1  # none of these is retried


def test_model_studio_not_found_says_what_to_check(http: Any, foundry: FoundryAdapter) -> None:
    http.get(runs_url(STUDIO_A), status=404, json=conjure("NOT_FOUND", "ModelStudioNotFound", studioRid=STUDIO_A))
    err = fail(foundry)
    assert isinstance(err, runtrack.NotFoundError)
    assert "model_studios" in str(err) and "FOUNDRY_MODEL_STUDIOS" in str(err)


def test_namespaced_error_names_keep_their_name_and_hint(http: Any, foundry: FoundryAdapter) -> None:
    http.get(runs_url(STUDIO_A), status=404, json=conjure("NOT_FOUND", "Models:ModelStudioNotFound", studioRid="x"))
    err = fail(foundry)
    assert err.vendor_code == "Models:ModelStudioNotFound" and "FOUNDRY_MODEL_STUDIOS" in str(err)


def test_preview_usage_only_explains_the_preview_flag(http: Any, foundry: FoundryAdapter) -> None:
    http.get(runs_url(STUDIO_A), status=400, json=conjure("INVALID_ARGUMENT", "ApiFeaturePreviewUsageOnly"))
    err = fail(foundry)
    assert isinstance(err, runtrack.RequestError) and err.vendor_code == "ApiFeaturePreviewUsageOnly"
    assert "preview=true" in str(err) and "proxy" in str(err)


def test_empty_404_means_the_api_is_not_on_this_stack(http: Any, foundry: FoundryAdapter) -> None:
    http.get(runs_url(STUDIO_A), status=404, body="")
    err = fail(foundry)
    assert isinstance(err, runtrack.NotFoundError) and err.vendor_code is None
    assert "does not exist on this Foundry stack" in str(err)


def test_non_json_error_body_is_still_typed(http: Any, foundry: FoundryAdapter) -> None:
    html = "<!DOCTYPE html><html><body>Bad gateway page</body></html>"
    http.get(runs_url(STUDIO_A), status=500, body=html, content_type="text/html")
    err = fail(foundry)
    assert isinstance(err, runtrack.ServerError) and err.status_code == 500 and "HTML page" in str(err)


def test_json_that_is_not_conjure_is_still_typed(http: Any, foundry: FoundryAdapter) -> None:
    http.get(runs_url(STUDIO_A), status=400, json={"message": "gateway says no"})
    err = fail(foundry)
    assert isinstance(err, runtrack.RequestError) and err.vendor_code is None and "gateway says no" in str(err)


def test_429_is_retried_with_retry_after_then_succeeds(
    http: Any, foundry: FoundryAdapter, no_sleep: list[float]
) -> None:
    for _ in range(2):
        http.get(runs_url(STUDIO_A), status=429, body="Too Many Requests", headers={"Retry-After": "2"})
    http.get(runs_url(STUDIO_A), json=page([run_item(1)]))
    assert [r.native_id for r in foundry.runs(model_studio_rid=STUDIO_A)] == ["a-run-1"]
    assert no_sleep == [2.0, 2.0]


def test_429_still_failing_after_retries_is_a_rate_limit_error(
    http: Any, foundry: FoundryAdapter, no_sleep: list[float]
) -> None:
    http.get(runs_url(STUDIO_A), status=429, body="slow down", content_type="text/plain")
    err = fail(foundry)
    assert isinstance(err, runtrack.RateLimitError) and "slow down" in str(err) and "after 4 retries" in str(err)
    assert len(http.calls) == 5 and len(no_sleep) == 4


@pytest.mark.parametrize("status", [429, 503])
def test_do_not_retry_hint_is_honoured(http: Any, foundry: FoundryAdapter, no_sleep: list[float], status: int) -> None:
    http.get(runs_url(STUDIO_A), status=status, body="", headers={"QoS-Retry-Hint": "do-not-retry"})
    err = fail(foundry)
    assert len(http.calls) == 1 and no_sleep == []
    assert "do-not-retry" in str(err)
    assert isinstance(err, runtrack.RateLimitError if status == 429 else runtrack.ServerError)


def test_503_due_to_a_custom_limit_is_a_rate_limit(http: Any, foundry: FoundryAdapter, no_sleep: list[float]) -> None:
    http.get(runs_url(STUDIO_A), status=503, body="unavailable", headers={"QoS-Due-To": "custom"})
    err = fail(foundry)
    assert isinstance(err, runtrack.RateLimitError) and "QoS-Due-To: custom" in str(err)
    assert len(http.calls) == 5  # throttling is retried


def test_plain_503_is_retried_then_a_server_error(http: Any, foundry: FoundryAdapter) -> None:
    http.get(runs_url(STUDIO_A), status=503, body="<html>down</html>", content_type="text/html")
    http.get(runs_url(STUDIO_A), json=page([run_item(1)]))
    assert len(list(foundry.runs(model_studio_rid=STUDIO_A))) == 1
    assert len(http.calls) == 2


def test_401_is_an_authentication_error_without_the_token(http: Any, foundry: FoundryAdapter) -> None:
    body = conjure("UNAUTHORIZED", "Default:Unauthorized", token=TOKEN)  # a server echoing the token back
    http.get(runs_url(STUDIO_A), status=401, json=body, headers={"X-Request-Id": "req-7"})
    err = fail(foundry)
    assert isinstance(err, runtrack.AuthenticationError) and err.request_id == "req-7"
    assert TOKEN not in str(err) and TOKEN not in repr(err) and "***" in str(err)


def test_long_parameters_are_trimmed(http: Any, foundry: FoundryAdapter) -> None:
    http.get(
        runs_url(STUDIO_A), status=400, json=conjure("INVALID_ARGUMENT", "Huge", blob="x" * 5000, nested={"a": [1]})
    )
    err = fail(foundry)
    assert len(str(err)) < 1500 and 'nested={"a":[1]}' in str(err)
