"""The Label Studio adapter against a real Label Studio 1.23.2 Community server (see conftest.py / peer.py).

Exercised for real: both auth schemes (legacy ``Token`` and a personal access token refreshed for ``Bearer``
access tokens, also behind a path prefix), forced expiry and a rejected access token, ML backends
list/get/train/versions/state (including a training that fails because the model server went away), the
Enterprise-only 404 on Prompts, the HTML 404 page and Label Studio's JSON error bodies.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import runtrack_labelstudio.auth
from runtrack_labelstudio import ENTERPRISE_ONLY, BackendState, LabelStudioAdapter, PersonalAccessTokenAuth

import runtrack

from .fake_ml_backend import FakeMLBackend
from .peer import LABEL_CONFIG, LabelStudioPeer

LOOPBACK = "127.0.0.1"


@pytest.fixture
def legacy(ls_peer: LabelStudioPeer, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabelStudioAdapter]:
    """Connected the way users do: ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY`` (the legacy token)."""
    for name, value in ls_peer.env().items():
        monkeypatch.setenv(name, value)
    src = runtrack.connect("labelstudio")
    assert isinstance(src, LabelStudioAdapter)
    with src:
        yield src


@pytest.fixture
def pat(ls_peer: LabelStudioPeer) -> Iterator[LabelStudioAdapter]:
    with LabelStudioAdapter(base_url=ls_peer.base_url, api_key=ls_peer.pat, environ={}) as src:
        yield src


def pat_auth(src: LabelStudioAdapter) -> PersonalAccessTokenAuth:
    auth = src.transport.auth
    assert isinstance(auth, PersonalAccessTokenAuth)
    return auth


# --------------------------------------------------------------------------- auth


def test_legacy_token_lists_the_peer_backends(legacy: LabelStudioAdapter, ls_peer: LabelStudioPeer) -> None:
    assert not isinstance(legacy.transport.auth, PersonalAccessTokenAuth)
    backends = legacy.ml_backends(project=ls_peer.project_id)
    by_id = {b.id: b for b in backends}
    assert {ls_peer.ml_backend_id, ls_peer.noversions_ml_backend_id} <= set(by_id)
    main = by_id[ls_peer.ml_backend_id]
    assert main.url == ls_peer.fake_ml_url and main.project == ls_peer.project_id
    assert main.state is BackendState.CONNECTED and main.state_raw == "CO" and main.error is None
    assert main.model_version is not None and main.model_version.startswith("fake-v")
    assert main.created_at is not None and main.created_at.utcoffset() is not None
    assert main.raw["readable_state"] == "Connected"


def test_pat_is_refreshed_once_then_cached(pat: LabelStudioAdapter, ls_peer: LabelStudioPeer) -> None:
    auth = pat_auth(pat)
    assert auth.refreshes == 0  # connect() sends nothing
    assert pat.ml_backend(ls_peer.ml_backend_id).id == ls_peer.ml_backend_id
    assert pat.ml_backends(project=ls_peer.project_id)
    assert auth.refreshes == 1


def test_forced_expiry_refreshes_again(
    pat: LabelStudioAdapter, ls_peer: LabelStudioPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = pat_auth(pat)
    pat.ml_backend(ls_peer.ml_backend_id)
    assert auth.refreshes == 1
    real_now = runtrack_labelstudio.auth.now
    later = real_now() + 10 * 60  # past the 5-minute access token
    monkeypatch.setattr(runtrack_labelstudio.auth, "now", lambda: later)
    assert pat.ml_backend(ls_peer.ml_backend_id).state is BackendState.CONNECTED
    assert auth.refreshes == 2
    pat.ml_backend(ls_peer.ml_backend_id)
    assert auth.refreshes == 2  # the new token is cached on the moved clock too


def test_rejected_access_token_is_refreshed_and_retried(
    pat: LabelStudioAdapter, ls_peer: LabelStudioPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = pat_auth(pat)
    pat.ml_backend(ls_peer.ml_backend_id)
    # Fault injection: the cached access token goes bad (e.g. the server's signing key rotated).
    monkeypatch.setattr(auth, "_token", "not.a-valid.token")
    assert pat.ml_backend(ls_peer.ml_backend_id).id == ls_peer.ml_backend_id
    assert auth.refreshes == 2


def test_forged_pat_is_refused_at_refresh(ls_peer: LabelStudioPeer) -> None:
    header, payload, _sig = ls_peer.pat.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    src = LabelStudioAdapter(base_url=ls_peer.base_url, api_key=forged, environ={})
    with src, pytest.raises(runtrack.AuthenticationError) as info:
        src.ml_backends(project=ls_peer.project_id)
    text = str(info.value)
    assert "POST api/token/refresh/: HTTP 401: Token is invalid" in text
    assert "refused the personal access token" in text
    assert forged not in text and ls_peer.pat not in text


def test_bad_legacy_token(ls_peer: LabelStudioPeer) -> None:
    src = LabelStudioAdapter(base_url=ls_peer.base_url, api_key="0" * 40, environ={})
    with src, pytest.raises(runtrack.AuthenticationError, match=r"HTTP 401: Invalid token\.") as info:
        src.ml_backends(project=ls_peer.project_id)
    assert info.value.status_code == 401 and "0" * 40 not in str(info.value)


class PrefixProxy:
    """A reverse proxy on 127.0.0.1 that serves Label Studio under ``/ls`` (and 404s anything outside it)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.paths: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                proxy.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if not self.path.startswith("/ls/"):
                    self._reply(404, "text/plain", b"outside the /ls prefix")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                with requests.Session() as s:
                    s.trust_env = False
                    r = s.request(self.command, proxy.upstream + self.path[3:], data=body, headers=headers, timeout=60)
                self._reply(r.status_code, r.headers.get("Content-Type", "text/plain"), r.content)

            def _reply(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _forward

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server.server_address[1]}/ls"

    def __enter__(self) -> PrefixProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_pat_refresh_keeps_the_base_url_path_prefix(ls_peer: LabelStudioPeer) -> None:
    """The vendor SDK would post to /api/token/refresh/ here, outside the prefix, and fail."""
    with PrefixProxy(ls_peer.base_url) as proxy:
        with LabelStudioAdapter(base_url=proxy.url, api_key=ls_peer.pat, environ={}) as src:
            backend = src.ml_backend(ls_peer.ml_backend_id)
        assert backend.id == ls_peer.ml_backend_id
        assert proxy.paths == ["/ls/api/token/refresh/", f"/ls/api/ml/{ls_peer.ml_backend_id}"]


