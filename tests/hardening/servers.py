"""Hostile servers on 127.0.0.1 and recognisable credentials of the four kinds runtrack holds."""

from __future__ import annotations

from collections.abc import Callable

from runtrack.testing import FakeServer, Request, Response
from tests.labelstudio.helpers import make_jwt

#: Label Studio legacy token (40 hex), LangSmith key, Foundry token: each recognisable in any output.
LS_LEGACY = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
LANGSMITH_KEY = "lsv2_pt_5ecre7Ky9QzXw4Tn2Lm8Vb6Rc1Hd0Jf_feedbeef42"
LANGSMITH_TENANT = "7e4a27c0-7e4a-47e4-87e4-7e4a27c07e4a"
FOUNDRY_TOKEN = "fdT0k.eyJzZWNyZXQiOiJmb3VuZHJ5In0.S1gQw7Zx4Pn8Lk2Vb9Mc5Rt3"
LS_PAT = make_jwt(
    {"token_type": "refresh", "exp": 4_102_444_800, "iat": 1_700_000_000, "jti": "patjti5ecret77", "user_id": "1"}
)
ACCESS = make_jwt({"token_type": "access", "exp": 4_102_444_800, "iat": 4_102_444_500, "jti": "accessjti9"})

Answer = Callable[[Request], Response]


class Hostile(FakeServer):
    """Answers every method and path with ``answer(request)``; logs requests like every fake."""

    vendor = "hostile"

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            self.route(method, r"/.*", lambda req, _m: answer(req))


def redirect(status: int, location: str) -> Answer:
    return lambda req: Response(status, b"", None, [("Location", location)])


def credential_headers(server: FakeServer) -> list[dict[str, str]]:
    """Headers of every logged request that carry a credential."""
    names = ("authorization", "x-api-key", "x-tenant-id")
    return [{k: v for k, v in r.headers.items() if k.lower() in names} for r in server.requests]


def leaked(text: str, *secrets: str) -> list[str]:
    """Every 8-character piece of ``secrets`` found in ``text`` (empty: nothing leaked)."""
    return [s[i : i + 8] for s in secrets for i in range(len(s) - 7) if s[i : i + 8] in text]


ALL_SECRETS = (LS_LEGACY, LS_PAT, LANGSMITH_KEY, FOUNDRY_TOKEN, ACCESS)
