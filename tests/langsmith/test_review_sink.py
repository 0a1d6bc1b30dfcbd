"""ReviewSink against FakeLangSmith: lookup by id, create/PATCH, pacing, rate limits waited out, the dataset."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from runtrack_langsmith import LangSmithAdapter
from runtrack_langsmith.feedback_sink import RATE_LIMIT_ROUNDS, ReviewSink

import runtrack
from runtrack.migrate import Containers, Item
from runtrack.testing import FakeLangSmith

DATASET_ID = str(uuid.UUID(int=99, version=4))


class Clock:
    """The time of the fake's rate limit and of the sink's limiter: sleeping moves it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> Iterator[FakeLangSmith]:
    with FakeLangSmith(queues=1, runs_per_queue=3) as server:
        yield server


def adapter(fake: FakeLangSmith, **options: Any) -> LangSmithAdapter:
    src = runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key, environ={}, **options)
    assert isinstance(src, LangSmithAdapter)
    return src


def feedback_item(fake: FakeLangSmith, n: int, **fields: Any) -> Item:
    run_id = fake.runs_by_queue[fake.queue_ids[0]][n % 3]
    payload = {
        "key": "review",
        "run_id": run_id,
        "trace_id": run_id,
        "session_id": fake.project_ids[0],
        "start_time": "2025-05-08T17:42:03.000000Z",
        "score": 1.0,
        "value": "good",
        "comment": None,
        "correction": None,
        "feedback_source": {"type": "api", "metadata": {"source": "labelstudio", "annotation_id": n}},
        **fields,
    }
    return Item(source_key=f"ls:{n}:review", payload={"feedback": payload}, key=str(uuid.UUID(int=n + 1, version=4)))


def example_item(n: int, **fields: Any) -> Item:
    example = {
        "dataset_id": DATASET_ID,
        "inputs": {"q": n},
        "outputs": {"output": "a"},
        "metadata": {"n": n},
        "source_run_id": None,
        "split": "base",
        **fields,
    }
    return Item(source_key=f"ls:task:{n}", payload={"example": example}, key=str(uuid.UUID(int=1000 + n, version=4)))


def sink(src: LangSmithAdapter, clock: Clock | None = None, **options: Any) -> ReviewSink:
    clock = clock or Clock()
    return ReviewSink(
        src,
        containers=Containers(None, "test"),
        sleep=clock.sleep,
        clock=clock,
        dataset=("reviewed", DATASET_ID),
        **options,
    )


def test_what_is_created_is_found_again_with_the_same_fingerprint(fake: FakeLangSmith) -> None:
    box = sink(adapter(fake))
    items = [feedback_item(fake, n) for n in range(4)] + [example_item(n) for n in range(2)]
    assert box.lookup(items) == {}
    box.prepare()
    created = box.create(items)
    assert created == {i.key: i.key for i in items}
    found = box.lookup(items)
    assert set(found) == {i.key for i in items}
    assert all(found[i.key].fingerprint == i.fingerprint for i in items)
    assert [f["extend_trace_retention"] for f in fake.feedback()] == [False] * 4
    assert fake.datasets()[0]["id"] == DATASET_ID and len(fake.examples(DATASET_ID)) == 2


def test_update_patches_feedback_and_examples_in_place(fake: FakeLangSmith) -> None:
    box = sink(adapter(fake))
    box.prepare()
    items = [feedback_item(fake, 0), example_item(0)]
    box.create(items)
    changed = [feedback_item(fake, 0, score=0.0, value="bad", comment="no"), example_item(0, outputs={"output": "b"})]
    found = box.lookup(changed)
    fake.clear_log()
    box.update([(i, found[i.key]) for i in changed])
    assert [(r.method, r.path) for r in fake.requests] == [
        ("PATCH", f"/api/v1/feedback/{changed[0].key}"),
        ("PATCH", "/api/v1/examples/bulk"),
    ]
    again = box.lookup(changed)
    assert all(again[i.key].fingerprint == i.fingerprint for i in changed)
    assert len(fake.feedback()) == 1 and fake.examples()[0]["outputs"] == {"output": "b"}


def test_feedback_writes_are_paced_by_the_requests_per_minute_option(fake: FakeLangSmith) -> None:
    clock = Clock()
    box = sink(adapter(fake), clock, feedback_per_minute=120, concurrency=1)
    box.create([feedback_item(fake, n) for n in range(4)])
    assert clock.slept == [0.5, 0.5, 0.5] and len(fake.feedback()) == 4


def test_a_rate_limit_outlasting_the_transport_retries_is_waited_out(fake: FakeLangSmith) -> None:
    clock = Clock()
    fake.writes.clock = clock
    fake.writes.feedback_per_minute = 2
    box = sink(adapter(fake, max_retries=0), clock, feedback_per_minute=None, concurrency=1)
    box.create([feedback_item(fake, n) for n in range(5)])
    assert len(fake.feedback()) == 5 and box.throttled == 2 and fake.writes.throttled == 2
    assert clock.slept == [60.0, 60.0]  # the fake's Retry-After, shared by every write


def test_a_rate_limit_that_never_lifts_fails_after_the_rounds(fake: FakeLangSmith) -> None:
    clock = Clock()
    fake.writes.feedback_per_minute = 1
    fake.writes.clock = lambda: 0.0  # the fake's minute never ends
    box = sink(adapter(fake, max_retries=0), clock, feedback_per_minute=None)
    box.create([feedback_item(fake, 0)])
    with pytest.raises(runtrack.RateLimitError):
        box.create([feedback_item(fake, 1)])
    assert box.throttled == RATE_LIMIT_ROUNDS and len(fake.feedback()) == 1


def test_a_dataset_name_taken_by_another_dataset_is_refused(fake: FakeLangSmith) -> None:
    src = adapter(fake)
    src.create_dataset("reviewed")
    with pytest.raises(runtrack.RequestError, match="has id"):
        sink(src).prepare()


def test_feedback_goes_several_at_a_time_and_an_error_is_raised_after_the_others_landed(fake: FakeLangSmith) -> None:
    box = sink(adapter(fake), concurrency=4)
    items = [feedback_item(fake, n) for n in range(12)]
    assert box.create(items) == {i.key: i.key for i in items}
    assert fake.connections >= 2 and len(fake.feedback()) == 12
    bad = [feedback_item(fake, 20), feedback_item(fake, 21, key="k" * 181), feedback_item(fake, 22)]
    with pytest.raises(runtrack.RequestError, match="422"):
        box.create(bad)
    assert {f["id"] for f in fake.feedback()} >= {bad[0].key, bad[2].key} and len(fake.feedback()) == 14


def test_trace_retention_is_extended_only_when_asked(fake: FakeLangSmith) -> None:
    sink(adapter(fake), extend_trace_retention=True).create([feedback_item(fake, 0)])
    sink(adapter(fake)).create([feedback_item(fake, 1)])
    assert [f["extend_trace_retention"] for f in fake.feedback()] == [True, False]
