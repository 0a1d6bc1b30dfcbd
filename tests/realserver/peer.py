"""A real, open-source Label Studio server on 127.0.0.1 as a test peer (stdlib + requests only).

What it does, in order (``start_peer``):

1. installs pinned ``label-studio==1.23.2`` into its own cached virtual environment
   (``~/.cache/runtrack/labelstudio-1.23.2``, or ``$RUNTRACK_LS_VENV``) unless a marker file says a previous
   install succeeded; an exclusive file lock makes parallel sessions wait for one install;
2. starts ``tests/realserver/fake_ml_backend.py`` (our stdlib fake ML backend) on ephemeral loopback ports:
   one normal backend and one whose ``/versions`` answers 404;
3. starts ``label-studio start`` bound to ``127.0.0.1`` on a free ephemeral port, with the environment below,
   a data dir under a fresh temporary state dir, a known user/password and a known 40-hex legacy token;
   Label Studio silently moves to the next port when the requested one is busy, so the harness reads the
   "Starting development server at" line and retries on another port when it moved;
   the first start ever (migrations, ~30 s) is done once into a *template* data dir kept next to the venv,
   later sessions copy the template and start warm (a few seconds); ``RUNTRACK_LS_FRESH=1`` skips the template;
4. waits for ``GET /health/``, checks the legacy token on ``/api/current-user/whoami``, creates a personal
   access token (``POST /api/token/``; on 409 it reuses the stored one or mints one through Django), creates
   a project with a one-choice labeling config and 3 tasks, and connects both fake ML backends to it;
5. returns a frozen ``LabelStudioPeer``; ``peer.stop()`` (also registered with ``atexit``) terminates the
   process groups (SIGTERM, wait, SIGKILL) and removes the state dir. Child processes also get
   ``PR_SET_PDEATHSIG`` so they die with the test process even on SIGKILL.

Command line (run from the repository root)::

    python -m tests.realserver.peer install     # only the venv; CI runs this before pytest
    python -m tests.realserver.peer start       # detached; prints and writes <state>/peer.env and peer.json
    python -m tests.realserver.peer stop        # stops what `start` started (by pid, after a cmdline check)

Server environment: ``SENTRY_DSN= FRONTEND_SENTRY_DSN= LATEST_VERSION_CHECK=false COLLECT_ANALYTICS=false
ML_BLOCK_LOCAL_IP=false SSRF_PROTECTION_ENABLED=false LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true DJANGO_DB=sqlite
DEBUG=false`` and ``LABEL_STUDIO_BASE_DATA_DIR=<state>/data``. Only 127.0.0.1 is ever bound or contacted.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

LS_VERSION = "1.23.2"
LOOPBACK = "127.0.0.1"
USERNAME = "runtrack@example.com"
PASSWORD = "runtrack-peer-pass-1"
PROJECT_TITLE = "runtrack-realserver"
LABEL_CONFIG = (
    "<View>\n"
    '  <Text name="text" value="$text"/>\n'
    '  <Choices name="label" toName="text" choice="single">\n'
    '    <Choice value="Positive"/>\n'
    '    <Choice value="Negative"/>\n'
    "  </Choices>\n"
    "</View>"
)
TASKS = [{"text": "runtrack peer task one"}, {"text": "runtrack peer task two"}, {"text": "task three"}]
FAKE_ML_SCRIPT = Path(__file__).with_name("fake_ml_backend.py")

DEFAULT_START_TIMEOUT = 240.0
HTTP_TIMEOUT = 60.0
_DEV_SERVER_LINE = re.compile(r"Starting development server at http://([0-9.]+|\[[0-9a-f:]+\]|[\w.-]+):(\d+)/")
_TEMPLATE_DIR = "runtrack-template"
_SERVER_WORD = "label-studio"
_FAKE_ML_WORD = "fake_ml_backend"


class PeerError(RuntimeError):
    """The real Label Studio peer could not be installed, started or prepared (message says why)."""


def _say(message: str) -> None:
    print(f"[ls-peer] {message}", file=sys.stderr, flush=True)


# ====================================================================================== configuration


def venv_dir() -> Path:
    """Where label-studio is installed: ``$RUNTRACK_LS_VENV`` or ``~/.cache/runtrack/labelstudio-1.23.2``."""
    env = os.environ.get("RUNTRACK_LS_VENV")
    if env:
        return Path(env).expanduser().absolute()
    return Path.home() / ".cache" / "runtrack" / f"labelstudio-{LS_VERSION}"


def default_state_dir() -> Path:
    """State dir of the detached ``start``/``stop`` commands (``$RUNTRACK_LS_PEER_DIR``)."""
    env = os.environ.get("RUNTRACK_LS_PEER_DIR")
    if env:
        return Path(env).expanduser().absolute()
    return Path(tempfile.gettempdir()) / "runtrack-ls-peer"


def start_timeout() -> float:
    return float(os.environ.get("RUNTRACK_LS_START_TIMEOUT") or DEFAULT_START_TIMEOUT)


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _write_private(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


# ====================================================================================== install


def _marker(venv: Path) -> Path:
    return venv / ".runtrack-installed.json"


def is_installed(venv: Path | None = None) -> bool:
    """True when a previous ``install`` finished (marker file) and the entry point is there."""
    venv = venv or venv_dir()
    return _marker(venv).is_file() and (venv / "bin" / _SERVER_WORD).is_file()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def install(venv: Path | None = None) -> float:
    """Install label-studio into ``venv`` unless already installed; returns the seconds spent (0.0 if cached).

    A half-finished venv (no marker) is removed and rebuilt. The pip output goes to ``<venv>.install.log``;
    a failure raises ``PeerError`` with its tail.
    """
    venv = venv or venv_dir()
    if is_installed(venv):
        return 0.0
    with _file_lock(venv.with_name(venv.name + ".lock")):
        if is_installed(venv):  # another session finished it while we waited
            return 0.0
        log = venv.with_name(venv.name + ".install.log")
        if venv.exists():
            shutil.rmtree(venv)
        python = os.environ.get("RUNTRACK_LS_PYTHON") or sys.executable
        _say(f"installing label-studio=={LS_VERSION} into {venv} (about 1-2 min, ~1 GB); log: {log}")
        t0 = time.monotonic()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        with log.open("w", encoding="utf-8") as out:
            for cmd in (
                [python, "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-input", f"label-studio=={LS_VERSION}"],
            ):
                out.write(f"$ {' '.join(cmd)}\n")
                out.flush()
                try:
                    rc = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
                except OSError as exc:
                    rc = -1
                    out.write(f"{exc}\n")
                if rc != 0:
                    out.flush()
                    shutil.rmtree(venv, ignore_errors=True)
                    raise PeerError(
                        f"installing label-studio=={LS_VERSION} failed (`{' '.join(cmd[-3:])}` exit {rc}); "
                        f"tail of {log}:\n{_tail(log, 25)}"
                    )
        elapsed = time.monotonic() - t0
        _marker(venv).write_text(
            json.dumps({"version": LS_VERSION, "seconds": round(elapsed, 1), "installed_at": time.time()}),
            encoding="utf-8",
        )
        _say(f"installed in {elapsed:.0f} s")
        return elapsed


# ====================================================================================== processes


def _pdeathsig_preexec() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGTERM when this process dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return preexec


def _spawn(cmd: list[str], *, env: Mapping[str, str], log: Path, cwd: Path, attached: bool) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session (process group = its pid), stdout+stderr to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(cwd),
            env=dict(env),
            start_new_session=True,
            preexec_fn=_pdeathsig_preexec() if attached else None,  # only prctl()
        )


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process_group(pid: int, *, popen: subprocess.Popen[bytes] | None = None, grace: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid``, wait up to ``grace`` s, then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=grace)
    while time.monotonic() < deadline and (_pid_alive(pid) or _group_alive(pid)):
        time.sleep(0.1)
    if _group_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=5)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        # Label Studio itself probes "localhost" by connecting; nobody may answer there either.
        return s.connect_ex((LOOPBACK, port)) != 0


def free_port() -> int:
    """An ephemeral port on 127.0.0.1 that nobody listens on right now."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK, 0))
            port = int(s.getsockname()[1])
        if _port_is_free(port):
            return port
    raise PeerError("could not find a free port on 127.0.0.1")


