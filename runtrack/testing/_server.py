"""In-process HTTP/1.1 server on 127.0.0.1 that the vendor fakes build on."""

from __future__ import annotations

import collections
import contextlib
import re
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs, urlsplit

from runtrack.testing._faults import Decision, Faults
from runtrack.testing._jsonutil import dumps, loads

HOST = "127.0.0.1"
_S = TypeVar("_S", bound="FakeServer")


@dataclass
class Request:
    """A parsed request handed to a vendor route."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    n: int
    host: str

    def q(self, name: str) -> str | None:
        """First value of query parameter ``name`` (None when absent)."""
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        """Header value, case-insensitive."""
        value = self.headers.get(name)
        return None if value is None else str(value)

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError on bad JSON)."""
        return loads(self.body)


@dataclass
class Response:
    """A complete answer: status, body bytes and extra headers (Content-Length is always added)."""

    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
        """A JSON answer."""
        return cls(status, dumps(obj), "application/json", list(headers))

    @classmethod
    def raw_json(cls, body: bytes, status: int = 200) -> Response:
        """A JSON answer from pre-rendered bytes."""
        return cls(status, body, "application/json")

    @classmethod
    def html(cls, body: str, status: int) -> Response:
        """An HTML page."""
        return cls(status, body.encode(), "text/html; charset=utf-8")


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it, with the answer's status (None for a dropped connection)."""

    n: int
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int | None
    fault: str | None


Handler = Callable[[Request, re.Match[str]], Response]


