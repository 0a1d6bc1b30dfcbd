"""The Label Studio adapter: Prompts inference runs (Enterprise) and ML backends (every edition)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from runtrack.adapter import Adapter, common_options, concurrency_option, rate_limit_option
from runtrack.errors import ConfigurationError, PayloadError
from runtrack.http import ErrorInfo, HeaderAuth
from runtrack.model import Run
from runtrack.paginate import FanOut, HttpListing, Listing, Request, Strategy

from . import errors
from .auth import PersonalAccessTokenAuth, make_auth
from .listings import LinkedPages
from .mapping import KIND, make_run_parser
from .ml_backends import MLBackend, MLBackendVersions, parse_backend, parse_versions

if TYPE_CHECKING:
    import requests

__all__ = ["LabelStudioAdapter"]

#: ``project_subset`` values the runs filter documents (``Custom`` exists for created runs only).
PROJECT_SUBSETS = ("All", "HasGT", "Sample", "Custom")
SCOPE_KEYWORDS = ("prompt_id", "version_id", "project", "project_subset")


def _container(item: Any) -> dict[str, Any]:
    """A prompt or version object of a fan-out; it must have an id."""
    if not isinstance(item, dict):
        raise PayloadError(f"expected an object, got {type(item).__name__}", path="$")
    if item.get("id") is None or isinstance(item["id"], (bool, dict, list)):
        raise PayloadError("object without a usable id", path="$.id")
    return item


def _cid(item: dict[str, Any]) -> str:
    return str(item["id"])


def _id_text(name: str, value: Any) -> str:
    """A path segment from an id the caller passed (an int, or a string of digits)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ConfigurationError(f"{name} must be an integer id, got {value!r}", platform=LabelStudioAdapter.name)
    return str(int(value))


