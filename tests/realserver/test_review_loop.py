"""The whole review loop against the real Label Studio server and the fake LangSmith: runs in a queue →
``langsmith-to-labelstudio`` → a reviewer annotates through Label Studio's API → ``labelstudio-to-langsmith`` →
feedback (and examples) on the right runs; idempotent, PATCH on change, reconcile ok, kill -9 safe."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import runtrack
from runtrack.migrate import Migration
from runtrack.testing import FakeLangSmith

from .peer import LabelStudioPeer

CONFIG = """<View>
  <Text name="input" value="$input"/>
  <Text name="output" value="$output"/>
  <Choices name="review" toName="output" choice="single"><Choice value="good"/><Choice value="bad"/></Choices>
  <Rating name="quality" toName="output" maxRating="5"/>
  <TextArea name="correction" toName="output" editable="true"/>
  <TextArea name="comment" toName="output"/>
</View>"""
RUNS = 6
KILL_TRIALS = 6
DATASET = "reviewed answers"


def result(name: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"from_name": name, "to_name": "output", "type": kind, "value": value}


def review(verdict: str, rating: int, *, correction: str | None = None, comment: str | None = None) -> list[Any]:
    out = [result("review", "choices", {"choices": [verdict]}), result("quality", "rating", {"rating": rating})]
    if correction is not None:
        out.append(result("correction", "textarea", {"text": [correction]}))
    if comment is not None:
        out.append(result("comment", "textarea", {"text": [comment]}))
    return out


class Loop:
    """The two platforms, the store and the project the first direction made."""

    def __init__(self, peer: LabelStudioPeer, fake: FakeLangSmith, store: Path) -> None:
        self.peer, self.fake, self.store = peer, fake, store
        self.lsm = runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key, environ={})
        self.ls = runtrack.connect("labelstudio", base_url=peer.base_url, api_key=peer.legacy_token, environ={})
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers.update(peer.legacy_headers())
        self.project = 0

    def send_for_review(self) -> None:
        forward = runtrack.migration(
            "langsmith-to-labelstudio",
            source=self.lsm,
            target=self.ls,
            store=self.store,
            label_config=CONFIG,
            project_title=f"review loop {uuid.uuid4().hex[:8]}",
        )
        assert forward.apply(queue_id=self.fake.queue_ids[0]).counts["created"] == RUNS
        import sqlite3

        with sqlite3.connect(self.store) as conn:
            (self.project,) = conn.execute("SELECT dst_id FROM migrate_containers").fetchone()

    def tasks(self) -> list[Any]:
        return sorted(self.ls.tasks(self.project), key=lambda t: t.id)

    def annotate(self, task_id: int, results: list[Any], **extra: Any) -> int:
        answer = self.http.post(self.peer.url(f"/api/tasks/{task_id}/annotations/"), json={"result": results, **extra})
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def back(self) -> Migration:
        mig = runtrack.migration(
            "labelstudio-to-langsmith",
            source=self.ls,
            target=self.lsm,
            store=self.store,
            project=self.project,
            dataset=DATASET,
        )
        mig.settle_seconds = 0  # the fake answers every request it received, even for a client that died
        return mig

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.fake.requests if r.method in ("POST", "PATCH", "DELETE")]


@pytest.fixture
def loop(ls_peer: LabelStudioPeer, tmp_path: Path) -> Iterator[Loop]:
    with FakeLangSmith(queues=1, runs_per_queue=RUNS) as fake:
        the_loop = Loop(ls_peer, fake, tmp_path / "runtrack.db")
        yield the_loop
        the_loop.http.close()


def feedback_on(fake: FakeLangSmith) -> Counter[tuple[str, str]]:
    return Counter((f["run_id"], f["key"]) for f in fake.feedback())


def test_the_whole_review_loop(loop: Loop) -> None:
    loop.send_for_review()
    tasks = loop.tasks()
    run_of = {t.id: t.data["langsmith_run_id"] for t in tasks}
    first = loop.annotate(tasks[0].id, review("bad", 2, correction="A better answer.", comment="Too vague."))
    loop.annotate(tasks[1].id, review("good", 5))
    loop.annotate(tasks[2].id, review("good", 4, correction=tasks[2].data["output"]))  # left as it was
    loop.annotate(tasks[2].id, [], was_cancelled=True)  # a skip: no feedback

    back = loop.back()
    plan = back.plan()
    assert plan.counts == {"create": 9 + 3, "update": 0, "skip": 0, "blocked": 0} and loop.fake.feedback() == []
    result = back.apply()
    assert result.ok and result.counts["created"] == 12, result

    # exactly one feedback per annotation and control, on the right runs, with the right scores
    got = {(f["run_id"], f["key"]): f for f in loop.fake.feedback()}
    assert feedback_on(loop.fake) == Counter(
        {
            (run_of[tasks[0].id], "review"): 1,
            (run_of[tasks[0].id], "quality"): 1,
            (run_of[tasks[0].id], "correction"): 1,
            (run_of[tasks[0].id], "comment"): 1,
            (run_of[tasks[1].id], "review"): 1,
            (run_of[tasks[1].id], "quality"): 1,
            (run_of[tasks[2].id], "review"): 1,
            (run_of[tasks[2].id], "quality"): 1,
            (run_of[tasks[2].id], "correction"): 1,
        }
    )
    assert (got[(run_of[tasks[0].id], "review")]["score"], got[(run_of[tasks[0].id], "review")]["value"]) == (0, "bad")
    assert got[(run_of[tasks[1].id], "review")]["score"] == 1 and got[(run_of[tasks[1].id], "quality")]["score"] == 5
    assert got[(run_of[tasks[0].id], "correction")]["correction"] == {"outputs": "A better answer."}
    assert got[(run_of[tasks[2].id], "correction")]["correction"] is None
    assert got[(run_of[tasks[0].id], "comment")]["comment"] == "Too vague."
    fb = got[(run_of[tasks[0].id], "review")]
    assert fb["session_id"] == loop.fake.run(run_of[tasks[0].id])["session_id"]
    assert fb["extend_trace_retention"] is False
    assert fb["feedback_source"]["metadata"]["annotation_id"] == first
    assert fb["feedback_source"]["metadata"]["task_id"] == tasks[0].id

    # examples: one per reviewed task, inputs from the run, outputs from the correction
    (dataset,) = loop.fake.datasets()
    examples = {e["source_run_id"]: e for e in loop.fake.examples(dataset["id"])}
    assert set(examples) == {run_of[t.id] for t in tasks[:3]} and dataset["name"] == DATASET
    assert examples[run_of[tasks[0].id]]["outputs"] == {"output": "A better answer."}
    assert examples[run_of[tasks[1].id]]["inputs"] == loop.fake.run(run_of[tasks[1].id])["inputs"]
    assert examples[run_of[tasks[1].id]]["outputs"] == loop.fake.run(run_of[tasks[1].id])["outputs"]

    # a second apply writes nothing
    loop.fake.clear_log()
    again = back.apply()
    assert again.counts["skipped"] == 12 and again.counts["created"] == again.counts["updated"] == 0
    assert loop.writes() == [("POST", "/api/v1/runs/query")]  # the run check is a read

    # a changed annotation becomes a PATCH of the same feedback
    changed = loop.http.patch(loop.peer.url(f"/api/annotations/{first}/"), json={"result": review("good", 3)})
    assert changed.status_code == 200, changed.text
    loop.fake.clear_log()
    patched = back.apply()
    assert patched.ok and patched.counts["updated"] == 3 and patched.counts["created"] == 0, patched
    # review, quality and the example change; correction and comment are gone from the annotation: reported below
    writes = loop.writes()
    assert ("PATCH", f"/api/v1/feedback/{fb['id']}") in writes
    assert not [w for w in writes if w[0] == "POST" and w[1] != "/api/v1/runs/query"]
    assert loop.fake.feedback(run_of[tasks[0].id])[0]["score"] == 1 and len(loop.fake.feedback()) == 9
    assert back.reconcile().ok

    removed = back.direction.removed(loop.store)  # type: ignore[attr-defined]
    assert sorted(removed) == sorted(
        f["id"] for f in loop.fake.feedback(run_of[tasks[0].id]) if f["key"] in ("correction", "comment")
    )


KILLED_APPLY = """
import sys, runtrack
ls = runtrack.connect("labelstudio", base_url=sys.argv[1], api_key=sys.argv[2], environ={})
lsm = runtrack.connect("langsmith", base_url=sys.argv[3], api_key=sys.argv[4], environ={}, rate_limit=0)
mig = runtrack.migration("labelstudio-to-langsmith", source=ls, target=lsm, store=sys.argv[5], project=int(sys.argv[6]),
                         dataset=sys.argv[7], feedback_per_minute=600)
