"""FakeLangSmith's feedback, datasets and examples over real HTTP, and the traps it reproduces."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from runtrack_langsmith import LangSmithAdapter

import runtrack
from runtrack.testing import FakeLangSmith

UNKNOWN_RUN = "0190a1b2-c3d4-7ef0-a5b6-000000000000"


@pytest.fixture
def small() -> Iterator[FakeLangSmith]:
    with FakeLangSmith(queues=1, runs_per_queue=5) as fake:
        yield fake


@pytest.fixture
def http(small: FakeLangSmith) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["X-API-Key"] = small.api_key
        yield session


def client(fake: FakeLangSmith, **options: object) -> LangSmithAdapter:
    src = runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key, environ={}, **options)
    assert isinstance(src, LangSmithAdapter)
    return src


def fid(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


def test_feedback_round_trip_through_the_adapter(small: FakeLangSmith) -> None:
    run_id = small.runs_by_queue[small.queue_ids[0]][0]
    src = client(small)
    created = src.create_feedback({"id": fid(1), "key": "verdict", "run_id": run_id, "score": 1, "value": "good"})
    assert created.id == fid(1) and created.run_id == run_id
    assert small.feedback(run_id)[0]["extend_trace_retention"] is False
    patched = src.update_feedback(fid(1), {"score": 0, "comment": "wrong"})
    assert patched.score == 0 and patched.comment == "wrong" and patched.value == "good"
    assert src.read_feedback(fid(1)) == patched
    assert [f.id for f in src.list_feedback(run=run_id)] == [fid(1)]
    assert list(src.list_feedback(run=UNKNOWN_RUN)) == []
    assert src.read_feedback(fid(2)) is None


def test_feedback_for_an_unknown_run_succeeds_as_on_the_real_service(small: FakeLangSmith) -> None:
    src = client(small)
    src.create_feedback({"key": "verdict", "run_id": UNKNOWN_RUN, "score": 1})
    assert [f["run_id"] for f in small.feedback()] == [UNKNOWN_RUN]
    assert src.runs_by_id([UNKNOWN_RUN]) == {}


def test_runs_by_id_finds_the_fakes_runs(small: FakeLangSmith) -> None:
    ids = small.runs_by_queue[small.queue_ids[0]]
    found = client(small).runs_by_id([*ids, UNKNOWN_RUN])
    assert set(found) == set(ids) and found[ids[0]]["inputs"] == small.run(ids[0])["inputs"]


def test_a_repeated_feedback_id_is_409_and_nothing_changes(small: FakeLangSmith, http: requests.Session) -> None:
    body = {"id": fid(1), "key": "verdict", "run_id": UNKNOWN_RUN, "score": 1}
    assert http.post(f"{small.base_url}/api/v1/feedback", json=body).status_code == 200
    again = http.post(f"{small.base_url}/api/v1/feedback", json={**body, "score": 0})
    assert again.status_code == 409 and small.feedback()[0]["score"] == 1


def test_the_adapter_reads_back_a_feedback_whose_post_already_landed(small: FakeLangSmith) -> None:
    src = client(small)
    src.create_feedback({"id": fid(1), "key": "verdict", "score": 1})
    assert src.create_feedback({"id": fid(1), "key": "verdict", "score": 1}).id == fid(1)
    assert len(small.feedback()) == 1


def test_session_id_can_be_required(http: requests.Session) -> None:
    with FakeLangSmith(queues=1, runs_per_queue=1, require_session_id=True) as fake:
        http.headers["X-API-Key"] = fake.api_key
        missing = http.post(f"{fake.base_url}/api/v1/feedback", json={"key": "verdict", "run_id": UNKNOWN_RUN})
        assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "session_id"]
        ok = http.post(
            f"{fake.base_url}/api/v1/feedback", json={"key": "verdict", "run_id": UNKNOWN_RUN, "session_id": fid(7)}
        )
        assert ok.status_code == 200 and fake.feedback()[0]["session_id"] == fid(7)


def test_feedback_validation_names_the_field(small: FakeLangSmith, http: requests.Session) -> None:
    answer = http.post(f"{small.base_url}/api/v1/feedback", json={"key": "k" * 181, "run_id": "not-a-uuid"})
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", "key"], ["body", "run_id"]]
    assert small.feedback() == []


def test_feedback_rate_limit_answers_429_with_retry_after(http: requests.Session) -> None:
    now = [100.0]
    with FakeLangSmith(queues=1, runs_per_queue=1, feedback_per_minute=2) as fake:
        fake.writes.clock = lambda: now[0]
        http.headers["X-API-Key"] = fake.api_key
        statuses = [http.post(f"{fake.base_url}/api/v1/feedback", json={"key": "k"}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429] and fake.writes.throttled == 1
        limited = http.post(f"{fake.base_url}/api/v1/feedback", json={"key": "k"})
        assert int(limited.headers["Retry-After"]) == 60
        now[0] += 60.0
        assert http.post(f"{fake.base_url}/api/v1/feedback", json={"key": "k"}).status_code == 200
        assert len(fake.feedback()) == 3


def test_the_adapter_waits_out_a_feedback_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    waits: list[float] = []

    def advance(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(runtrack.http, "sleep_for", advance)
    with FakeLangSmith(queues=1, runs_per_queue=1, feedback_per_minute=1) as fake:
        fake.writes.clock = lambda: now[0]
        src = client(fake)
        src.create_feedback({"id": fid(1), "key": "k"})
        src.create_feedback({"id": fid(2), "key": "k"})
        assert len(fake.feedback()) == 2 and fake.writes.throttled == 1 and waits == [60.0]


def test_datasets_names_are_unique_and_ids_client_supplied(small: FakeLangSmith) -> None:
    src = client(small)
    first = src.create_dataset("reviewed", dataset_id=fid(10))
    assert first.id == fid(10) and src.create_dataset("reviewed", dataset_id=fid(10)).id == fid(10)
    with pytest.raises(runtrack.RequestError, match="409"):
        src.create_dataset("reviewed", dataset_id=fid(11))
    assert src.read_dataset(name="reviewed") == first and src.read_dataset(name="review") is None
    assert src.read_dataset(dataset_id=fid(10)) == first and len(small.datasets()) == 1


def test_examples_bulk_409_on_a_repeated_id_creates_nothing(small: FakeLangSmith, http: requests.Session) -> None:
    client(small).create_dataset("reviewed", dataset_id=fid(10))
    url = f"{small.base_url}/api/v1/examples/bulk"
    assert http.post(url, json=[{"id": fid(20), "dataset_id": fid(10), "inputs": {"q": 1}}]).status_code == 200
    both = [{"id": fid(21), "dataset_id": fid(10), "inputs": {}}, {"id": fid(20), "dataset_id": fid(10)}]
    assert http.post(url, json=both).status_code == 409
    assert [e["id"] for e in small.examples()] == [fid(20)]
    assert http.post(url, json=[{"id": "ex-1", "dataset_id": fid(10)}]).status_code == 500
    assert http.post(url, json=[{"id": fid(22), "dataset_id": fid(99)}]).status_code == 404


def test_examples_through_the_adapter_never_duplicate(small: FakeLangSmith) -> None:
    src = client(small)
    src.create_dataset("reviewed", dataset_id=fid(10))
    examples = [{"id": fid(20 + n), "dataset_id": fid(10), "inputs": {"n": n}} for n in range(3)]
    assert src.create_examples(examples[:1]) == [fid(20)]
    assert src.create_examples(examples) == [fid(21), fid(22)]
    src.update_examples([{"id": fid(20), "outputs": {"answer": "fixed"}}])
    got = {e.id: e for e in src.read_examples([fid(20), fid(21), fid(23)], dataset_id=fid(10))}
    assert set(got) == {fid(20), fid(21)} and got[fid(20)].outputs == {"answer": "fixed"}
    assert len(small.examples(fid(10))) == 3


def test_there_is_no_delete(small: FakeLangSmith, http: requests.Session) -> None:
    client(small).create_feedback({"id": fid(1), "key": "k"})
    assert http.delete(f"{small.base_url}/api/v1/feedback/{fid(1)}").status_code == 405
    assert len(small.feedback()) == 1
