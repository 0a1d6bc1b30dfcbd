"""``langsmith-to-labelstudio`` into a real Label Studio 1.23.2 server, from ``runtrack.testing.FakeLangSmith``.

What is proven here against the real server: plan writes nothing; apply makes exactly one task and one prediction
per run, and a second apply nothing; ``runtrack migrate`` killed with SIGKILL at seeded random moments and run
again ends with exactly N tasks and N predictions; a task deleted by hand is missing in reconcile (exit 1) and the
next apply recreates it; a wrong project id or token is a typed error with nothing written; a run changed at the
source is planned and applied as an update (same task, same prediction, new content).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests
from runtrack_labelstudio.review import default_label_config

import runtrack
from runtrack.model import Run
from runtrack.testing import FakeLangSmith

from .peer import LabelStudioPeer

NAME = "langsmith-to-labelstudio"
RUNS = 40  # 2 queues x 20


@pytest.fixture
def fake() -> Iterator[FakeLangSmith]:
    with FakeLangSmith(queues=2, runs_per_queue=RUNS // 2, seed=12) as server:
        server.start()
        yield server


@pytest.fixture
def project(ls_session: requests.Session, ls_peer: LabelStudioPeer) -> int:
    """A new, empty project with the generated review config."""
    title = f"migrate {time.monotonic_ns() % 10**9}"
    body = {"title": title, "label_config": default_label_config()}
    response = ls_session.post(ls_peer.url("/api/projects/"), json=body, timeout=30)
    response.raise_for_status()
    return int(response.json()["id"])


def _counts(session: requests.Session, peer: LabelStudioPeer, project: int) -> tuple[int, int]:
    """(tasks, predictions) in the project, read from the task list."""
    response = session.get(
        peer.url("/api/tasks/"), params={"project": project, "include": "id", "page_size": 100000}, timeout=60
    )
    response.raise_for_status()
    body = response.json()
    return int(body["total"]), int(body["total_predictions"])


def _tasks(session: requests.Session, peer: LabelStudioPeer, project: int) -> list[dict[str, Any]]:
    response = session.get(
        peer.url("/api/tasks/"),
        params={"project": project, "fields": "all", "include": "id,data,predictions", "page_size": 100000},
        timeout=60,
    )
    response.raise_for_status()
    tasks: list[dict[str, Any]] = response.json()["tasks"]
    return tasks


def _adapters(fake: FakeLangSmith, peer: LabelStudioPeer, token: str | None = None) -> tuple[Any, Any]:
    src = runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key)
    dst = runtrack.connect("labelstudio", base_url=peer.base_url, api_key=token or peer.legacy_token)
    return src, dst


def test_plan_writes_nothing_then_apply_creates_one_task_and_one_prediction_per_run(
    fake: FakeLangSmith, ls_peer: LabelStudioPeer, ls_session: requests.Session, project: int, tmp_path: Path
) -> None:
    src, dst = _adapters(fake, ls_peer)
    store = tmp_path / "runtrack.db"
    mig = runtrack.migration(NAME, source=src, target=dst, store=store, project=project, batch_size=16)
    plan = mig.plan()
    assert plan.counts == {"create": RUNS, "update": 0, "skip": 0, "blocked": 0}
    assert _counts(ls_session, ls_peer, project) == (0, 0)
    assert not store.exists()

    result = mig.apply()
    assert result.ok, result.failures
    assert result.counts["created"] == RUNS
    assert _counts(ls_session, ls_peer, project) == (RUNS, RUNS)
    tasks = _tasks(ls_session, ls_peer, project)
    expected_runs = fake.all_run_ids()
    assert {t["data"]["langsmith_run_id"] for t in tasks} == expected_runs
    for task in tasks:
        data = task["data"]
        run = fake.run(data["langsmith_run_id"])
        assert data["langsmith_trace_id"] == run["trace_id"]
        assert data["langsmith_session_id"] == run["session_id"]
        assert data["langsmith_queue_id"] in fake.queue_ids
        assert data["status"] in {"SUCCEEDED", "FAILED", "RUNNING", "UNKNOWN"}
        [prediction] = task["predictions"]
        assert prediction["model_version"].startswith("langsmith:")
        if data["output"]:
            assert prediction["result"][0]["value"]["text"] == [data["output"]]

    again = mig.apply()
    assert again.counts == {"created": 0, "updated": 0, "skipped": RUNS, "blocked": 0, "failed": 0}
    assert _counts(ls_session, ls_peer, project) == (RUNS, RUNS)
    assert mig.reconcile().ok


def test_a_project_is_created_once_and_found_again_by_key_not_title(
    fake: FakeLangSmith, ls_peer: LabelStudioPeer, ls_session: requests.Session, tmp_path: Path
) -> None:
    src, dst = _adapters(fake, ls_peer)
    title = f"created {time.monotonic_ns() % 10**9}"
    first = runtrack.migration(NAME, source=src, target=dst, store=tmp_path / "a.db", project_title=title)
    assert first.plan().target.endswith("/projects/new")
    result = first.apply()
    project = int(result.target.rsplit("/", 1)[1])
    # A second store (the first one lost) finds the same project through its description key.
    second = runtrack.migration(NAME, source=src, target=dst, store=tmp_path / "b.db", project_title=title)
    assert second.apply().counts["created"] == 0
    assert _counts(ls_session, ls_peer, project) == (RUNS, RUNS)
    body = ls_session.get(ls_peer.url(f"/api/projects/{project}/"), timeout=30).json()
    assert body["title"] == title and "$input" in body["label_config"]


def _cli(
    fake: FakeLangSmith, peer: LabelStudioPeer, store: Path, *args: str, token: str | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LANGSMITH_ENDPOINT": fake.base_url,
        "LANGSMITH_API_KEY": fake.api_key,
        "LABEL_STUDIO_URL": peer.base_url,
        "LABEL_STUDIO_API_KEY": token or peer.legacy_token,
        "RUNTRACK_CONFIG": "",
    }
    cmd = [
        sys.executable,
        "-c",
        "import sys; from runtrack.cli import main; sys.exit(main())",
        "migrate",
        NAME,
        "--from",
        "langsmith",
        "--to",
        "labelstudio",
        "--store",
        str(store),
        *args,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=store.parent)


def _finish(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out.decode(), err.decode()


def _wait_for_pass(store: Path, passes: int, proc: subprocess.Popen[bytes]) -> None:
    """Until the store records the ``passes``-th apply pass (or the process ends)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if store.exists():
            conn = sqlite3.connect(store)
            try:
                if conn.execute("SELECT count(*) FROM migrate_passes").fetchone()[0] >= passes:
                    return
            except sqlite3.OperationalError:  # the tables are being created
                pass
            finally:
                conn.close()
        time.sleep(0.01)