# --------------------------------------------------------------------------- ML backends


def test_get_versions_and_fallback(legacy: LabelStudioAdapter, ls_peer: LabelStudioPeer) -> None:
    backend = legacy.ml_backend(ls_peer.ml_backend_id)
    versions = legacy.ml_backend_versions(ls_peer.ml_backend_id)
    assert not versions.fallback and versions.versions[0] == "fake-v1"
    assert backend.model_version in versions.versions

    fallback = legacy.ml_backend_versions(ls_peer.noversions_ml_backend_id)
    assert fallback.fallback and fallback.message == "Upgrade your ML backend version to latest."
    assert fallback.versions == (legacy.ml_backend(ls_peer.noversions_ml_backend_id).model_version,)


def test_train_reports_the_backend_read_after_it(legacy: LabelStudioAdapter, ls_peer: LabelStudioPeer) -> None:
    before = legacy.ml_backend_versions(ls_peer.ml_backend_id).versions
    webhooks_before = len(_start_training_calls(ls_peer))
    after = legacy.train_ml_backend(ls_peer.ml_backend_id, use_ground_truth=True)
    # Training succeeded on the model server; the re-read health check already shows it CONNECTED again.
    assert after.id == ls_peer.ml_backend_id and after.state is BackendState.CONNECTED and after.error is None
    assert len(_start_training_calls(ls_peer)) == webhooks_before + 1
    grown = legacy.ml_backend_versions(ls_peer.ml_backend_id).versions
    assert len(grown) == len(before) + 1 and after.model_version == grown[-1]


