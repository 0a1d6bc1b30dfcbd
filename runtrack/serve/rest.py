"""The REST API under ``/v1``: each route reads its arguments from the path, query and JSON body, calls the one
operation it names on a worker thread, and answers JSON, or ``application/problem+json`` for an error."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..convert import escape_surrogates, json_text
from .openapi import openapi_document
from .operations import Operations
from .problems import ServeError, problem

__all__ = ["PROBLEM_JSON", "StrictJSONResponse", "problem_response", "routes"]

log = logging.getLogger("runtrack.serve")

PROBLEM_JSON = "application/problem+json"
Handler = Callable[[Request], Awaitable[Response]]


class StrictJSONResponse(JSONResponse):
    """Strict JSON in valid UTF-8 whatever a vendor sent: a number JSON cannot hold (``1e400``, ``NaN``) is
    ``null`` and a lone surrogate (legal JSON) its ``\\udXXX`` escape, which reads back as the same string.
    (Starlette's own rendering fails on both, and the run is lost behind a 500.)"""

    def render(self, content: Any) -> bytes:
        text = json_text(content, ensure_ascii=False, separators=(",", ":"))
        return escape_surrogates(text).encode("utf-8")


def problem_response(exc: BaseException) -> Response:
    doc = problem(exc)
    headers = {"Retry-After": str(int(doc["retry_after"]))} if doc.get("retry_after") is not None else None
    return StrictJSONResponse(doc, status_code=doc["status"], media_type=PROBLEM_JSON, headers=headers)


def _int(request: Request, name: str) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise ServeError(f"{name}: expected an integer, got {text!r}") from None


def _bool(request: Request, name: str) -> bool:
    text = request.query_params.get(name, "false").lower()
    if text not in ("true", "false", "1", "0"):
        raise ServeError(f"{name}: expected true or false, got {text!r}")
    return text in ("true", "1")


def _scope(request: Request) -> dict[str, Any] | None:
    """``scope.KEY=VALUE`` query parameters; ``true``/``false`` become booleans."""
    scope: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key.startswith("scope."):
            scope[key[len("scope.") :]] = {"true": True, "false": False}.get(value.lower(), value)
    return scope or None


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ServeError("body: not valid JSON") from None
    if not isinstance(body, dict):
        raise ServeError(f"body: expected a JSON object, got {type(body).__name__}")
    return body


def _endpoint(build: Callable[[Request], Awaitable[Callable[[], dict[str, Any]]]], status: int = 200) -> Handler:
    """A route: ``build`` turns the request into a call of an operation, which runs on a worker thread."""

    async def endpoint(request: Request) -> Response:
        try:
            call = await build(request)
            result = await anyio.to_thread.run_sync(call)
        except Exception as exc:
            if not isinstance(exc, ServeError):
                log.debug("%s %s failed", request.method, request.url.path, exc_info=True)
            return problem_response(exc)
        return StrictJSONResponse(result, status_code=status)

    return endpoint


def routes(ops: Operations) -> list[Route]:
    """The ``/v1`` routes over ``ops``; writes answer 403 when ``ops`` is read-only."""

    async def sources(request: Request) -> Callable[[], dict[str, Any]]:
        return ops.list_sources

    async def runs(request: Request) -> Callable[[], dict[str, Any]]:
        q = request.query_params
        return functools.partial(
            ops.list_runs,
            source=q.get("source"),
            scope=_scope(request),
            status=q.get("status"),
            since=q.get("since"),
            limit=_int(request, "limit"),
            cursor=q.get("cursor"),
            include_raw=_bool(request, "include_raw"),
        )

    async def run(request: Request) -> Callable[[], dict[str, Any]]:
        return functools.partial(ops.get_run, uid=request.path_params["uid"], include_raw=_bool(request, "include_raw"))

    async def report(request: Request) -> Callable[[], dict[str, Any]]:
        q = request.query_params
        return functools.partial(
            ops.run_report,
            since=q.get("since"),
            stuck_after=q.get("stuck_after"),
            top_errors=_int(request, "top_errors"),
            group_by=q.getlist("group_by") or None,
            sources=q.getlist("source") or None,
        )

    async def create(request: Request) -> Callable[[], dict[str, Any]]:
        return functools.partial(ops.create_run, source=request.path_params["source"], params=await _body(request))

    async def cancel(request: Request) -> Callable[[], dict[str, Any]]:
        return functools.partial(ops.cancel_run, uid=request.path_params["uid"])

    async def enqueue(request: Request) -> Callable[[], dict[str, Any]]:
        body = await _body(request)
        source, run_ids = body.get("source"), body.get("run_ids")
        if not isinstance(source, str) or not source:
            raise ServeError("body.source: name the configured LangSmith source")
        if not isinstance(run_ids, list) or not all(isinstance(r, str) for r in run_ids):
            raise ServeError("body.run_ids: expected an array of run ids (strings)")
        return functools.partial(
            ops.add_to_queue, source=source, queue_id=request.path_params["queue_id"], run_ids=run_ids
        )

    async def openapi(request: Request) -> Response:
        return StrictJSONResponse(openapi_document())

    return [
        Route("/v1/openapi.json", openapi, methods=["GET"]),
        Route("/v1/sources", _endpoint(sources), methods=["GET"]),
        Route("/v1/runs", _endpoint(runs), methods=["GET"]),
        Route("/v1/runs/{uid}", _endpoint(run), methods=["GET"]),
        Route("/v1/report", _endpoint(report), methods=["GET"]),
        Route("/v1/sources/{source}/runs", _endpoint(create, 201), methods=["POST"]),
        Route("/v1/runs/{uid}/cancel", _endpoint(cancel, 202), methods=["POST"]),
        Route("/v1/queues/{queue_id}/runs", _endpoint(enqueue), methods=["POST"]),
    ]