class _Closed(Exception):
    """Raised to drop the connection without an answer."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client drops its connection; report anything else."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "runtrack-fake"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr log."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        fake = self.server.fake
        try:
            response, truncate = fake._serve(self.command, self.path, self.headers, body)
        except _Closed:
            self.close_connection = True
            return
        self._write(response, truncate)

    def _write(self, response: Response, truncate: str | None) -> None:
        body = response.body
        declared = len(body)
        if truncate == "json":
            body = body[: max(1, len(body) // 2)]
            declared = len(body)
        elif truncate == "connection":
            body = body[: max(1, len(body) // 2)]
        reason = _REASONS.get(response.status, "")
        lines = [f"HTTP/1.1 {response.status} {reason}", f"Date: {formatdate(usegmt=True)}"]
        if response.content_type:
            lines.append(f"Content-Type: {response.content_type}")
        lines.extend(f"{k}: {v}" for k, v in response.headers)
        lines.append(f"Content-Length: {declared}")
        if self.close_connection or truncate == "connection":
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if len(body) < 65536:
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.wfile.write(body)
        if truncate == "connection":
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


_REASONS = {s.value: s.phrase for s in HTTPStatus}


class FakeServer:
    """Base class: lifecycle, routing, request log and fault injection; vendors add routes.

    Use it as a context manager (``with FakeX() as fake:``) or call :meth:`start`/:meth:`stop`.
    """

    vendor: ClassVar[str] = "fake"

    def __init__(self, *, faults: Faults | None = None, log_limit: int = 100_000) -> None:
        self.faults = faults if faults is not None else Faults()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._log: collections.deque[LoggedRequest] = collections.deque(maxlen=log_limit)
        self._log_lock = threading.Lock()
        self._count = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self.connections = 0  # TCP connections accepted (keep-alive reuse keeps this low)
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self: _S) -> _S:
        """Bind an ephemeral port on 127.0.0.1 and serve from a daemon thread."""
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((HOST, 0), _RequestHandler)
        httpd.fake = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._loop, name=f"{self.vendor}-fake", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        httpd, wake = self._httpd, self._wake
        assert httpd is not None and wake is not None
        with selectors.DefaultSelector() as sel:
            sel.register(httpd, selectors.EVENT_READ)
            sel.register(wake[0], selectors.EVENT_READ)
            while True:
                for key, _ in sel.select():
                    if key.fileobj is wake[0]:
                        return
                    httpd.handle_request()

    def stop(self) -> None:
        """Stop serving, close the listening socket and every open connection."""
        httpd, wake, thread = self._httpd, self._wake, self._thread
        if httpd is None or wake is None or thread is None:
            return
        wake[1].send(b"x")
        thread.join(5)
        httpd.server_close()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for s in wake:
            s.close()
        self._httpd = self._wake = self._thread = None

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"{HOST}:{self.port}" if self.running else "stopped"
        return f"<{type(self).__name__} {state}>"  # never the credentials

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self.connections += 1
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        if not self.port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._httpd is not None

    # -- request log -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of the request log (oldest first; bounded by ``log_limit``)."""
        with self._log_lock:
            return list(self._log)

    @property
    def request_count(self) -> int:
        """Number of requests received since start (or the last :meth:`clear_log`)."""
        with self._log_lock:
            return self._count

    def count(self, path_prefix: str = "", method: str | None = None) -> int:
        """Logged requests whose path starts with ``path_prefix`` (and whose method matches)."""
        return sum(
            1 for r in self.requests if r.path.startswith(path_prefix) and (method is None or r.method == method)
        )

    def clear_log(self) -> None:
        """Empty the request log and restart the request counter."""
        with self._log_lock:
            self._log.clear()
            self._count = 0

    # -- routing and serving ---------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` and a full-match path regex."""
        self._routes.append((method, re.compile(pattern), handler))

    def _serve(self, method: str, target: str, headers: Message, body: bytes) -> tuple[Response, str | None]:
        with self._log_lock:
            self._count += 1
            n = self._count
        parts = urlsplit(target)
        path = parts.path
        host = str(headers.get("Host") or f"{HOST}:{self.port}")
        req = Request(method, path, parse_qs(parts.query, keep_blank_values=True), headers, body, n, host)
        decision = self.faults.decide(method, path)
        if decision is not None and decision.latency > 0:
            time.sleep(decision.latency)
        if decision is not None and decision.reset:
            self._record(req, None, "reset")
            raise _Closed
        fault: str | None = None
        truncate: str | None = None
        if decision is not None and decision.status is not None:
            response = self._fault_response(decision)
            fault = "rate_limit" if decision.status == 429 else "server_error"
        else:
            try:
                response = self.dispatch(req)
            except Exception as exc:  # a bug in a fake route must still answer
                response = self.internal_error(exc)
        if decision is not None:
            if decision.truncate and fault is None and response.status == 200 and response.body:
                truncate, fault = decision.truncate, "truncate"
                self.faults.note(decision.n, "truncate", method, path)
            if decision.html_errors and response.status >= 400 and response.content_type != "text/html":
                response = self._with_headers(self.html_error(response.status), response)
        self._record(req, response.status, fault)
        return response, truncate

    @staticmethod
    def _with_headers(new: Response, old: Response) -> Response:
        new.headers.extend(h for h in old.headers if h[0].lower() == "retry-after")
        return new

    def _fault_response(self, decision: Decision) -> Response:
        assert decision.status is not None
        response = self.error_response(decision.status)
        ra = decision.retry_after
        if ra is not None and decision.status in (429, 503):
            value = formatdate(time.time() + 1, usegmt=True) if ra == "http-date" else _num(ra)
            response.headers.append(("Retry-After", value))
        return response

    def dispatch(self, req: Request) -> Response:
        """Find the route for ``req`` and call it (404 when no route matches)."""
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(req.path)
            if match is None:
                continue
            if method != req.method:
                allowed = True
                continue
            return handler(req, match)
        return self.not_found(req) if not allowed else self.method_not_allowed(req)

    def _record(self, req: Request, status: int | None, fault: str | None) -> None:
        entry = LoggedRequest(
            req.n, req.method, req.path, req.query, dict(req.headers.items()), req.body, status, fault
        )
        with self._log_lock:
            self._log.append(entry)

    # -- vendor hooks ----------------------------------------------------------------------------

    def error_response(self, status: int) -> Response:
        """The vendor's answer for an injected 429/5xx."""
        return Response.json({"detail": _REASONS.get(status, "Error")}, status)

    def html_error(self, status: int) -> Response:
        """An HTML error page, as a proxy or the vendor's web app would send it."""
        reason = _REASONS.get(status, "Error")
        return Response.html(
            f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n",
            status,
        )

    def internal_error(self, exc: BaseException) -> Response:
        """Answer for an exception raised by a route."""
        return Response.json({"detail": f"Internal Server Error: {exc!r}"}, 500)

    def not_found(self, req: Request) -> Response:
        """Answer for a path no route matches."""
        return Response.json({"detail": "Not Found"}, 404)

    def method_not_allowed(self, req: Request) -> Response:
        """Answer for a known path with another method."""
        return Response.json({"detail": "Method Not Allowed"}, 405)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
