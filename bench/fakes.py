"""A fast fake of the three listing endpoints on 127.0.0.1, serving rows rendered once (see ``data.py``).

Built on ``runtrack.testing.FakeServer`` (HTTP/1.1 keep-alive, thread per connection, ``Faults(latency=...)``).
A page is a slice of pre-encoded rows joined into the vendor's envelope, so any page size and offset is served
for the cost of one ``bytes.join``:

* LangSmith: ``GET [/api/v1]/annotation-queues`` and ``GET [/api/v1]/annotation-queues/{id}/runs?offset&limit``
  (a plain array; the last page is short or empty), ``X-API-Key``;
* Foundry: ``GET /api/v2/models/modelStudios/{rid}/runs?pageSize&pageToken&preview=true`` (``{data,
  nextPageToken}``), ``Authorization: Bearer``;
* Label Studio: ``GET /api/prompts/``, ``GET /api/prompts/{p}/versions`` and
  ``GET /api/prompts/{p}/versions/{v}/inference-runs`` (every run of the version in one array),
  ``Authorization: Token``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from runtrack.testing import FakeServer, Faults
from runtrack.testing._server import Request, Response

V1 = r"(?:/api/v1)?"


class BenchServer(FakeServer):
    """Serves ``rows[container]`` for one ``vendor``; ``containers`` keep their order."""

    def __init__(self, vendor: str, rows: dict[str, Sequence[bytes]], *, api_key: str, faults: Faults | None = None):
        super().__init__(faults=faults, log_limit=100)
        self.vendor = vendor
        self.api_key = api_key
        self.rows = rows
        self.max_page = {"langsmith": 100, "foundry": 1000}.get(vendor, 0)
        if vendor == "langsmith":
            self.route("GET", V1 + r"/annotation-queues/?", self._ls_queues)
            self.route("GET", V1 + r"/annotation-queues/(?P<c>[^/]+)/runs/?", self._ls_runs)
        elif vendor == "foundry":
            self.route("GET", r"/api/v2/models/modelStudios/(?P<c>[^/]+)/runs", self._fd_runs)
        elif vendor == "labelstudio":
            self.route("GET", r"/api/prompts/?", self._lst_prompts)
            self.route("GET", r"/api/prompts/(?P<p>\d+)/versions/?", self._lst_versions)
            self.route("GET", r"/api/prompts/(?P<p>\d+)/versions/(?P<v>\d+)/inference-runs/?", self._lst_runs)
        else:
            raise ValueError(f"unknown vendor {vendor!r}")

    # -- shared

    def _denied(self, req: Request) -> bool:
        if self.vendor == "langsmith":
            return req.header("X-API-Key") != self.api_key
        scheme = "Bearer" if self.vendor == "foundry" else "Token"
        return req.header("Authorization") != f"{scheme} {self.api_key}"

    def _int(self, req: Request, name: str, default: int) -> int:
        value = req.q(name)
        return int(value) if value else default

    @staticmethod
    def _array(rows: Sequence[bytes]) -> bytes:
        return b"[" + b",".join(rows) + b"]"

    # -- LangSmith

    def _ls_queues(self, req: Request, m: re.Match[str]) -> Response:
        if self._denied(req):
            return Response.json({"detail": "Invalid token"}, 401)
        queues = [{"id": c, "name": f"queue {i}", "total_runs": len(r)} for i, (c, r) in enumerate(self.rows.items())]
        offset, limit = self._int(req, "offset", 0), self._int(req, "limit", 100)
        return Response.json(queues[offset : offset + limit])

    def _ls_runs(self, req: Request, m: re.Match[str]) -> Response:
        if self._denied(req):
            return Response.json({"detail": "Invalid token"}, 401)
        rows = self.rows.get(m["c"])
        if rows is None:
            return Response.json({"detail": "Annotation queue not found"}, 404)
        offset, limit = self._int(req, "offset", 0), self._int(req, "limit", 100)
        if not 1 <= limit <= self.max_page:
            return Response.json({"detail": "limit must be between 1 and 100"}, 422)
        return Response.raw_json(self._array(rows[offset : offset + limit]))

    # -- Foundry

    def _fd_runs(self, req: Request, m: re.Match[str]) -> Response:
        if self._denied(req):
            return Response.json({"errorCode": "UNAUTHORIZED", "errorName": "MissingCredentials"}, 401)
        rows = self.rows.get(m["c"])
        if rows is None or req.q("preview") != "true":
            return Response.json({"errorCode": "NOT_FOUND", "errorName": "ModelStudioNotFound"}, 404)
        size = min(self._int(req, "pageSize", 100), self.max_page)
        token = req.q("pageToken")
        start = int(token.removeprefix("o")) if token else 0
        end = start + size
        nxt = b',"nextPageToken":"o%d"' % end if end < len(rows) else b""
        return Response.raw_json(b'{"data":' + self._array(rows[start:end]) + nxt + b"}")

    # -- Label Studio

    def _lst_prompts(self, req: Request, m: re.Match[str]) -> Response:
        if self._denied(req):
            return Response.json({"detail": "Invalid token."}, 401)
        prompts = sorted({c.split("/")[0] for c in self.rows}, key=int)
        return Response.json([{"id": int(p), "title": f"Prompt {p}"} for p in prompts])

    def _lst_versions(self, req: Request, m: re.Match[str]) -> Response:
        if self._denied(req):
            return Response.json({"detail": "Invalid token."}, 401)
        versions = [c.split("/")[1] for c in self.rows if c.split("/")[0] == m["p"]]
        return Response.json([{"id": int(v), "title": f"v{v}", "prompt": int(m["p"])} for v in versions])

    def _lst_runs(self, req: Request, m: re.Match[str]) -> Response:
        if self._denied(req):
            return Response.json({"detail": "Invalid token."}, 401)
        rows = self.rows.get(f"{m['p']}/{m['v']}")
        if rows is None:
            return Response.json({"detail": "Not found."}, 404)
        return Response.raw_json(self._array(rows))


def describe(server: BenchServer) -> str:
    """A one-line JSON description clients need."""
    return json.dumps(
        {
            "vendor": server.vendor,
            "base_url": server.base_url,
            "api_key": server.api_key,
            "containers": list(server.rows),
            "bytes": sum(len(r) for rows in server.rows.values() for r in rows),
        }
    )
