"""The real Label Studio tier: every test in this directory is marked ``realserver`` and talks to a real
Label Studio 1.23.2 community server on 127.0.0.1 started once per session (see ``peer.py``).

Environment knobs:
    RUNTRACK_SKIP_REALSERVER=1     skip the whole tier deliberately (reason shown in the summary)
    RUNTRACK_REQUIRE_REALSERVER=1  failing to install/start the server is an ERROR (CI), not a skip
    RUNTRACK_LS_VENV, RUNTRACK_LS_FRESH, RUNTRACK_LS_KEEP, RUNTRACK_LS_START_TIMEOUT: see README.md
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
import requests

from .peer import LabelStudioPeer, PeerError, start_peer

HERE = Path(__file__).parent.resolve()

# What happened to the peer this session, for the terminal summary.
_outcome: dict[str, object] = {}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _in_this_tier(item: pytest.Item) -> bool:
    return item.path.parent == HERE or HERE in item.path.resolve().parents


@pytest.hookimpl(tryfirst=True)  # before `-m` selection runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_all = _flag("RUNTRACK_SKIP_REALSERVER")
    for item in items:
        if not _in_this_tier(item):
            continue
        item.add_marker(pytest.mark.realserver)
        if skip_all:
            item.add_marker(
                pytest.mark.skip(reason="RUNTRACK_SKIP_REALSERVER=1: real Label Studio tier skipped deliberately")
            )


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _sigterm_to_interrupt() -> signal.Handlers | None:
    """Turn SIGTERM (a CI timeout, `kill`) into KeyboardInterrupt so fixture teardown and atexit run.

    Only when nobody else handles SIGTERM; returns the handler to restore, or None when unchanged.
    (The children also get a parent-death signal, so even SIGKILL leaves no server behind.)
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        return None
    signal.signal(signal.SIGTERM, _on_sigterm)
    return signal.SIG_DFL


@pytest.fixture(scope="session")
def ls_peer() -> Iterator[LabelStudioPeer]:
    """A real Label Studio 1.23.2 server on 127.0.0.1, started once per session, stopped at the end.

    The value is a frozen ``tests.realserver.peer.LabelStudioPeer``:

    - ``base_url`` (``http://127.0.0.1:<port>``), ``url(path)`` builds ``base_url + path``;
    - ``legacy_token`` (``Authorization: Token ...``, see ``legacy_headers()``);
    - ``pat`` (personal access token = JWT refresh token; ``access_token()`` exchanges it at
      ``/api/token/refresh/``, ``bearer_headers()`` gives ``Authorization: Bearer <access>``);
    - ``username``, ``password``;
    - ``project_id`` (Choices config, 3 tasks);
    - ``ml_backend_id`` + ``fake_ml_url`` (connected fake backend with real ``/versions``) and
      ``noversions_ml_backend_id`` + ``fake_ml_noversions_url`` (same project, ``/versions`` is 404);
    - ``fake_ml_requests(backend=None)``: what Label Studio sent to the fake backends so far;
    - ``env()``: ``{"LABEL_STUDIO_URL": ..., "LABEL_STUDIO_API_KEY": <legacy token>}`` for the adapter;
    - ``version``, ``state_dir``, ``server_log``, ``fake_ml_log``, ``server_pid``, ``fake_ml_pid``, ``timings``.

    The server is shared by the whole session: tests may add projects, tasks or backends, but should not
    delete ``project_id`` or its two backends, nor revoke the PAT or turn legacy tokens off. Training a
    backend bumps its model version (``fake-v1`` -> ``fake-v2`` ...), so do not assume an exact version.

    When the server cannot be installed or started the tests are skipped with the reason, unless
    ``RUNTRACK_REQUIRE_REALSERVER=1`` (CI), where it is an error. ``RUNTRACK_SKIP_REALSERVER=1`` skips.
    """
    if _flag("RUNTRACK_SKIP_REALSERVER"):
        pytest.skip("RUNTRACK_SKIP_REALSERVER=1: real Label Studio tier skipped deliberately")
    failure = _outcome.get("failure")
    if failure is None:
        previous_term = _sigterm_to_interrupt()
        try:
            peer = start_peer()
        except (PeerError, OSError, requests.RequestException, subprocess.SubprocessError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
            _outcome["failure"] = failure
            peer = None
        try:
            if peer is not None:
                _outcome["peer"] = peer
                try:
                    yield peer
                finally:
                    peer.stop()
                return
        finally:
            if previous_term is not None:
                signal.signal(signal.SIGTERM, previous_term)
    lines = [line.strip() for line in str(failure).splitlines() if line.strip()]
    first_line = lines[0][:300] if lines else "unknown error"
    if len(lines) > 1:
        first_line += f" ... {lines[-1][:200]}"
    if _flag("RUNTRACK_REQUIRE_REALSERVER"):
        pytest.fail(f"real Label Studio server required (RUNTRACK_REQUIRE_REALSERVER=1) but: {failure}", pytrace=False)
    pytest.skip(
        f"real Label Studio server unavailable: {first_line} (RUNTRACK_REQUIRE_REALSERVER=1 makes this an error)"
    )


@pytest.fixture
def ls_session(ls_peer: LabelStudioPeer) -> Iterator[requests.Session]:
    """A ``requests.Session`` with ``Authorization: Token <legacy_token>``, no proxies from the environment."""
    with requests.Session() as session:
        session.trust_env = False
        session.headers.update(ls_peer.legacy_headers())
        yield session


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    peer = _outcome.get("peer")
    failure = _outcome.get("failure")
    if isinstance(peer, LabelStudioPeer):
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in peer.timings.items())
        terminalreporter.write_sep("-", "realserver")
        terminalreporter.write_line(f"Label Studio {peer.version} at {peer.base_url}: {timings}")
    elif failure is not None:
        terminalreporter.write_sep("-", "realserver")
        terminalreporter.write_line(f"Label Studio peer not started: {failure}")
