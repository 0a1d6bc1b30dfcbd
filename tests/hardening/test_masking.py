"""Records that are not runs (ML backends here) never carry a password-like field's value: not in ``raw``, their
repr, or anything written from them."""

from __future__ import annotations

import json
from typing import Any

import runtrack
from runtrack.testing import Request, Response

from .servers import LS_LEGACY, Hostile

PASSWORD = "MlBackendPa55word"
BACKEND = {
    "id": 3,
    "project": 1,
    "url": f"http://ml:{PASSWORD}@model.internal:9090",
    "title": "m",
    "state": "CO",
    "basic_auth_user": "ml",
    "basic_auth_pass": PASSWORD,
    "basic_auth_pass_is_set": True,
    "extra_params": {"api_key": PASSWORD + "1", "nested": [{"clientSecret": PASSWORD + "2"}], "max_tokens": 50},
    "auth": {"token": PASSWORD + "3", "token_type": "Bearer"},
}


def _backends(answer: Any) -> list[Any]:
    with Hostile(answer) as server, runtrack.connect("labelstudio", base_url=server.base_url, api_key=LS_LEGACY) as ad:
        return [*ad.ml_backends(project=1), ad.ml_backend(3)]


def test_password_like_fields_are_masked_at_any_depth_in_ml_backends() -> None:
    def answer(req: Request) -> Response:
        return Response.json([BACKEND] if req.path == "/api/ml/" else BACKEND)

    for backend in _backends(answer):
        shown = repr(backend) + json.dumps(backend.raw) + str(backend.url)
        assert "Pa55word" not in shown
        assert backend.raw["basic_auth_pass"] == "***" and backend.raw["basic_auth_pass_is_set"] is True
        assert backend.raw["extra_params"]["max_tokens"] == 50 and backend.raw["auth"]["token_type"] == "Bearer"
        assert backend.url == "http://ml:***@model.internal:9090"
