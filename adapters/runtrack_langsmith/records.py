"""Plain records the LangSmith adapter returns besides runs: queues and queue entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from runtrack.convert import id_text, mask_secret_fields, parse_datetime
from runtrack.errors import PayloadError

__all__ = ["Queue", "QueueEntry", "parse_queue", "parse_queue_entry"]


@attrs.frozen(kw_only=True)
class Queue:
    """An annotation queue (``GET /api/v1/annotation-queues``). ``raw`` is the payload as received."""

    id: str
    name: str | None = None
    description: str | None = None
    queue_type: str | None = None
    total_runs: int | None = None
    tenant_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Any = None


@attrs.frozen(kw_only=True)
class QueueEntry:
    """One run added to a queue (``POST /api/v1/annotation-queues/{id}/runs``): ``id`` is the queue-run id."""

    id: str | None
    queue_id: str | None
    run_id: str | None
    added_at: datetime | None = None
    raw: Any = None


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return None if value is None else str(value)


def parse_queue(item: Any) -> Queue:
    if not isinstance(item, dict):
        raise PayloadError(f"expected a queue object, got {type(item).__name__}", path="$")
    queue_id = id_text(item.get("id"))
    total = item.get("total_runs")
    return Queue(
        id=queue_id,
        name=_text(item, "name"),
        description=_text(item, "description"),
        queue_type=_text(item, "queue_type"),
        total_runs=total if isinstance(total, int) and not isinstance(total, bool) else None,
        tenant_id=_text(item, "tenant_id"),
        created_at=parse_datetime(item.get("created_at"), "$.created_at"),
        updated_at=parse_datetime(item.get("updated_at"), "$.updated_at"),
        raw=mask_secret_fields(item),
    )


def parse_queue_entry(item: Any, index: int) -> QueueEntry:
    if not isinstance(item, dict):
        raise PayloadError(f"expected a queue entry object, got {type(item).__name__}", path=f"$[{index}]")
    return QueueEntry(
        id=_text(item, "id"),
        queue_id=_text(item, "queue_id"),
        run_id=_text(item, "run_id"),
        added_at=parse_datetime(item.get("added_at"), f"$[{index}].added_at"),
        raw=mask_secret_fields(item),
    )
