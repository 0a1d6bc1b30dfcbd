"""The Foundry adapter: Model Studio runs, config versions and launch (all ``preview=true`` endpoints)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs

from runtrack import Adapter, ConfigurationError, PayloadError, Run, RunIterator
from runtrack.adapter import Option, common_options, concurrency_option, rate_limit_option
from runtrack.http import ErrorInfo, HeaderAuth
from runtrack.paginate import FanOut, HttpListing, Listing, PageToken, Request, StaticListing

from .config_versions import ConfigVersion, config_version_parser
from .enrich import BuildEndTimes, EndTimeEnricher
from .errors import describe_error
from .mapping import KIND, check_rid, run_parser

if TYPE_CHECKING:
    import requests

__all__ = ["MAX_PAGE_SIZE", "FoundryAdapter"]

#: The vendor documents no maximum and treats pageSize as a suggestion; runtrack caps what it asks for.
MAX_PAGE_SIZE = 1000
#: Foundry allows a user 30 concurrent requests; fan-out workers stay well below.
PREVIEW = {"preview": "true"}
# Typed Any: the core's Strategy protocol declares ``may_drift`` settable, the frozen strategies make it read-only.
PAGE_TOKEN: Any = PageToken()
NO_STUDIOS = (
    "no Model Studio to list: Foundry has no endpoint that lists Model Studios, so pass model_studio_rid=... "
    "or configure the studios with connect('foundry', model_studios=[...]) or FOUNDRY_MODEL_STUDIOS (comma-separated)"
)


def foundry_base_url(value: Any) -> str:
    """``HOST``, ``https://HOST`` or ``https://HOST/api`` all mean the stack at ``https://HOST``."""
    text = str(value).strip().rstrip("/")
    if "://" not in text:
        text = "https://" + text
    if not text.startswith(("http://", "https://")):
        raise ValueError("must be a host name or an http(s) URL")
    if text.endswith("/api"):
        text = text[: -len("/api")]
    return text


def parse_studios(value: Any) -> tuple[str, ...]:
    """A list of RIDs, or one comma-separated string; duplicates dropped, order kept."""
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("expected a list of Model Studio RIDs or a comma-separated string")
    rids: dict[str, None] = {}
    for i, item in enumerate(items):
        if isinstance(item, str) and not item.strip():
            continue
        rids[check_rid(item, f"model_studios[{i}]")] = None
    return tuple(rids)


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _base_url_option(option: Option) -> Option:
    if option.name != "base_url":
        return option
    return attrs.evolve(option, parse=foundry_base_url, help="the Foundry stack's URL or bare host name")


