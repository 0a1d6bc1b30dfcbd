"""`runtrack export` when things go wrong: disk full, file too large, kill -9, pages half written, `-o -`, jobs."""

from __future__ import annotations

import errno
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from runtrack import export as export_module
from runtrack.config import load_config
from runtrack.export import export
from runtrack.sources import LISTING_CONCURRENCY
from runtrack.testing import FakeLangSmith

from .conftest import (
    BASE2,
    BOXES,
    Result,
    _item,
    checkpoint,
    everything,
    expected_runs,
    mock_all,
    mock_box,
    most_requests_at_once,
    read,
)

Cli = Callable[..., Result]


# --------------------------------------------------------------------------- disk full (in process)


def test_disk_full_mid_page_names_the_file_keeps_pages_whole_and_resumes(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock_all(mocked)
    out = tmp_path / "runs.jsonl"
    real_write = os.write
    calls = {"n": 0}

    def filling_write(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 3:  # the third page: half of it reaches the disk, then the disk is full
            real_write(fd, bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", filling_write)
    res = cli("export", "--config", str(config_file), "-o", str(out))
    monkeypatch.setattr(os, "write", real_write)
    assert res.code == 1, res
    assert f"cannot write {out}: no space left on the device (ENOSPC)" in res.err
    assert "run the same command again to resume" in res.err and "internal error" not in res.err
    assert out.stat().st_size == checkpoint(out)["offset"]  # no half page in the file
    assert read(out) == expected_runs("a")[:4]  # the two whole pages before it

    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 0, res
    assert read(out) == everything()  # every run exactly once, in order


def test_a_checkpoint_that_cannot_be_written_is_named_too(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock_all(mocked)
    monkeypatch.setattr(export_module, "CHECKPOINT_INTERVAL", 0.0)  # a checkpoint after every page
    out = tmp_path / "runs.jsonl"
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # initial checkpoint, page 1, its checkpoint, page 2, then its checkpoint
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    res = cli("export", "--config", str(config_file), "-o", str(out))
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert res.code == 1, res
    assert "runs.jsonl.checkpoint.json: no space left on the device (ENOSPC)" in res.err
    assert not (tmp_path / "runs.jsonl.checkpoint.json.tmp").exists()
    assert cli("export", "--config", str(config_file), "-o", str(out)).code == 0
    assert read(out) == everything()


def test_a_page_is_written_whole_even_with_a_lone_surrogate_in_it(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """Issue 15 item 10: a page that failed half-way through writing was checkpointed by the next listing."""
    items = [*BOXES["a"][:2], _item("a-2", "bad", "2024-05-01T09:59:00Z", error="cut \ud800 text"), *BOXES["a"][3:]]
    mock_box(mocked, "a", items=items)
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2)
    out = tmp_path / "runs.jsonl"
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 0, res
    out.read_bytes().decode("utf-8")  # valid UTF-8: the surrogate is escaped
    runs = read(out)
    assert [r.native_id for r in runs[:5]] == ["a-0", "a-1", "a-2", "a-3", "a-4"]
    assert runs[2].error == "cut \ud800 text"  # read back as it was sent
    assert len(runs) == len({r.uid for r in runs}) == 13


# --------------------------------------------------------------------------- stdout and jobs


def test_dash_means_standard_output(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock_all(mocked)
    monkeypatch.chdir(tmp_path)
    res = cli("export", "--config", str(config_file), "-o", "-")
    assert res.code == 0, res
    assert not (tmp_path / "-").exists() and not list(tmp_path.glob("*.checkpoint.json"))
    assert "exported 13 runs to standard output" in res.err
    file_out = tmp_path / "runs.jsonl"
    assert cli("export", "--config", str(config_file), "-o", str(file_out)).code == 0
    assert res.out == file_out.read_text(encoding="utf-8")  # the same lines as a file export


def test_dash_with_a_failing_listing_exits_1_and_says_it_cannot_resume(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock
) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b", fail_at=2, status=500)
    mock_box(mocked, "c", BASE2)
    res = cli("export", "--config", str(config_file), "-o", "-")
    assert res.code == 1
    assert "listing 'alpha box=b' failed" in res.err and "cannot resume" in res.err
    assert len(res.out.splitlines()) == 5 + 2 + 5  # whole pages only


@pytest.mark.parametrize("jobs", [1, 2, 8])
def test_listings_read_at_once_write_the_same_bytes_as_one_after_the_other(
    jobs: int, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_all(mocked)
    config = load_config(config_file)
    out = tmp_path / f"runs-{jobs}.jsonl"
    result = export(config, out, jobs=jobs, environ={"CLITEST_KEY": "k3y-alpha-s3cret"})
    assert result.complete and result.total == 13
    assert read(out) == everything()  # configuration order, whatever finished first


# --------------------------------------------------------------------------- real processes: EFBIG and kill -9

CHILD = "import sys\nfrom runtrack.cli import main\nsys.exit(main(sys.argv[1:]))\n"
KILL_WHEN_COMPLETE = """
import os, signal, sys
from runtrack import export
real_save = export._Checkpoint.save
def save(self):
    real_save(self)
    if self.complete:  # the last checkpoint is on disk: die before the process can exit
        os.kill(os.getpid(), signal.SIGKILL)
export._Checkpoint.save = save
from runtrack.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def fake() -> Iterator[FakeLangSmith]:
    server = FakeLangSmith(seed=5, queues=2, runs_per_queue=30).start()
    try:
        yield server
    finally:
        server.stop()


def ls_config(tmp_path: Path, fake: FakeLangSmith) -> Path:
    path = tmp_path / "ls.toml"
    queues = ", ".join(json.dumps(q) for q in fake.queue_ids)
    path.write_text(
        "[[source]]\n"
        'adapter = "langsmith"\n'
        f"base_url = {json.dumps(fake.base_url)}\n"
        'api_key_env = "RT_TEST_LS_KEY"\n'
        "page_size = 5\n"
        f"scope = {{ queue_id = [{queues}] }}\n"
    )
    return path


def run_cli(
    code: str, tmp_path: Path, fake: FakeLangSmith, *args: str, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RT_TEST_LS_KEY": fake.api_key}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        preexec_fn=preexec,
    )


def all_ids(fake: FakeLangSmith) -> list[str]:
    return [str(row["id"]) for q in fake.queue_ids for row in fake.queue_runs(q)]


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_file_too_large_in_a_real_process_names_the_file_and_resumes(
    jobs: str, tmp_path: Path, fake: FakeLangSmith
) -> None:
    cfg, out = ls_config(tmp_path, fake), tmp_path / "runs.jsonl"
    args = ("export", "--config", str(cfg), "-o", str(out), "--jobs", jobs)

    def limit() -> None:  # the process may write files of up to 100 kB (the checkpoint is much smaller)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    first = run_cli(CHILD, tmp_path, fake, *args, preexec=limit)
    assert first.returncode == 1, first.stderr
    # with --jobs 4 a listing read ahead may hit the limit first, in its spool file next to the output
    named = f"cannot write {out}:" if jobs == "1" else f"cannot write a temporary file in {tmp_path}:"
    assert named in first.stderr or f"cannot write {out}:" in first.stderr, first.stderr
    assert "the file is too large" in first.stderr
    assert "(EFBIG)" in first.stderr and "run the same command again to resume" in first.stderr
    assert "Traceback" not in first.stderr and "internal error" not in first.stderr
    assert 0 < out.stat().st_size == checkpoint(out)["offset"] <= 100_000  # whole pages only

    second = run_cli(CHILD, tmp_path, fake, *args)
    assert second.returncode == 0, second.stderr
    assert [r.native_id for r in read(out)] == all_ids(fake)


def test_killed_after_the_last_checkpoint_a_rerun_reports_already_complete(tmp_path: Path, fake: FakeLangSmith) -> None:
    cfg, out = ls_config(tmp_path, fake), tmp_path / "runs.jsonl"
    args = ("export", "--config", str(cfg), "-o", str(out))
    killed = run_cli(KILL_WHEN_COMPLETE, tmp_path, fake, *args)
    assert killed.returncode == -signal.SIGKILL
    again = run_cli(CHILD, tmp_path, fake, *args)
    assert again.returncode == 0, again.stderr
    assert "export already complete: 60 runs" in again.stderr and "already exists" not in again.stderr
    assert [r.native_id for r in read(out)] == all_ids(fake)


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_at_a_random_moment_then_rerun_gives_every_run_once(
    seed: int, tmp_path: Path, fake: FakeLangSmith
) -> None:
    fake.faults.configure(latency=0.04)  # 12 pages of 40 ms, two at a time: the kill lands anywhere in the export
    cfg, out = ls_config(tmp_path, fake), tmp_path / "runs.jsonl"
    args = ("export", "--config", str(cfg), "-o", str(out), "--jobs", "2")
    env = {**os.environ, "RT_TEST_LS_KEY": fake.api_key}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    time.sleep(random.Random(seed).uniform(0.3, 1.2))  # start-up takes 0.2 to 0.7 s on a busy machine
    proc.kill()
    proc.wait()
    assert proc.stderr is not None
    proc.stderr.close()
    again = run_cli(CHILD, tmp_path, fake, *args)
    assert again.returncode == 0, again.stderr
    assert [r.native_id for r in read(out)] == all_ids(fake)


# --------------------------------------------------------------------------- pages in flight


@pytest.mark.parametrize(("configured", "expected"), [(None, LISTING_CONCURRENCY), (1, 1)])
def test_an_export_keeps_several_pages_of_a_listing_in_flight_unless_the_source_says_otherwise(
    configured: int | None, expected: int, tmp_path: Path, fake: FakeLangSmith
) -> None:
    """One listing at a time (``--jobs 1``): the pages of a queue travel LISTING_CONCURRENCY at once, because a
    listing read one page after another waits a round trip per page; a source's own ``concurrency`` wins."""
    fake.faults.configure(latency=0.05)
    cfg, out = ls_config(tmp_path, fake), tmp_path / "runs.jsonl"
    if configured is not None:
        cfg.write_text(cfg.read_text() + f"concurrency = {configured}\n")
    peak = most_requests_at_once(fake)
    result = export(load_config(cfg), out, jobs=1, environ={"RT_TEST_LS_KEY": fake.api_key})
    assert result.complete
    assert [r.native_id for r in read(out)] == all_ids(fake)  # every run once, in order
    assert peak[0] == expected
