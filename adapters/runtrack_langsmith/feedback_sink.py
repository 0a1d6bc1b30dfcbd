"""The LangSmith sink of a review loop: feedback on runs and, optionally, examples in a dataset.

Items carry ``{"feedback": {...}}`` or ``{"example": {...}}``; the engine's key is the object's LangSmith id, so a
re-run, a crash or a second machine finds what was written:

* lookup: ``GET /api/v1/feedback?run=...`` for the runs of a batch (matched by id), ``GET /api/v1/examples?id=...``;
* create: one ``POST /api/v1/feedback`` per feedback (LangSmith has no batch endpoint), ``concurrency`` at a time,
  paced by a requests-per-minute limiter under the documented 5,000/min, with ``extend_trace_retention`` false
  unless asked;
  examples through ``POST /api/v1/examples/bulk``;
* update: ``PATCH /api/v1/feedback/{id}`` (never delete and recreate: deleted feedback reappears) and
  ``PATCH /api/v1/examples/bulk``;
* a 429 that outlasts the transport's retries is waited out (``Retry-After``, else a minute) up to
  :data:`RATE_LIMIT_ROUNDS` times before the batch fails.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, TypeVar

from runtrack.errors import RateLimitError
from runtrack.migrate import Containers, Found, Item
from runtrack.ratelimit import RateLimiter

from .feedback_records import Example, Feedback

if TYPE_CHECKING:
    from .adapter import LangSmithAdapter

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_FEEDBACK_PER_MINUTE", "FEEDBACK_FIELDS", "RATE_LIMIT_ROUNDS", "ReviewSink"]

#: LangSmith documents 5,000 feedback writes a minute per API key; stay under it.
DEFAULT_FEEDBACK_PER_MINUTE = 4000
#: feedback requests in flight at once (LangSmith has no batch endpoint: each is one round trip)
DEFAULT_CONCURRENCY = 4
#: how many times a rate limit that outlasted the transport's retries is waited out before the batch fails
RATE_LIMIT_ROUNDS = 5
FALLBACK_WAIT_SECONDS = 60.0
#: feedback fields compared and written (``start_time`` is sent but not returned: taken as written)
FEEDBACK_FIELDS = ("key", "run_id", "trace_id", "session_id", "score", "value", "comment", "correction")
WRITE_ONLY_FIELDS = ("start_time",)
PATCHABLE_FEEDBACK = ("score", "value", "comment", "correction")
EXAMPLE_FIELDS = ("dataset_id", "inputs", "outputs", "metadata", "source_run_id", "split")
PATCHABLE_EXAMPLE = ("inputs", "outputs", "metadata", "split")
#: run ids per ``GET /feedback?run=`` (URL length)
RUNS_PER_LOOKUP = 50

T = TypeVar("T")


class ReviewSink:
    """Feedback (and examples) at one LangSmith instance; ``dataset`` is ``(name, id)`` when examples are made."""

    kind = "feedback"
    updatable = True

    def __init__(
        self,
        target: LangSmithAdapter,
        *,
        containers: Containers,
        batch_size: int = 100,
        feedback_per_minute: float | None = DEFAULT_FEEDBACK_PER_MINUTE,
        extend_trace_retention: bool = False,
        dataset: tuple[str, str] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = target
        self.containers = containers
        self.batch_size = batch_size
        self.extend_trace_retention = extend_trace_retention
        self.dataset = dataset
        self.concurrency = concurrency
        per_second = None if not feedback_per_minute else feedback_per_minute / 60.0
        self.limiter = RateLimiter(per_second, 1, clock=clock, sleep=sleep)
        self.throttled = 0  #: rate limits waited out here (after the transport's own retries)
        self._count_lock = threading.Lock()

    @property
    def instance(self) -> str:
        return self.target.instance

    def prepare(self) -> None:
        """Create the dataset (``POST /api/v1/datasets`` with its deterministic id) unless it is known."""
        if self.dataset is None:
            return
        name, dataset_id = self.dataset
        if self.containers.get("dataset", dataset_id) == dataset_id:
            return
        self.target.create_dataset(name, dataset_id=dataset_id, description="Reviewed runs, written by runtrack.")
        self.containers.put("dataset", dataset_id, dataset_id)

    # -- lookup

    def lookup(self, items: Sequence[Item]) -> Mapping[str, Found]:
        found: dict[str, Found] = {}
        feedback = [i for i in items if "feedback" in i.payload]
        examples = [i for i in items if "example" in i.payload]
        if feedback:
            wanted = {i.key: i for i in feedback}
            runs = sorted({str(i.payload["feedback"]["run_id"]) for i in feedback})
            for start in range(0, len(runs), RUNS_PER_LOOKUP):
                for fb in self.target.list_feedback(run=runs[start : start + RUNS_PER_LOOKUP]):
                    item = wanted.get(fb.id)
                    if item is not None and fb.id not in found:
                        found[fb.id] = Found(key=fb.id, dest_id=fb.id, payload=_feedback_payload(fb, item))
        if examples:
            for example in self.target.read_examples([i.key for i in examples]):
                found[example.id] = Found(key=example.id, dest_id=example.id, payload=_example_payload(example))
        return found

    # -- writes

    def create(self, items: Sequence[Item]) -> Mapping[str, str]:
        feedback = [i for i in items if "feedback" in i.payload]
        examples = [i for i in items if "example" in i.payload]
        writes = [
            functools.partial(
                self.target.create_feedback,
                {"id": i.key, **i.payload["feedback"], "extend_trace_retention": self.extend_trace_retention},
            )
            for i in feedback
        ]
        created = {i.key: fb.id for i, fb in zip(feedback, self._each(writes), strict=True)}
        if examples:
            self.target.create_examples([{"id": i.key, **i.payload["example"]} for i in examples])
            created.update((i.key, i.key) for i in examples)
        return created

    def update(self, pairs: Sequence[tuple[Item, Found]]) -> None:
        changed_examples: list[dict[str, Any]] = []
        writes: list[Callable[[], Feedback]] = []
        for item, found in pairs:
            if "feedback" in item.payload:
                fields = {k: item.payload["feedback"].get(k) for k in PATCHABLE_FEEDBACK}
                writes.append(functools.partial(self.target.update_feedback, found.dest_id, fields))
            else:
                example = item.payload["example"]
                changed_examples.append({"id": found.dest_id, **{k: example.get(k) for k in PATCHABLE_EXAMPLE}})
        self._each(writes)
        if changed_examples:
            self.target.update_examples(changed_examples)

    def _each(self, writes: Sequence[Callable[[], T]]) -> list[T]:
        """Every feedback write, ``concurrency`` at a time (each paced); the first error is raised once all have
        ended (what was written is found by the next apply's lookup)."""
        if self.concurrency == 1 or len(writes) < 2:
            return [self._paced(write) for write in writes]
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="runtrack-feedback") as pool:
            futures = [pool.submit(self._paced, write) for write in writes]
            try:
                wait(futures)
            except BaseException:  # Ctrl-C: do not start the writes still queued
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return [future.result() for future in futures]

    def _paced(self, write: Callable[[], T]) -> T:
        """One feedback write: a slot of the requests-per-minute limiter, then the write; a rate limit that
        outlasted the transport's retries is waited out (all writes pause) up to :data:`RATE_LIMIT_ROUNDS` times."""
        for _ in range(RATE_LIMIT_ROUNDS):
            self.limiter.acquire()
            try:
                return write()
            except RateLimitError as exc:
                with self._count_lock:
                    self.throttled += 1
                self.limiter.acquire(exc.retry_after or FALLBACK_WAIT_SECONDS, shared=True)
        self.limiter.acquire()
        return write()

    def scan(self) -> Iterator[Found]:
        """LangSmith cannot list feedback by who wrote it without naming runs: nothing is scanned."""
        return iter(())


def _feedback_payload(fb: Feedback, item: Item) -> dict[str, Any]:
    """What LangSmith holds, in the item's payload shape (write-only fields taken from the item)."""
    raw = fb.raw if isinstance(fb.raw, Mapping) else {}
    body: dict[str, Any] = {k: raw.get(k) for k in FEEDBACK_FIELDS}
    body.update({k: item.payload["feedback"].get(k) for k in WRITE_ONLY_FIELDS})
    score = body["score"]
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        body["score"] = float(score)  # 1 and 1.0 are one score (and one fingerprint)
    source = raw.get("feedback_source") if isinstance(raw.get("feedback_source"), Mapping) else {}
    assert isinstance(source, Mapping)
    body["feedback_source"] = {"type": source.get("type"), "metadata": source.get("metadata")}
    return {"feedback": body}


def _example_payload(example: Example) -> dict[str, Any]:
    raw = example.raw if isinstance(example.raw, Mapping) else {}
    return {"example": {k: raw.get(k) for k in EXAMPLE_FIELDS}}
