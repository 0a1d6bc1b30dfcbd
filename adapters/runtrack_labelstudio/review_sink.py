"""A migration sink writing Label Studio review tasks (one task + one prediction per item) into one project.

Label Studio never dedupes imports and ignores task ids (docs/migrations.md), so every task carries its
migration key in ``data.runtrack_key`` and this sink finds tasks by that key with a Data Manager ``in_list``
filter before anything is written:

* ``lookup``: ``GET /api/tasks/?project=P&fields=all&include=id,data,predictions&query=<in_list filter>``, in
  requests of ``lookup_size`` keys (the keys travel in the URL; 100 keys are ~4.5 KB of query string);
* ``create``: one ``POST /api/projects/P/import?return_task_ids=true`` per batch, predictions embedded (Label
  Studio writes tasks and predictions in one transaction); a 400 is :class:`BatchRejected` (the engine bisects);
  a body over ``max_request_bytes`` is refused before sending, the same way; never retried;
* ``update``: ``PATCH /api/tasks/{id}/`` (data) and ``PATCH /api/predictions/{id}/`` (the runtrack prediction:
  the task's oldest), or ``POST /api/predictions/`` when the task has none; annotations are never touched;
* ``scan``: every task of the project (``include=id,data``) with a ``runtrack_key``.

The project is given by id, or created by ``prepare()`` with a description carrying a deterministic project key
(``runtrack-project-key: <uuid>``): a project created by an earlier, killed pass is found by that key (in the
store first, then in project descriptions), never by title.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runtrack.errors import ConfigurationError, PayloadError, RequestError
from runtrack.migrate import BatchRejected, Containers, Found, Item
from runtrack.paginate import Request

from .review import KEY_FIELD, check_config

if TYPE_CHECKING:
    from .adapter import LabelStudioAdapter

__all__ = ["ReviewTaskSink"]

PROJECT_KEY_MARK = "runtrack-project-key: "
_PAGE = 1000


class ReviewTaskSink:
    """Review tasks in one Label Studio project (given, or created on first apply)."""

    kind = "review_task"

    def __init__(
        self,
        adapter: LabelStudioAdapter,
        *,
        containers: Containers,
        data_fields: set[str],
        project: int | None = None,
        project_key: str,
        title: str,
        label_config: str,
        description: str = "",
        batch_size: int = 500,
        lookup_size: int = 100,
        max_request_bytes: int = 50 * 2**20,
    ) -> None:
        self.adapter = adapter
        self.transport = adapter.transport
        self.containers = containers
        self.data_fields = data_fields
        self.project_key = project_key
        self.title = title
        self.label_config = label_config
        self.description = description
        self.batch_size = batch_size
        self.lookup_size = lookup_size
        self.max_request_bytes = max_request_bytes
        self._given = project
        self._project: int | None = None
        self._resolved = False
        self._prediction_ids: dict[str, str | None] = {}  # task id -> runtrack prediction id
        check_config(label_config, data_fields, where="label_config option")

    # -- the project

    @property
    def project(self) -> int | None:
        """The project id; resolved on first use with reads only (None: it does not exist yet)."""
        if not self._resolved:
            self._project = self._resolve()
            self._resolved = True
        return self._project

    @property
    def instance(self) -> str:
        project = self.project
        return f"{self.adapter.instance}/projects/{project if project is not None else 'new'}"

    def _resolve(self) -> int | None:
        if self._given is not None:
            body = self.transport.get_json(f"api/projects/{self._given}/")
            if not isinstance(body, dict) or body.get("id") != self._given:
                raise PayloadError(f"GET api/projects/{self._given}/: not a project", platform="labelstudio")
            check_config(str(body.get("label_config") or ""), self.data_fields, where=f"project {self._given}")
            return self._given
        remembered = self.containers.get("project", self.project_key)
        if remembered is not None:  # read it: checks the token, and that nobody deleted it
            self.transport.get_json(f"api/projects/{remembered}/")
            return int(remembered)
        return self._find_by_key()

    def _find_by_key(self) -> int | None:
        """A project whose description carries this project key (created by a pass killed before it recorded
        the id)."""
        mark = PROJECT_KEY_MARK + self.project_key
        page = 1
        while True:
            body = self.transport.get_json("api/projects/", params={"page": page, "page_size": 100})
            results = body.get("results", []) if isinstance(body, dict) else body
            if not isinstance(results, list):
                raise PayloadError("GET api/projects/: expected a list of projects", platform="labelstudio", path="$")
            for project in results:
                if isinstance(project, dict) and mark in str(project.get("description") or ""):
                    self.containers.put("project", self.project_key, str(project["id"]))
                    return int(project["id"])
            if not isinstance(body, dict) or not body.get("next") or not results:
                return None
            page += 1

    def prepare(self) -> None:
        """Create the project if there is none yet (apply only)."""
        if self.project is not None:
            return
        description = (self.description + "\n\n" if self.description else "") + PROJECT_KEY_MARK + self.project_key
        body = self.transport.json(
            Request(
                method="POST",
                path="api/projects/",
                json={"title": self.title, "description": description, "label_config": self.label_config},
                idempotent=False,
            )
        )
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            raise PayloadError("POST api/projects/: answer without a project id", platform="labelstudio", path="$.id")
        self.containers.put("project", self.project_key, str(body["id"]))
        self._project = body["id"]

    # -- reading

    @property
    def updatable(self) -> bool:
        return True

    def _tasks(self, query: Mapping[str, Any] | None, include: str) -> Iterator[dict[str, Any]]:
        if self.project is None:
            return
        page, seen = 1, 0
        while True:
            params: dict[str, Any] = {
                "project": self.project,
                "fields": "all",
                "include": include,
                "page": page,
                "page_size": _PAGE,
            }
            if query is not None:
                params["query"] = json.dumps(query, separators=(",", ":"))
            body = self.transport.get_json("api/tasks/", params=params)
            tasks = body.get("tasks") if isinstance(body, dict) else None
            if not isinstance(tasks, list):
                raise PayloadError("GET api/tasks/: expected {tasks: [...]}", platform="labelstudio", path="$.tasks")
            yield from tasks
            seen += len(tasks)
            total = body.get("total") if isinstance(body, dict) else None
            if not tasks or not isinstance(total, int) or seen >= total:
                return
            page += 1

    def _found(self, task: dict[str, Any]) -> Found | None:
        data = task.get("data")
        if not isinstance(data, dict) or not isinstance(data.get(KEY_FIELD), str):
            return None
        task_id = str(task["id"])
        payload: dict[str, Any] = {"data": {k: v for k, v in data.items() if k != KEY_FIELD}}
        predictions = task.get("predictions")
        if isinstance(predictions, list):
            ours = min((p for p in predictions if isinstance(p, dict)), key=lambda p: p.get("id", 0), default=None)
            self._prediction_ids[task_id] = None if ours is None else str(ours["id"])
            if ours is not None:
                payload["prediction"] = {k: ours.get(k) for k in ("model_version", "result", "score")}
        return Found(key=data[KEY_FIELD], dest_id=task_id, payload=payload)

    def lookup(self, items: Sequence[Item]) -> Mapping[str, Found]:
        out: dict[str, Found] = {}
        keys = [i.key for i in items]
        for start in range(0, len(keys), self.lookup_size):
            chunk = keys[start : start + self.lookup_size]
            query = {
                "filters": {
                    "conjunction": "and",
                    "items": [
                        {
                            "filter": f"filter:tasks:data.{KEY_FIELD}",
                            "operator": "in_list",
                            "type": "String",
                            "value": chunk,
                        }
                    ],
                },
                "ordering": ["tasks:id"],
            }
            for task in self._tasks(query, "id,data,predictions"):
                found = self._found(task)
                if found is not None and found.key not in out:
                    out[found.key] = found
        return out

    def scan(self) -> Iterator[Found]:
        for task in self._tasks(None, "id,data"):
            found = self._found(task)
            if found is not None:
                yield found

    # -- writing

    def _task(self, item: Item) -> dict[str, Any]:
        task: dict[str, Any] = {"data": {**item.payload["data"], KEY_FIELD: item.key}}
        if item.payload.get("prediction") is not None:
            task["predictions"] = [dict(item.payload["prediction"])]
        return task

    def create(self, items: Sequence[Item]) -> Mapping[str, str]:
        project = self.project
        if project is None:
            raise ConfigurationError("the Label Studio project does not exist yet: prepare() first")
        body = [self._task(i) for i in items]
        size = len(json.dumps(body, separators=(",", ":")).encode())
        if size > self.max_request_bytes:
            raise BatchRejected(
                f"import body of {size} bytes is over the {self.max_request_bytes}-byte request limit",
                platform="labelstudio",
            )
        try:
            answer = self.transport.json(
                Request(
                    method="POST",
                    path=f"api/projects/{project}/import",
                    params={"return_task_ids": "true"},
                    json=body,
                    idempotent=False,
                )
            )
        except RequestError as exc:
            if exc.status_code == 400:
                raise BatchRejected(exc.message, platform="labelstudio", status_code=400) from None
            raise
        ids = answer.get("task_ids") if isinstance(answer, dict) else None
        if isinstance(ids, list) and len(ids) == len(items):  # Community: synchronous, ids in input order
            return {item.key: str(task_id) for item, task_id in zip(items, ids, strict=True)}
        # An asynchronous import (Enterprise) or no ids: find the tasks by key.
        return {key: found.dest_id for key, found in self.lookup(items).items()}

    def update(self, pairs: Sequence[tuple[Item, Found]]) -> None:
        for item, found in pairs:
            data = {**item.payload["data"], KEY_FIELD: item.key}
            self.transport.json(
                Request(method="PATCH", path=f"api/tasks/{found.dest_id}/", json={"data": data}, idempotent=True)
            )
            wanted = item.payload.get("prediction")
            there = (found.payload or {}).get("prediction")
            if wanted is None or wanted == there:
                continue
            prediction_id = self._prediction_ids.get(found.dest_id)
            if prediction_id is not None:
                self.transport.json(
                    Request(
                        method="PATCH", path=f"api/predictions/{prediction_id}/", json=dict(wanted), idempotent=True
                    )
                )
            else:
                self._add_prediction(found.dest_id, wanted)

    def _add_prediction(self, task_id: str, prediction: Mapping[str, Any]) -> None:
        self.transport.json(
            Request(method="POST", path="api/predictions/", json={"task": int(task_id), **prediction}, idempotent=False)
        )