def _session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never a proxy, never ~/.netrc: loopback only
    s.headers["Accept"] = "application/json"
    return s


# ====================================================================================== the peer object


class _Runtime:
    """Mutable process bookkeeping behind a frozen ``LabelStudioPeer`` (stop is idempotent)."""

    def __init__(self, state_dir: Path, *, remove_state: bool) -> None:
        self.state_dir = state_dir
        self.remove_state = remove_state
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.lock = threading.Lock()
        self.stopped = False

    def add(self, name: str, popen: subprocess.Popen[bytes]) -> None:
        self.processes.append((name, popen))

    def stop(self) -> None:
        with self.lock:
            if self.stopped:
                return
            self.stopped = True
            for _name, popen in reversed(self.processes):
                stop_process_group(popen.pid, popen=popen)
            self.processes.clear()
            if self.remove_state and not _truthy("RUNTRACK_LS_KEEP"):
                shutil.rmtree(self.state_dir, ignore_errors=True)


@dataclass(frozen=True)
class LabelStudioPeer:
    """A running Label Studio 1.23.2 community server on 127.0.0.1, ready for API calls.

    Fields:
        base_url: ``http://127.0.0.1:<port>`` (no trailing slash).
        legacy_token: 40-hex legacy key; send ``Authorization: Token <legacy_token>``.
        pat: personal access token (a JWT *refresh* token). It is not sent as-is: exchange it at
            ``POST /api/token/refresh/ {"refresh": pat}`` for ``{"access": ...}`` (5 min) and send
            ``Authorization: Bearer <access>`` (see ``access_token()``/``bearer_headers()``).
        username, password: the superuser (email is the username).
        project_id: a project with a ``<Choices name="label" toName="text">`` config and 3 tasks.
        ml_backend_id, fake_ml_url: ML backend connected to ``project_id`` (state ``CO``), served by our
            fake; ``GET /api/ml/{id}/versions`` lists real versions; training bumps them.
        noversions_ml_backend_id, fake_ml_noversions_url: a second backend on the same project whose
            ``/versions`` answers 404, so LS falls back to ``{"versions": [model_version], "message": ...}``.
            ``GET /api/ml?project=<project_id>`` therefore lists two backends (first created first).
        version: the label-studio version (``"1.23.2"``).
        state_dir: temporary dir with ``data/`` (sqlite), ``server.log``, ``fake_ml.log`` and
            ``fake_ml_requests.jsonl``; removed by ``stop()`` unless ``RUNTRACK_LS_KEEP=1``.
        server_log, fake_ml_log: the server's output, and every request the fake backends received (JSONL).
        server_pid, fake_ml_pid: process (and process-group) ids.
        timings: seconds spent per phase (``install``, ``template``, ``server_start``, ``setup``, ``total``).

    Every call the helpers make goes to ``base_url`` only; use plain ``requests`` in tests, e.g.
    ``requests.get(peer.url("/api/ml"), params={"project": peer.project_id}, headers=peer.legacy_headers())``.
    """

    base_url: str
    legacy_token: str = field(repr=False)
    pat: str = field(repr=False)
    username: str
    password: str = field(repr=False)
    project_id: int
    ml_backend_id: int
    fake_ml_url: str
    noversions_ml_backend_id: int
    fake_ml_noversions_url: str
    version: str
    state_dir: Path
    server_log: Path
    fake_ml_log: Path
    server_pid: int
    fake_ml_pid: int
    timings: Mapping[str, float] = field(default_factory=dict)
    _runtime: _Runtime | None = field(default=None, repr=False, compare=False)

    def url(self, path: str) -> str:
        """``base_url`` + ``path`` (``path`` starts with ``/``; kept exactly, trailing slash included)."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        return self.base_url + path

    def legacy_headers(self) -> dict[str, str]:
        """``{"Authorization": "Token <legacy_token>", "Accept": "application/json"}``."""
        return {"Authorization": f"Token {self.legacy_token}", "Accept": "application/json"}

    def access_token(self) -> str:
        """A fresh short-lived access JWT from ``POST /api/token/refresh/`` with the PAT (no auth header)."""
        with _session() as s:
            r = s.post(self.url("/api/token/refresh/"), json={"refresh": self.pat}, timeout=HTTP_TIMEOUT)
        if r.status_code != 200:
            raise PeerError(f"PAT refresh failed: {r.status_code} {r.text[:300]}")
        return str(r.json()["access"])

    def bearer_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <fresh access token>", ...}`` (one refresh call per use)."""
        return {"Authorization": f"Bearer {self.access_token()}", "Accept": "application/json"}

    def fake_ml_requests(self, backend: str | None = None) -> list[dict[str, Any]]:
        """What Label Studio sent to the fake backends so far, oldest first.

        Each entry: ``{"t", "backend" ("fake-ml" | "fake-ml-noversions"), "method", "path", "body",
        "has_auth"}``; ``backend`` filters by name.
        """
        entries: list[dict[str, Any]] = []
        with contextlib.suppress(FileNotFoundError):
            for line in self.fake_ml_log.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    entry = json.loads(line)
                    if backend is None or entry.get("backend") == backend:
                        entries.append(entry)
        return entries

    def env(self) -> dict[str, str]:
        """The adapter's environment fallbacks for this peer (``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY``)."""
        return {"LABEL_STUDIO_URL": self.base_url, "LABEL_STUDIO_API_KEY": self.legacy_token}

    def stop(self) -> None:
        """Stop the server and the fake backends (idempotent); only processes this peer started."""
        if self._runtime is not None:
            self._runtime.stop()
        else:
            stop_detached(self.state_dir)

    def to_json(self) -> dict[str, Any]:
        """Every public field as JSON-safe values (secrets included: the state file is chmod 600)."""
        return {
            "base_url": self.base_url,
            "legacy_token": self.legacy_token,
            "pat": self.pat,
            "username": self.username,
            "password": self.password,
            "project_id": self.project_id,
            "ml_backend_id": self.ml_backend_id,
            "fake_ml_url": self.fake_ml_url,
            "noversions_ml_backend_id": self.noversions_ml_backend_id,
            "fake_ml_noversions_url": self.fake_ml_noversions_url,
            "version": self.version,
            "state_dir": str(self.state_dir),
            "server_log": str(self.server_log),
            "fake_ml_log": str(self.fake_ml_log),
            "server_pid": self.server_pid,
            "fake_ml_pid": self.fake_ml_pid,
            "timings": dict(self.timings),
        }


