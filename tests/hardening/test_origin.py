"""A credential goes to its configured origin (scheme, host, port) only: two loopback servers on two ports are two
origins, and the second one must never see a request for each credential kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import runtrack
from runtrack.http import HeaderAuth, Transport
from runtrack.paginate import Request
from runtrack.testing import FakeServer, Response

from .servers import (
    ACCESS,
    FOUNDRY_TOKEN,
    LANGSMITH_KEY,
    LANGSMITH_TENANT,
    LS_LEGACY,
    LS_PAT,
    Hostile,
    credential_headers,
    redirect,
)

STUDIO = "ri.foundry.main.model-studio.11111111-2222-3333-4444-555555555555"


@pytest.fixture
def other() -> Iterator[Hostile]:
    """The other origin: it would accept anything (a refresh answers an access token)."""
    with Hostile(lambda req: Response.json({"access": ACCESS, "results": [], "data": [], "next": None})) as server:
        yield server


def _list(adapter: str, base_url: str, **scope: Any) -> None:
    options: dict[str, Any] = {"base_url": base_url, "max_retries": 0}
    if adapter == "langsmith":
        options |= {"api_key": LANGSMITH_KEY, "workspace_id": LANGSMITH_TENANT}
        scope = scope or {"queue_id": "q1"}
    elif adapter == "foundry":
        options |= {"api_key": FOUNDRY_TOKEN}
        scope = scope or {"model_studio_rid": STUDIO}
    elif adapter == "labelstudio-pat":
        adapter, options = "labelstudio", options | {"api_key": LS_PAT}
        scope = scope or {"prompt_id": 1, "version_id": 2}
    else:
        options |= {"api_key": LS_LEGACY}
        scope = scope or {"prompt_id": 1, "version_id": 2}
    with runtrack.connect(adapter, **options) as ad:
        list(ad.runs(**scope))


KINDS = ("langsmith", "foundry", "labelstudio", "labelstudio-pat")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_port_is_refused_for_every_credential(kind: str, status: int, other: Hostile) -> None:
    with Hostile(redirect(status, other.base_url + "/api/elsewhere")) as server:
        with pytest.raises(runtrack.RequestError, match="refused to send a request to http://127.0.0.1:"):
            _list(kind, server.base_url)
        assert server.request_count == 1  # the PAT refresh (or the listing) was redirected, nothing else sent
    assert other.request_count == 0


@pytest.mark.parametrize(
    "location",
    [
        "//127.0.0.1:{port}/api/x",  # scheme-relative
        "http://localhost:{own}/api/x",  # another host name for the same machine is another origin
        "https://127.0.0.1:{own}/api/x",  # another scheme
        "http://user:pw@127.0.0.1:{own}/api/x",  # the same origin, but requests would send user:pw as Basic auth
    ],
)
def test_every_spelling_of_another_origin_is_refused(location: str, other: Hostile) -> None:
    holder: dict[str, int] = {}
    with Hostile(lambda req: redirect(302, location.format(port=other.port, own=holder["own"]))(req)) as server:
        holder["own"] = server.port
        with pytest.raises(runtrack.RequestError, match="refused"):
            _list("langsmith", server.base_url)
    assert other.request_count == 0


def test_the_pat_refresh_never_leaves_its_origin(other: Hostile) -> None:
    with Hostile(redirect(307, other.base_url + "/api/token/refresh/")) as server:
        with pytest.raises(runtrack.RequestError, match="refused"):
            _list("labelstudio-pat", server.base_url)
        assert [r.path for r in server.requests] == ["/api/token/refresh/"]
    assert other.request_count == 0


def test_a_same_origin_redirect_is_followed_with_the_credential() -> None:
    def answer(req: Any) -> Response:
        if req.path == "/old":
            return Response(308, b"", None, [("Location", "/new?x=1")])
        return Response.json({"ok": req.header("X-API-Key") == LANGSMITH_KEY, "query": req.query})

    with Hostile(answer) as server:
        transport = Transport(server.base_url, platform="t", auth=HeaderAuth({"X-API-Key": LANGSMITH_KEY}))
        assert transport.json(Request(path="old", params={"y": "2"})) == {"ok": True, "query": {"x": ["1"]}}
        assert [r.path for r in server.requests] == ["/old", "/new"]


def test_an_absolute_link_to_another_origin_is_not_requested(other: Hostile) -> None:
    with FakeServer() as server:
        transport = Transport(server.base_url, platform="t", auth=HeaderAuth({"X-API-Key": LANGSMITH_KEY}))
        with pytest.raises(runtrack.RequestError, match="refused"):
            transport.json(Request(path=other.base_url + "/api/next?page=2"))
    assert other.request_count == 0


def test_endless_same_origin_redirects_end_with_a_typed_error() -> None:
    with Hostile(redirect(302, "/loop")) as server:
        transport = Transport(server.base_url, platform="t")
        with pytest.raises(runtrack.RequestError, match="more than 10 redirects"):
            transport.json(Request(path="start"))


@pytest.mark.parametrize("adapter", ["langsmith", "foundry", "labelstudio", "labelstudio-pat"])
def test_a_netrc_login_for_the_host_never_replaces_the_credential(
    adapter: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests, given no ``auth``, looks the host up in ``~/.netrc`` and puts that login over the Authorization
    header runtrack had set: Label Studio and Foundry would have received someone's netrc password as Basic auth
    instead of their token."""
    body: Any = [] if adapter == "langsmith" else {"access": ACCESS, "results": [], "data": [], "next": None}
    with Hostile(lambda req: Response.json(body)) as server:
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1\nlogin netrc-user\npassword netrc-password-123\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        _list(adapter, server.base_url)
        sent = credential_headers(server)
        assert sent and all("Basic" not in v for h in sent for v in h.values())
        expected = {
            "langsmith": ("x-api-key", LANGSMITH_KEY),
            "foundry": ("authorization", f"Bearer {FOUNDRY_TOKEN}"),
            "labelstudio": ("authorization", f"Token {LS_LEGACY}"),
            "labelstudio-pat": ("authorization", f"Bearer {ACCESS}"),
        }[adapter]
        assert any({k.lower(): v for k, v in h.items()}.get(expected[0]) == expected[1] for h in sent), sent