def _start_training_calls(ls_peer: LabelStudioPeer) -> list[dict[str, Any]]:
    return [
        r
        for r in ls_peer.fake_ml_requests("fake-ml")
        if r["path"] == "/webhook" and isinstance(r["body"], dict) and r["body"].get("action") == "START_TRAINING"
    ]


@pytest.fixture
def doomed_backend(ls_peer: LabelStudioPeer) -> Iterator[tuple[int, int, FakeMLBackend]]:
    """A project of its own with a backend on a fake model server that the test may stop."""
    fake = FakeMLBackend(name="runtrack-doomed").start()
    with requests.Session() as s:
        s.trust_env = False
        s.headers.update(ls_peer.legacy_headers())
        project = s.post(
            ls_peer.url("/api/projects/"), json={"title": "runtrack-doomed", "label_config": LABEL_CONFIG}, timeout=60
        )
        assert project.status_code == 201, project.text[:300]
        project_id = project.json()["id"]
        ml = s.post(
            ls_peer.url("/api/ml/"), json={"url": fake.url, "project": project_id, "title": "doomed"}, timeout=60
        )
        assert ml.status_code == 201, ml.text[:300]
        try:
            yield project_id, ml.json()["id"], fake
        finally:
            fake.stop()
            s.delete(ls_peer.url(f"/api/projects/{project_id}/"), timeout=60)


def test_training_failure_is_seen_in_state_and_error(
    legacy: LabelStudioAdapter, doomed_backend: tuple[int, int, FakeMLBackend]
) -> None:
    project_id, backend_id, fake = doomed_backend
    assert legacy.ml_backend(backend_id).state is BackendState.CONNECTED
    fake.stop()  # the model server goes away
    after = legacy.train_ml_backend(backend_id)  # Label Studio still answers 200 with no body
    assert after.state is BackendState.DISCONNECTED and after.state_raw == "DI"
    # The training error Label Studio recorded (its START_TRAINING webhook failed), kept through the re-read.
    assert after.error is not None and "/webhook" in after.error and "Connection refused" in after.error
    (listed,) = legacy.ml_backends(project=project_id)
    assert listed.state is BackendState.DISCONNECTED

    # The versions view passes the connection failure through as a JSON {"error": ...} with status 500.
    with pytest.raises(runtrack.ServerError) as info:
        legacy.ml_backend_versions(backend_id)
    assert info.value.status_code == 500 and f"GET api/ml/{backend_id}/versions: HTTP 500: " in str(info.value)


# --------------------------------------------------------------------------- Prompts on Community Edition


def test_prompts_need_enterprise(legacy: LabelStudioAdapter) -> None:
    with pytest.raises(runtrack.NotFoundError) as info:
        list(legacy.runs())
    assert ENTERPRISE_ONLY in str(info.value) and info.value.status_code == 404
    assert info.value.cursor is not None and len(str(info.value)) < 600
    with pytest.raises(runtrack.NotFoundError, match="Prompts need Label Studio Enterprise"):
        list(legacy.runs(prompt_id=1, version_id=1, project=1))
    with pytest.raises(runtrack.NotFoundError, match="Prompts need Label Studio Enterprise"):
        legacy.create_run(prompt_id=1, version_id=1, project=1)


def test_prompts_need_enterprise_with_a_pat_too(pat: LabelStudioAdapter) -> None:
    with pytest.raises(runtrack.NotFoundError, match="Prompts need Label Studio Enterprise"):
        list(pat.runs(project=1))


# --------------------------------------------------------------------------- error bodies


def test_html_404_is_a_short_not_found(legacy: LabelStudioAdapter) -> None:
    with pytest.raises(runtrack.NotFoundError) as info:
        legacy.ml_backend(999_999)
    assert str(info.value) == (
        "[labelstudio] GET api/ml/999999: HTTP 404: Label Studio has no such object or route "
        "(it answered its HTML 404 page)"
    )


def test_error_envelope_detail_is_in_the_message(legacy: LabelStudioAdapter) -> None:
    with pytest.raises(runtrack.NotFoundError) as info:
        legacy.ml_backends(project=999_999)
    assert str(info.value) == "[labelstudio] GET api/ml/?project=999999: HTTP 404: No Project matches the given query."