# ====================================================================================== server start


def server_env(venv: Path, data_dir: Path) -> dict[str, str]:
    """The environment Label Studio runs with (no outbound traffic, loopback ML backends allowed)."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "USERNAME", "PASSWORD", "USER_TOKEN")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped
        and not k.startswith(("LABEL_STUDIO_", "DJANGO_", "RUNTRACK_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(
        {
            "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            "DJANGO_DB": "sqlite",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "LATEST_VERSION_CHECK": "false",
            "COLLECT_ANALYTICS": "false",
            "ML_BLOCK_LOCAL_IP": "false",
            "SSRF_PROTECTION_ENABLED": "false",
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


def _server_port_from_log(log: Path, offset: int = 0) -> tuple[str, int] | None:
    """(host, port) from the dev server's "Starting development server at" line written after ``offset``."""
    try:
        with log.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    m = _DEV_SERVER_LINE.search(text)
    return (m.group(1), int(m.group(2))) if m else None


def _start_server(
    *,
    venv: Path,
    data_dir: Path,
    log: Path,
    token: str,
    attached: bool,
    timeout: float,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``label-studio start`` on a free port and wait for ``/health/``; returns (process, base_url)."""
    last_error = ""
    for attempt in range(3):
        port = free_port()
        cmd = [
            str(venv / "bin" / _SERVER_WORD),
            "start",
            "--no-browser",
            "--internal-host",
            LOOPBACK,  # the bind address (default 0.0.0.0); --host would only be a URL prefix
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--username",
            USERNAME,
            "--password",
            PASSWORD,
            "--user-token",
            token,
            "--enable-legacy-api-token",
        ]
        with log.open("ab") as fh:
            fh.write(f"\n[ls-peer] attempt {attempt + 1}: port {port}\n".encode())
            offset = fh.tell()
        proc = _spawn(cmd, env=server_env(venv, data_dir), log=log, cwd=data_dir.parent, attached=attached)
        base_url = f"http://{LOOPBACK}:{port}"
        try:
            _wait_healthy(proc, base_url, port, log, offset, timeout)
        except _PortMoved as exc:
            stop_process_group(proc.pid, popen=proc)
            last_error = str(exc)
            _say(f"{exc}; retrying on another port")
            continue
        except BaseException:
            stop_process_group(proc.pid, popen=proc)
            raise
        return proc, base_url
    raise PeerError(f"Label Studio kept moving off the requested port: {last_error}")


class _PortMoved(Exception):
    pass


def _wait_healthy(
    proc: subprocess.Popen[bytes], base_url: str, port: int, log: Path, offset: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    with _session() as s:
        while True:
            code = proc.poll()
            if code is not None:
                raise PeerError(
                    f"Label Studio exited with code {code} before it was healthy; log tail ({log}):\n{_tail(log)}"
                )
            bound = _server_port_from_log(log, offset)
            if bound is not None:
                host, bound_port = bound
                if bound_port != port:
                    raise _PortMoved(f"Label Studio bound port {bound_port} instead of {port}")
                if host != LOOPBACK:
                    raise PeerError(f"Label Studio bound {host}:{bound_port}, not {LOOPBACK}; log tail:\n{_tail(log)}")
                try:
                    r = s.get(f"{base_url}/health/", timeout=5)
                    if r.status_code == 200:
                        return
                except requests.RequestException:
                    pass
            if time.monotonic() > deadline:
                raise PeerError(
                    f"Label Studio did not answer GET /health/ on {base_url} within {timeout:.0f} s "
                    f"(RUNTRACK_LS_START_TIMEOUT); log tail ({log}):\n{_tail(log)}"
                )
            time.sleep(0.25)


def _check_legacy_token(base_url: str, token: str) -> None:
    with _session() as s:
        r = s.get(
            f"{base_url}/api/current-user/whoami", headers={"Authorization": f"Token {token}"}, timeout=HTTP_TIMEOUT
        )
    if r.status_code != 200:
        raise PeerError(f"legacy token rejected by /api/current-user/whoami: {r.status_code} {r.text[:300]}")


def _template_dir(venv: Path) -> Path:
    return venv / _TEMPLATE_DIR


def _template_token(venv: Path) -> str | None:
    meta = _template_dir(venv) / "template.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    token = data.get("legacy_token")
    if data.get("version") != LS_VERSION or data.get("username") != USERNAME or not isinstance(token, str):
        return None
    if not (_template_dir(venv) / "data").is_dir():
        return None
    return token


def _ensure_template(venv: Path, timeout: float) -> tuple[str, float]:
    """A data dir after the first start (migrations, user, legacy token), built once; returns (token, s)."""
    token = _template_token(venv)
    if token is not None:
        return token, 0.0
    with _file_lock(venv / f"{_TEMPLATE_DIR}.lock"):
        token = _template_token(venv)
        if token is not None:
            return token, 0.0
        t0 = time.monotonic()
        final = _template_dir(venv)
        work = Path(tempfile.mkdtemp(prefix=f"{_TEMPLATE_DIR}-", dir=venv))
        try:
            token = secrets.token_hex(20)
            data = work / "data"
            data.mkdir()
            log = work / "first-start.log"
            _say("first start of Label Studio (migrations, user): ~30 s, done once per venv")
            proc, base_url = _start_server(
                venv=venv, data_dir=data, log=log, token=token, attached=True, timeout=timeout
            )
            try:
                _check_legacy_token(base_url, token)
            finally:
                stop_process_group(proc.pid, popen=proc)
            _write_private(
                work / "template.json",
                json.dumps({"version": LS_VERSION, "username": USERNAME, "legacy_token": token}),
            )
            shutil.rmtree(final, ignore_errors=True)
            work.rename(final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return token, time.monotonic() - t0


# ====================================================================================== setup calls


def _ensure_pat(base_url: str, token: str, state_dir: Path, venv: Path, data_dir: Path) -> str:
    stored = state_dir / "pat"
    with _session() as s:
        r = s.post(f"{base_url}/api/token/", json={}, headers={"Authorization": f"Token {token}"}, timeout=HTTP_TIMEOUT)
    if r.status_code == 201:
        pat = str(r.json()["token"])
    elif r.status_code == 409:  # "You already have a valid token": reuse ours, else mint one directly
        pat = stored.read_text(encoding="utf-8").strip() if stored.is_file() else ""
        if not pat:
            pat = _mint_pat_via_django(venv, data_dir)
    else:
        raise PeerError(f"POST /api/token/ failed: {r.status_code} {r.text[:300]}")
    _write_private(stored, pat)
    return pat


_MINT_PAT = """
import os, sys
import label_studio
sys.path.insert(0, os.path.dirname(label_studio.__file__))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label_studio.core.settings.label_studio")
import django
django.setup()
from jwt_auth.models import LSAPIToken
from users.models import User
print(LSAPIToken.for_user(User.objects.get(email=sys.argv[1])).get_full_jwt())
"""


def _mint_pat_via_django(venv: Path, data_dir: Path) -> str:
    """Create another PAT for the user straight through Django (the API refuses a second one with 409)."""
    r = subprocess.run(
        [str(venv / "bin" / "python"), "-c", _MINT_PAT, USERNAME],
        env=server_env(venv, data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines or lines[-1].count(".") != 2:
        raise PeerError(f"minting a PAT through Django failed ({r.returncode}): {r.stderr[-1500:]}")
    return lines[-1]


def _api(method: str, base_url: str, token: str, path: str, body: Any, expect: int) -> Any:
    with _session() as s:
        r = s.request(
            method, base_url + path, json=body, headers={"Authorization": f"Token {token}"}, timeout=HTTP_TIMEOUT
        )
    if r.status_code != expect:
        raise PeerError(f"{method} {path} -> {r.status_code} (expected {expect}): {r.text[:500]}")
    return r.json() if r.content else None


def _start_fake_ml(state_dir: Path, *, attached: bool) -> tuple[subprocess.Popen[bytes], str, str]:
    ready = state_dir / "fake_ml_ready.json"
    with contextlib.suppress(FileNotFoundError):
        ready.unlink()  # left by an earlier start in the same state dir
    cmd = [
        sys.executable,
        str(FAKE_ML_SCRIPT),
        "--with-noversions",
        "--log",
        str(state_dir / "fake_ml_requests.jsonl"),
        "--ready-file",
        str(ready),
    ]
    if attached:
        cmd.append("--exit-with-parent")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = _spawn(cmd, env=env, log=state_dir / "fake_ml.log", cwd=state_dir, attached=attached)
    deadline = time.monotonic() + 20
    while not ready.is_file():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process_group(proc.pid, popen=proc)
            raise PeerError(f"fake ML backend did not start; log:\n{_tail(state_dir / 'fake_ml.log')}")
        time.sleep(0.05)
    info = json.loads(ready.read_text(encoding="utf-8"))
    return proc, str(info["url"]), str(info["noversions_url"])


# ====================================================================================== public entry points


def start_peer(*, state_dir: Path | None = None, fresh: bool | None = None, detached: bool = False) -> LabelStudioPeer:
    """Install (if needed) and start Label Studio + fake ML backends; see the module docstring.

    ``state_dir``: where data/logs go (default: a new temp dir, removed on stop). ``fresh``: skip the cached
    template and do a full first start (default ``$RUNTRACK_LS_FRESH``). ``detached``: leave the processes
    running when this process exits (no atexit, no parent-death signal) and write ``peer.json``/``peer.env``.
    Raises ``PeerError`` with the reason (and a log tail) when anything fails; nothing is left running then.
    """
    t_start = time.monotonic()
    timings: dict[str, float] = {}
    venv = venv_dir()
    timings["install"] = install(venv)
    if fresh is None:
        fresh = _truthy("RUNTRACK_LS_FRESH")
    timeout = start_timeout()

    own_state = state_dir is None
    if state_dir is None:
        state_dir = Path(tempfile.mkdtemp(prefix="runtrack-ls-peer-"))
    state_dir.mkdir(parents=True, exist_ok=True)
    runtime = _Runtime(state_dir, remove_state=own_state and not detached)
    if not detached:
        atexit.register(runtime.stop)
    data_dir = state_dir / "data"
    log = state_dir / "server.log"
    try:
        fake_proc, fake_url, fake_nov_url = _start_fake_ml(state_dir, attached=not detached)
        runtime.add("fake_ml", fake_proc)

        token_file = state_dir / "legacy_token"
        if data_dir.is_dir() and token_file.is_file():  # detached restart on an existing state dir
            token = token_file.read_text(encoding="utf-8").strip()
        elif fresh:
            token = secrets.token_hex(20)
            data_dir.mkdir()
        else:
            token, timings["template"] = _ensure_template(venv, timeout)
            shutil.copytree(_template_dir(venv) / "data", data_dir)
        _write_private(token_file, token)

        t0 = time.monotonic()
        server, base_url = _start_server(
            venv=venv, data_dir=data_dir, log=log, token=token, attached=not detached, timeout=timeout
        )
        runtime.add("server", server)
        timings["server_start"] = time.monotonic() - t0

        t0 = time.monotonic()
        _check_legacy_token(base_url, token)
        pat = _ensure_pat(base_url, token, state_dir, venv, data_dir)
        project = _api(
            "POST", base_url, token, "/api/projects/", {"title": PROJECT_TITLE, "label_config": LABEL_CONFIG}, 201
        )
        project_id = int(project["id"])
        _api("POST", base_url, token, f"/api/projects/{project_id}/import", TASKS, 201)
        ml = _api(
            "POST",
            base_url,
            token,
            "/api/ml",
            {
                "url": fake_url,
                "project": project_id,
                "title": "runtrack-fake-ml",
                "description": "runtrack stdlib fake ML backend",
            },
            201,
        )
        ml2 = _api(
            "POST",
            base_url,
            token,
            "/api/ml",
            {"url": fake_nov_url, "project": project_id, "title": "runtrack-fake-ml-noversions"},
            201,
        )
        timings["setup"] = time.monotonic() - t0
    except BaseException:
        runtime.stop()
        raise
    timings["total"] = time.monotonic() - t_start
    peer = LabelStudioPeer(
        base_url=base_url,
        legacy_token=token,
        pat=pat,
        username=USERNAME,
        password=PASSWORD,
        project_id=project_id,
        ml_backend_id=int(ml["id"]),
        fake_ml_url=fake_url,
        noversions_ml_backend_id=int(ml2["id"]),
        fake_ml_noversions_url=fake_nov_url,
        version=LS_VERSION,
        state_dir=state_dir,
        server_log=log,
        fake_ml_log=state_dir / "fake_ml_requests.jsonl",
        server_pid=server.pid,
        fake_ml_pid=fake_proc.pid,
        timings={k: round(v, 2) for k, v in timings.items()},
        _runtime=None if detached else runtime,
    )
    if detached:
        _write_private(state_dir / "peer.json", json.dumps(peer.to_json(), indent=2))
        _write_private(state_dir / "peer.env", _env_lines(peer))
    return peer


@contextlib.contextmanager
def running_peer(**kwargs: Any) -> Iterator[LabelStudioPeer]:
    """``with running_peer() as peer: ...`` -- ``start_peer`` then ``peer.stop()``."""
    peer = start_peer(**kwargs)
    try:
        yield peer
    finally:
        peer.stop()


def _env_lines(peer: LabelStudioPeer) -> str:
    return "".join(
        f"{k}={v}\n"
        for k, v in {
            "LS_BASE_URL": peer.base_url,
            "LS_TOKEN": peer.legacy_token,
            "LS_PAT": peer.pat,
            "LS_USER": peer.username,
            "LS_PASSWORD": peer.password,
            "LS_PROJECT_ID": str(peer.project_id),
            "LS_ML_BACKEND_ID": str(peer.ml_backend_id),
            "LS_FAKE_ML_URL": peer.fake_ml_url,
            "LABEL_STUDIO_URL": peer.base_url,
            "LABEL_STUDIO_API_KEY": peer.legacy_token,
        }.items()
    )


def stop_detached(state_dir: Path, *, purge: bool = False) -> list[str]:
    """Stop what a detached ``start`` left running in ``state_dir`` (pids from peer.json, cmdline-checked)."""
    messages: list[str] = []
    info_path = state_dir / "peer.json"
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    for key, word in (("server_pid", _SERVER_WORD), ("fake_ml_pid", _FAKE_ML_WORD)):
        pid = info.get(key)
        if not isinstance(pid, int):
            continue
        if not _pid_alive(pid):
            messages.append(f"{word} (pid {pid}) not running")
            continue
        if word not in _cmdline(pid):
            messages.append(f"pid {pid} is not {word} ({_cmdline(pid)[:80]!r}); left alone")
            continue
        stop_process_group(pid)
        messages.append(f"stopped {word} (pid {pid})")
    with contextlib.suppress(FileNotFoundError):
        info_path.unlink()
    if purge:
        shutil.rmtree(state_dir, ignore_errors=True)
        messages.append(f"removed {state_dir}")
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.realserver.peer", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help=f"install label-studio=={LS_VERSION} into {venv_dir()} (if not yet)")
    p_start = sub.add_parser("start", help="start a detached peer; prints env lines")
    p_start.add_argument("--state-dir", type=Path, default=None, help=f"default {default_state_dir()}")
    p_start.add_argument("--fresh", action="store_true", help="full first start, no cached template")
    p_stop = sub.add_parser("stop", help="stop the detached peer")
    p_stop.add_argument("--state-dir", type=Path, default=None)
    p_stop.add_argument("--keep", action="store_true", help="keep the state dir (db, logs)")
    args = parser.parse_args(argv)

    try:
        if args.command == "install":
            t0 = time.monotonic()
            spent = install()
            what = f"installed in {spent:.0f} s" if spent else "already installed"
            print(f"label-studio=={LS_VERSION} {what} ({venv_dir()}); {time.monotonic() - t0:.1f} s")
            return 0
        state_dir = args.state_dir or default_state_dir()
        if args.command == "start":
            if (state_dir / "peer.json").is_file():
                print(f"{state_dir}/peer.json exists: already running? run `stop` first", file=sys.stderr)
                return 1
            peer = start_peer(state_dir=state_dir, fresh=args.fresh or None, detached=True)
            sys.stdout.write(_env_lines(peer))
            print(f"# state: {state_dir} (peer.env, peer.json, server.log); timings: {dict(peer.timings)}")
            return 0
        for message in stop_detached(state_dir, purge=not args.keep):
            print(message)
        return 0
    except PeerError as exc:
        print(f"[ls-peer] error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
