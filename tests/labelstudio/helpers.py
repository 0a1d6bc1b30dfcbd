"""Helpers of the Label Studio adapter tests: captured real responses, JWTs, a movable clock."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import responses

T0 = 1_795_475_417.0  # iat of the captured access token (07_token_refresh.json)
DATA = Path(__file__).with_name("data")
BASE = "https://ls.example.test/ls"
LEGACY = "0123456789abcdef0123456789abcdef01234567"
HTML_404 = (DATA / "html_404_page.html").read_text() + "<div>" + "x" * 168_000 + "</div></body></html>"


def captured(name: str) -> dict[str, Any]:
    """A captured real response (``data/NN_*.json``)."""
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


def examples() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "prompts_examples.json").read_text())
    return data


def add_captured(method: str, url: str, name: str, **kwargs: Any) -> responses.BaseResponse:
    """Register the captured response ``name`` for ``method url`` (status, content type and body as captured)."""
    cap = captured(name)
    content_type = cap["headers"].get("Content-Type")
    body = cap["body"]
    if body is None:
        text = ""
    elif content_type and "json" in content_type:
        text = json.dumps(body)
    else:
        text = body
    return responses.add(
        method, url, body=text, status=cap["status"], content_type=content_type or "text/plain", **kwargs
    )


def add_html_404(method: str, url: str, **kwargs: Any) -> responses.BaseResponse:
    return responses.add(method, url, body=HTML_404, status=404, content_type="text/html; charset=utf-8", **kwargs)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def make_jwt(payload: dict[str, Any]) -> str:
    """An (unsigned-looking) JWT with ``payload``; the adapter never verifies signatures."""
    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(payload)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


class Clock:
    """The clock of runtrack_labelstudio.auth, moved by tests."""

    def __init__(self, start: float) -> None:
        self.time = start

    def __call__(self) -> float:
        return self.time


def pat_token(exp: float | None = T0 + 10 * 365 * 86400, **claims: Any) -> str:
    payload: dict[str, Any] = {"token_type": "refresh", "iat": T0 - 86400, "jti": "abc", "user_id": "1", **claims}
    if exp is not None:
        payload["exp"] = exp
    return make_jwt(payload)


def access_token(iat: float = T0, lifetime: float = 300, n: int = 1) -> str:
    return make_jwt({"token_type": "access", "exp": iat + lifetime, "iat": iat, "jti": f"access-{n}", "user_id": "1"})