def test_kill_9_at_random_moments_then_rerun_ends_with_exactly_n_tasks_and_predictions(
    fake: FakeLangSmith, ls_peer: LabelStudioPeer, ls_session: requests.Session, project: int, tmp_path: Path
) -> None:
    """10 trials; before each, 12 new runs arrive at the source, so every trial has work to be killed in."""
    store = tmp_path / "runtrack.db"
    rng = random.Random(20261128)
    options = ("--option", f"project={project}", "--option", "batch_size=4")
    kills = killed_mid_write = 0
    before = 0
    for trial in range(10):
        fake.insert_runs(fake.queue_ids[trial % 2], 12)
        proc = _cli(fake, ls_peer, store, *options)
        _wait_for_pass(store, trial + 1, proc)  # started work (interpreter start-up is not an interesting moment)
        time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
        tasks, predictions = _counts(ls_session, ls_peer, project)
        assert tasks == predictions  # never a task without its prediction
        assert tasks <= len(fake.all_run_ids())  # never a duplicate
        if proc.returncode == -signal.SIGKILL and tasks > before:
            killed_mid_write += 1
        before = tasks
    assert kills >= 6 and killed_mid_write >= 3, (kills, killed_mid_write)
    code, out, err = _finish(_cli(fake, ls_peer, store, *options))
    assert code == 0, err
    n = len(fake.all_run_ids())
    assert n == RUNS + 10 * 12
    assert _counts(ls_session, ls_peer, project) == (n, n)
    code, out, err = _finish(_cli(fake, ls_peer, store, "--reconcile", *options))
    assert code == 0, err
    assert "verified" in out


def test_a_task_deleted_by_hand_is_missing_then_recreated(
    fake: FakeLangSmith, ls_peer: LabelStudioPeer, ls_session: requests.Session, project: int, tmp_path: Path
) -> None:
    store = tmp_path / "runtrack.db"
    options = ("--option", f"project={project}")
    assert _finish(_cli(fake, ls_peer, store, *options))[0] == 0
    victim = _tasks(ls_session, ls_peer, project)[7]
    ls_session.delete(ls_peer.url(f"/api/tasks/{victim['id']}/"), timeout=30).raise_for_status()

    code, out, err = _finish(_cli(fake, ls_peer, store, "--reconcile", "--format", "json", *options))
    assert code == 1
    [result] = json.loads(out)["results"]
    assert result["counts"]["missing"] == 1
    assert victim["data"]["runtrack_uid"] in err

    code, out, err = _finish(_cli(fake, ls_peer, store, "--format", "json", *options))
    assert code == 0, err
    assert json.loads(out)["results"][0]["counts"]["created"] == 1
    assert _counts(ls_session, ls_peer, project) == (RUNS, RUNS)
    assert _finish(_cli(fake, ls_peer, store, "--reconcile", *options))[0] == 0


def test_a_duplicate_imported_by_hand_is_an_extra(
    fake: FakeLangSmith, ls_peer: LabelStudioPeer, ls_session: requests.Session, project: int, tmp_path: Path
) -> None:
    src, dst = _adapters(fake, ls_peer)
    mig = runtrack.migration(NAME, source=src, target=dst, store=tmp_path / "s.db", project=project)
    mig.apply()
    copy = _tasks(ls_session, ls_peer, project)[3]
    response = ls_session.post(ls_peer.url(f"/api/projects/{project}/import"), json=[{"data": copy["data"]}])
    response.raise_for_status()
    rec = mig.reconcile()
    assert not rec.ok
    [extra] = rec.extra
    assert extra.reason == f"duplicate of {copy['id']}" and extra.dest_id != str(copy["id"])


