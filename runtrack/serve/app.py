"""The HTTP side: one Starlette app (the MCP SDK's own) serving the MCP streamable-HTTP endpoint at ``/mcp`` and,
for ``runtrack serve``, the ``/v1`` REST routes; the bind rule and the bearer token; running it with uvicorn."""

from __future__ import annotations

import hmac
import ipaddress
import socket
import sys
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ConfigurationError
from .mcp_tools import build_mcp
from .operations import Operations
from .problems import ServeError
from .rest import problem_response, routes

__all__ = ["TOKEN_ENV", "BearerAuth", "build_app", "check_bind", "is_loopback", "run_http"]

TOKEN_ENV = "RUNTRACK_SERVE_TOKEN"
MCP_PATH = "/mcp"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Binding anything but a loopback address needs a bearer token: refuse to start without one."""
    if not is_loopback(host) and not token:
        raise ConfigurationError(
            f"--host {host}: serving beyond this machine needs a bearer token; set {TOKEN_ENV} "
            "(clients then send 'Authorization: Bearer <token>'), or bind 127.0.0.1"
        )


class BearerAuth:
    """Every HTTP request must carry ``Authorization: Bearer <token>``; else 401 problem+json."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                error = ServeError(
                    f"missing or wrong bearer token (send 'Authorization: Bearer <{TOKEN_ENV}>')",
                    status=401,
                    title="Unauthorized",
                )
                response = problem_response(error)
                response.headers["WWW-Authenticate"] = 'Bearer realm="runtrack"'
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_app(ops: Operations, *, rest: bool, host: str, token: str | None) -> ASGIApp:
    """The app: MCP at ``/mcp`` (the SDK's streamable-HTTP app), plus ``/v1`` when ``rest``; behind the bearer
    check when a token is set."""
    server = build_mcp(ops)
    if rest:
        for route in routes(ops):
            server.custom_route(route.path, methods=sorted(route.methods or ()))(route.endpoint)
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    app.add_exception_handler(HTTPException, _http_problem)
    return BearerAuth(app, token) if token else app


async def _http_problem(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no such path) and 405 (method not allowed) as problem documents too."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    title = HTTPStatus(status).phrase
    error = ServeError(f"{request.method} {request.url.path}: {title.lower()}", status=status, title=title)
    response = problem_response(error)
    response.headers.update(getattr(exc, "headers", None) or {})
    return response


def run_http(app: ASGIApp, host: str, port: int, *, what: str) -> None:
    """Serve ``app`` until interrupted; says where on stderr (``--port 0`` picks a free port)."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)  # connections queue from now on, so the address printed below is usable at once
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from None
    bound: Any = sock.getsockname()
    shown = f"[{bound[0]}]" if family == socket.AF_INET6 else bound[0]
    sys.stderr.write(f"runtrack: serving {what} on http://{shown}:{bound[1]}\n")
    sys.stderr.flush()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
