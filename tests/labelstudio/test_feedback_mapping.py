"""Annotations → LangSmith feedback and examples: the pure mapping."""

from __future__ import annotations

from typing import Any

from runtrack_labelstudio.annotations import parse_label_config, parse_task
from runtrack_labelstudio.feedback_mapping import (
    ReviewMapping,
    RunRef,
    example_payload,
    feedback_payloads,
    latest_annotation,
    run_ref,
)

CONFIG = """<View>
  <Text name="output" value="$output"/>
  <Choices name="review" toName="output" choice="multiple"><Choice value="good"/><Choice value="bad"/>
    <Choice value="unsure"/></Choices>
  <Rating name="quality" toName="output" maxRating="4"/>
  <Number name="confidence" toName="output"/>
  <TextArea name="notes" toName="output"/>
  <TextArea name="comment" toName="output"/>
  <TextArea name="correction" toName="output"/>
  <Labels name="ner" toName="output"><Label value="X"/></Labels>
</View>"""
CONTROLS = parse_label_config(CONFIG)
RUN = "0190a1b2-c3d4-7ef0-a5b6-6ea3a82e9328"
SESSION = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b"


def result(name: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"from_name": name, "to_name": "output", "type": kind, "value": value}


def task(results: list[dict[str, Any]], **data: Any) -> Any:
    return parse_task(
        {
            "id": 4,
            "project": 2,
            "data": {"output": "the answer", "langsmith_run_id": RUN, **data},
            "meta": {},
            "annotations": [
                {
                    "id": 11,
                    "result": results,
                    "completed_by": 1,
                    "was_cancelled": False,
                    "created_at": "2026-11-28T08:01:35.309129Z",
                    "updated_at": "2026-11-28T08:05:00Z",
                },
                {"id": 12, "result": [], "was_cancelled": True, "updated_at": "2026-11-28T09:00:00Z"},
            ],
        }
    )


def payloads(t: Any, mapping: ReviewMapping | None = None) -> dict[str, dict[str, Any]]:
    ref = run_ref(t)
    assert ref is not None
    rows = feedback_payloads(t, t.annotations[0], CONTROLS, mapping or ReviewMapping(), ref, ls_instance="ls:8080")
    return dict(rows)


def test_each_control_type_gets_its_score_and_value() -> None:
    t = task(
        [
            result("review", "choices", {"choices": ["bad"]}),
            result("quality", "rating", {"rating": 3}),
            result("confidence", "number", {"number": 7}),
            result("notes", "textarea", {"text": ["line 1", "line 2"]}),
            result("comment", "textarea", {"text": ["too long"]}),
            result("correction", "textarea", {"text": ["a better answer"]}),
            result("ner", "labels", {"labels": ["X"], "start": 0, "end": 1}),
        ]
    )
    got = payloads(t)
    assert list(got) == ["review", "quality", "confidence", "notes", "comment", "correction"]
    assert (got["review"]["score"], got["review"]["value"]) == (0.0, "bad")
    assert (got["quality"]["score"], got["quality"]["value"]) == (3.0, None)
    assert got["confidence"]["score"] == 7.0
    assert (got["notes"]["value"], got["notes"]["comment"]) == ("line 1\nline 2", None)
    assert (got["comment"]["comment"], got["comment"]["value"]) == ("too long", None)
    assert got["correction"]["correction"] == {"outputs": "a better answer"}
    assert all(p["run_id"] == RUN and p["key"] == name for name, p in got.items())


def test_feedback_source_names_task_annotation_annotator_and_time() -> None:
    source = payloads(task([result("review", "choices", {"choices": ["good"]})], runtrack_uid="u-1"))["review"]
    assert source["feedback_source"] == {
        "type": "api",
        "metadata": {
            "source": "labelstudio",
            "ls_instance": "ls:8080",
            "project_id": 2,
            "task_id": 4,
            "annotation_id": 11,
            "completed_by": 1,
            "annotation_created_at": "2026-11-28T08:01:35.309129Z",
            "runtrack_uid": "u-1",
        },
    }


