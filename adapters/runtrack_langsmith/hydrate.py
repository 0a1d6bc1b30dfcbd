"""Turning a page of queue items (``GET /api/v1/platform/annotation-queues/{id}/items``, ids and partition keys
only) into runs, through ``POST /api/v2/runs/query``.

Request shape (langsmith 0.15 ``runs.query``; see docs/langsmith.md): ``project_ids`` is required even with
``ids``; ``min_start_time`` defaults to *one day ago*, so it is always sent (the earliest item start minus a
margin, or 2000-01-01 when an item has no start time); ``max_start_time`` is now plus a margin (a run of a trace
starts at or after the trace start the item carries); ``selects`` defaults to ``ID`` only, so the fields are
named; ``page_size`` is 1..1000 and ``next_cursor`` is followed. The POST only reads, so it is retried like a GET.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from runtrack.convert import format_datetime, id_text, parse_datetime
from runtrack.errors import PayloadError
from runtrack.http import Request
from runtrack.model import ReviewStatus, Run
from runtrack.paginate import HttpListing, PageToken, SkippedItem, Strategy

from .mapping import map_item_run

__all__ = ["QUERY_PATH", "SELECTS", "Hydrator"]

log = logging.getLogger("runtrack.langsmith")

QUERY_PATH = "api/v2/runs/query"
#: Run fields asked of the v2 query (it returns only ``id`` unless told). Heavy ones (events, manifest) are left out.
SELECTS = (
    "ID",
    "NAME",
    "RUN_TYPE",
    "STATUS",
    "START_TIME",
    "END_TIME",
    "FIRST_TOKEN_TIME",
    "ERROR",
    "EXTRA",
    "METADATA",
    "INPUTS",
    "OUTPUTS",
    "INPUTS_PREVIEW",
    "OUTPUTS_PREVIEW",
    "TAGS",
    "PROJECT_ID",
    "TRACE_ID",
    "THREAD_ID",
    "PARENT_RUN_IDS",
    "DOTTED_ORDER",
    "IS_ROOT",
    "APP_PATH",
    "FEEDBACK_STATS",
    "REFERENCE_EXAMPLE_ID",
    "PROMPT_TOKENS",
    "COMPLETION_TOKENS",
    "TOTAL_TOKENS",
    "PROMPT_COST",
    "COMPLETION_COST",
    "TOTAL_COST",
)
#: ids per query: the v2 query documents no maximum for ``ids``; an items page holds at most 100 anyway.
MAX_IDS_PER_QUERY = 100
QUERY_MAX_PAGE_SIZE = 1000
WINDOW_MARGIN = timedelta(days=1)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # what the SDK's own helpers use for "all history"
# cast: the core's Strategy protocol declares ``may_drift`` settable; the frozen strategies make it read-only.
QUERY_PAGES = cast(
    Strategy,
    PageToken(
        next_path=("next_cursor",), token_param="cursor", size_param="page_size", items_field="items", token_in="json"
    ),
)


#: which items of a page are runs (their indices) and the runs ``runs/query`` returned: run id -> (run, JSON path)
Lookup = tuple[list[int], dict[str, tuple[dict[str, Any], str]]]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Hydrator:
    """Maps one page of queue items to runs, in item order, with one run query per 100 ids.

    Items that are not runs (THREAD items, suggested examples without ``run_id``) are left out and counted in
    ``skipped``; runs the query does not return (outside the window, deleted, past retention) are kept as runs
    built from the item alone (status UNKNOWN, ``raw["run"]`` None) and counted in ``unresolved``.
    """

    def __init__(
        self,
        fetch: Callable[[Request], Any],
        *,
        instance: str,
        queue_id: str,
        review: ReviewStatus,
        web: str,
        clock: Callable[[], datetime] = utcnow,
        on_invalid: str = "raise",
    ) -> None:
        self.fetch = fetch
        self.on_invalid = on_invalid
        self.instance = instance
        self.queue_id = queue_id
        self.review = review
        self.web = web
        self.clock = clock
        self.skipped = 0
        self.unresolved = 0

    def __call__(
        self, items: Sequence[Any], positions: Sequence[int]
    ) -> tuple[list[Run], list[int], list[SkippedItem]]:
        """Runs for ``items`` (raw items at ``positions`` of the items page), the positions of those kept, and
        the items left out because they could not be mapped (``on_invalid="skip"``; otherwise that raises)."""
        return self.build(items, positions, self.lookup(items, positions))

    def lookup(self, items: Sequence[Any], positions: Sequence[int]) -> Lookup:
        """The round trips of :meth:`__call__`: which items are runs, and the runs ``runs/query`` returns for them
        (a pipeline runs this for the next page while the consumer maps this one with :meth:`build`)."""
        wanted: list[int] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise PayloadError(f"expected a queue item object, got {type(item).__name__}", path=_at(positions[i]))
            item_type = item.get("item_type")
            if item.get("run_id") is not None:
                try:
                    id_text(item["run_id"], "$.run_id")
                except PayloadError as exc:
                    raise PayloadError(exc.message, path=_at(positions[i]) + ".run_id") from None
            if item.get("run_id") is None or (item_type is not None and str(item_type).upper() != "RUN"):
                continue
            wanted.append(i)
        if len(wanted) < len(items):
            not_runs = len(items) - len(wanted)
            self.skipped += not_runs
            log.warning("queue %s: %d item(s) without a run (threads or examples) left out", self.queue_id, not_runs)
        found: dict[str, tuple[dict[str, Any], str]] = {}
        queryable = [i for i in wanted if items[i].get("project_id") is not None]
        for start in range(0, len(queryable), MAX_IDS_PER_QUERY):
            chunk = queryable[start : start + MAX_IDS_PER_QUERY]
            found.update(self._query([items[i] for i in chunk], [positions[i] for i in chunk]))
        return wanted, found

    def build(
        self, items: Sequence[Any], positions: Sequence[int], looked_up: Lookup
    ) -> tuple[list[Run], list[int], list[SkippedItem]]:
        """Map the items of :meth:`lookup` to runs (CPU only, no I/O)."""
        wanted, found = looked_up
        runs = []
        kept: list[int] = []
        skipped: list[SkippedItem] = []
        missing = 0
        for i in wanted:
            item = items[i]
            hit = found.get(str(item["run_id"]))
            if hit is None:
                missing += 1
            try:
                runs.append(
                    map_item_run(
                        item,
                        hit[0] if hit else None,
                        instance=self.instance,
                        queue_id=self.queue_id,
                        review=self.review,
                        web=self.web,
                        run_path=hit[1] if hit else "$",
                    )
                )
            except PayloadError as exc:
                message = f"POST {QUERY_PATH} (run {item['run_id']} of queue item {_at(positions[i])}): {exc.message}"
                if self.on_invalid != "skip":
                    raise PayloadError(message, path=exc.path) from None
                skipped.append(
                    SkippedItem(path=exc.path or _at(positions[i]), native_id=str(item["run_id"]), reason=message)
                )
                log.warning("queue %s: skipped the invalid run %s: %s", self.queue_id, item["run_id"], message)
                continue
            kept.append(positions[i])
        if missing:
            self.unresolved += missing
            log.warning(
                "queue %s: %d run(s) named by queue items were not returned by %s (deleted, past retention, or "
                "outside the start-time window); they are listed from the item alone with status UNKNOWN",
                self.queue_id,
                missing,
                QUERY_PATH,
            )
        return runs, kept, skipped

    def _query(self, items: list[dict[str, Any]], positions: list[int]) -> dict[str, tuple[dict[str, Any], str]]:
        starts = [
            parse_datetime(it.get("start_time"), f"{_at(p)}.start_time") for it, p in zip(items, positions, strict=True)
        ]
        known = [s for s in starts if s is not None]
        low = EARLIEST if len(known) < len(starts) else min(known) - WINDOW_MARGIN
        high = max([self.clock(), *known]) + WINDOW_MARGIN
        body = {
            "project_ids": sorted({str(it["project_id"]) for it in items}),
            "ids": [str(it["run_id"]) for it in items],
            "min_start_time": format_datetime(low),
            "max_start_time": format_datetime(high),
            "selects": list(SELECTS),
        }
        listing: HttpListing[Any] = HttpListing(
            self.fetch,
            Request(method="POST", path=QUERY_PATH, json=body, idempotent=True),  # the POST only reads
            QUERY_PAGES,
            _identity,
            page_size=len(items),
            max_page_size=QUERY_MAX_PAGE_SIZE,
        )
        found: dict[str, tuple[dict[str, Any], str]] = {}
        for page in listing.pages(None):
            for j, run in enumerate(page.items):
                if isinstance(run, dict) and run.get("id") is not None:
                    found.setdefault(str(run["id"]), (run, f"$.items[{j}]"))
        return found


def _identity(item: Any) -> Any:
    return item


def _at(position: int) -> str:
    return f"$.items[{position}]"