class FoundryAdapter(Adapter):
    """Palantir Foundry Model Studio runs.

    Options: ``base_url`` (``FOUNDRY_HOSTNAME``; a bare host means ``https://HOST``), ``api_key``
    (``FOUNDRY_TOKEN``, sent as ``Authorization: Bearer``), ``model_studios`` (RIDs; ``FOUNDRY_MODEL_STUDIOS``),
    ``concurrency`` (studios listed at once by a fan-out), ``enrich_end_times`` (fill ``ended_at`` from the runs'
    builds, extra requests), ``timeout``, ``max_retries``.
    Scope keywords of :meth:`runs`: ``model_studio_rid`` (missing: every configured studio), ``config_version``.
    """

    name = "foundry"
    kind = KIND
    options = (
        *(
            _base_url_option(o)
            for o in common_options(base_url_env=("FOUNDRY_HOSTNAME",), api_key_env=("FOUNDRY_TOKEN",))
        ),
        Option(
            name="model_studios",
            env=("FOUNDRY_MODEL_STUDIOS",),
            default=(),
            parse=parse_studios,
            help="Model Studio RIDs to list when runs() gets no model_studio_rid (Foundry cannot list studios)",
        ),
        concurrency_option("studios"),
        rate_limit_option(75, "Foundry allows a user 5,000 requests a minute; service users have no rate limit"),
        Option(
            name="enrich_end_times",
            default=False,
            parse=parse_bool,
            help="fill ended_at from the Orchestration builds (one getBatch request per 100 new builds)",
        ),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._end_times: BuildEndTimes | None = None

    def make_auth(self) -> HeaderAuth:
        token = self.api_key
        return HeaderAuth({"Authorization": f"Bearer {token}"}, secret_values=(token,))

    def describe_error(self, response: requests.Response) -> ErrorInfo:
        return describe_error(response)

    @property
    def model_studios(self) -> tuple[str, ...]:
        """The configured Model Studio RIDs."""
        studios: tuple[str, ...] = self.config["model_studios"]
        return studios

    # -- runs

    def listing(
        self,
        *,
        page_size: int | None = None,
        model_studio_rid: str | None = None,
        config_version: int | str | None = None,
        **unknown: Any,
    ) -> Listing[Run]:
        if unknown:
            raise ConfigurationError(
                f"unknown scope keyword(s) {', '.join(sorted(unknown))} for foundry; "
                "valid: model_studio_rid, config_version",
                platform=self.name,
            )
        version = self._config_version(config_version)
        listing: Listing[Run]
        if model_studio_rid is not None:
            listing = self._studio_runs(self._rid(model_studio_rid, "model_studio_rid"), version, page_size)
        else:
            if not self.model_studios:
                raise ConfigurationError(NO_STUDIOS, platform=self.name)
            listing = FanOut(
                StaticListing(self.model_studios),
                lambda rid: self._studio_runs(rid, version, page_size),
                container_id=str,
                concurrency=self.config["concurrency"],
            )
        if self.config["enrich_end_times"]:
            listing = EndTimeEnricher(listing, self.end_times)
        return listing

    def _studio_runs(self, rid: str, config_version: int | None, page_size: int | None) -> Listing[Run]:
        return HttpListing(
            self.transport.json,
            Request(path=f"{_studio_path(rid)}/runs", params={**PREVIEW, "configVersion": config_version}),
            PAGE_TOKEN,
            run_parser(platform=self.name, instance=self.instance, model_studio_rid=rid),
            page_size=page_size,
            max_page_size=MAX_PAGE_SIZE,
        )

    @property
    def end_times(self) -> BuildEndTimes:
        """The build end-time lookup used by ``enrich_end_times`` (its cache lives as long as the adapter)."""
        if self._end_times is None:
            self._end_times = BuildEndTimes(self.transport.json)
        return self._end_times

    # -- launch

    def create_run(self, *, model_studio_rid: str | None = None, **params: Any) -> Run:
        """Launch the studio with its latest config version (``POST .../launch``); returns the new run.

        A launch is a write: it is never retried, so a failed call may still have started a run.
        """
        if model_studio_rid is None:
            raise ConfigurationError("create_run needs model_studio_rid=...", platform=self.name)
        if params:
            raise ConfigurationError(
                f"create_run got {', '.join(sorted(params))}: a Foundry launch takes no parameters "
                "(it always uses the studio's latest config version)",
                platform=self.name,
            )
        rid = self._rid(model_studio_rid, "model_studio_rid")
        request = Request(method="POST", path=f"{_studio_path(rid)}/launch", params=PREVIEW, idempotent=False)
        body = self.transport.json(request)
        try:
            return run_parser(platform=self.name, instance=self.instance, model_studio_rid=rid)(body)
        except PayloadError as exc:
            raise PayloadError(
                f"{request.describe()}: unexpected launch response: {exc.message}", path=exc.path, platform=self.name
            ) from None

    def launch(self, model_studio_rid: str) -> Run:
        """Same as ``create_run(model_studio_rid=...)``."""
        return self.create_run(model_studio_rid=model_studio_rid)

    # -- config versions

    def config_versions(
        self,
        model_studio_rid: str,
        *,
        page_size: int | None = None,
        cursor: str | None = None,
        max_items: int | None = None,
    ) -> RunIterator[ConfigVersion]:
        """The studio's config versions, lazily, with page cursors like :meth:`runs`."""
        if page_size is not None and page_size < 1:
            raise ConfigurationError(f"page_size must be >= 1, got {page_size}", platform=self.name)
        rid = self._rid(model_studio_rid, "model_studio_rid")
        listing = HttpListing(
            self.transport.json,
            Request(path=f"{_studio_path(rid)}/configVersions", params=PREVIEW),
            PAGE_TOKEN,
            config_version_parser(rid),
            page_size=page_size,
            max_page_size=MAX_PAGE_SIZE,
        )
        name = f"{self.name}:{self.instance}:config_version:model_studio_rid={rid}"
        return RunIterator(listing, name=name, cursor=cursor, max_items=max_items)

    def config_version(self, model_studio_rid: str, version: int) -> ConfigVersion:
        """One config version; a version that does not exist is a :class:`runtrack.NotFoundError`."""
        rid = self._rid(model_studio_rid, "model_studio_rid")
        number = self._config_version(version)
        version_record = self._one_config_version(rid, str(number))
        if version_record is None:
            raise PayloadError(f"config version {number} of {rid}: the response is empty", platform=self.name)
        return version_record

    def latest_config_version(self, model_studio_rid: str) -> ConfigVersion | None:
        """The studio's latest config version, or None when the studio has none yet (an empty answer)."""
        return self._one_config_version(self._rid(model_studio_rid, "model_studio_rid"), "latest")

    def _one_config_version(self, rid: str, which: str) -> ConfigVersion | None:
        request = Request(path=f"{_studio_path(rid)}/configVersions/{which}", params=PREVIEW)
        body = self.transport.json(request)
        if body is None:
            return None
        try:
            return config_version_parser(rid)(body)
        except PayloadError as exc:
            raise PayloadError(f"{request.describe()}: {exc.message}", path=exc.path, platform=self.name) from None

    # -- checks

    def _rid(self, value: Any, what: str) -> str:
        try:
            return check_rid(value, what)
        except ValueError as exc:
            raise ConfigurationError(str(exc), platform=self.name) from None

    def _config_version(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        raise ConfigurationError(f"config_version must be an integer, got {value!r}", platform=self.name)


def _studio_path(rid: str) -> str:
    return f"api/v2/models/modelStudios/{quote(rid, safe='')}"
