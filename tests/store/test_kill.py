"""kill -9 of ``runtrack sync`` (a subprocess, against the fakes on 127.0.0.1) at seeded random moments: the rerun
ends with the store equal to the fakes' ground truth, no run twice, nothing marked deleted, integrity ok."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import runtrack
import runtrack.testing
from runtrack import demo
from runtrack.sources import connect_source
from runtrack.testing._env import no_proxy_updates

pytestmark = pytest.mark.e2e

TRIALS = 10
PAGE_SIZE = 3


@attrs.frozen
class World:
    fakes: demo.DemoFakes
    config: Path
    env: dict[str, str]
    specs: tuple[runtrack.config.SourceSpec, ...]
    requests_per_sync: int
    truth: dict[str, runtrack.Run]  #: uid -> the run a direct listing gives (first occurrence)
    secrets: tuple[str, ...] = ()


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _config(specs: tuple[runtrack.config.SourceSpec, ...]) -> str:
    lines: list[str] = []
    for spec in specs:
        lines += ["[[source]]", f"name = {_toml(spec.name)}", f"adapter = {_toml(spec.adapter)}"]
        lines += [f"{k} = {_toml(v)}" for k, v in spec.options.items()]
        lines += [f"{k}_env = {_toml(v)}" for k, v in spec.secret_env.items()]
        lines += [f"page_size = {PAGE_SIZE}", "max_retries = 1", ""]
    return "\n".join(lines)


def _sync(world: World, db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "runtrack.cli", "sync", "-q", "--config", str(world.config), "--store", str(db)],
        env=world.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _requests(world: World) -> int:
    f = world.fakes
    return f.langsmith.request_count + f.foundry.request_count + f.labelstudio.request_count


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("kill")
    saved = dict(os.environ)
    os.environ.update(no_proxy_updates(os.environ))
    try:
        with (
            runtrack.testing.FakeLangSmith(seed=3, queues=2, runs_per_queue=8, shared_runs=2) as langsmith,
            runtrack.testing.FakeFoundry(seed=3, studios=2, runs_per_studio=8) as foundry,
            runtrack.testing.FakeLabelStudio(seed=3, prompts=2, versions_per_prompt=1, runs_per_version=4) as ls,
        ):
            fakes = demo.DemoFakes(langsmith=langsmith, foundry=foundry, labelstudio=ls)
            specs, secrets = demo.source_specs(fakes)
            specs = tuple(
                attrs.evolve(s, options={**s.options, "enrich_end_times": False}) if s.adapter == "foundry" else s
                for s in specs
            )
            specs = tuple(attrs.evolve(s, scopes=({},), page_size=PAGE_SIZE) for s in specs)
            for fake in (fakes.langsmith, fakes.foundry, fakes.labelstudio):
                fake.faults.configure(latency=0.002)  # spread a sync over time, so kills land everywhere
            config = tmp / "runtrack.toml"
            config.write_text(_config(specs))
            env = {**os.environ, **secrets}
            env.pop("RUNTRACK_STORE", None)
            truth: dict[str, runtrack.Run] = {}
            for spec in specs:
                with connect_source(spec, secrets) as adapter:
                    for run in adapter.runs(page_size=PAGE_SIZE):
                        truth.setdefault(run.uid, run)
            world = World(
                fakes=fakes,
                config=config,
                env=env,
                specs=specs,
                requests_per_sync=0,
                truth=truth,
                secrets=tuple(secrets.values()),
            )
            before = _requests(world)
            proc = _sync(world, tmp / "reference.db")
            assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
            yield attrs.evolve(world, requests_per_sync=_requests(world) - before)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _assert_equals_truth(db: Path, truth: dict[str, runtrack.Run]) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with runtrack.open_store(db) as store:
        stored = list(store.runs(include_deleted=True))
        assert len(stored) == len({r.uid for r in stored}), "a run is stored twice"
        assert store.count() == len(stored), "a run was marked deleted"
        assert {r.uid: r for r in stored} == truth
        assert not any(info.in_progress for info in store.listings())


@pytest.mark.parametrize("seed", range(TRIALS))
def test_kill_9_during_sync_then_rerun_ends_equal_to_the_ground_truth(seed: int, world: World, tmp_path: Path) -> None:
    rng = random.Random(seed)
    db = tmp_path / "runs.db"
    if seed % 3 == 2:  # a killed re-sync over a complete store (membership and tombstone bookkeeping)
        assert _sync(world, db).wait(60) == 0
    kills = 1 + seed % 2  # every other trial is killed a second time, during the resumed sync
    killed = 0
    for _ in range(kills):
        # within the first 80% of a full sync's requests: a resumed sync makes fewer, and may finish first
        target = _requests(world) + rng.randint(1, max(1, world.requests_per_sync * 4 // 5))
        proc = _sync(world, db)
        while _requests(world) < target and proc.poll() is None:
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.004))  # anywhere inside the handling of that page, the commit included
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(30) == -signal.SIGKILL
            killed += 1
        else:
            assert proc.returncode == 0  # a resumed sync that had little left finished before its kill
        if proc.stderr:
            proc.stderr.close()
    assert killed >= 1
    rerun = _sync(world, db)
    assert rerun.wait(60) == 0, rerun.stderr.read() if rerun.stderr else ""
    if rerun.stderr:
        rerun.stderr.close()
    _assert_equals_truth(db, world.truth)
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("runs.db"))
    assert not [s for s in world.secrets if s.encode() in stored]  # no credential in the store or its WAL