class LabelStudioAdapter(Adapter):
    """Label Studio. ``runs()`` lists Prompts inference runs (kind ``prompt_inference_run``); scope keywords:
    ``prompt_id``, ``version_id``, ``project``, ``project_subset``. Without ``prompt_id`` (and ``version_id``)
    every prompt and version the key can see is walked, with ``project``/``project_subset`` sent to every runs
    request; option ``concurrency`` lists that many prompts (or versions of one prompt) at once.
    ML backends: :meth:`ml_backends`, :meth:`ml_backend`, :meth:`train_ml_backend`, :meth:`ml_backend_versions`.
    """

    name: ClassVar[str] = "labelstudio"
    kind: ClassVar[str] = KIND
    options = (
        *common_options(base_url_env=("LABEL_STUDIO_URL",), api_key_env=("LABEL_STUDIO_API_KEY",)),
        concurrency_option("prompts (or versions of one prompt)"),
        rate_limit_option(50, "the open-source server does not throttle; this keeps a shared server responsive"),
    )

    def make_auth(self) -> HeaderAuth | PersonalAccessTokenAuth:
        return make_auth(
            self.api_key,
            base_url=self.config["base_url"],
            timeout=self.config.get("timeout"),
            max_retries=self.config.get("max_retries", 4),
        )

    def describe_error(self, response: requests.Response) -> ErrorInfo:
        return errors.describe_error(response)

    def close(self) -> None:
        auth = self.transport.auth
        if isinstance(auth, PersonalAccessTokenAuth):
            auth.close()
        super().close()

    # -- Prompts inference runs

    def _pages(self, *, single_object: bool = False) -> Strategy:
        # cast: the core's Strategy protocol declares ``may_drift`` settable; frozen strategies make it read-only.
        return cast(Strategy, LinkedPages(base_url=self.transport.base_url, single_object=single_object))

    def listing(
        self,
        *,
        page_size: int | None = None,
        prompt_id: int | str | None = None,
        version_id: int | str | None = None,
        project: int | str | None = None,
        project_subset: str | None = None,
        **unknown: Any,
    ) -> Listing[Run]:
        """Runs of one version, of every version of one prompt, or of every prompt. ``page_size`` has no wire
        meaning: Label Studio returns all runs of a version in one response."""
        if unknown:
            raise ConfigurationError(
                f"unknown scope keyword(s) {', '.join(sorted(unknown))}; valid: {', '.join(SCOPE_KEYWORDS)}",
                platform=self.name,
            )
        filters: dict[str, Any] = {}
        if project is not None:
            filters["project"] = _id_text("project", project)
        if project_subset is not None:
            if project_subset not in PROJECT_SUBSETS:
                raise ConfigurationError(
                    f"project_subset must be one of {', '.join(PROJECT_SUBSETS)}, got {project_subset!r}",
                    platform=self.name,
                )
            filters["project_subset"] = project_subset
        if prompt_id is None:
            if version_id is not None:
                raise ConfigurationError(
                    "version_id needs prompt_id (a version belongs to a prompt)", platform=self.name
                )
            prompts = HttpListing(
                self.transport.json,
                Request(path="api/prompts/"),
                self._pages(),
                _container,
                key=_cid,
            )
            return FanOut(
                prompts,
                lambda prompt: self._prompt_runs(_cid(prompt), filters),
                container_id=_cid,
                concurrency=self.config["concurrency"],
            )
        prompt = _id_text("prompt_id", prompt_id)
        if version_id is None:
            return self._prompt_runs(prompt, filters, concurrency=self.config["concurrency"])
        return self._version_runs(prompt, _id_text("version_id", version_id), filters)

    def _prompt_runs(self, prompt: str, filters: dict[str, Any], *, concurrency: int = 1) -> Listing[Run]:
        versions = HttpListing(
            self.transport.json,
            Request(path=f"api/prompts/{prompt}/versions"),
            self._pages(),
            _container,
            key=_cid,
        )
        return FanOut(
            versions,
            lambda version: self._version_runs(prompt, _cid(version), filters),
            container_id=_cid,
            concurrency=concurrency,
        )

    def _version_runs(self, prompt: str, version: str, filters: dict[str, Any]) -> Listing[Run]:
        return HttpListing(
            self.transport.json,
            Request(path=f"api/prompts/{prompt}/versions/{version}/inference-runs", params=filters),
            self._pages(single_object=True),
            make_run_parser(self.instance, prompt, version),
            key=_cid,
        )

    def create_run(
        self,
        *,
        prompt_id: int | str,
        version_id: int | str,
        project: int | str,
        project_subset: str | None = None,
        **params: Any,
    ) -> Run:
        """Run prompt inference (``POST .../inference-runs``); returns the new run (usually ``QUEUED``).

        Further body fields pass through as given, e.g. ``sample_subset_size=50``, ``only_missing_predictions=True``,
        ``task_ids=[...]`` (with ``project_subset="Custom"``), ``filters_json``. Not retried: a repeated POST
        would start a second run.
        """
        prompt, version = _id_text("prompt_id", prompt_id), _id_text("version_id", version_id)
        body: dict[str, Any] = {"project": int(_id_text("project", project))}
        if project_subset is not None:
            body["project_subset"] = project_subset
        body.update({k: v for k, v in params.items() if v is not None})
        data = self.transport.json(
            Request(
                method="POST",
                path=f"api/prompts/{prompt}/versions/{version}/inference-runs",
                json=body,
                idempotent=False,
            )
        )
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        return make_run_parser(self.instance, prompt, version)(data)

    def cancel_run(self, run: Run) -> None:
        """Cancel an inference run (``POST .../inference-runs/{id}/cancel``). The run's status becomes
        ``CANCELED`` on the server; list the runs again to see it."""
        if run.platform != self.name or run.kind != KIND:
            raise ConfigurationError(
                f"cancel_run takes a Label Studio {KIND}, got a {run.platform} {run.kind}", platform=self.name
            )
        if run.instance != self.instance:
            raise ConfigurationError(
                f"this run belongs to Label Studio at {run.instance}, not {self.instance}", platform=self.name
            )
        prompt, version = run.scope.get("prompt"), run.scope.get("version")
        if not prompt or not version:
            raise ConfigurationError(
                f"run {run.native_id} has no prompt/version in its scope; list it with runs() first",
                platform=self.name,
            )
        self.transport.send(
            Request(
                method="POST",
                path=f"api/prompts/{prompt}/versions/{version}/inference-runs/{run.native_id}/cancel",
                idempotent=True,
            )
        )

    # -- ML backends

    def ml_backends(self, *, project: int | str) -> list[MLBackend]:
        """The ML backends of ``project`` (``GET /api/ml/?project=``).

        Label Studio health-checks every backend of the project while answering (``GET /health`` and
        ``POST /setup`` on each model server) and saves the new states: the call is as slow as the slowest
        backend, and it changes what it reads (a ``TRAINING`` backend becomes ``CONNECTED``).
        """
        body = self.transport.json(Request(path="api/ml/", params={"project": _id_text("project", project)}))
        if not isinstance(body, list):
            raise PayloadError(
                f"GET api/ml/: expected a JSON array of ML backends, got {type(body).__name__}",
                platform=self.name,
                path="$",
            )
        backends = []
        for i, item in enumerate(body):
            try:
                backends.append(parse_backend(item))
            except PayloadError as exc:
                raise PayloadError(
                    f"GET api/ml/: {exc.message}", platform=self.name, path=f"$[{i}]{(exc.path or '$')[1:]}"
                ) from None
        return backends

    def ml_backend(self, backend_id: int | str) -> MLBackend:
        """One ML backend (``GET /api/ml/{id}``, no trailing slash). Label Studio health-checks it first."""
        return self._read_backend(_id_text("backend_id", backend_id))

    def _read_backend(self, backend: str) -> MLBackend:
        body = self.transport.json(Request(path=f"api/ml/{backend}"))
        try:
            return parse_backend(body)
        except PayloadError as exc:
            raise PayloadError(f"GET api/ml/{backend}: {exc.message}", platform=self.name, path=exc.path) from None

    def train_ml_backend(self, backend_id: int | str, *, use_ground_truth: bool | None = None) -> MLBackend:
        """Start training (``POST /api/ml/{id}/train``) and return the backend as read right after.

        Label Studio answers 200 with no body even when training fails; it records the failure on the backend
        (state ``ER`` and ``error_message``). So the backend is read again: ``state``/``error`` tell the outcome.
        Reading re-runs the health check, so a failure may show as ``DISCONNECTED`` (model server down, the
        training error kept in ``error``), and a started training may already show ``CONNECTED`` again.
        """
        backend = _id_text("backend_id", backend_id)
        body = {} if use_ground_truth is None else {"use_ground_truth": use_ground_truth}
        self.transport.send(Request(method="POST", path=f"api/ml/{backend}/train", json=body, idempotent=False))
        return self._read_backend(backend)

    def ml_backend_versions(self, backend_id: int | str) -> MLBackendVersions:
        """Model versions of an ML backend (``GET /api/ml/{id}/versions``)."""
        backend = _id_text("backend_id", backend_id)
        body = self.transport.json(Request(path=f"api/ml/{backend}/versions"))
        try:
            return parse_versions(int(backend), body)
        except PayloadError as exc:
            raise PayloadError(
                f"GET api/ml/{backend}/versions: {exc.message}", platform=self.name, path=exc.path
            ) from None