def test_an_unchanged_correction_is_no_correction() -> None:
    got = payloads(task([result("correction", "textarea", {"text": ["the answer"]})]))
    assert got["correction"]["correction"] is None


def test_several_labels_score_their_mean_and_an_unscored_label_scores_nothing() -> None:
    mapping = ReviewMapping(scores={"review": {"good": 1, "bad": 0, "unsure": 0.5}})
    got = payloads(task([result("review", "choices", {"choices": ["good", "unsure"]})]), mapping)
    assert (got["review"]["value"], got["review"]["score"]) == (["good", "unsure"], 0.75)
    plain = payloads(task([result("review", "choices", {"choices": ["unsure"]})]))
    assert (plain["review"]["value"], plain["review"]["score"]) == ("unsure", None)


def test_keys_ratings_and_marked_controls_are_options() -> None:
    mapping = ReviewMapping(
        keys={"quality": "helpfulness"},
        normalize_ratings=True,
        comment=frozenset({"notes"}),
        correction=frozenset(),
    )
    got = payloads(
        task([result("quality", "rating", {"rating": 3}), result("notes", "textarea", {"text": ["n"]})]), mapping
    )
    assert got["quality"]["key"] == "helpfulness" and got["quality"]["score"] == 0.75
    assert got["notes"]["comment"] == "n"


def test_run_identifiers_from_data_fields_then_meta_and_empty_strings_are_missing() -> None:
    t = task([], langsmith_trace_id="", langsmith_session_id=SESSION, langsmith_start_time="2025-05-08T17:42:03")
    ref = run_ref(t)
    assert ref == RunRef(run_id=RUN, session_id=SESSION, start_time="2025-05-08T17:42:03.000000Z")
    meta_only = parse_task(
        {"id": 1, "data": {"text": "x"}, "meta": {"langsmith": {"run_id": RUN, "trace_id": RUN, "session_id": SESSION}}}
    )
    assert run_ref(meta_only) == RunRef(run_id=RUN, trace_id=RUN, session_id=SESSION)
    assert run_ref(parse_task({"id": 1, "data": {"text": "x"}})) is None
    completed = RunRef(run_id=RUN).completed(
        {"trace_id": RUN, "session_id": SESSION, "start_time": "2025-05-08T17:42:03.1"}
    )
    assert (completed.trace_id, completed.session_id, completed.start_time) == (
        RUN,
        SESSION,
        "2025-05-08T17:42:03.100000Z",
    )


def test_the_example_follows_the_latest_usable_annotation_and_its_correction() -> None:
    t = task([result("review", "choices", {"choices": ["bad"]}), result("correction", "textarea", {"text": ["fix"]})])
    annotation = latest_annotation(t)
    assert annotation is not None and annotation.id == 11  # 12 is later but cancelled
    ref = run_ref(t)
    assert ref is not None
    rows = feedback_payloads(t, annotation, CONTROLS, ReviewMapping(), ref, ls_instance="ls:8080")
    run_body = {"inputs": {"question": "q"}, "outputs": {"output": "the answer"}}
    example = example_payload(t, annotation, rows, ref, run_body, dataset_id="d", ls_instance="ls:8080")
    assert example["inputs"] == {"question": "q"} and example["outputs"] == {"output": "fix"}
    assert example["metadata"]["feedback"] == {"review": 0.0, "correction": None}
    assert example["metadata"]["corrected"] is True and example["source_run_id"] == RUN
    no_fix = feedback_payloads(t, annotation, {"review": CONTROLS["review"]}, ReviewMapping(), ref, ls_instance="h")
    assert example_payload(t, annotation, no_fix, ref, run_body, dataset_id="d", ls_instance="h")["outputs"] == {
        "output": "the answer"
    }
