"""Label Studio Prompts inference runs (``ModelRun``) to :class:`runtrack.Run`.

``make_run_parser`` returns the per-item function: one dict lookup per field, no intermediate objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from runtrack.convert import enum_table, id_text, open_enum, parse_datetime
from runtrack.errors import PayloadError
from runtrack.model import Actor, Metric, Run, RunStatus, make_uid

__all__ = ["KIND", "STATUS", "make_run_parser", "parse_actor", "run_native_id"]

PLATFORM = "labelstudio"
ACTOR_CACHE = 1024
#: ``Run.kind`` of Prompts inference runs.
KIND = "prompt_inference_run"

#: ``ModelRunStatusEnum`` (lower case keys); anything else is UNKNOWN with ``status_raw`` kept.
STATUS: Mapping[str, RunStatus] = {
    "pending": RunStatus.QUEUED,
    "inprogress": RunStatus.RUNNING,
    "completed": RunStatus.SUCCEEDED,
    "failed": RunStatus.FAILED,
    "canceled": RunStatus.CANCELED,
    "cancelled": RunStatus.CANCELED,
}


_STATUS_TABLE = enum_table(STATUS)


def parse_actor(value: Any, path: str = "$.created_by") -> Actor | None:
    """``created_by``: a user id (older servers), a ``UserSimple`` object, or null (the user was deleted)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise PayloadError("expected a user id or object, got a boolean", path=path)
    if isinstance(value, (int, str)):
        return Actor(id=str(value))
    if isinstance(value, dict):
        uid = value.get("id")
        return Actor(
            id=None if uid is None else str(uid),
            username=value.get("username") or None,
            email=value.get("email") or None,
        )
    raise PayloadError(f"expected a user id or object, got {type(value).__name__}", path=path)


def _count(item: Mapping[str, Any], field: str) -> int | None:
    value = item.get(field)
    if value is None or (type(value) is int and value >= 0):
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise PayloadError(f"expected a non-negative integer, got {str(value)[:40]!r}", path=f"$.{field}")


def _id(value: Any, field: str | None = None) -> str | None:
    """An id field as text; empty, or a documentation placeholder (``"model_version": "model_version"`` in the
    published examples of the old single-object shape), is absent."""
    if value is None or value == "" or isinstance(value, bool) or (field is not None and value == field):
        return None
    return str(value)


#: fields of the old single-object shape that never change during a run's life: its derived id is made of them
_STABLE_FIELDS = ("project", "project_subset", "created_at", "organization")


def run_native_id(item: Mapping[str, Any], prompt_id: str | None, version_id: str | None) -> str:
    """The run's ``id``. The old single-object shape has no ``id`` key in every published example: one is derived
    from the prompt, the version and the fields that stay the same while the run goes on (``derived-`` + 16 hex)."""
    if "id" in item:  # an id that is there must be usable (null is an error, not "no id")
        return id_text(item["id"])
    prompt = _id(item.get("parent_model"), "parent_model") or prompt_id or ""
    version = _id(item.get("model_version"), "model_version") or version_id or ""
    parts = [prompt, version, *(str(item.get(f)) for f in _STABLE_FIELDS)]
    return "derived-" + hashlib.sha1("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def make_run_parser(instance: str, prompt_id: str | None = None, version_id: str | None = None) -> Callable[[Any], Run]:
    """The mapping of one ``ModelRun`` item. ``prompt_id``/``version_id`` fill the scope when the item lacks
    ``parent_model``/``model_version`` (servers before SDK 2.1.1 omit ``model_version``)."""
    actors: dict[Any, Actor | None] = {}  # few users create many runs; Actor is frozen, so share it

    def actor(value: Any) -> Actor | None:
        kind = type(value)
        if kind is dict:
            uid = value.get("id")
            key: Any = (type(uid), uid, value.get("username"), value.get("email"))
        elif kind is int or kind is str:
            key = (kind, value)
        else:
            return parse_actor(value)
        try:
            return actors[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable id: let parse_actor handle it
            return parse_actor(value)
        if len(actors) >= ACTOR_CACHE:
            actors.clear()
        found = actors[key] = parse_actor(value)
        return found

    def parse_run(item: Any) -> Run:
        if not isinstance(item, dict):
            raise PayloadError(f"expected an inference run object, got {type(item).__name__}", path="$")
        native_id = run_native_id(item, prompt_id, version_id)
        status, status_raw = open_enum(RunStatus, _STATUS_TABLE, item.get("status"))

        scope: dict[str, str] = {}
        prompt = _id(item.get("parent_model"), "parent_model") or prompt_id
        if prompt is not None:
            scope["prompt"] = prompt
        version = _id(item.get("model_version"), "model_version") or version_id
        if version is not None:
            scope["version"] = version
        project = _id(item.get("project"))
        if project is not None:
            scope["project"] = project

        metrics: dict[str, Metric] = {}
        tasks = _count(item, "total_tasks")
        if tasks is not None:
            metrics["tasks"] = tasks
        predictions = _count(item, "total_predictions")
        correct = _count(item, "total_correct_predictions")
        if predictions is not None:
            metrics["predictions"] = predictions
        if correct is not None:
            metrics["correct"] = correct
            if predictions:
                metrics["accuracy"] = correct / predictions

        source = item.get("source_model_run")
        return Run(
            platform=PLATFORM,
            instance=instance,
            kind=KIND,
            native_id=native_id,
            status=status,
            status_raw=status_raw,
            created_at=parse_datetime(item.get("created_at"), "$.created_at"),
            started_at=parse_datetime(item.get("triggered_at"), "$.triggered_at"),
            ended_at=parse_datetime(item.get("completed_at"), "$.completed_at"),
            created_by=actor(item.get("created_by")),
            parent_uid=None if source is None else make_uid(PLATFORM, instance, KIND, str(source)),
            scope=scope,
            metrics=metrics,
            raw=item,
        )

    return parse_run
