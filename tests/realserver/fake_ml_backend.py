"""A tiny fake Label Studio ML backend (stdlib only), bound to 127.0.0.1 only.

It speaks the protocol Label Studio 1.23.x uses to talk to ML backends (``ml/api_connector.py``):

=====================  ==========================================================================
``GET  /health``, ``/``  ``{"status": "UP", "model_class": "FakeModel"}``
``POST /setup``        ``{"model_version": "<current>"}``
``POST /predict``      ``{"results": [{"result": [...], "score": 0.5, "model_version": ...}, ...]}``
``POST /webhook``      201 ``{"result": {"model_version": ...}, "status": "ok"}`` (LS sends START_TRAINING here)
``POST /train``        201 ``{"job": "job-N"}`` (legacy training route)
``GET  /versions``     ``{"versions": [...]}``, or 404 when ``no_versions`` is set (like the current
                       label-studio-ml-backend SDK, which has no such route)
``GET  /metrics``      ``{}``
=====================  ==========================================================================

Each training request (``/webhook`` or ``/train``) bumps the model version (``fake-v1`` -> ``fake-v2`` ...).
Every request is recorded (``FakeMLBackend.requests``) and, when a log path is given, appended as one JSON
line so a test in another process can see exactly what Label Studio sent.

Use it in-process::

    backend = FakeMLBackend(no_versions=False, log_path=None).start()
    ... backend.url ...
    backend.stop()

or as a process (what ``tests/realserver/peer.py`` does)::

    python fake_ml_backend.py --ready-file ready.json --log requests.jsonl [--with-noversions]

which binds ephemeral ports and writes ``{"url": ..., "noversions_url": ..., "pid": ...}`` to the ready file
once the sockets are listening. The process exits on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
INITIAL_VERSION = "fake-v1"


def fake_prediction(model_version: str, from_name: str = "label", to_name: str = "text") -> dict[str, Any]:
    """One prediction for the ``<Choices name="label" toName="text">`` config the peer project uses."""
    return {
        "model_version": model_version,
        "score": 0.5,
        "result": [
            {
                "from_name": from_name,
                "to_name": to_name,
                "type": "choices",
                "value": {"choices": ["Positive"]},
            }
        ],
    }


class FakeMLBackend:
    """One fake ML backend on ``127.0.0.1:<port>`` (0 = ephemeral), served by a daemon thread."""

    def __init__(
        self,
        *,
        name: str = "fake-ml",
        port: int = 0,
        no_versions: bool = False,
        log_path: Path | None = None,
    ) -> None:
        self.name = name
        self.no_versions = no_versions
        self.log_path = log_path
        self.model_version = INITIAL_VERSION
        self.versions: list[str] = [INITIAL_VERSION]
        self.trainings = 0
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._requested_port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeMLBackend:
        handler = _make_handler(self)
        server = ThreadingHTTPServer((LOOPBACK, self._requested_port), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=f"{self.name}-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("fake ML backend is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    # ------------------------------------------------------------------ behaviour
    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry) + "\n")

    def train(self) -> str:
        with self.lock:
            self.trainings += 1
            self.model_version = f"fake-v{self.trainings + 1}"
            self.versions.append(self.model_version)
            return self.model_version

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET" and path in ("/", "/health"):
            return 200, {"status": "UP", "model_class": "FakeModel"}
        if method == "GET" and path == "/metrics":
            return 200, {}
        if method == "GET" and path == "/versions":
            if self.no_versions:
                return 404, {"error": "not found"}
            with self.lock:
                return 200, {"versions": list(self.versions)}
        if method == "POST" and path == "/setup":
            return 200, {"model_version": self.model_version}
        if method == "POST" and path == "/predict":
            tasks = body.get("tasks") if isinstance(body, dict) else None
            count = len(tasks) if isinstance(tasks, list) else 0
            return 200, {"results": [fake_prediction(self.model_version) for _ in range(count)]}
        if method == "POST" and path == "/webhook":
            version = self.train()
            return 201, {"result": {"model_version": version}, "status": "ok"}
        if method == "POST" and path == "/train":
            self.train()
            return 201, {"job": f"job-{self.trainings}"}
        return 404, {"error": f"no route {method} {path}"}


def _make_handler(backend: FakeMLBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "RuntrackFakeML/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return {"_raw": raw.decode("utf-8", "replace")}

        def _handle(self, method: str) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            body = self._body()
            logged = body
            if isinstance(body, dict) and "access_token" in body:  # LS sends its API key to /setup
                logged = {**body, "access_token": "<redacted>"}
            backend.record(
                {
                    "t": time.time(),
                    "backend": backend.name,
                    "method": method,
                    "path": self.path,
                    "body": logged,
                    "has_auth": self.headers.get("Authorization") is not None,
                }
            )
            status, payload = backend.route(method, path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="port of the main backend (0 = ephemeral)")
    parser.add_argument("--with-noversions", action="store_true", help="also serve a backend whose /versions is 404")
    parser.add_argument("--noversions-port", type=int, default=0)
    parser.add_argument("--log", type=Path, default=None, help="append every request as a JSON line here")
    parser.add_argument("--ready-file", type=Path, default=None, help="write the URLs here once listening")
    parser.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process is gone")
    args = parser.parse_args(argv)

    backends = [FakeMLBackend(name="fake-ml", port=args.port, log_path=args.log).start()]
    if args.with_noversions:
        backends.append(
            FakeMLBackend(
                name="fake-ml-noversions", port=args.noversions_port, no_versions=True, log_path=args.log
            ).start()
        )
    info = {
        "pid": os.getpid(),
        "url": backends[0].url,
        "noversions_url": backends[1].url if len(backends) > 1 else None,
    }
    if args.ready_file is not None:
        tmp = args.ready_file.with_name(args.ready_file.name + ".tmp")
        tmp.write_text(json.dumps(info), encoding="utf-8")
        tmp.replace(args.ready_file)
    print(json.dumps(info), flush=True)

    parent = os.getppid()
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    while not stop.wait(0.5):
        if args.exit_with_parent and os.getppid() != parent:
            break  # the test session died without stopping us: do not linger
    for backend in backends:
        backend.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
