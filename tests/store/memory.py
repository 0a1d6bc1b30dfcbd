"""An in-memory adapter for store tests: runs live in a list the test edits between syncs; pages of ``page_size``
by offset; ``fail_at`` makes the listing raise a typed error before a given page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar

from runtrack import Run, RunStatus, ServerError
from runtrack.adapter import Adapter, common_options
from runtrack.paginate import RawPage
from runtrack.store import SyncSpec

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def make_run(n: int, *, box: str = "a", status: RunStatus = RunStatus.SUCCEEDED, **changes: Any) -> Run:
    raw = {"id": f"r{n}", "box": box, "state": status.value.lower(), "nested": {"list": [n, 1.5, None], "big": 10**20}}
    fields: dict[str, Any] = {
        "platform": "memory",
        "instance": "mem.example",
        "kind": "run",
        "native_id": f"r{n}",
        "name": f"run {n}",
        "status": status,
        "status_raw": status.value.lower(),
        "created_at": T0 + timedelta(minutes=n),
        "started_at": T0 + timedelta(minutes=n, seconds=1),
        "ended_at": T0 + timedelta(minutes=n, seconds=30, microseconds=5),
        "scope": {"box": box},
        "metrics": {"tokens": n, "cost": Decimal("0.10"), "accuracy": 0.5},
        "tags": ("x", "ü"),
        "raw": raw,
    }
    fields.update(changes)
    return Run(**fields)


class MemoryListing:
    def __init__(self, adapter: MemoryAdapter, box: str | None, page_size: int, since: datetime | None) -> None:
        self.adapter = adapter
        self.box = box
        self.page_size = page_size
        self.since = since

    def _items(self) -> list[Run]:
        runs = [r for r in self.adapter.data if self.box is None or r.scope.get("box") == self.box]
        if self.since is not None:
            runs = [r for r in runs if r.ended_at is not None and r.ended_at >= self.since]
        return runs

    def resume_at(self, state: Any, position: int) -> Any:
        return int(state or 0) + position

    def pages(self, state: Any) -> Iterator[RawPage[Run]]:
        offset = int(state or 0)
        while True:
            if self.adapter.fail_at is not None and self.adapter.pages_served >= self.adapter.fail_at:
                raise ServerError("boom (HTTP 503)", platform="memory", status_code=503)
            self.adapter.pages_served += 1
            items = tuple(self._items()[offset : offset + self.page_size])
            end = offset + len(items)
            nxt = end if len(items) == self.page_size and end < len(self._items()) else None
            yield RawPage(items=items, state=offset, next_state=nxt)
            if nxt is None:
                return
            offset = nxt


class MemoryAdapter(Adapter):
    name = "memory"
    options = common_options(base_url_env=(), api_key_env=(), default_base_url="https://mem.example")
    instances: ClassVar[list[MemoryAdapter]] = []

    def __init__(self, data: list[Run] | None = None, **options: Any) -> None:
        super().__init__(api_key="secret-memory-key", **options)
        self.data: list[Run] = list(data or [])
        self.fail_at: int | None = None
        self.pages_served = 0
        self.since_asked: list[datetime | None] = []

    def listing(self, *, page_size: int | None = None, box: str | None = None) -> Any:  # type: ignore[override]
        return MemoryListing(self, box, page_size or 3, None)


class IncrementalAdapter(MemoryAdapter):
    """Declares cursor mode: ``ended_at`` grows when a run changes; ``changed_since`` is the lower bound."""

    name = "memory"

    def sync_spec(self, **scope: Any) -> SyncSpec:
        return SyncSpec(cursor_field="ended_at", since_param="changed_since", lag=timedelta(minutes=5))

    def listing(  # type: ignore[override]
        self, *, page_size: int | None = None, box: str | None = None, changed_since: datetime | None = None
    ) -> Any:
        self.since_asked.append(changed_since)
        return MemoryListing(self, box, page_size or 3, changed_since)