def test_wrong_project_or_token_is_a_typed_error_with_nothing_written(
    fake: FakeLangSmith, ls_peer: LabelStudioPeer, ls_session: requests.Session, project: int, tmp_path: Path
) -> None:
    projects_before = ls_session.get(ls_peer.url("/api/projects/"), params={"page_size": 1}, timeout=30).json()
    src, dst = _adapters(fake, ls_peer)
    missing = runtrack.migration(NAME, source=src, target=dst, store=tmp_path / "a.db", project=987654)
    with pytest.raises(runtrack.NotFoundError, match="987654"):
        missing.apply()
    src, bad = _adapters(fake, ls_peer, token="0" * 40)
    for kwargs in ({"project": project}, {"project_title": "never created"}):
        wrong = runtrack.migration(NAME, source=src, target=bad, store=tmp_path / "b.db", **kwargs)
        with pytest.raises(runtrack.AuthenticationError):
            wrong.apply()
        with pytest.raises(runtrack.AuthenticationError):
            wrong.plan()
    for file in tmp_path.iterdir():  # the token never lands in the state
        assert b"0" * 40 not in file.read_bytes()
    assert _counts(ls_session, ls_peer, project) == (0, 0)
    projects_after = ls_session.get(ls_peer.url("/api/projects/"), params={"page_size": 1}, timeout=30).json()
    assert projects_after["count"] == projects_before["count"]
    code, _, err = _finish(_cli(fake, ls_peer, tmp_path / "c.db", "--option", "project=987654"))
    assert code == 1 and "HTTP 404" in err and "Traceback" not in err


class _RunList:
    """A store-like source: ``runs(platform=...)`` over runs held in memory (what ``Store.runs`` offers)."""

    def __init__(self, runs: list[Run]) -> None:
        self.items = runs

    def runs(self, *, platform: str | None = None, **scope: Any) -> Iterator[Run]:
        return iter([r for r in self.items if platform is None or r.platform == platform])


def test_a_run_changed_at_the_source_is_an_update_of_the_same_task(
    fake: FakeLangSmith, ls_peer: LabelStudioPeer, ls_session: requests.Session, project: int, tmp_path: Path
) -> None:
    src, dst = _adapters(fake, ls_peer)
    runs = list(src.runs())
    store = tmp_path / "s.db"
    runtrack.migration(NAME, source=_RunList(runs), target=dst, store=store, project=project).apply()
    changed = runs[5]
    raw = dict(changed.raw)
    raw["outputs"] = {"output": "a corrected answer"}
    runs[5] = attrs.evolve(changed, raw=raw)
    mig = runtrack.migration(NAME, source=_RunList(runs), target=dst, store=store, project=project)
    plan = mig.plan()
    assert plan.counts == {"create": 0, "update": 1, "skip": RUNS - 1, "blocked": 0}
    [entry] = [e for e in plan.items if e.action == "update"]
    assert entry.source_key == changed.uid
    assert mig.apply().counts["updated"] == 1
    assert _counts(ls_session, ls_peer, project) == (RUNS, RUNS)
    [task] = [t for t in _tasks(ls_session, ls_peer, project) if t["data"]["runtrack_uid"] == changed.uid]
    assert str(task["id"]) == entry.dest_id
    assert task["data"]["output"] == "a corrected answer"
    assert task["predictions"][0]["result"][0]["value"]["text"] == ["a corrected answer"]
    assert mig.reconcile().ok
    conn = sqlite3.connect(store)
    ops = [r[0] for r in conn.execute("SELECT op FROM migrate_journal WHERE source_key = ?", (changed.uid,))]
    assert ops[-2:] == ["update", "reconcile"]


def test_runs_synced_into_a_store_migrate_from_it_with_the_state_in_the_same_file(
    fake: FakeLangSmith, ls_peer: LabelStudioPeer, ls_session: requests.Session, project: int, tmp_path: Path
) -> None:
    src, dst = _adapters(fake, ls_peer)
    path = tmp_path / "runtrack.db"
    with runtrack.open_store(path) as store:
        store.sync(src)
        fake.clear_log()
        mig = runtrack.migration(NAME, source=store, target=dst, store=store, project=project)
        assert mig.apply().counts["created"] == RUNS
        assert fake.request_count == 0  # the runs came from the store, not from LangSmith
        assert store.count() == RUNS  # the store still reads its own tables
    assert _counts(ls_session, ls_peer, project) == (RUNS, RUNS)
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"migrate_meta", "migrate_id_map", "migrate_journal"} <= tables
    code, _, err = _finish(_cli(fake, ls_peer, path, "--from-store", "--reconcile", "--option", f"project={project}"))
    assert code == 0, err
