"""How a LangSmith run becomes a review task: readable text, limits, identifiers, blocked runs."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from runtrack_langsmith.review_text import input_text, model_name, output_text
from runtrack_langsmith.to_labelstudio import DATA_FIELDS, LangSmithToLabelStudio

import runtrack
from runtrack.model import Run, RunStatus


def _lc(kind: str, content: str) -> dict[str, Any]:
    return {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", kind],
        "kwargs": {"content": content},
    }


def test_input_text_finds_the_last_user_message_in_every_shape() -> None:
    assert input_text({"input": "hi"}) == "hi"
    assert input_text({"messages": [[_lc("SystemMessage", "sys"), _lc("HumanMessage", "q1"), _lc("AIMessage", "a"),
                                     _lc("HumanMessage", "q2")]]}) == "q2"  # fmt: skip
    assert input_text({"messages": [{"role": "user", "content": [{"type": "text", "text": "part"}]}]}) == "part"
    assert input_text({"x": 1}) == '{\n  "x": 1\n}'
    assert input_text(None) is None


def test_output_text_reads_generations_messages_and_plain_outputs() -> None:
    assert output_text({"generations": [[{"text": "gen"}]]}) == "gen"
    assert output_text({"output": "plain"}) == "plain"
    assert output_text({"messages": [{"role": "assistant", "content": "said"}]}) == "said"
    assert output_text({"y": [1]}) == '{\n  "y": [\n    1\n  ]\n}'


def test_model_name_from_v1_extra_or_v2_metadata() -> None:
    assert model_name({"extra": {"metadata": {"ls_model_name": "gpt-x"}}}) == "gpt-x"
    assert model_name({"metadata": {"ls_model_name": "claude"}}) == "claude"
    assert model_name({}) is None


def _direction(**options: Any) -> LangSmithToLabelStudio:
    dst = runtrack.connect("labelstudio", base_url="http://ls.test", api_key="k" * 40)
    return LangSmithToLabelStudio(source=None, target=dst, **options)


def _run(raw: Any, **fields: Any) -> Run:
    return Run(
        platform="langsmith",
        instance="api.smith.test",
        kind="trace_run",
        native_id="r-1",
        name="agent",
        status=RunStatus.SUCCEEDED,
        started_at=datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc),
        scope={"queue_id": "q", "session_id": "s", "trace_id": "t", "queue_run_id": "qr"},
        url="https://smith.test/r-1",
        raw=raw,
        **fields,
    )


def test_a_run_becomes_a_task_with_every_identifier_the_reverse_direction_needs() -> None:
    run = _run({"inputs": {"input": "q"}, "outputs": {"output": "a"}, "extra": {"metadata": {"ls_model_name": "m"}}})
    item = _direction().item(run)
    data = item.payload["data"]
    assert set(data) == set(DATA_FIELDS)
    assert data["langsmith_run_id"] == "r-1" and data["langsmith_trace_id"] == "t"
    assert data["langsmith_session_id"] == "s" and data["langsmith_queue_id"] == "q"
    assert data["langsmith_start_time"] == "2026-11-01T12:00:00.000000Z"
    assert data["runtrack_uid"] == run.uid and data["error"] == ""
    assert item.payload["prediction"]["model_version"] == "langsmith:m"
    assert item.payload["prediction"]["result"][0]["value"]["text"] == ["a"]


def test_long_text_is_cut_with_a_note_and_a_missing_output_has_an_empty_prediction() -> None:
    run = _run({"inputs": {"input": "x" * 500}, "outputs": None})
    item = _direction(max_field_chars=100).item(run)
    assert item.payload["data"]["input"].startswith("x" * 100 + "\n… [runtrack: 400 more characters")
    assert item.payload["data"]["output"] == ""
    assert item.payload["prediction"]["result"] == []


def test_a_run_the_query_did_not_return_is_blocked() -> None:
    item = _direction().item(_run({"item": {"run_id": "r-1"}, "run": None}))
    assert item.blocked is not None and "did not return this run" in item.blocked


def test_options_are_checked() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="3 to 50 characters"):
        _direction(project_title="ab")
    with pytest.raises(runtrack.ConfigurationError, match="label_config applies to a created project"):
        _direction(project=3, label_config="<View></View>")
    with pytest.raises(runtrack.ConfigurationError, match="project id"):
        _direction(project="seven")
