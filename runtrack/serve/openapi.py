"""The OpenAPI 3.1 document of the ``/v1`` REST API, served at ``/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from .._version import __version__
from .operations import DEFAULT_LIMIT, MAX_LIMIT

__all__ = ["openapi_document"]

_JSON = "application/json"
_PROBLEM = "application/problem+json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}


def _ok(description: str, schema: str, status: str = "200") -> dict[str, Any]:
    errors = {
        code: {"$ref": f"#/components/responses/{name}"}
        for code, name in (("400", "BadRequest"), ("401", "Unauthorized"), ("404", "NotFound"), ("502", "Upstream"))
    }
    return {status: {"description": description, "content": {_JSON: {"schema": _ref(schema)}}}, **errors}


def _write(responses: dict[str, Any]) -> dict[str, Any]:
    return {**responses, "403": {"$ref": "#/components/responses/ReadOnly"}}


_STRINGS = {"type": "array", "items": {"type": "string"}}
_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", "SKIPPED", "UNKNOWN"]
_INCLUDE_RAW = _query("include_raw", "Also return the vendor payload (`raw`).", {"type": "boolean", "default": False})


def openapi_document() -> dict[str, Any]:
    problem_response = {"content": {_PROBLEM: {"schema": _ref("Problem")}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "runtrack",
            "version": __version__,
            "description": "Runs from Label Studio, LangSmith and Foundry in one model. Errors are RFC 9457 problem "
            "documents; listing errors carry the `cursor` to resume from. See docs/serve.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{}, {"bearer": []}],
        "paths": {
            "/v1/sources": {
                "get": {
                    "operationId": "list_sources",
                    "summary": "The configured sources and the write actions each offers",
                    "responses": _ok("The sources", "Sources"),
                }
            },
            "/v1/runs": {
                "get": {
                    "operationId": "list_runs",
                    "summary": "A page of runs; pass next_cursor back as cursor to continue",
                    "parameters": [
                        _query("source", "A configured source name; omit for every source."),
                        _query("status", "Only runs with this status.", _ref("RunStatus")),
                        _query("since", "Only runs created since: 2024-05-01, an ISO datetime, or an age (7d)."),
                        _query(
                            "limit",
                            "Most runs to return.",
                            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                        ),
                        _query("cursor", "next_cursor of the previous page, with the same other parameters."),
                        _INCLUDE_RAW,
                        {
                            "name": "scope",
                            "in": "query",
                            "required": False,
                            "description": "Adapter scope keywords as scope.KEY=VALUE, e.g. scope.queue_id=... "
                            "(live reads only).",
                            "style": "deepObject",
                            "schema": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                    ],
                    "responses": _ok("The page", "RunPage"),
                }
            },
            "/v1/runs/{uid}": {
                "get": {
                    "operationId": "get_run",
                    "summary": "One run by uid (live: a bounded scan of the configured listings)",
                    "parameters": [_path("uid", "The run's uid."), _INCLUDE_RAW],
                    "responses": _ok("The run", "RunResult"),
                }
            },
            "/v1/report": {
                "get": {
                    "operationId": "run_report",
                    "summary": "The aggregate of `runtrack report --format json`",
                    "parameters": [
                        _query("since", "Only runs created since."),
                        _query("stuck_after", "RUNNING/QUEUED longer than this is stuck (6h, 2d)."),
                        _query("top_errors", "Most frequent errors per source.", {"type": "integer", "minimum": 0}),
                        _query(
                            "group_by",
                            "Rows per value of this Run.scope key (repeatable).",
                            {"type": "array", "items": {"type": "string"}},
                        ),
                        _query(
                            "source", "Only this source (repeatable).", {"type": "array", "items": {"type": "string"}}
                        ),
                    ],
                    "responses": _ok("The report", "Report"),
                }
            },
            "/v1/sources/{source}/runs": {
                "post": {
                    "operationId": "create_run",
                    "summary": "Start a run: Label Studio prompt inference, Foundry launch (not idempotent)",
                    "parameters": [_path("source", "A configured source name.")],
                    "requestBody": {
                        "required": False,
                        "content": {_JSON: {"schema": {"type": "object", "description": "create_run parameters"}}},
                    },
                    "responses": _write(_ok("The new run", "RunResult", "201")),
                }
            },
            "/v1/runs/{uid}/cancel": {
                "post": {
                    "operationId": "cancel_run",
                    "summary": "Cancel a run; destructive: the work it stops cannot be resumed",
                    "parameters": [_path("uid", "The run's uid.")],
                    "responses": _write(_ok("Cancel requested", "Canceled", "202")),
                }
            },
            "/v1/queues/{queue_id}/runs": {
                "post": {
                    "operationId": "add_to_queue",
                    "summary": "Add runs to a LangSmith annotation queue",
                    "parameters": [_path("queue_id", "The annotation queue id.")],
                    "requestBody": {
                        "required": True,
                        "content": {_JSON: {"schema": _ref("QueueRequest")}},
                    },
                    "responses": _write(_ok("The entries added", "QueueResult")),
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "RUNTRACK_SERVE_TOKEN"}},
            "responses": {
                "BadRequest": {"description": "Bad arguments (what and where in `detail`)", **problem_response},
                "Unauthorized": {"description": "Missing or wrong bearer token", **problem_response},
                "ReadOnly": {"description": "The server is read-only", **problem_response},
                "NotFound": {"description": "No such source or run", **problem_response},
                "Upstream": {"description": "The platform failed or refused our credentials", **problem_response},
            },
            "schemas": {
                "RunStatus": {
                    "type": "string",
                    "enum": _STATUSES,
                },
                "Run": {
                    "type": "object",
                    "description": "runtrack.converter.unstructure(run); `raw` only when asked for; strings longer "
                    "than 2000 characters end with a '…[clipped N characters]' marker.",
                    "required": ["uid", "platform", "kind", "native_id", "status"],
                    "properties": {
                        "uid": {"type": "string"},
                        "platform": {"type": "string"},
                        "instance": {"type": "string"},
                        "kind": {"type": "string"},
                        "native_id": {"type": "string"},
                        "name": {"type": ["string", "null"]},
                        "status": _ref("RunStatus"),
                        "status_raw": {"type": ["string", "null"]},
                        "created_at": {"type": ["string", "null"], "format": "date-time"},
                        "started_at": {"type": ["string", "null"], "format": "date-time"},
                        "ended_at": {"type": ["string", "null"], "format": "date-time"},
                        "scope": {"type": "object"},
                        "metrics": {"type": "object"},
                        "error": {"type": ["string", "null"]},
                        "url": {"type": ["string", "null"]},
                    },
                    "additionalProperties": True,
                },
                "RunPage": {
                    "type": "object",
                    "required": ["runs", "next_cursor"],
                    "properties": {
                        "runs": {"type": "array", "items": _ref("Run")},
                        "next_cursor": {"type": ["string", "null"], "description": "null once every run was returned"},
                    },
                },
                "RunResult": {
                    "type": "object",
                    "required": ["run"],
                    "properties": {"source": {"type": ["string", "null"]}, "run": _ref("Run")},
                },
                "Sources": {
                    "type": "object",
                    "properties": {
                        "reads_from": {"type": "string", "enum": ["live", "store"]},
                        "read_only": {"type": "boolean"},
                        "sources": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "adapter": {"type": "string"},
                                    "scopes": {"type": "array", "items": {"type": "object"}},
                                    "actions": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
                "Report": {"type": "object", "description": "The JSON report of `runtrack report --format json`."},
                "Canceled": {
                    "type": "object",
                    "properties": {
                        "source": {"type": "string"},
                        "uid": {"type": "string"},
                        "native_id": {"type": "string"},
                        "cancel_requested": {"type": "boolean"},
                    },
                },
                "QueueRequest": {
                    "type": "object",
                    "required": ["source", "run_ids"],
                    "properties": {
                        "source": {"type": "string", "description": "The configured LangSmith source"},
                        "run_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    },
                },
                "QueueResult": {
                    "type": "object",
                    "properties": {
                        "source": {"type": "string"},
                        "queue_id": {"type": "string"},
                        "added": {"type": "integer"},
                        "entries": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details with runtrack's fields",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "error": {"type": "string", "description": "The runtrack error class"},
                        "platform": {"type": "string"},
                        "vendor_code": {"type": "string"},
                        "upstream_status": {"type": "integer"},
                        "path": {"type": "string", "description": "JSON path of an unreadable payload"},
                        "retry_after": {"type": "number"},
                        "cursor": {"type": "string", "description": "Pass as cursor to resume the listing"},
                    },
                },
            },
        },
    }
