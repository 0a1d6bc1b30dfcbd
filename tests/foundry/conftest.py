"""Fixtures and payload builders for the Foundry adapter tests (HTTP mocked with ``responses``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from runtrack_foundry import FoundryAdapter

HOST = "stack.palantirfoundry.test"
BASE = f"https://{HOST}"
TOKEN = "foundry-s3cret-token"
STUDIO_A = "ri.models.main.model-studio.aaaaaaaa-0000-4000-8000-000000000001"
STUDIO_B = "ri.models.main.model-studio.bbbbbbbb-0000-4000-8000-000000000002"
USER = "f05f8da4-b84c-4fca-9c77-8af0b13d11de"


def runs_url(studio: str) -> str:
    return f"{BASE}/api/v2/models/modelStudios/{studio}/runs"


def run_item(n: int, *, studio: str = "a", status: str | None = "SUCCEEDED", **extra: Any) -> dict[str, Any]:
    """A ``ModelStudioRun`` as the docs show it; ``extra`` overrides or adds fields (None values are dropped)."""
    item: dict[str, Any] = {
        "runId": f"{studio}-run-{n}",
        "configVersion": 1,
        "startedTime": f"2026-07-01T10:{n % 60:02d}:00.123Z",
        "startedBy": USER,
        "buildRid": f"ri.foundry-build.main.build.{studio}-{n}",
        "jobRid": f"ri.foundry-build.main.job.{studio}-{n}",
        "buildStatus": status,
        "resolvedOutputs": {
            "model": {
                "type": "model",
                "modelRid": f"ri.models.main.model.{studio}",
                "modelVersionRid": f"ri.models.main.model-version.{studio}-{n}",
            }
        },
    }
    item.update(extra)
    return {k: v for k, v in item.items() if v is not None}


def page(items: list[dict[str, Any]], token: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"data": items, **extra}
    if token is not None:
        body["nextPageToken"] = token
    return body


def query(**params: Any) -> Any:
    """Strict query matcher: ``preview=true`` plus exactly ``params``."""
    return responses.matchers.query_param_matcher({"preview": "true", **{k: str(v) for k, v in params.items()}})


def add_runs_page(
    studio: str,
    items: list[dict[str, Any]],
    token: Any = None,
    *,
    page_token: str | None = None,
    size: int = 1000,
    mock: Any = responses,
) -> None:
    """Register one page of runs on ``mock`` (the default ``responses`` mock unless given)."""
    params: dict[str, Any] = {"pageSize": size}
    if page_token is not None:
        params["pageToken"] = page_token
    mock.get(runs_url(studio), json=page(items, token), match=[query(**params)])


@pytest.fixture
def foundry() -> FoundryAdapter:
    return FoundryAdapter(base_url=BASE, api_key=TOKEN, model_studios=[STUDIO_A, STUDIO_B], environ={})


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    """The default ``responses`` mock, active and strict: every registered response must be requested."""
    responses.mock.assert_all_requests_are_fired = True
    try:
        with responses.mock:
            yield responses.mock
    finally:
        responses.mock.assert_all_requests_are_fired = False
