"""The ``labelstudio-to-langsmith`` migration: annotations on Label Studio tasks become LangSmith feedback on the
runs they review, and optionally the reviewed runs become examples of a dataset. It closes the loop
``langsmith-to-labelstudio`` opens.

The direction lives with its source (reading tasks and annotations is Label Studio knowledge); the mapping is
:mod:`runtrack_labelstudio.feedback_mapping`, the writes are the LangSmith package's ``ReviewSink``. Options and
field map: docs/migrations.md (`labelstudio-to-langsmith`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from runtrack_langsmith.adapter import LangSmithAdapter
from runtrack_langsmith.feedback_sink import DEFAULT_CONCURRENCY, DEFAULT_FEEDBACK_PER_MINUTE, ReviewSink

from runtrack.adapter import Option, parse_concurrency
from runtrack.errors import ConfigurationError
from runtrack.migrate import Containers, Direction, Item, Sink, connect_store, destination_key
from runtrack.migrate.state import MigrationState

from .adapter import LabelStudioAdapter
from .annotations import Annotation, Control, Task
from .feedback_mapping import (
    DEFAULT_SCORES,
    ReviewMapping,
    RunRef,
    example_payload,
    feedback_payloads,
    latest_annotation,
    run_ref,
    usable_annotations,
)

__all__ = ["LabelStudioToLangSmith"]

NO_RUN = "task {task} carries no LangSmith run id (data.langsmith_run_id or meta.langsmith.run_id)"
RUN_GONE = "run {run} is not in LangSmith (an unknown id, or past retention): feedback would point at nothing"
NO_SESSION = "run {run} has no session_id (LangSmith is making it required for feedback)"


def _json_object(value: Any) -> dict[str, Any]:
    parsed = json.loads(value) if isinstance(value, str) else value
    if not isinstance(parsed, dict):
        raise ValueError('must be a JSON object, e.g. {"good": 1, "bad": 0}')
    return parsed


def _names(value: Any) -> frozenset[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return frozenset(str(v).strip() for v in items if str(v).strip())


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _positive(value: Any) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("must be > 0")
    return number


def _project(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError("must be a Label Studio project id (an integer)")
    return int(text)


class LabelStudioToLangSmith(Direction):
    """Label Studio annotations → LangSmith feedback (one per annotation and control), and dataset examples."""

    name: ClassVar[str] = "labelstudio-to-langsmith"
    source_platform: ClassVar[str] = "labelstudio"
    target_platform: ClassVar[str] = "langsmith"
    options = (
        Option(name="project", required=True, parse=_project, help="the Label Studio project whose annotations go"),
        Option(
            name="scores",
            default=dict(DEFAULT_SCORES),
            parse=_json_object,
            help='choice label -> score, JSON ({"good": 1, "bad": 0}), or control -> {label: score}',
        ),
        Option(name="keys", default={}, parse=_json_object, help="control -> feedback key, JSON (default: its name)"),
        Option(name="comment", default="comment", parse=_names, help="TextArea controls whose text is a comment"),
        Option(
            name="correction",
            default="correction",
            parse=_names,
            help="TextArea controls whose text is the corrected output",
        ),
        Option(name="normalize_ratings", default=False, parse=_flag, help="a rating's score is rating / maxRating"),
        Option(name="dataset", help="also make each reviewed run an example of this dataset (created if missing)"),
        Option(
            name="feedback_per_minute",
            default=DEFAULT_FEEDBACK_PER_MINUTE,
            parse=_positive,
            help=f"feedback writes a minute (default {DEFAULT_FEEDBACK_PER_MINUTE}; LangSmith documents 5,000)",
        ),
        Option(
            name="concurrency",
            default=DEFAULT_CONCURRENCY,
            parse=parse_concurrency,
            help=f"feedback requests in flight at once (default {DEFAULT_CONCURRENCY})",
        ),
        Option(
            name="extend_trace_retention",
            default=False,
            parse=_flag,
            help="let feedback upgrade the run's trace to extended (billed) retention",
        ),
    )

    def __init__(self, *, source: Any, target: Any, **options: Any) -> None:
        super().__init__(source=source, target=target, **options)
        if not isinstance(source, LabelStudioAdapter):
            raise ConfigurationError(f"{self.name}: the source must be a labelstudio adapter, got {source!r}")
        if not isinstance(target, LangSmithAdapter):
            raise ConfigurationError(f"{self.name}: the target must be a langsmith adapter, got {target!r}")
        self.mapping = ReviewMapping(
            scores=self.config["scores"],
            keys=self.config["keys"],
            comment=self.config["comment"],
            correction=self.config["correction"],
            normalize_ratings=self.config["normalize_ratings"],
        )
        dataset = self.config["dataset"]
        self.dataset: tuple[str, str] | None = None
        if dataset:
            dataset_id = destination_key(
                self.name, self.target_platform, target.instance, "dataset", f"{source.instance}:{dataset}"
            )
            self.dataset = (str(dataset), dataset_id)

    def items(self, **scope: Any) -> Iterator[Item]:
        if scope:
            raise ConfigurationError(
                f"{self.name} takes no scope ({', '.join(sorted(scope))}); the project is the option project="
            )
        project = self.config["project"]
        controls = self.source.labeling_config(project)
        for page in self.source.tasks(project).pages():
            refs = {task.id: run_ref(task) for task in page.items}
            run_ids = [ref.run_id for ref in refs.values() if ref is not None]
            runs = self.target.runs_by_id(run_ids) if run_ids else {}
            for task in page.items:
                yield from self._task_items(task, refs[task.id], runs, controls)

    def _task_items(
        self, task: Task, ref: RunRef | None, runs: Mapping[str, Mapping[str, Any]], controls: Mapping[str, Control]
    ) -> Iterator[Item]:
        ls = self.source.instance
        annotations = usable_annotations(task)
        if ref is None:
            for annotation in annotations:
                yield Item(source_key=f"{ls}:{annotation.id}:*", payload={}, blocked=NO_RUN.format(task=task.id))
            return
        run = runs.get(ref.run_id)
        blocked = RUN_GONE.format(run=ref.run_id) if run is None else None
        if run is not None:
            ref = ref.completed(run)
            blocked = NO_SESSION.format(run=ref.run_id) if ref.session_id is None else None
        for annotation in annotations:
            for control, payload in feedback_payloads(task, annotation, controls, self.mapping, ref, ls_instance=ls):
                yield Item(source_key=f"{ls}:{annotation.id}:{control}", payload={"feedback": payload}, blocked=blocked)
        if self.dataset is not None:
            yield from self._example(task, ref, run, controls, blocked)

    def _example(
        self,
        task: Task,
        ref: RunRef,
        run: Mapping[str, Any] | None,
        controls: Mapping[str, Control],
        blocked: str | None,
    ) -> Iterator[Item]:
        assert self.dataset is not None
        name, dataset_id = self.dataset
        annotation: Annotation | None = latest_annotation(task)
        if annotation is None:
            return
        ls = self.source.instance
        feedback = feedback_payloads(task, annotation, controls, self.mapping, ref, ls_instance=ls)
        payload = {}
        if run is not None:
            example = example_payload(task, annotation, feedback, ref, run, dataset_id=dataset_id, ls_instance=ls)
            payload = {"example": example}
        yield Item(source_key=f"{ls}:task:{task.id}:dataset:{name}", payload=payload, blocked=blocked)

    def sink(self, containers: Containers) -> Sink:
        return ReviewSink(
            self.target,
            containers=containers,
            feedback_per_minute=self.config["feedback_per_minute"],
            extend_trace_retention=self.config["extend_trace_retention"],
            dataset=self.dataset,
            concurrency=self.config["concurrency"],
        )

    def removed(self, store: Any) -> list[str]:
        """Ids of feedback (and examples) this migration wrote whose annotation (or task) is no longer in Label
        Studio. They are reported, never deleted: LangSmith brings deleted feedback back."""
        sink = self.sink(Containers(None, self.name))
        current = {
            destination_key(self.name, self.target_platform, sink.instance, sink.kind, item.source_key)
            for item in self.items()
        }
        state = MigrationState(connect_store(store), direction=self.name)
        try:
            mapped = state.mapped_keys(sink.instance, sink.kind)
        finally:
            state.close()
        return sorted(key for key, dest in mapped.items() if key not in current and dest is not None)
