"""add_to_queue: POST /api/v1/annotation-queues/{id}/runs with an array body (vendor-apis.md §2.3)."""

from __future__ import annotations

import json
import uuid

import pytest
import responses
from runtrack_langsmith import QueueEntry
from runtrack_langsmith.mapping import queue_run_parser

import runtrack

from .payloads import QUEUE, adapter, qrid, rid, runs_url, v1_row


def entry(n: int) -> dict[str, object]:
    return {
        "id": qrid(n),
        "queue_id": QUEUE,
        "run_id": rid(n),
        "added_at": "2025-05-09T08:00:12.004512",
        "last_reviewed_time": None,
        "source_proposed_example_id": None,
    }


@responses.activate
def test_runs_ids_and_uuids_go_as_one_array_of_ids() -> None:
    responses.post(runs_url(), json=[entry(0), entry(1), entry(2)])
    src = adapter()
    run = queue_run_parser(instance=src.instance, queue_id="other", review=None, web=src.web_url)(v1_row(0))
    added = src.add_to_queue(QUEUE, [run, rid(1), uuid.UUID(rid(2))])
    assert json.loads(responses.calls[0].request.body) == [rid(0), rid(1), rid(2)]
    assert responses.calls[0].request.params == {}
    assert all(isinstance(e, QueueEntry) for e in added)
    assert [e.run_id for e in added] == [rid(0), rid(1), rid(2)] and added[0].id == qrid(0)
    assert added[0].added_at is not None and added[0].added_at.utcoffset() is not None


@responses.activate
def test_extend_trace_retention_is_a_query_parameter() -> None:
    responses.post(runs_url(), json=[entry(0)])
    adapter().add_to_queue(QUEUE, [rid(0)], extend_trace_retention=True)
    assert responses.calls[0].request.params == {"extend_trace_retention": "true"}


@responses.activate
def test_a_write_is_not_retried(no_sleep: list[float]) -> None:
    responses.post(runs_url(), status=503, body="busy")
    with pytest.raises(runtrack.ServerError):
        adapter().add_to_queue(QUEUE, [rid(0)])
    assert len(responses.calls) == 1 and no_sleep == []


@responses.activate
def test_422_on_the_body_is_readable() -> None:
    responses.post(
        runs_url(),
        status=422,
        json={"detail": [{"loc": ["body", 0], "msg": "Input should be a valid UUID", "type": "uuid_parsing"}]},
    )
    with pytest.raises(runtrack.RequestError, match=r"body\.0: Input should be a valid UUID"):
        adapter().add_to_queue(QUEUE, ["not-a-uuid"])


def test_nothing_to_add_sends_nothing() -> None:
    with responses.RequestsMock() as mock:
        assert adapter().add_to_queue(QUEUE, []) == ()
        assert len(mock.calls) == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (runtrack.Run(platform="foundry", instance="h", kind="x", native_id="1"), r"runs_or_ids\[0\] is a foundry run"),
        (42, r"runs_or_ids\[0\] must be a Run or a run id string"),
        ("  ", r"runs_or_ids\[0\] must be a Run or a run id string"),
    ],
)
def test_bad_inputs_are_refused_before_any_request(value: object, message: str) -> None:
    with responses.RequestsMock() as mock, pytest.raises(runtrack.ConfigurationError, match=message):
        adapter().add_to_queue(QUEUE, [value])  # type: ignore[list-item]
    assert len(mock.calls) == 0


@responses.activate
def test_an_unexpected_answer_is_a_payload_error() -> None:
    responses.post(runs_url(), json={"ok": True})
    with pytest.raises(runtrack.PayloadError, match="expected an array"):
        adapter().add_to_queue(QUEUE, [rid(0)])
