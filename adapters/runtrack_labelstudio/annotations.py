"""Label Studio annotations as a source: a project's tasks with their annotations, and its labeling config's
controls.

* ``GET /api/tasks/?project=P&fields=all&page=N&page_size=S`` answers ``{total, total_annotations,
  total_predictions, tasks}`` with every annotation inline (cancelled ones too: ``was_cancelled``); a page past the
  end is 404 "Invalid page." (checked on 1.23.2, ``tests/labelstudio/data/tasks_fields_all_*.json``). The listing
  ends on an empty or short page or when ``total`` tasks were read, so it never asks for that page.
* The labeling config (``GET /api/projects/{id}/``, ``label_config``) is XML; :func:`parse_label_config` reads the
  controls whose results become feedback: ``Choices``, ``Rating``, ``Number`` and ``TextArea``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

import attrs

from runtrack.convert import parse_datetime
from runtrack.errors import ConfigurationError, PayloadError
from runtrack.paginate import HttpListing, PageNumber, Request, RunIterator, Strategy

if TYPE_CHECKING:
    from runtrack.http import Transport

__all__ = [
    "CONTROL_TYPES",
    "Annotation",
    "Control",
    "LabelStudioAnnotations",
    "Task",
    "parse_label_config",
    "parse_task",
]

#: labeling-config tags whose results map to feedback, by their result ``type``
CONTROL_TYPES = {"Choices": "choices", "Rating": "rating", "Number": "number", "TextArea": "textarea"}
#: tasks per page (the server has no maximum unless ``TASK_API_PAGE_SIZE_MAX`` is set)
TASKS_PAGE_SIZE = 100
DEFAULT_MAX_RATING = 5


@attrs.frozen(kw_only=True)
class Control:
    """One control of a labeling config: ``name`` (a result's ``from_name``), ``type`` (``choices``,
    ``rating``, ``number``, ``textarea``), what it labels (``to_name``), its choice values (in order) and, for a
    Rating, ``max_rating``; ``attrs`` keeps every XML attribute."""

    name: str
    type: str
    to_name: str | None = None
    choices: tuple[str, ...] = ()
    max_rating: int | None = None
    attrs: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Annotation:
    """One annotation of a task (``completed_by`` is the annotator's user id, or an object on some servers)."""

    id: int
    task_id: int
    result: tuple[Mapping[str, Any], ...]
    completed_by: Any = None
    was_cancelled: bool = False
    lead_time: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Any = None


@attrs.frozen(kw_only=True)
class Task:
    """A task with its annotations (cancelled ones included: filter on :attr:`Annotation.was_cancelled`)."""

    id: int
    project: int | None
    data: Mapping[str, Any]
    meta: Mapping[str, Any]
    annotations: tuple[Annotation, ...] = ()
    updated_at: datetime | None = None
    raw: Any = None


def parse_label_config(xml: str) -> dict[str, Control]:
    """The feedback controls of a labeling config, by name (other tags are ignored)."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise PayloadError(f"the labeling config is not valid XML: {exc}", path="$.label_config") from None
    controls: dict[str, Control] = {}
    for element in root.iter():
        kind = CONTROL_TYPES.get(element.tag)
        name = element.get("name")
        if kind is None or not name:
            continue
        choices = (
            tuple(c.get("value") or c.get("alias") or "" for c in element.iter("Choice")) if kind == "choices" else ()
        )
        max_rating = None
        if kind == "rating":
            raw = element.get("maxRating") or element.get("maxrating")
            max_rating = int(raw) if raw and raw.strip().isdigit() else DEFAULT_MAX_RATING
        controls[name] = Control(
            name=name,
            type=kind,
            to_name=element.get("toName"),
            choices=choices,
            max_rating=max_rating,
            attrs=dict(element.attrib),
        )
    return controls


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"expected an integer id, got {value!r}", path=path)
    return value


def parse_task(item: Any, path: str = "$") -> Task:
    """A task of ``GET /api/tasks/?fields=all``."""
    if not isinstance(item, dict):
        raise PayloadError(f"expected a task object, got {type(item).__name__}", path=path)
    task_id = _int(item.get("id"), f"{path}.id")
    data = item.get("data")
    if not isinstance(data, dict):
        raise PayloadError("task has no data object", path=f"{path}.data")
    meta: dict[str, Any] = item["meta"] if isinstance(item.get("meta"), dict) else {}
    raw_annotations = item.get("annotations") or []
    if not isinstance(raw_annotations, list):
        raise PayloadError("expected an array of annotations", path=f"{path}.annotations")
    annotations = tuple(_annotation(a, task_id, f"{path}.annotations[{i}]") for i, a in enumerate(raw_annotations))
    project = item.get("project")
    return Task(
        id=task_id,
        project=project if isinstance(project, int) and not isinstance(project, bool) else None,
        data=data,
        meta=meta,
        annotations=annotations,
        updated_at=parse_datetime(item.get("updated_at"), f"{path}.updated_at"),
        raw=item,
    )


def _annotation(item: Any, task_id: int, path: str) -> Annotation:
    if not isinstance(item, dict):
        raise PayloadError(f"expected an annotation object, got {type(item).__name__}", path=path)
    result = item.get("result") or []
    if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
        raise PayloadError("expected an array of result objects", path=f"{path}.result")
    lead = item.get("lead_time")
    return Annotation(
        id=_int(item.get("id"), f"{path}.id"),
        task_id=task_id,
        result=tuple(result),
        completed_by=item.get("completed_by"),
        was_cancelled=bool(item.get("was_cancelled")),
        lead_time=float(lead) if isinstance(lead, (int, float)) and not isinstance(lead, bool) else None,
        created_at=parse_datetime(item.get("created_at"), f"{path}.created_at"),
        updated_at=parse_datetime(item.get("updated_at"), f"{path}.updated_at"),
        raw=item,
    )


def _task_id(item: Any) -> Any:
    return item.get("id") if isinstance(item, dict) else None


class LabelStudioAnnotations:
    """Tasks with annotations and labeling configs (a mixin of :class:`~runtrack_labelstudio.LabelStudioAdapter`)."""

    name: ClassVar[str]
    instance: str
    transport: Transport

    def project(self, project: int | str) -> dict[str, Any]:
        """``GET /api/projects/{id}/`` as received."""
        body = self.transport.json(Request(path=f"api/projects/{_project_id(project)}/"))
        if not isinstance(body, dict):
            raise PayloadError(f"expected a project object, got {type(body).__name__}", path="$", platform=self.name)
        return body

    def labeling_config(self, project: int | str) -> dict[str, Control]:
        """The Choices/Rating/Number/TextArea controls of a project's labeling config, by name."""
        config = self.project(project).get("label_config")
        if not isinstance(config, str):
            raise PayloadError("project has no label_config", path="$.label_config", platform=self.name)
        try:
            return parse_label_config(config)
        except PayloadError as exc:
            exc.platform = self.name
            raise

    def tasks(
        self,
        project: int | str,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        cursor: str | None = None,
    ) -> RunIterator[Task]:
        """Every task of ``project`` with its annotations (``GET /api/tasks/?project=&fields=all``), lazily and
        resumably (``cursor``)."""
        pid = _project_id(project)
        listing = HttpListing(
            self.transport.json,
            Request(path="api/tasks/", params={"project": pid, "fields": "all"}),
            _PAGE_NUMBERS,
            parse_task,
            page_size=page_size or TASKS_PAGE_SIZE,
            key=_task_id,
        )
        return RunIterator(
            listing, name=f"{self.name}:{self.instance}:tasks:project={pid}", cursor=cursor, max_items=max_items
        )


# cast: the Strategy protocol declares ``may_drift`` settable; the frozen strategies make it read-only.
_PAGE_NUMBERS = cast(Strategy, PageNumber(items_field="tasks"))


def _project_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ConfigurationError(f"project must be an integer id, got {value!r}", platform="labelstudio")
    return str(int(value))
