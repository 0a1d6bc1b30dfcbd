"""LangSmith writes (feedback, datasets, examples, runs by id) with `responses`: bodies, retry rule, 409s."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from responses import matchers
from runtrack_langsmith import Dataset, Example, Feedback

import runtrack

from .payloads import BASE, SESSION, adapter, rid

FEEDBACK = f"{BASE}/api/v1/feedback"
DATASETS = f"{BASE}/api/v1/datasets"
EXAMPLES = f"{BASE}/api/v1/examples"
FB_ID = "3f0e6f0a-1111-4c2b-9a3e-000000000001"
DS_ID = "3f0e6f0a-2222-4c2b-9a3e-000000000002"


def ex_id(n: int) -> str:
    return f"3f0e6f0a-3333-4c2b-9a3e-{n:012d}"


def feedback_json(**over: Any) -> dict[str, Any]:
    body = {
        "id": FB_ID,
        "key": "verdict",
        "run_id": rid(1),
        "trace_id": rid(1),
        "session_id": SESSION,
        "score": 1,
        "value": "good",
        "comment": None,
        "correction": None,
        "feedback_source": {"type": "api", "metadata": {"source": "labelstudio"}},
        "created_at": "2025-05-08T17:42:03.118204",
        "modified_at": "2025-05-08T17:42:03.118204",
    }
    body.update(over)
    return body


def sent(call: int = 0) -> Any:
    return json.loads(responses.calls[call].request.body)


@responses.activate
def test_create_feedback_sends_the_body_with_retention_off() -> None:
    responses.post(FEEDBACK, json=feedback_json())
    fb = adapter().create_feedback({"id": FB_ID, "key": "verdict", "run_id": rid(1), "score": 1, "value": "good"})
    assert sent() == {
        "id": FB_ID,
        "key": "verdict",
        "run_id": rid(1),
        "score": 1,
        "value": "good",
        "extend_trace_retention": False,
    }
    assert isinstance(fb, Feedback) and fb.id == FB_ID and fb.score == 1 and fb.session_id == SESSION
    assert fb.created_at is not None and fb.created_at.utcoffset() is not None


@responses.activate
def test_extend_trace_retention_can_be_asked_for() -> None:
    responses.post(FEEDBACK, json=feedback_json())
    adapter().create_feedback({"key": "verdict", "run_id": rid(1), "extend_trace_retention": True})
    assert sent()["extend_trace_retention"] is True


@responses.activate
def test_feedback_post_with_an_id_is_retried(no_sleep: list[float]) -> None:
    responses.post(FEEDBACK, status=503, body="busy")
    responses.post(FEEDBACK, json=feedback_json())
    assert adapter().create_feedback({"id": FB_ID, "key": "verdict"}).id == FB_ID
    assert len(responses.calls) == 2 and len(no_sleep) == 1


@responses.activate
def test_feedback_post_without_an_id_is_not_retried(no_sleep: list[float]) -> None:
    responses.post(FEEDBACK, status=503, body="busy")
    with pytest.raises(runtrack.ServerError):
        adapter().create_feedback({"key": "verdict", "run_id": rid(1)})
    assert len(responses.calls) == 1 and no_sleep == []


@responses.activate
def test_a_409_on_a_repeated_feedback_id_reads_the_feedback_that_landed() -> None:
    responses.post(FEEDBACK, status=409, json={"detail": "Feedback already exists"})
    responses.get(f"{FEEDBACK}/{FB_ID}", json=feedback_json(score=0))
    assert adapter().create_feedback({"id": FB_ID, "key": "verdict"}).score == 0


@responses.activate
def test_a_409_without_an_id_is_the_error() -> None:
    responses.post(FEEDBACK, status=409, json={"detail": "conflict"})
    with pytest.raises(runtrack.RequestError, match="409"):
        adapter().create_feedback({"key": "verdict"})


def test_feedback_without_a_key_is_refused_before_sending() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="key"):
        adapter().create_feedback({"run_id": rid(1)})


@responses.activate
def test_update_feedback_is_a_retried_patch_of_the_fields(no_sleep: list[float]) -> None:
    responses.patch(f"{FEEDBACK}/{FB_ID}", status=502, body="gateway")
    responses.patch(f"{FEEDBACK}/{FB_ID}", json=feedback_json(score=0, comment="too long"))
    fb = adapter().update_feedback(FB_ID, {"score": 0, "comment": "too long"})
    assert sent(1) == {"score": 0, "comment": "too long"} and fb.comment == "too long"
    assert responses.calls[1].request.method == "PATCH"


def test_update_feedback_refuses_fields_the_patch_does_not_take() -> None:
    with pytest.raises(runtrack.ConfigurationError, match="run_id"):
        adapter().update_feedback(FB_ID, {"run_id": rid(2)})


@responses.activate
def test_read_feedback_is_none_on_404() -> None:
    responses.get(f"{FEEDBACK}/{FB_ID}", status=404, json={"detail": "Feedback not found"})
    assert adapter().read_feedback(FB_ID) is None


@responses.activate
def test_list_feedback_walks_offset_pages_of_100() -> None:
    first = [feedback_json(id=ex_id(n)) for n in range(100)]
    responses.get(
        FEEDBACK,
        json=first,
        match=[
            matchers.query_param_matcher({"run": [rid(1), rid(2)], "key": "verdict", "offset": "0", "limit": "100"})
        ],
    )
    responses.get(
        FEEDBACK,
        json=[feedback_json(id=ex_id(99)), feedback_json(id=ex_id(100))],  # pages overlap by one (drift check)
        match=[
            matchers.query_param_matcher({"run": [rid(1), rid(2)], "key": "verdict", "offset": "99", "limit": "100"})
        ],
    )
    got = list(adapter().list_feedback(run=[rid(1), rid(2)], key="verdict"))
    assert [f.id for f in got] == [ex_id(n) for n in range(101)]


@responses.activate
def test_a_feedback_without_a_key_is_a_payload_error_naming_the_path() -> None:
    bad = feedback_json()
    del bad["key"]
    responses.get(FEEDBACK, json=[feedback_json(id=ex_id(0)), bad])
    with pytest.raises(runtrack.PayloadError) as info:
        list(adapter().list_feedback(run=rid(1)))
    assert info.value.path == "$[1].key"


@responses.activate
def test_create_dataset_with_an_id() -> None:
    responses.post(DATASETS, json={"id": DS_ID, "name": "reviewed", "description": None})
    ds = adapter().create_dataset("reviewed", dataset_id=DS_ID)
    assert sent() == {"name": "reviewed", "id": DS_ID} and ds == Dataset(id=DS_ID, name="reviewed", raw=ds.raw)


@responses.activate
def test_a_dataset_name_conflict_reads_the_dataset_by_name() -> None:
    responses.post(DATASETS, status=409, json={"detail": "Dataset with this name already exists"})
    responses.get(
        DATASETS,
        json=[{"id": "other", "name": "reviewed-2"}, {"id": DS_ID, "name": "reviewed"}],
        match=[matchers.query_param_matcher({"name": "reviewed", "limit": "100"})],
    )
    assert adapter().create_dataset("reviewed", dataset_id=DS_ID).id == DS_ID


@responses.activate
def test_a_dataset_name_taken_by_another_id_is_refused() -> None:
    responses.post(DATASETS, status=409, json={"detail": "Dataset with this name already exists"})
    responses.get(DATASETS, json=[{"id": ex_id(9), "name": "reviewed"}])
    with pytest.raises(runtrack.RequestError, match=f"has id {ex_id(9)}, not {DS_ID}") as info:
        adapter().create_dataset("reviewed", dataset_id=DS_ID)
    assert info.value.status_code == 409


@responses.activate
def test_read_dataset_by_name_compares_exactly_and_by_id_is_none_on_404() -> None:
    responses.get(DATASETS, json=[{"id": DS_ID, "name": "reviewed 2"}])
    responses.get(f"{DATASETS}/{DS_ID}", status=404, json={"detail": "Dataset not found"})
    src = adapter()
    assert src.read_dataset(name="reviewed") is None
    assert src.read_dataset(dataset_id=DS_ID) is None


@responses.activate
def test_read_examples_asks_for_100_ids_a_request() -> None:
    ids = [ex_id(n) for n in range(150)]
    responses.get(EXAMPLES, json=[{"id": ids[0], "dataset_id": DS_ID, "inputs": {"q": 1}}])
    responses.get(EXAMPLES, json=[{"id": ids[120], "dataset_id": DS_ID}])
    got = adapter().read_examples(ids, dataset_id=DS_ID)
    assert [e.id for e in got] == [ids[0], ids[120]] and isinstance(got[0], Example) and got[0].inputs == {"q": 1}
    assert [len(c.request.params["id"]) for c in responses.calls] == [100, 50]
    assert responses.calls[0].request.params["dataset"] == DS_ID


@responses.activate
def test_create_examples_posts_the_bulk_and_retries_it_when_every_example_has_an_id(no_sleep: list[float]) -> None:
    examples = [{"id": ex_id(n), "dataset_id": DS_ID, "inputs": {"n": n}} for n in range(3)]
    responses.post(f"{EXAMPLES}/bulk", status=503, body="busy")
    responses.post(f"{EXAMPLES}/bulk", json=[{"id": e["id"], "dataset_id": DS_ID} for e in examples])
    assert adapter().create_examples(examples) == [ex_id(n) for n in range(3)]
    assert sent(1) == examples


@responses.activate
def test_create_examples_without_ids_is_not_retried(no_sleep: list[float]) -> None:
    responses.post(f"{EXAMPLES}/bulk", status=503, body="busy")
    with pytest.raises(runtrack.ServerError):
        adapter().create_examples([{"dataset_id": DS_ID, "inputs": {}}])
    assert len(responses.calls) == 1


@responses.activate
def test_a_409_on_the_bulk_creates_only_the_examples_still_missing() -> None:
    examples = [{"id": ex_id(n), "dataset_id": DS_ID, "inputs": {"n": n}} for n in range(3)]
    responses.post(f"{EXAMPLES}/bulk", status=409, json={"detail": "Example already exists"})
    responses.get(EXAMPLES, json=[{"id": ex_id(1), "dataset_id": DS_ID}])
    responses.post(f"{EXAMPLES}/bulk", json=[{"id": ex_id(0)}, {"id": ex_id(2)}])
    assert adapter().create_examples(examples) == [ex_id(0), ex_id(2)]
    assert [e["id"] for e in sent(2)] == [ex_id(0), ex_id(2)]


@responses.activate
def test_bulk_requests_stay_under_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("runtrack_langsmith.writes.MAX_BULK_BYTES", 200)
    examples = [{"id": ex_id(n), "dataset_id": DS_ID, "inputs": {"text": "x" * 40}} for n in range(5)]
    responses.post(f"{EXAMPLES}/bulk", json=[])
    responses.patch(f"{EXAMPLES}/bulk", json={})
    src = adapter()
    src.create_examples(examples)
    src.update_examples(examples)
    bodies = [c.request.body for c in responses.calls]
    assert len(bodies) > 2 and all(len(b) <= 200 for b in bodies)
    posted = [e["id"] for c in responses.calls if c.request.method == "POST" for e in json.loads(c.request.body)]
    assert posted == [e["id"] for e in examples]


def test_update_examples_needs_ids() -> None:
    with pytest.raises(runtrack.ConfigurationError, match=r"examples\[0\]"):
        adapter().update_examples([{"inputs": {}}])


@responses.activate
def test_runs_by_id_queries_100_ids_at_a_time() -> None:
    ids = [rid(n) for n in range(120)]
    responses.post(f"{BASE}/api/v1/runs/query", json={"runs": [{"id": rid(0), "inputs": {"q": 1}}], "cursors": {}})
    responses.post(f"{BASE}/api/v1/runs/query", json={"runs": [], "cursors": {}})
    found = adapter().runs_by_id([*ids, rid(0)])
    assert set(found) == {rid(0)} and found[rid(0)]["inputs"] == {"q": 1}
    assert [len(json.loads(c.request.body)["id"]) for c in responses.calls] == [100, 20]