mig.settle_seconds = 0
print("STARTED", flush=True)
mig.apply()
"""


def test_kill_9_during_apply_then_rerun_leaves_no_duplicates(loop: Loop) -> None:
    loop.send_for_review()
    tasks = loop.tasks()
    for n, task in enumerate(tasks):
        loop.annotate(task.id, review("bad" if n % 2 else "good", 1 + n % 5, comment=f"note {n}"))
    expected_feedback = 3 * RUNS
    rng = random.Random(13)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [loop.peer.base_url, loop.peer.legacy_token, loop.fake.base_url, loop.fake.api_key]
    args += [str(loop.store), str(loop.project), DATASET]
    killed_mid_apply = 0
    for _ in range(KILL_TRIALS):
        before = len(loop.fake.feedback())
        if expected_feedback - before < 2:
            break
        # kill once the fake holds a seeded number of the feedback still missing (0: right after start-up)
        kill_at = before + rng.randint(0, expected_feedback - before - 1)
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_APPLY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"STARTED"
        deadline = time.monotonic() + 60
        while len(loop.fake.feedback()) < kill_at and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait()
        killed_mid_apply += before < len(loop.fake.feedback()) < expected_feedback
    final = loop.back().apply()
    assert final.ok, final
    assert len(loop.fake.feedback()) == expected_feedback
    assert set(feedback_on(loop.fake).values()) == {1}
    assert len({f["id"] for f in loop.fake.feedback()}) == expected_feedback
    examples = loop.fake.examples()
    assert len(examples) == RUNS and len({e["source_run_id"] for e in examples}) == RUNS
    assert loop.back().reconcile().ok
    assert killed_mid_apply >= 1  # a kill landed between two writes of one apply
    assert json.dumps(loop.fake.datasets()).count(DATASET) == 1
