"""The ``langsmith-to-labelstudio`` migration: annotation-queue runs become Label Studio review tasks.

The direction lives with its source (reading ``Run.raw`` is LangSmith knowledge); the task shape, labeling config
and writes live in the Label Studio package (:mod:`runtrack_labelstudio.review`, ``ReviewTaskSink``). Field map
and options: docs/migrations.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from runtrack_labelstudio.adapter import LabelStudioAdapter
from runtrack_labelstudio.review import MAX_FIELD_CHARS, default_label_config, prediction, truncate
from runtrack_labelstudio.review_sink import ReviewTaskSink

from runtrack.adapter import Option
from runtrack.errors import ConfigurationError
from runtrack.migrate import Containers, Direction, Item, Sink, destination_key
from runtrack.model import Run

from .mapping import KIND, PLATFORM
from .review_text import input_text, model_name, output_text, run_payload

__all__ = ["DATA_FIELDS", "LangSmithToLabelStudio"]

#: Every ``data`` field of a review task (``runtrack_key`` is added by the sink). The ``langsmith_*`` fields are
#: what ``labelstudio-to-langsmith`` needs to write feedback on the run; they are filterable in the Data Manager.
DATA_FIELDS = (
    "input",
    "output",
    "run_name",
    "status",
    "error",
    "langsmith_url",
    "runtrack_uid",
    "langsmith_run_id",
    "langsmith_trace_id",
    "langsmith_session_id",
    "langsmith_queue_id",
    "langsmith_queue_run_id",
    "langsmith_start_time",
    "langsmith_instance",
)
DEFAULT_TITLE = "LangSmith review"


def _int_in(low: int, high: int) -> Any:
    def parse(value: Any) -> int:
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _title(value: Any) -> str:
    text = str(value).strip()
    if not 3 <= len(text) <= 50:
        raise ValueError("a Label Studio project title has 3 to 50 characters")
    return text


def _label_config(value: Any) -> str:
    text = str(value)
    if text.startswith("@"):
        try:
            return Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read {text[1:]}: {exc.strerror}") from None
    if "<View" not in text:
        raise ValueError("not a Label Studio labeling config (no <View>); pass the XML or @FILE")
    return text


def _project(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError("must be a Label Studio project id (an integer)")
    return int(text)


class LangSmithToLabelStudio(Direction):
    """LangSmith annotation-queue runs → Label Studio review tasks, each with the run's output as a prediction."""

    name: ClassVar[str] = "langsmith-to-labelstudio"
    source_platform: ClassVar[str] = PLATFORM
    target_platform: ClassVar[str] = "labelstudio"
    options = (
        Option(name="project", parse=_project, help="id of an existing project; default: create one on first apply"),
        Option(name="project_title", default=DEFAULT_TITLE, parse=_title, help="title of a project runtrack creates"),
        Option(name="label_config", parse=_label_config, help="labeling config XML (or @FILE) of a created project"),
        Option(name="batch_size", default=500, parse=_int_in(1, 5000), help="tasks per import request"),
        Option(name="lookup_size", default=100, parse=_int_in(1, 1000), help="keys per lookup request (in the URL)"),
        Option(
            name="max_field_chars",
            default=MAX_FIELD_CHARS,
            parse=_int_in(100, 10_000_000),
            help="input/output/error text longer than this is cut, with a note",
        ),
    )

    def __init__(self, *, source: Any, target: Any, **options: Any) -> None:
        super().__init__(source=source, target=target, **options)
        if not isinstance(target, LabelStudioAdapter):
            raise ConfigurationError(f"{self.name}: the target must be a labelstudio adapter, got {target!r}")
        if self.config["project"] is not None and self.config["label_config"] is not None:
            raise ConfigurationError(f"{self.name}: label_config applies to a created project; omit project=")

    def _runs(self, scope: dict[str, Any]) -> Iterator[Run]:
        if getattr(self.source, "name", None) == PLATFORM:  # the LangSmith adapter: live
            yield from self.source.runs(**scope)
        else:  # a runtrack store holding synced LangSmith runs
            yield from self.source.runs(platform=PLATFORM, **scope)

    def items(self, **scope: Any) -> Iterator[Item]:
        for run in self._runs(scope):
            if run.platform == PLATFORM and run.kind == KIND:
                yield self.item(run)

    def item(self, run: Run) -> Item:
        """The review task of one run."""
        limit = self.config["max_field_chars"]
        body = run_payload(run.raw)
        if body is None:
            return Item(
                source_key=run.uid,
                payload={},
                blocked="LangSmith did not return this run (deleted or past retention): nothing to review",
            )
        inputs, outputs = input_text(body.get("inputs")), output_text(body.get("outputs"))
        scope = run.scope
        started = run.started_at
        fields = {
            "input": None if inputs is None else truncate(inputs, limit),
            "output": None if outputs is None else truncate(outputs, limit),
            "run_name": run.name,
            "status": run.status.value,
            "error": None if run.error is None else truncate(run.error, limit),
            "langsmith_url": run.url,
            "runtrack_uid": run.uid,
            "langsmith_run_id": run.native_id,
            "langsmith_trace_id": scope.get("trace_id"),
            "langsmith_session_id": scope.get("session_id"),
            "langsmith_queue_id": scope.get("queue_id"),
            "langsmith_queue_run_id": scope.get("queue_run_id"),
            "langsmith_start_time": None if started is None else started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "langsmith_instance": run.instance,
        }
        # Label Studio's Text tags refuse null values (the whole import fails): an unknown value is "".
        data = {k: "" if v is None else v for k, v in fields.items()}
        origin = model_name(body) or run.name or "run"
        version = f"langsmith:{origin}"[:200]
        return Item(
            source_key=run.uid,
            payload={"data": data, "prediction": prediction(data["output"] or None, model_version=version)},
        )

    def sink(self, containers: Containers) -> Sink:
        title = self.config["project_title"]
        host = self.target.instance
        return ReviewTaskSink(
            self.target,
            containers=containers,
            data_fields=set(DATA_FIELDS),
            project=self.config["project"],
            project_key=destination_key(self.name, self.target_platform, host, "project", title),
            title=title,
            label_config=self.config["label_config"] or default_label_config(),
            description="LangSmith runs for review, written by runtrack (langsmith-to-labelstudio).",
            batch_size=self.config["batch_size"],
            lookup_size=self.config["lookup_size"],
        )
