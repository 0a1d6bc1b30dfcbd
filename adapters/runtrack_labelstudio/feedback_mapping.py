"""Mapping Label Studio annotations to LangSmith feedback and dataset examples: pure functions, no I/O.

* Which run a task is about (:func:`run_ref`): ``data.langsmith_run_id`` / ``_trace_id`` / ``_session_id`` /
  ``_start_time`` (what ``langsmith-to-labelstudio`` writes), else ``meta.langsmith.run_id`` / ``trace_id`` /
  ``session_id`` / ``start_time`` (the shape of migration.md §5.3). Empty strings count as missing.
* One feedback per annotation and control (:func:`feedback_payloads`), its score and value from the control type:
  Choices → ``value`` the label (a list when several), ``score`` from the ``scores`` map (their mean when several,
  null when a label has no score); Rating → ``score`` the rating (divided by ``maxRating`` with
  ``normalize_ratings``); Number → ``score`` the number; TextArea → ``value`` the text, or, for a text control
  marked ``comment``, ``comment`` the text, or, for one marked ``correction``, ``correction``
  ``{"outputs": text}`` when the text differs from the task's ``output`` (null when the reviewer left it).
* ``feedback_source`` names the Label Studio instance, project, task, annotation, annotator and creation time: what
  never changes for one annotation, since LangSmith's PATCH cannot rewrite ``feedback_source``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

from runtrack.convert import parse_datetime
from runtrack.errors import PayloadError

from .annotations import Annotation, Control, Task

__all__ = [
    "DEFAULT_SCORES",
    "ReviewMapping",
    "RunRef",
    "example_payload",
    "feedback_payloads",
    "latest_annotation",
    "run_ref",
    "usable_annotations",
]

#: The labels of ``langsmith-to-labelstudio``'s generated review choice, scored.
DEFAULT_SCORES: Mapping[str, float] = {"good": 1, "bad": 0}
#: LangSmith's ``key`` limit
MAX_KEY_CHARS = 180
RUN_FIELDS = ("run_id", "trace_id", "session_id", "start_time")
RFC3339 = "%Y-%m-%dT%H:%M:%S.%fZ"


@attrs.frozen(kw_only=True)
class RunRef:
    """The LangSmith run a task is about, as the task says (``session_id``/``trace_id``/``start_time`` may be None:
    the run read from LangSmith fills them in)."""

    run_id: str
    trace_id: str | None = None
    session_id: str | None = None
    start_time: str | None = None
    runtrack_uid: str | None = None

    def completed(self, run: Mapping[str, Any]) -> RunRef:
        """Missing identifiers taken from the run as LangSmith returned it."""
        start = run.get("start_time")
        return attrs.evolve(
            self,
            trace_id=self.trace_id or _text(run.get("trace_id")),
            session_id=self.session_id or _text(run.get("session_id")),
            start_time=self.start_time or (_rfc3339(start) if isinstance(start, str) else None),
        )


@attrs.frozen(kw_only=True)
class ReviewMapping:
    """How controls become feedback. ``scores``: label → score for every Choices control, or control name →
    {label: score}; ``keys``: control name → feedback key (default: the control name); ``comment`` /
    ``correction``: the TextArea controls whose text is a comment / a corrected output."""

    scores: Mapping[str, Any] = attrs.field(factory=lambda: dict(DEFAULT_SCORES))
    keys: Mapping[str, str] = attrs.field(factory=dict)
    comment: frozenset[str] = frozenset({"comment"})
    correction: frozenset[str] = frozenset({"correction"})
    normalize_ratings: bool = False

    def key(self, control: str) -> str:
        return self.keys.get(control, control)[:MAX_KEY_CHARS]

    def score_of(self, control: str, label: str) -> float | None:
        per_control = self.scores.get(control)
        table = per_control if isinstance(per_control, Mapping) else self.scores
        value = table.get(label)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _rfc3339(value: str) -> str:
    """A start time as LangSmith wants it: with an offset (naive is UTC); an unreadable one is sent as it is."""
    try:
        parsed = parse_datetime(value)
    except PayloadError:
        return value
    return value if parsed is None else parsed.strftime(RFC3339)


def run_ref(task: Task) -> RunRef | None:
    """The run a task is about, or None when it carries no LangSmith run id."""
    meta = task.meta.get("langsmith") if isinstance(task.meta.get("langsmith"), Mapping) else {}
    assert isinstance(meta, Mapping)
    found = {f: _text(task.data.get(f"langsmith_{f}")) or _text(meta.get(f)) for f in RUN_FIELDS}
    run_id = found["run_id"]
    if run_id is None:
        return None
    start = found["start_time"]
    return RunRef(
        run_id=run_id,
        trace_id=found["trace_id"],
        session_id=found["session_id"],
        start_time=_rfc3339(start) if start else None,
        runtrack_uid=_text(task.data.get("runtrack_uid")),
    )


def usable_annotations(task: Task) -> list[Annotation]:
    """The annotations that count: not cancelled (skipped)."""
    return [a for a in task.annotations if not a.was_cancelled]


def latest_annotation(task: Task) -> Annotation | None:
    """The most recently updated usable annotation (the one an example follows)."""
    usable = usable_annotations(task)
    floor = datetime.min.replace(tzinfo=timezone.utc)
    return max(usable, key=lambda a: (a.updated_at or floor, a.id), default=None)


def _results_by_control(annotation: Annotation, controls: Mapping[str, Control]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for result in annotation.result:
        name = result.get("from_name")
        if isinstance(name, str) and name in controls and isinstance(result.get("value"), Mapping):
            out.setdefault(name, []).append(result["value"])
    return out


def _texts(values: Iterable[Mapping[str, Any]]) -> str | None:
    lines: list[str] = []
    for value in values:
        text = value.get("text")
        lines += [str(t) for t in text] if isinstance(text, list) else [str(text)] if text is not None else []
    return "\n".join(lines) if lines else None


def _numbers(values: Iterable[Mapping[str, Any]], field: str) -> float | None:
    numbers = [v[field] for v in values if isinstance(v.get(field), (int, float)) and not isinstance(v[field], bool)]
    return float(numbers[-1]) if numbers else None


def control_feedback(
    control: Control, values: Sequence[Mapping[str, Any]], mapping: ReviewMapping, *, original_output: Any
) -> dict[str, Any]:
    """``score``, ``value``, ``comment`` and ``correction`` of one control's results."""
    out: dict[str, Any] = {"score": None, "value": None, "comment": None, "correction": None}
    if control.type == "choices":
        labels = [str(c) for v in values for c in (v.get("choices") or []) if isinstance(v.get("choices"), list)]
        scores = [mapping.score_of(control.name, label) for label in labels]
        out["value"] = labels[0] if len(labels) == 1 else labels
        if labels and all(s is not None for s in scores):
            out["score"] = sum(s for s in scores if s is not None) / len(scores)
    elif control.type == "rating":
        rating = _numbers(values, "rating")
        if rating is not None and mapping.normalize_ratings and control.max_rating:
            rating = rating / control.max_rating
        out["score"] = rating
    elif control.type == "number":
        out["score"] = _numbers(values, "number")
    else:
        text = _texts(values)
        if control.name in mapping.comment:
            out["comment"] = text
        elif control.name in mapping.correction:
            changed = text is not None and text != (original_output if isinstance(original_output, str) else None)
            out["correction"] = {"outputs": text} if changed else None
        else:
            out["value"] = text
    return out


