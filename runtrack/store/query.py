"""Filters of ``Store.runs``/``Store.count`` as one SQL ``WHERE`` over indexed columns of ``runs``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..model import RunStatus
from .rows import timestamp

__all__ = ["Filters", "where"]

Filters = dict[str, Any]


def _values(value: str | Iterable[str]) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    return [item.value if isinstance(item, RunStatus) else str(item) for item in items]


def _in(column: str, value: str | Iterable[str], params: list[Any]) -> str:
    values = _values(value)
    params.extend(values)
    if len(values) == 1:
        return f"{column} = ?"
    return f"{column} IN ({', '.join('?' * len(values))})"


def where(
    *,
    platform: str | Iterable[str] | None = None,
    source: str | Iterable[str] | None = None,
    status: str | RunStatus | Iterable[str | RunStatus] | None = None,
    since: datetime | None = None,
    changed_since: datetime | None = None,
    include_deleted: bool = False,
    listing: str | None = None,
) -> tuple[str, list[Any]]:
    """``(" WHERE ...", params)`` for the filters (empty text when there are none), on columns of ``r`` (runs).

    ``since`` keeps runs created (else started) at or after it, and runs with neither time, like the live report;
    ``changed_since`` keeps runs inserted, changed or deleted after it; ``listing`` keeps the runs the listing
    returned in its last pass.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if platform is not None:
        clauses.append(_in("r.platform", platform, params))
    if source is not None:
        clauses.append(_in("r.source", source, params))
    if status is not None:
        clauses.append(_in("r.status", status if not isinstance(status, RunStatus) else status.value, params))
    if since is not None:
        clauses.append("(r.at >= ? OR r.at IS NULL)")
        params.append(timestamp(since))
    if changed_since is not None:
        clauses.append("r.last_changed_at > ?")
        params.append(timestamp(changed_since))
    if not include_deleted:
        clauses.append("r.deleted_at IS NULL")
    if listing is not None:
        clauses.append(
            "r.id IN (SELECT m.run_id FROM listing_members m "
            "WHERE m.listing_id = (SELECT l.id FROM listings l WHERE l.listing_key = ?))"
        )
        params.append(listing)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
