"""The LangSmith adapter: annotation-queue runs, queues, and adding runs to a queue."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import attrs

from runtrack.adapter import Adapter, Option, common_options, concurrency_option, rate_limit_option
from runtrack.errors import ConfigurationError, PayloadError, RuntrackError
from runtrack.http import ErrorInfo, HeaderAuth
from runtrack.model import Run
from runtrack.paginate import (
    FanOut,
    HttpListing,
    Listing,
    OffsetLimit,
    PageToken,
    Request,
    RunIterator,
    StaticListing,
    Strategy,
)

from . import vendor_errors
from .hydrate import Hydrator, utcnow
from .listings import HydratedItems, QueueEndpoints
from .mapping import KIND, PLATFORM, REVIEW_OF_SECTION, queue_run_parser
from .records import Queue, QueueEntry, parse_queue, parse_queue_entry
from .urls import DEFAULT_ENDPOINT, api_root, web_url

if TYPE_CHECKING:
    import requests

__all__ = ["LangSmithAdapter"]

QUEUES_PATH = "api/v1/annotation-queues"
MAX_PAGE_SIZE = 100  # /annotation-queues, /runs (limit 1..100, 422 beyond) and /items (page_size max 100)
REVIEW_FILTERS = ("needs_my_review", "needs_others_review", "completed")
#: review_status value -> the items endpoint's section (it has no "completed": the queue's rule met is "archived")
ITEMS_SECTION = {
    "needs_my_review": "needs_my_review",
    "needs_others_review": "needs_others_review",
    "completed": "archived",
    "archived": "archived",
}
ALL_SECTIONS = ("needs_my_review", "needs_others_review", "archived")
ENDPOINTS = ("auto", "runs", "items")
SCOPE = ("queue_id", "review_status", "archived")
# cast: the core's Strategy protocol declares ``may_drift`` settable; the frozen strategies make it read-only.
OFFSET_LIMIT = cast(Strategy, OffsetLimit())
ITEMS_PAGES = cast(
    Strategy, PageToken(next_path=("next_cursor",), token_param="cursor", size_param="page_size", items_field="items")
)


def _endpoint(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ENDPOINTS:
        raise ValueError(f"must be one of {', '.join(ENDPOINTS)}")
    return text


def _options() -> tuple[Option, ...]:
    common = common_options(
        base_url_env=("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT"),
        api_key_env=("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"),
        default_base_url=DEFAULT_ENDPOINT,
    )

    def with_api_root(opt: Option) -> Option:
        parse = opt.parse
        assert parse is not None
        return attrs.evolve(
            opt,
            parse=lambda value: api_root(parse(value)),
            help=opt.help + "; a trailing /api/v1 (self-hosted) is accepted",
        )

    return (
        *(with_api_root(opt) if opt.name == "base_url" else opt for opt in common),
        Option(
            name="workspace_id",
            env=("LANGSMITH_WORKSPACE_ID", "LANGSMITH_TENANT_ID"),
            help="workspace (tenant) id, sent as X-Tenant-Id; needed with organization-scoped keys",
        ),
        Option(
            name="endpoint",
            default="auto",
            parse=_endpoint,
            help="queue runs endpoint: 'auto' (deprecated /runs, then /items on 404/410), 'runs' or 'items'",
        ),
        Option(name="web_url", help="the LangSmith web app for deep links (derived from base_url by default)"),
        concurrency_option("queues"),
        rate_limit_option(100, "half of the 2,000 requests per 10 s LangSmith allows an API key"),
    )


class LangSmithAdapter(Adapter):
    """Runs in LangSmith annotation queues.

    ``runs(queue_id=, review_status=, archived=)`` lists one queue, or every queue when ``queue_id`` is missing.
    ``review_status`` is ``needs_my_review``, ``needs_others_review`` or ``completed`` (as the caller sees them).
    """

    name = PLATFORM
    kind = KIND
    options = _options()

    def __init__(self, *, environ: Mapping[str, str] | None = None, **options: Any) -> None:
        super().__init__(environ=environ, **options)
        self.web_url: str = str(self.config.get("web_url") or web_url(self.config["base_url"])).rstrip("/")
        #: how "now" is read for the run query's time window (replaceable in tests)
        self.clock: Callable[[], datetime] = utcnow
        self._lock = threading.Lock()
        self._items_queues: set[str] = set()
        self._runs_endpoint_gone = False

    # -- transport hooks

    def make_auth(self) -> HeaderAuth:
        headers: dict[str, Any] = {"X-API-Key": self.config["api_key"]}
        if self.config.get("workspace_id"):
            headers["X-Tenant-Id"] = str(self.config["workspace_id"])
        return HeaderAuth(headers)

    def describe_error(self, response: requests.Response) -> ErrorInfo:
        return vendor_errors.describe(response, workspace_id=self.config.get("workspace_id"))

    # -- which endpoint a queue uses (auto mode)

    def _prefer_items(self, queue_id: str) -> bool:
        return self._runs_endpoint_gone or queue_id in self._items_queues

    def _remember_items(self, queue_id: str, exc: RuntrackError) -> None:
        with self._lock:
            self._items_queues.add(queue_id)
            if exc.status_code == 410:  # Gone is about the endpoint, not one queue
                self._runs_endpoint_gone = True

    # -- listings

    def listing(self, *, page_size: int | None = None, **scope: Any) -> Listing[Run]:
        queue_id, review, archived = self._scope(scope)
        if queue_id is not None:
            return self._queue_listing(queue_id, review, archived, page_size)
        return FanOut(
            self._queues_listing({}, page_size=None),
            lambda queue: self._queue_listing(queue.id, review, archived, page_size),
            container_id=lambda queue: queue.id,
            concurrency=self.config["concurrency"],
        )

    def listing_name(self, scope: Mapping[str, Any]) -> str:
        """Names the listing inside its cursors from the normalized scope (``Completed`` and ``completed`` agree)."""
        queue_id, review, archived = self._scope(scope)
        return super().listing_name({"queue_id": queue_id, "review_status": review, "archived": archived})

    def _scope(self, scope: Mapping[str, Any]) -> tuple[str | None, str | None, bool | None]:
        unknown = sorted(set(scope) - set(SCOPE))
        if unknown:
            raise ConfigurationError(
                f"unknown scope keyword(s) {', '.join(unknown)} for langsmith; valid: {', '.join(SCOPE)}",
                platform=self.name,
            )
        queue_id = scope.get("queue_id")
        if queue_id is not None:
            queue_id = str(queue_id).strip()
            if not queue_id:
                raise ConfigurationError("queue_id must not be empty", platform=self.name)
        review = scope.get("review_status")
        if review is not None:
            review = str(review).strip().lower()
            if review not in ITEMS_SECTION:
                raise ConfigurationError(
                    f"invalid review_status {scope['review_status']!r}; valid: {', '.join(REVIEW_FILTERS)}",
                    platform=self.name,
                )
            review = "completed" if review == "archived" else review
        archived = scope.get("archived")
        if archived is not None and not isinstance(archived, bool):
            raise ConfigurationError(f"archived must be True, False or None, got {archived!r}", platform=self.name)
        return queue_id, review, archived

    def _queue_listing(
        self, queue_id: str, review: str | None, archived: bool | None, page_size: int | None
    ) -> Listing[Run]:
        return QueueEndpoints(
            queue_id=queue_id,
            mode=self.config["endpoint"],
            runs=lambda: self._runs_listing(queue_id, review, archived, page_size),
            items=lambda: self._items_listing(queue_id, review, archived, page_size),
            prefer_items=self._prefer_items,
            remember=self._remember_items,
        )

    def _runs_listing(
        self, queue_id: str, review: str | None, archived: bool | None, page_size: int | None
    ) -> Listing[Run]:
        """``GET /api/v1/annotation-queues/{id}/runs``: offset/limit, ends on a short or empty page."""
        params: dict[str, Any] = {}
        if review is not None:
            params["status"] = review
        if archived is not None:
            params["archived"] = "true" if archived else "false"
        return HttpListing(
            self.transport.json,
            Request(path=f"{QUEUES_PATH}/{queue_id}/runs", params=params),
            OFFSET_LIMIT,
            queue_run_parser(
                instance=self.instance,
                queue_id=queue_id,
                review=REVIEW_OF_SECTION[review] if review is not None else None,
                web=self.web_url,
            ),
            page_size=page_size,
            max_page_size=MAX_PAGE_SIZE,
            key=_run_key,
        )

    def _items_listing(
        self, queue_id: str, review: str | None, archived: bool | None, page_size: int | None
    ) -> Listing[Run]:
        """``GET /api/v1/platform/annotation-queues/{id}/items``, one section or several in turn."""
        if review is not None:
            sections: tuple[str, ...] = (ITEMS_SECTION[review],)
        elif archived is None:
            sections = ALL_SECTIONS
        else:
            sections = ("archived",) if archived else ALL_SECTIONS[:2]

        def section_listing(section: str) -> Listing[Run]:
            items: HttpListing[Any] = HttpListing(
                self.transport.json,
                Request(
                    path=f"api/v1/platform/annotation-queues/{queue_id}/items",
                    params={"status": section, "item_type": "RUN"},
                ),
                ITEMS_PAGES,
                _identity,
                page_size=page_size,
                max_page_size=MAX_PAGE_SIZE,
            )
            hydrator = Hydrator(
                self.transport.json,
                instance=self.instance,
                queue_id=queue_id,
                review=REVIEW_OF_SECTION[section],
                web=self.web_url,
                clock=self.clock,
            )
            return HydratedItems(items, hydrator)

        if len(sections) == 1:
            return section_listing(sections[0])
        return FanOut(StaticListing(sections), section_listing, container_id=str)

    # -- queues

    def _queues_listing(self, params: Mapping[str, Any], *, page_size: int | None) -> HttpListing[Queue]:
        return HttpListing(
            self.transport.json,
            Request(path=QUEUES_PATH, params=dict(params)),
            OFFSET_LIMIT,
            parse_queue,
            page_size=page_size,
            max_page_size=MAX_PAGE_SIZE,
            key=_run_key,
        )

    def queues(
        self,
        *,
        max_items: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        name: str | None = None,
        name_contains: str | None = None,
    ) -> RunIterator[Queue]:
        """Every annotation queue the key can see (lazy, resumable like :meth:`runs`)."""
        if page_size is not None and page_size < 1:
            raise ConfigurationError(f"page_size must be >= 1, got {page_size}", platform=self.name)
        params = {k: v for k, v in (("name", name), ("name_contains", name_contains)) if v is not None}
        filters = ",".join(f"{k}={v}" for k, v in sorted(params.items()))
        return RunIterator(
            self._queues_listing(params, page_size=page_size),
            name=f"{self.name}:{self.instance}:queues:{filters}",
            cursor=cursor,
            max_items=max_items,
        )

    # -- actions

    def add_to_queue(
        self,
        queue_id: str,
        runs_or_ids: Iterable[Run | str | uuid.UUID],
        *,
        extend_trace_retention: bool | None = None,
    ) -> tuple[QueueEntry, ...]:
        """Add runs (``Run`` objects of this adapter, or run ids) to a queue with one
        ``POST /api/v1/annotation-queues/{queue_id}/runs`` whose body is the array of run ids.

        Not retried: LangSmith does not document that adding a run twice is harmless.
        """
        queue = str(queue_id).strip()
        if not queue:
            raise ConfigurationError("queue_id must not be empty", platform=self.name)
        ids = [self._run_id(item, i) for i, item in enumerate(runs_or_ids)]
        if not ids:
            return ()
        params = {}
        if extend_trace_retention is not None:
            params["extend_trace_retention"] = "true" if extend_trace_retention else "false"
        body = self.transport.json(
            Request(method="POST", path=f"{QUEUES_PATH}/{queue}/runs", params=params, json=ids, idempotent=False)
        )
        if body is None:
            return ()
        if not isinstance(body, list):
            raise PayloadError(
                f"POST {QUEUES_PATH}/{queue}/runs: expected an array, got {type(body).__name__}",
                path="$",
                platform=self.name,
            )
        return tuple(parse_queue_entry(entry, i) for i, entry in enumerate(body))

    def _run_id(self, item: Run | str | uuid.UUID, index: int) -> str:
        if isinstance(item, Run):
            if item.platform != self.name:
                raise ConfigurationError(
                    f"runs_or_ids[{index}] is a {item.platform} run, not a LangSmith run", platform=self.name
                )
            return item.native_id
        if isinstance(item, uuid.UUID):
            return str(item)
        if isinstance(item, str) and item.strip():
            return item.strip()
        raise ConfigurationError(
            f"runs_or_ids[{index}] must be a Run or a run id string, got {type(item).__name__}", platform=self.name
        )


def _run_key(item: dict[str, Any]) -> Any:
    return item["id"]


def _identity(item: Any) -> Any:
    return item
