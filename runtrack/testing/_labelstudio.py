"""``FakeLabelStudio``: Prompts inference runs, ML backends, legacy-token and personal-access-token auth."""

from __future__ import annotations

import random
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from runtrack.testing import _data as d
from runtrack.testing import _labelstudio_data as S
from runtrack.testing._faults import Faults
from runtrack.testing._server import FakeServer, Request, Response

PROMPTS = r"/api/prompts/(?P<p>\d+)/versions"
RUNS = PROMPTS + r"/(?P<v>\d+)/inference-runs"
SUBSETS = ("All", "HasGT", "Sample")
CREATE_SUBSETS = ("All", "HasGT", "Sample", "Custom")


class FakeLabelStudio(FakeServer):
    """Label Studio (Enterprise Prompts + ML backends) on 127.0.0.1 with seeded, deterministic data.

    ``community=True`` answers every Prompts path with the HTML 404 page, as Community Edition does.
    ``paginated_prompts=True`` makes ``/api/prompts/`` answer ``{count,next,previous,results}``.
    ``wire="2.0"`` sends the pre-2.0.21 shapes (``created_by`` as an int, no ``model_version``, string scores).
    """

    vendor = "labelstudio"

    def __init__(
        self,
        *,
        seed: int = 0,
        prompts: int = 3,
        versions_per_prompt: int = 2,
        runs_per_version: int = 5,
        projects: int = 2,
        backends_per_project: int = 3,
        paginated_prompts: bool = False,
        prompts_page_size: int = 100,
        community: bool = False,
        legacy_tokens_enabled: bool = True,
        wire: str = "2.1",
        access_ttl: float = 300.0,
        token: str | None = None,
        faults: Faults | None = None,
        log_limit: int = 100_000,
    ) -> None:
        super().__init__(faults=faults, log_limit=log_limit)
        self.seed = seed
        prefix = f"{seed}|labelstudio|".encode()
        self._secret = d.digest(prefix, "secret")
        self.token = token or d.digest(prefix, "token").hex()[:40]
        self.pat = S.jwt_encode(
            {
                "token_type": "refresh",
                "exp": 8_102_675_416,
                "iat": 1_756_728_000,
                "jti": d.digest(prefix, "jti").hex()[:32],
                "user_id": "1",
            },
            self._secret,
        )
        self.paginated_prompts, self.prompts_page_size = paginated_prompts, prompts_page_size
        self.community, self.legacy_tokens_enabled, self.wire = community, legacy_tokens_enabled, wire
        self.access_ttl = access_ttl
        self.refresh_count = 0
        self.ml_health_checks = 0
        self.ml_trainings: list[int] = []
        self._lock = threading.RLock()
        self._errors = 0
        self._clock = 0
        rng = random.Random(f"{seed}:labelstudio")
        self.project_ids = [7 + k for k in range(projects)]
        self._prompts: dict[int, dict[str, Any]] = {}
        self._versions: dict[int, dict[str, Any]] = {}
        self._runs: dict[int, dict[str, Any]] = {}
        vid, rid = 23, 42
        for k in range(prompts):
            pid = 11 + k
            version_ids = list(range(vid, vid + versions_per_prompt))
            for j, v in enumerate(version_ids):
                self._versions[v] = S.version(v, pid, j, rng)
                for r in range(runs_per_version):
                    project = self.project_ids[(r + j) % len(self.project_ids)]
                    self._runs[rid] = S.run(rid, pid, v, project, rng, 200 + 25 * (project % 4))
                    rid += 1
            scores = [s for v in version_ids if isinstance(s := self._versions[v]["score"], float)]
            self._prompts[pid] = S.prompt(
                pid,
                k,
                version_ids,
                versions_per_prompt * runs_per_version,
                self.project_ids,
                rng,
                max(scores) if scores else None,
            )
            vid += versions_per_prompt
        self._next_run = rid
        self._backends: dict[int, dict[str, Any]] = {}
        bid = 3
        for p in self.project_ids:
            for _ in range(backends_per_project):
                self._backends[bid] = S.backend(bid, p, bid - 3)
                bid += 1
        self._routes_setup()

    def _routes_setup(self) -> None:
        self.route("GET", r"/health/", lambda r, m: Response(200, b'{"status": "UP"}', "text/html; charset=utf-8"))
        self.route("GET", r"/api/version/?", self._version)
        self.route("POST", r"/api/token/refresh/", self._refresh)
        self.route("GET", r"/api/current-user/whoami", self._whoami)
        self.route("GET", r"/api/prompts/", self._list_prompts)
        self.route("GET", PROMPTS, self._list_versions)
        self.route("GET", RUNS, self._list_runs)
        self.route("POST", RUNS, self._create_run)
        self.route("POST", RUNS + r"/(?P<r>\d+)/cancel", self._cancel_run)
        self.route("GET", r"/api/ml/?", self._list_backends)
        self.route("GET", r"/api/ml/(?P<b>\d+)", self._get_backend)
        self.route("DELETE", r"/api/ml/(?P<b>\d+)", self._delete_backend)
        self.route("POST", r"/api/ml/(?P<b>\d+)/train", self._train)
        self.route("GET", r"/api/ml/(?P<b>\d+)/versions", self._backend_versions)

    # -- ground truth ----------------------------------------------------------------------------

    @property
    def prompt_ids(self) -> list[int]:
        """Prompt ids, in listing order."""
        return list(self._prompts)

    @property
    def versions_by_prompt(self) -> dict[int, list[int]]:
        """Version ids per prompt."""
        return {p: [v for v, ver in self._versions.items() if ver["parent_model"] == p] for p in self._prompts}

    @property
    def runs_by_version(self) -> dict[tuple[int, int], list[int]]:
        """Inference-run ids per ``(prompt_id, version_id)``."""
        out: dict[tuple[int, int], list[int]] = {(v["parent_model"], vid): [] for vid, v in self._versions.items()}
        with self._lock:
            for rid, run in self._runs.items():
                out[(run["parent_model"], run["model_version"])].append(rid)
        return out

    def all_run_ids(self) -> set[int]:
        """Every inference-run id."""
        with self._lock:
            return set(self._runs)

    def inference_runs(self, prompt_id: int, version_id: int, project: int | None = None) -> list[Any]:
        """What ``GET .../inference-runs`` returns (as sent on this fake's wire version)."""
        with self._lock:
            return [
                self._wire_run(r)
                for r in self._runs.values()
                if r["parent_model"] == prompt_id
                and r["model_version"] == version_id
                and (project is None or r["project"] == project)
            ]

    @property
    def ml_backend_ids(self) -> dict[int, list[int]]:
        """ML backend ids per project."""
        return {p: [b for b, be in self._backends.items() if be["project"] == p] for p in self.project_ids}

    def set_run_status(self, run_id: int, status: str) -> None:
        """Move an inference run to ``status`` (fills the timestamps and counters it implies)."""
        with self._lock:
            run = self._runs[run_id]
            now = self._tick()
            run["status"] = status
            if status != "Pending" and run["triggered_at"] is None:
                run["triggered_at"] = now
            if status in ("Completed", "Failed", "Canceled"):
                run["completed_at"] = run["predictions_updated_at"] = now
                if status == "Completed":
                    run["total_predictions"] = run["total_tasks"]

    def access_token(self, ttl: float | None = None) -> str:
        """A fresh access JWT (what ``POST /api/token/refresh/`` returns)."""
        now = int(time.time())
        with self._lock:
            self.refresh_count += 1
            jti = f"{self.refresh_count:032x}"
        exp = now + int(self.access_ttl if ttl is None else ttl)
        return S.jwt_encode({"token_type": "access", "exp": exp, "iat": now, "jti": jti, "user_id": "1"}, self._secret)

    def _tick(self) -> str:
        self._clock += 1
        return d.iso_z(d.EPOCH_US + self._clock * 1_000_000)

    # -- errors and auth -------------------------------------------------------------------------

    def ls_error(
        self,
        status: int,
        detail: str,
        validation: dict[str, list[str]] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> Response:
        """Label Studio's error envelope (``custom_exception_handler``)."""
        with self._lock:
            self._errors += 1
            n = self._errors
        body: dict[str, Any] = {
            "id": d.uuid4(d.digest(str(self.seed).encode(), "error", n)),
            "status_code": status,
            "version": S.LS_VERSION,
            "detail": detail,
            "exc_info": None,
        }
        if validation is not None:
            body["validation_errors"] = validation
        return Response.json(body, status, headers or [])

    def html_404(self) -> Response:
        """Django's HTML 404 page (unknown routes, ``/api/ml/{id}/``, unknown backends, Community Prompts)."""
        return Response.html(S.html_page(404, "Page not found"), 404)

    def _auth(self, req: Request) -> Response | None:
        header = req.header("Authorization") or ""
        scheme, _, cred = header.partition(" ")
        www = [("WWW-Authenticate", "Token")]
        if scheme == "Token":
            if cred != self.token:
                return self.ls_error(401, "Invalid token.", headers=www)
            if not self.legacy_tokens_enabled:
                return self.ls_error(
                    401,
                    "Authentication token no longer valid: legacy token authentication has "
                    "been disabled for this organization",
                    headers=www,
                )
            return None
        if scheme == "Bearer":
            payload = S.jwt_decode(cred, self._secret)
            if payload is not None and payload.get("token_type") == "access" and payload.get("exp", 0) > time.time():
                return None
        return self.ls_error(401, "Authentication credentials were not provided.", headers=www)

    # -- routes: misc ----------------------------------------------------------------------------

    def _version(self, req: Request, m: re.Match[str]) -> Response:
        return Response.json(
            {
                "release": S.LS_VERSION,
                "edition": "Community" if self.community else "Enterprise",
                "label-studio-os-package": {"version": S.LS_VERSION, "short_version": "1.23"},
            }
        )

    def _refresh(self, req: Request, m: re.Match[str]) -> Response:
        try:
            body = req.json()
        except ValueError:
            body = {}
        refresh = body.get("refresh") if isinstance(body, dict) else None
        if not refresh:
            return self.ls_error(400, "Validation error", {"refresh": ["This field is required."]})
        payload = S.jwt_decode(str(refresh), self._secret)
        if payload is None or payload.get("token_type") != "refresh" or payload.get("exp", 0) <= time.time():
            return self.ls_error(401, "Token is invalid", headers=[("WWW-Authenticate", 'Bearer realm="api"')])
        return Response.json({"access": self.access_token()})

    def _whoami(self, req: Request, m: re.Match[str]) -> Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        return Response.json(
            {
                "id": 1,
                "first_name": "",
                "last_name": "",
                "username": "",
                "email": "admin@example.com",
                "active_organization": 1,
                "avatar": None,
            }
        )

    # -- routes: prompts -------------------------------------------------------------------------

    def _prompts_gate(self, req: Request) -> Response | None:
        if self.community:
            return self.html_404()
        return self._auth(req)

    def _list_prompts(self, req: Request, m: re.Match[str]) -> Response:
        denied = self._prompts_gate(req)
        if denied is not None:
            return denied
        items = list(self._prompts.values())
        search = req.q("search")
        if search:
            items = [p for p in items if search.lower() in p["title"].lower()]
        if self.wire == "2.0":
            items = [
                {k: v for k, v in p.items() if k not in ("runs_count", "versions_count", "best_score")} for p in items
            ]
        if not self.paginated_prompts:
            return Response.json(items)
        try:
            page = int(req.q("page") or 1)
            size = max(1, min(int(req.q("page_size") or self.prompts_page_size), 1000))
        except ValueError:
            return self.ls_error(404, "Invalid page.")
        pages = max(1, -(-len(items) // size))
        if not 1 <= page <= pages:
            return self.ls_error(404, "Invalid page.")
        base = f"http://{req.host}{req.path}"
        query = dict(req.query)
        nxt = _replace(base, query, "page", str(page + 1)) if page < pages else None
        prev = None
        if page > 1:
            prev = _replace(base, query, "page", str(page - 1)) if page > 2 else _remove(base, query, "page")
        return Response.json(
            {"count": len(items), "next": nxt, "previous": prev, "results": items[(page - 1) * size : page * size]}
        )

    def _prompt(self, req: Request, m: re.Match[str]) -> tuple[int, int | None] | Response:
        denied = self._prompts_gate(req)
        if denied is not None:
            return denied
        pid = int(m["p"])
        if pid not in self._prompts:
            return self.ls_error(404, "Not found.")
        vid = int(m["v"]) if "v" in m.groupdict() else None
        if vid is not None and self._versions.get(vid, {}).get("parent_model") != pid:
            return self.ls_error(404, "Not found.")
        return pid, vid

    def _list_versions(self, req: Request, m: re.Match[str]) -> Response:
        found = self._prompt(req, m)
        if isinstance(found, Response):
            return found
        versions = [v for v in self._versions.values() if v["parent_model"] == found[0]]
        if self.wire == "2.0":
            versions = [{**v, "score": "" if v["score"] is None else str(v["score"])} for v in versions]
        return Response.json(versions)

    def _wire_run(self, run: dict[str, Any]) -> dict[str, Any]:
        return S.old_wire_run(run) if self.wire == "2.0" else dict(run)

    def _list_runs(self, req: Request, m: re.Match[str]) -> Response:
        found = self._prompt(req, m)
        if isinstance(found, Response):
            return found
        project, subset = req.q("project"), req.q("project_subset")
        errors: dict[str, list[str]] = {}
        if project is not None and not project.strip().lstrip("-").isdigit():
            errors["project"] = ["Enter a whole number."]
        if subset is not None and subset not in SUBSETS:
            errors["project_subset"] = [f"Select a valid choice. {subset} is not one of the available choices."]
        if errors:
            return self.ls_error(400, "Validation error", errors)
        with self._lock:
            runs = [
                self._wire_run(r)
                for r in self._runs.values()
                if r["parent_model"] == found[0]
                and r["model_version"] == found[1]
                and (project is None or r["project"] == int(project))
                and (subset is None or r["project_subset"] == subset)
            ]
        return Response.json(runs)

    def _create_run(self, req: Request, m: re.Match[str]) -> Response:
        found = self._prompt(req, m)
        if isinstance(found, Response):
            return found
        body = _form_or_json(req)
        if body is None:
            return self.ls_error(400, "JSON parse error - Expecting value: line 1 column 1 (char 0)")
        errors: dict[str, list[str]] = {}
        project = body.get("project")
        if project in (None, ""):
            errors["project"] = ["This field is required."]
        elif not str(project).isdigit() or int(project) not in self.project_ids:
            errors["project"] = [f'Invalid pk "{project}" - object does not exist.']
        subset = body.get("project_subset", "HasGT")
        if subset not in CREATE_SUBSETS:
            errors["project_subset"] = [f'"{subset}" is not a valid choice.']
        if errors:
            return self.ls_error(400, "Validation error", errors)
        with self._lock:
            rid = self._next_run
            self._next_run += 1
            now = self._tick()
            run = {
                "id": rid,
                "project": int(str(project)),
                "parent_model": found[0],
                "model_version": found[1],
                "organization": 1,
                "created_by": S.USERS[0],
                "project_subset": subset,
                "status": "Pending",
                "job_id": None,
                "total_tasks": 0,
                "total_predictions": 0,
                "total_correct_predictions": 0,
                "created_at": now,
                "triggered_at": None,
                "predictions_updated_at": None,
                "completed_at": None,
                "filters_json": body.get("filters_json"),
                "sample_subset_size": body.get("sample_subset_size"),
                "source_model_run": None,
                "task_ids": body.get("task_ids"),
            }
            self._runs[rid] = run
            self._prompts[found[0]]["runs_count"] += 1
            return Response.json(self._wire_run(run), 201)

    def _cancel_run(self, req: Request, m: re.Match[str]) -> Response:
        found = self._prompt(req, m)
        if isinstance(found, Response):
            return found
        with self._lock:
            run = self._runs.get(int(m["r"]))
            if run is None or (run["parent_model"], run["model_version"]) != found:
                return self.ls_error(404, "Not found.")
        self.set_run_status(run["id"], "Canceled")
        return Response.json({"detail": "Inference run canceled"})

    # -- routes: ML backends ---------------------------------------------------------------------

    def _health_check(self, backend: dict[str, Any]) -> None:
        """What ``update_state()`` does on every GET: health check + setup, then save the state."""
        with self._lock:
            self.ml_health_checks += 1
            health = backend["_health"]
            if health == "frozen":
                return
            state, error = {
                "ok": ("CO", None),
                "down": ("DI", None),
                "setup_error": ("ER", "Can't setup ML backend: 'NoneType' object has no attribute 'get'"),
            }[health]
            backend.update(
                state=state, readable_state=S.STATE_NAMES[state], error_message=error, updated_at=self._tick()
            )

    @staticmethod
    def _public(backend: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in backend.items() if not k.startswith("_")}

    def _list_backends(self, req: Request, m: re.Match[str]) -> Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        project = req.q("project")
        if project is None or not project.isdigit() or int(project) not in self.project_ids:
            return self.ls_error(404, "No Project matches the given query.")
        backends = [b for b in self._backends.values() if b["project"] == int(project)]
        for backend in backends:
            self._health_check(backend)
        return Response.json([self._public(b) for b in backends])

    def _backend(self, req: Request, m: re.Match[str]) -> dict[str, Any] | Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        backend = self._backends.get(int(m["b"]))
        return self.html_404() if backend is None else backend

    def _get_backend(self, req: Request, m: re.Match[str]) -> Response:
        backend = self._backend(req, m)
        if isinstance(backend, Response):
            return backend
        self._health_check(backend)
        return Response.json(self._public(backend))

    def _delete_backend(self, req: Request, m: re.Match[str]) -> Response:
        backend = self._backend(req, m)
        if isinstance(backend, Response):
            return backend
        with self._lock:
            self._backends.pop(backend["id"], None)
        return Response(204, b"", None)

    def _train(self, req: Request, m: re.Match[str]) -> Response:
        backend = self._backend(req, m)
        if isinstance(backend, Response):
            return backend
        with self._lock:
            self.ml_trainings.append(backend["id"])
            if backend["_health"] == "ok":
                backend.update(state="TR", readable_state="Training", error_message=None)
            elif backend["_health"] != "frozen":
                backend.update(
                    state="ER",
                    readable_state="Error",
                    error_message=f"Can't train ML backend {backend['url']}: connection refused",
                )
        return Response(200, b"", None)

    def _backend_versions(self, req: Request, m: re.Match[str]) -> Response:
        backend = self._backend(req, m)
        if isinstance(backend, Response):
            return backend
        if backend["_health"] in ("down", "setup_error"):
            return Response.json(
                {
                    "error": f"HTTPConnectionPool(host='ml-backend-{backend['id']}', port=9090): Max "
                    "retries exceeded with url: /versions"
                },
                500,
            )
        if backend["_versions"] is None:
            return Response.json(
                {"versions": [backend["model_version"]], "message": "Upgrade your ML backend version to latest."}
            )
        return Response.json({"versions": list(backend["_versions"])})

    # -- vendor hooks ----------------------------------------------------------------------------

    def not_found(self, req: Request) -> Response:
        """Django answers unknown URLs with its HTML page."""
        return self.html_404()

    def method_not_allowed(self, req: Request) -> Response:
        """DRF's 405, in Label Studio's envelope."""
        return self.ls_error(405, f'Method "{req.method}" not allowed.')

    def error_response(self, status: int) -> Response:
        """Injected 429/5xx in Label Studio's envelope (DRF throttling text for 429)."""
        detail = (
            "Request was throttled."
            if status == 429
            else {500: "Internal Server Error"}.get(status, "Service Unavailable")
        )
        return self.ls_error(status, detail)

    def html_error(self, status: int) -> Response:
        """Label Studio's own HTML error page with the status code."""
        return Response.html(S.html_page(status, "Server Error" if status >= 500 else "Error"), status)


def _replace(base: str, query: dict[str, list[str]], key: str, value: str) -> str:
    """DRF ``replace_query_param``: set ``key``, keep the rest, sorted."""
    merged = {**query, key: [value]}
    return f"{base}?{urlencode(sorted(merged.items()), doseq=True)}"


def _remove(base: str, query: dict[str, list[str]], key: str) -> str:
    """DRF ``remove_query_param``."""
    rest = {k: v for k, v in query.items() if k != key}
    return f"{base}?{urlencode(sorted(rest.items()), doseq=True)}" if rest else base


def _form_or_json(req: Request) -> dict[str, Any] | None:
    ctype = req.header("Content-Type") or ""
    if "application/x-www-form-urlencoded" in ctype:
        return {k: v[0] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
    if not req.body:
        return {}
    try:
        body = req.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
