"""Records of LangSmith's feedback and dataset APIs: :class:`Feedback`, :class:`Dataset`, :class:`Example`.

Parsers name the JSON path of what they cannot read; ``raw`` keeps the payload as received.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from runtrack.convert import parse_datetime
from runtrack.errors import PayloadError

__all__ = ["Dataset", "Example", "Feedback", "parse_dataset", "parse_example", "parse_feedback"]


@attrs.frozen(kw_only=True)
class Feedback:
    """One feedback on a run (``/api/v1/feedback``)."""

    id: str
    key: str
    run_id: str | None = None
    trace_id: str | None = None
    session_id: str | None = None
    score: Any = None
    value: Any = None
    comment: str | None = None
    correction: Any = None
    feedback_source: Any = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    raw: Any = None


@attrs.frozen(kw_only=True)
class Dataset:
    """A dataset (``/api/v1/datasets``)."""

    id: str
    name: str
    description: str | None = None
    raw: Any = None


@attrs.frozen(kw_only=True)
class Example:
    """One dataset example (``/api/v1/examples``)."""

    id: str
    dataset_id: str | None = None
    inputs: Any = None
    outputs: Any = None
    metadata: Any = None
    source_run_id: str | None = None
    split: Any = None
    raw: Any = None


def _object(item: Any, what: str, path: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise PayloadError(f"expected {what} object, got {type(item).__name__}", path=path)
    if item.get("id") is None:
        raise PayloadError(f"{what} has no id", path=f"{path}.id")
    return item


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return None if value is None else str(value)


def parse_feedback(item: Any, path: str = "$") -> Feedback:
    item = _object(item, "a feedback", path)
    if not isinstance(item.get("key"), str):
        raise PayloadError("feedback has no key", path=f"{path}.key")
    return Feedback(
        id=str(item["id"]),
        key=item["key"],
        run_id=_text(item, "run_id"),
        trace_id=_text(item, "trace_id"),
        session_id=_text(item, "session_id"),
        score=item.get("score"),
        value=item.get("value"),
        comment=_text(item, "comment"),
        correction=item.get("correction"),
        feedback_source=item.get("feedback_source"),
        created_at=parse_datetime(item.get("created_at"), f"{path}.created_at"),
        modified_at=parse_datetime(item.get("modified_at"), f"{path}.modified_at"),
        raw=item,
    )


def parse_dataset(item: Any, path: str = "$") -> Dataset:
    item = _object(item, "a dataset", path)
    if not isinstance(item.get("name"), str):
        raise PayloadError("dataset has no name", path=f"{path}.name")
    return Dataset(id=str(item["id"]), name=item["name"], description=_text(item, "description"), raw=item)


def parse_example(item: Any, path: str = "$") -> Example:
    item = _object(item, "an example", path)
    return Example(
        id=str(item["id"]),
        dataset_id=_text(item, "dataset_id"),
        inputs=item.get("inputs"),
        outputs=item.get("outputs"),
        metadata=item.get("metadata"),
        source_run_id=_text(item, "source_run_id"),
        split=item.get("split"),
        raw=item,
    )
