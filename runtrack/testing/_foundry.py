"""``FakeFoundry``: Model Studio runs (pageToken, ``preview=true``), config versions, launch, builds, jobs."""

from __future__ import annotations

import base64
import re
import threading
from typing import Any

from runtrack.testing import _data as d
from runtrack.testing import _foundry_data as F
from runtrack.testing._cache import PageCache
from runtrack.testing._faults import Faults
from runtrack.testing._jsonutil import loads
from runtrack.testing._server import FakeServer, Request, Response

LAUNCHED = 1 << 40  # listing codes >= LAUNCHED are runs launched at run time
STUDIOS = r"/api/v2/models/modelStudios"
_RID = r"(?P<rid>[^/]+)"
CONJURE_STATUS = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHORIZED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "INTERNAL": 500,
    "FAILED_PRECONDITION": 500,
}


class _Studio:
    def __init__(self, idx: int, rid: str, n: int, versions: int) -> None:
        self.idx, self.rid, self.n, self.versions = idx, rid, n, versions
        self.spacing = max(F.SPAN_US // max(n, 1), 1000)
        self.launched: list[F.StudioRun] = []
        self.version = 0
        self.listings: dict[int | None, list[int]] = {}

    def config_of(self, i: int) -> int:
        """Config version of seeded run ``i`` (newest runs use the latest version)."""
        return self.versions - (i * self.versions) // max(self.n, 1)


class FakeFoundry(FakeServer):
    """Foundry Model Studio and Orchestration APIs on 127.0.0.1 with seeded, deterministic data.

    ``studios`` studios with ``runs_per_studio`` runs and ``config_versions`` config versions each, plus
    ``empty_studios`` studios with neither. ``model_studio_deployed=False`` answers every Model Studio
    path with a 404 and an empty body (the API is not on that stack).
    """

    vendor = "foundry"

    def __init__(
        self,
        *,
        seed: int = 0,
        studios: int = 2,
        runs_per_studio: int = 25,
        config_versions: int = 3,
        empty_studios: int = 0,
        token: str | None = None,
        default_page_size: int = 100,
        max_page_size: int = 1000,
        model_studio_deployed: bool = True,
        cache_bytes: int = 256 * 2**20,
        faults: Faults | None = None,
        log_limit: int = 100_000,
    ) -> None:
        super().__init__(faults=faults, log_limit=log_limit)
        self.seed = seed
        self._prefix = p = f"{seed}|foundry|".encode()
        self.token = token or f"eyJwbG50ciI6IkZha2VGb3VuZHJ5In0.{d.digest(p, 'token').hex()}"
        self.user_ids = [d.uuid4(d.digest(p, "user", k)) for k in range(3)]
        self.default_page_size, self.max_page_size = default_page_size, max_page_size
        self.model_studio_deployed = model_studio_deployed
        self.launch_denied: set[str] = set()
        self._studios = [
            _Studio(
                s,
                f"ri.models.main.model-studio.{d.uuid4(d.digest(p, 'studio', s))}",
                runs_per_studio if s < studios else 0,
                config_versions if s < studios else 0,
            )
            for s in range(studios + empty_studios)
        ]
        self._by_rid = {s.rid: s for s in self._studios}
        self._lock = threading.RLock()
        self._cache = PageCache(cache_bytes)
        self._index: dict[str, tuple[int, int]] | None = None
        self._finished: dict[tuple[int, int], F.StudioRun] = {}
        self._errors = 0
        self._routes_setup()

    def _routes_setup(self) -> None:
        self.route("GET", rf"{STUDIOS}/{_RID}", self._get_studio)
        self.route("GET", rf"{STUDIOS}/{_RID}/runs", self._list_runs)
        self.route("POST", rf"{STUDIOS}/{_RID}/launch", self._launch)
        self.route("GET", rf"{STUDIOS}/{_RID}/configVersions", self._list_configs)
        self.route("GET", rf"{STUDIOS}/{_RID}/configVersions/(?P<v>[^/]+)", self._get_config)
        self.route("GET", r"/api/v2/orchestration/builds/(?P<rid>[^/]+)", self._get_build)
        self.route("POST", r"/api/v2/orchestration/builds/getBatch", self._get_builds)
        self.route("GET", r"/api/v2/orchestration/builds/(?P<rid>[^/]+)/jobs", self._build_jobs)
        self.route("GET", r"/api/v2/orchestration/jobs/(?P<rid>[^/]+)", self._get_job)

    # -- ground truth ----------------------------------------------------------------------------

    @property
    def hostname(self) -> str:
        """``127.0.0.1:<port>`` (what ``FOUNDRY_HOSTNAME`` would hold, without scheme)."""
        return self.base_url.removeprefix("http://")

    @property
    def studio_rids(self) -> list[str]:
        """Every studio RID (studios with runs first, then the empty ones)."""
        return [s.rid for s in self._studios]

    @property
    def runs_by_studio(self) -> dict[str, list[str]]:
        """``runId`` per studio in listing order (newest first), as of now."""
        return {s.rid: [self._run(s, c).run_id for c in self._listing(s, None)] for s in self._studios}

    def all_run_ids(self) -> set[str]:
        """Every ``runId`` over all studios."""
        return {r for ids in self.runs_by_studio.values() for r in ids}

    def config_versions(self, studio_rid: str) -> list[int]:
        """The config version numbers of a studio, oldest first."""
        return list(range(1, self._by_rid[studio_rid].versions + 1))

    def studio_runs(self, studio_rid: str, config_version: int | None = None) -> list[Any]:
        """What ``GET .../runs`` lists over all pages (parsed), for assertions."""
        studio = self._by_rid[studio_rid]
        model = self._model_rid(studio)
        rows = [F.run_json(self._run(studio, c), model) for c in self._listing(studio, config_version)]
        return list(loads("[" + ",".join(rows) + "]"))

    def finish_run(self, run_id: str, status: str = "SUCCEEDED", duration_s: float = 300.0) -> None:
        """Finish a run's build (``status`` SUCCEEDED/FAILED/CANCELED) so builds report ``finishedTime``."""
        key = self._run_index()[run_id]
        studio = self._studios[key[0]]
        code = key[1] if key[1] < studio.n else LAUNCHED + key[1] - studio.n
        run = self._run(studio, code)._replace(
            status=status, duration_us=int(duration_s * 1e6), outputs="model" if status == "SUCCEEDED" else "empty"
        )
        with self._lock:
            self._finished[key] = run
            studio.version += 1

    def prerender(self, page_size: int | None = None) -> int:
        """Render every unfiltered runs page (first page without a token) into the cache; returns bytes."""
        size = page_size or self.default_page_size
        budget, total = self._cache.max_bytes, 0
        self._cache.max_bytes = 1 << 62
        for studio in self._studios:
            for start in range(0, len(self._listing(studio, None)), size):
                total += len(self._runs_page(studio, None, start, size))
        self._cache.max_bytes = max(budget, total)
        return total

    # -- data ------------------------------------------------------------------------------------

    def _model_rid(self, studio: _Studio) -> str:
        return f"ri.models.main.model.{d.uuid4(d.digest(self._prefix, 'model', studio.idx))}"

    def _run(self, studio: _Studio, code: int) -> F.StudioRun:
        if code >= LAUNCHED:
            run = studio.launched[code - LAUNCHED]
            key = (studio.idx, studio.n + code - LAUNCHED)
        else:
            start = d.EPOCH_US - (code + 1) * studio.spacing - (code * 7_919 % 1000) * 1000
            run = F.run_facts(self._prefix, studio.idx, code, start, studio.config_of(code), self.user_ids)
            key = (studio.idx, code)
        return self._finished.get(key, run)

    def _listing(self, studio: _Studio, config_version: int | None) -> list[int]:
        with self._lock:
            cached = studio.listings.get(config_version)
            if cached is None:
                launched = [LAUNCHED + j for j in range(len(studio.launched) - 1, -1, -1)]
                seeded = list(range(studio.n))
                if config_version is not None:
                    launched = [c for c in launched if studio.launched[c - LAUNCHED].config_version == config_version]
                    seeded = [i for i in seeded if studio.config_of(i) == config_version]
                cached = studio.listings[config_version] = launched + seeded
            return cached

    def _run_index(self) -> dict[str, tuple[int, int]]:
        """runId, buildRid and jobRid -> (studio, run number)."""
        with self._lock:
            if self._index is None:
                index: dict[str, tuple[int, int]] = {}
                for studio in self._studios:
                    for code in self._listing(studio, None):
                        run = self._run(studio, code)
                        key = (studio.idx, code if code < LAUNCHED else studio.n + code - LAUNCHED)
                        index[run.run_id] = index[run.build_rid] = index[run.job_rid] = key
                self._index = index
            return self._index

    def _run_by_key(self, key: tuple[int, int]) -> F.StudioRun:
        studio = self._studios[key[0]]
        return self._run(studio, key[1] if key[1] < studio.n else LAUNCHED + key[1] - studio.n)

    # -- errors and checks -----------------------------------------------------------------------

    def conjure(self, code: str, name: str, **parameters: Any) -> Response:
        """A Conjure error envelope; the status follows ``errorCode``."""
        with self._lock:
            self._errors += 1
            n = self._errors
        body = {
            "errorCode": code,
            "errorName": name,
            "errorInstanceId": d.uuid4(d.digest(self._prefix, "error", n)),
            "parameters": parameters,
        }
        return Response.json(body, CONJURE_STATUS.get(code, 500))

    def _check(self, req: Request, preview: bool = True) -> Response | None:
        auth = req.header("Authorization")
        if auth is None:
            return self.conjure("UNAUTHORIZED", "MissingCredentials")
        if auth != f"Bearer {self.token}":
            return self.conjure("UNAUTHORIZED", "Default:Unauthorized")
        if preview and (req.q("preview") or "").lower() != "true":
            return self.conjure("INVALID_ARGUMENT", "ApiFeaturePreviewUsageOnly")
        return None

    def _studio_from(self, req: Request, rid: str) -> _Studio | Response:
        if not self.model_studio_deployed:
            return Response(404, b"", None)
        denied = self._check(req)
        if denied is not None:
            return denied
        studio = self._by_rid.get(rid)
        if studio is None:
            return self.conjure("NOT_FOUND", "ModelStudioNotFound", studioRid=rid)
        return studio

    def _paging(
        self, req: Request, studio: _Studio, config_version: int | None, kind: str, size_total: int
    ) -> tuple[int, int, str | None] | Response:
        """(start, page size, the request's token) from pageSize/pageToken, or an error answer."""
        raw_size = req.q("pageSize")
        size = self.default_page_size
        if raw_size is not None:
            try:
                size = int(raw_size)
            except ValueError:
                return self.conjure("INVALID_ARGUMENT", "InvalidPageSize", pageSize=raw_size)
            if size <= 0:
                return self.conjure("INVALID_ARGUMENT", "InvalidPageSize", pageSize=size)
        size = min(size, self.max_page_size)
        token = req.q("pageToken") or None
        start = 0
        if token is not None:
            tail = _decode_token(token, kind, studio.idx, config_version)
            if tail is None or tail > size_total:
                return self.conjure("INVALID_ARGUMENT", "InvalidPageToken", pageToken=token)
            start = size_total - tail
        return start, size, token

    def _next_token(
        self,
        req: Request,
        kind: str,
        studio: _Studio,
        config_version: int | None,
        end: int,
        total: int,
        token: str | None,
    ) -> str | None:
        nxt = _encode_token(kind, studio.idx, config_version, total - end) if end < total else None
        if token is not None and self.faults.next_token_repeats():
            self.faults.note(req.n, "repeat_token", req.method, req.path)
            return token
        return nxt

    # -- routes ----------------------------------------------------------------------------------

    def _get_studio(self, req: Request, m: re.Match[str]) -> Response:
        studio = self._studio_from(req, m["rid"])
        if isinstance(studio, Response):
            return studio
        folder = f"ri.compass.main.folder.{d.uuid4(d.digest(self._prefix, 'folder'))}"
        created = d.iso_z(d.EPOCH_US - F.SPAN_US - (studio.idx + 1) * d.DAY_US, 3)
        return Response.json({"rid": studio.rid, "folderRid": folder, "createdTime": created})

    def _list_runs(self, req: Request, m: re.Match[str]) -> Response:
        studio = self._studio_from(req, m["rid"])
        if isinstance(studio, Response):
            return studio
        raw_cv = req.q("configVersion")
        cv: int | None = None
        if raw_cv is not None:
            try:
                cv = int(raw_cv)
            except ValueError:
                return self.conjure("INVALID_ARGUMENT", "Default:InvalidArgument", configVersion=raw_cv)
            if not 1 <= cv <= studio.versions:
                return self.conjure(
                    "NOT_FOUND", "ModelStudioConfigVersionNotFound", studioRid=studio.rid, configVersion=cv
                )
        total = len(self._listing(studio, cv))
        paging = self._paging(req, studio, cv, "runs", total)
        if isinstance(paging, Response):
            return paging
        start, size, token = paging
        data = self._runs_page(studio, cv, start, size)
        nxt = self._next_token(req, "runs", studio, cv, start + size, total, token)
        return Response.raw_json(data + (b"}" if nxt is None else f',"nextPageToken":"{nxt}"}}'.encode()))

    def _runs_page(self, studio: _Studio, cv: int | None, start: int, size: int) -> bytes:
        """``{"data":[...]`` without the closing brace (the token is appended per request)."""
        with self._lock:
            codes = self._listing(studio, cv)[start : start + size]
            key = ("runs", studio.idx, studio.version, cv, start, size)
        model = self._model_rid(studio)
        return self._cache.get(
            key, lambda: ('{"data":[' + ",".join(F.run_json(self._run(studio, c), model) for c in codes) + "]").encode()
        )

    def _launch(self, req: Request, m: re.Match[str]) -> Response:
        studio = self._studio_from(req, m["rid"])
        if isinstance(studio, Response):
            return studio
        if studio.rid in self.launch_denied:
            return self.conjure("PERMISSION_DENIED", "LaunchModelStudioPermissionDenied", studioRid=studio.rid)
        if studio.versions == 0:
            return self.conjure(
                "NOT_FOUND", "ModelStudioConfigVersionNotFound", studioRid=studio.rid, configVersion=None
            )
        with self._lock:
            j = len(studio.launched)
            start = d.EPOCH_US + (j + 1) * 60_000_000
            run = F.run_facts(self._prefix, studio.idx, studio.n + j, start, studio.versions, self.user_ids)
            run = run._replace(status="RUNNING", outputs="empty", offset_hours=0)
            studio.launched.append(run)
            studio.version += 1
            studio.listings.clear()
            if self._index is not None:
                self._index[run.run_id] = self._index[run.build_rid] = self._index[run.job_rid] = (
                    studio.idx,
                    studio.n + j,
                )
        return Response.raw_json(F.run_json(run, self._model_rid(studio)).encode())

    def _list_configs(self, req: Request, m: re.Match[str]) -> Response:
        studio = self._studio_from(req, m["rid"])
        if isinstance(studio, Response):
            return studio
        paging = self._paging(req, studio, None, "configs", studio.versions)
        if isinstance(paging, Response):
            return paging
        start, size, token = paging
        versions = list(range(studio.versions, 0, -1))[start : start + size]
        out: dict[str, Any] = {"data": [self._config(studio, v) for v in versions]}
        nxt = self._next_token(req, "configs", studio, None, start + size, studio.versions, token)
        if nxt is not None:
            out["nextPageToken"] = nxt
        return Response.json(out)

    def _config(self, studio: _Studio, version: int) -> dict[str, Any]:
        created = d.EPOCH_US - F.SPAN_US + (version - 1) * F.SPAN_US // max(studio.versions, 1) - d.DAY_US
        return F.config_version_json(self._prefix, studio.idx, version, self.user_ids, created)

    def _get_config(self, req: Request, m: re.Match[str]) -> Response:
        studio = self._studio_from(req, m["rid"])
        if isinstance(studio, Response):
            return studio
        if m["v"] == "latest":
            return (
                Response(200, b"", None)
                if studio.versions == 0
                else Response.json(self._config(studio, studio.versions))
            )
        try:
            version = int(m["v"])
        except ValueError:
            version = -1
        if not 1 <= version <= studio.versions:
            return self.conjure(
                "NOT_FOUND", "ModelStudioConfigVersionNotFound", studioRid=studio.rid, configVersion=m["v"]
            )
        return Response.json(self._config(studio, version))

    def _build_or_error(self, req: Request, rid: str, kind: str) -> F.StudioRun | Response:
        denied = self._check(req, preview=kind == "job")
        if denied is not None:
            return denied
        key = self._run_index().get(rid)
        run = self._run_by_key(key) if key is not None else None
        if run is None or (run.build_rid if kind == "build" else run.job_rid) != rid:
            if kind == "build":
                return self.conjure("NOT_FOUND", "BuildNotFound", buildRid=rid)
            return self.conjure("NOT_FOUND", "JobNotFound", jobRid=rid)
        return run

    def _get_build(self, req: Request, m: re.Match[str]) -> Response:
        run = self._build_or_error(req, m["rid"], "build")
        return run if isinstance(run, Response) else Response.json(F.build_json(run))

    def _build_jobs(self, req: Request, m: re.Match[str]) -> Response:
        run = self._build_or_error(req, m["rid"], "build")
        return run if isinstance(run, Response) else Response.json({"data": [F.job_json(run)]})

    def _get_job(self, req: Request, m: re.Match[str]) -> Response:
        run = self._build_or_error(req, m["rid"], "job")
        return run if isinstance(run, Response) else Response.json(F.job_json(run))

    def _get_builds(self, req: Request, m: re.Match[str]) -> Response:
        denied = self._check(req, preview=False)
        if denied is not None:
            return denied
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, list) or not 1 <= len(body) <= 100:
            return self.conjure(
                "INVALID_ARGUMENT",
                "Default:InvalidArgument",
                reason="body must be a list of 1 to 100 {buildRid} objects",
            )
        index = self._run_index()
        data: dict[str, Any] = {}
        for item in body:
            rid = item.get("buildRid") if isinstance(item, dict) else None
            key = index.get(rid) if isinstance(rid, str) else None
            if key is not None and isinstance(rid, str) and self._run_by_key(key).build_rid == rid:
                data[rid] = F.build_json(self._run_by_key(key))
        return Response.json({"data": data})

    # -- injected errors -------------------------------------------------------------------------

    def error_response(self, status: int) -> Response:
        """429/503/502/504 arrive with an empty body (gateway/QoS); 500 as a Conjure INTERNAL error."""
        if status == 500:
            return self.conjure("INTERNAL", "Default:Internal")
        return Response(status, b"", None)

    def not_found(self, req: Request) -> Response:
        """Unknown paths: 404 with an empty body, as when an API is not deployed."""
        return Response(404, b"", None)


def _encode_token(kind: str, studio: int, cv: int | None, tail: int) -> str:
    raw = f"{kind}:{studio}:{'' if cv is None else cv}:{tail}".encode()
    return "v1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, kind: str, studio: int, cv: int | None) -> int | None:
    if not token.startswith("v1."):
        return None
    body = token[3:]
    try:
        k, s, c, tail = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().split(":")
        if (k, s, c) != (kind, str(studio), "" if cv is None else str(cv)):
            return None
        return int(tail)
    except (ValueError, UnicodeDecodeError):
        return None