def feedback_payloads(
    task: Task,
    annotation: Annotation,
    controls: Mapping[str, Control],
    mapping: ReviewMapping,
    run: RunRef,
    *,
    ls_instance: str,
) -> list[tuple[str, dict[str, Any]]]:
    """``(control name, feedback payload)`` for each control the annotation has a result for, in config order."""
    by_control = _results_by_control(annotation, controls)
    source = {
        "type": "api",
        "metadata": {
            "source": "labelstudio",
            "ls_instance": ls_instance,
            "project_id": task.project,
            "task_id": task.id,
            "annotation_id": annotation.id,
            "completed_by": annotation.completed_by,
            "annotation_created_at": None if annotation.created_at is None else annotation.created_at.strftime(RFC3339),
            "runtrack_uid": run.runtrack_uid,
        },
    }
    out: list[tuple[str, dict[str, Any]]] = []
    for name, control in controls.items():
        if name not in by_control:
            continue
        fields = control_feedback(control, by_control[name], mapping, original_output=task.data.get("output"))
        payload = {
            "key": mapping.key(name),
            "run_id": run.run_id,
            "trace_id": run.trace_id,
            "session_id": run.session_id,
            "start_time": run.start_time,
            **fields,
            "feedback_source": source,
        }
        out.append((name, payload))
    return out


def example_payload(
    task: Task,
    annotation: Annotation,
    feedback: Sequence[tuple[str, Mapping[str, Any]]],
    run: RunRef,
    run_body: Mapping[str, Any],
    *,
    dataset_id: str,
    ls_instance: str,
) -> dict[str, Any]:
    """A dataset example of a reviewed run: inputs from the run, outputs from the correction if there is one (else
    the run's outputs), the annotation's feedback in the metadata (key → score, else value)."""
    correction = next((f["correction"] for _, f in feedback if f.get("correction")), None)
    outputs = {"output": correction["outputs"]} if correction else run_body.get("outputs")
    return {
        "dataset_id": dataset_id,
        "inputs": run_body.get("inputs") or {},
        "outputs": outputs,
        "metadata": {
            "source": "labelstudio",
            "ls_instance": ls_instance,
            "ls_task_id": task.id,
            "annotation_id": annotation.id,
            "runtrack_uid": run.runtrack_uid,
            "corrected": correction is not None,
            "feedback": {f["key"]: f["score"] if f["score"] is not None else f["value"] for _, f in feedback},
        },
        "source_run_id": run.run_id,
        "split": "base",
    }
