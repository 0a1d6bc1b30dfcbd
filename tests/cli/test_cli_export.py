"""`runtrack export`: lossless JSON Lines, checkpoints, and resumes without duplicates after errors and crashes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import responses

from runtrack import export as export_module

from .conftest import BASE, BASE2, KEY, Result, checkpoint, everything, expected_runs, mock_box, page_match, read

Cli = Callable[..., Result]


def test_full_export_round_trips(cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2)
    out = tmp_path / "runs.jsonl"
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 0, res
    assert read(out) == everything()
    assert checkpoint(out)["complete"] is True  # kept, marked complete: a rerun knows the file is finished
    assert "exported 13 runs" in res.err and KEY not in out.read_text()
    before = out.read_bytes()
    again = cli("export", "--config", str(config_file), "-o", str(out))
    assert again.code == 0 and "already complete: 13 runs" in again.err and "--overwrite" in again.err
    assert out.read_bytes() == before  # never silently appended to or replaced
    out.write_bytes(before[:-10])
    edited = cli("export", "--config", str(config_file), "-o", str(out))
    assert edited.code == 2 and "changed since its export completed" in edited.err
    assert cli("export", "--config", str(config_file), "-o", str(out), "--overwrite").code == 0
    assert out.read_bytes() == before


def test_resume_after_a_server_error(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b", fail_at=2)  # 503 after retries on b's second page
    mock_box(mocked, "c", BASE2)
    out = tmp_path / "runs.jsonl"
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 1, res
    assert "listing 'alpha box=b' failed" in res.err and "run the same command again" in res.err
    state = checkpoint(out)
    units = {u["key"]: u for u in state["units"]}
    assert units["alpha box=a"]["done"] and units["beta box=c"]["done"]  # the other listings went on
    assert not units["alpha box=b"]["done"] and units["alpha box=b"]["runs"] == 2
    assert state["offset"] == out.stat().st_size

    mocked.reset()
    mock_box(mocked, "b")
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 0, res
    assert [c.request.url.split("?")[1] for c in mocked.calls] == ["offset=2&limit=2"]  # only what was missing
    runs = read(out)
    assert sorted(r.uid for r in runs) == sorted(r.uid for r in everything())  # every run exactly once
    assert len({r.uid for r in runs}) == len(runs)
    assert {r.uid: r for r in runs} == {r.uid: r for r in everything()}


def test_ctrl_c_exits_130_and_resumes(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    def interrupt(request: Any) -> Any:
        raise KeyboardInterrupt

    mock_box(mocked, "a")
    mocked.add_callback(responses.GET, f"{BASE}/boxes/b/runs", callback=interrupt, match=[page_match(0)])
    out = tmp_path / "runs.jsonl"
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 130 and "checkpoint" in res.err and "intact" in res.err
    assert read(out) == expected_runs("a")

    mocked.reset()
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2)
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 0, res
    assert read(out) == everything()


def test_crash_between_write_and_checkpoint_leaves_no_duplicates(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page reached the disk but its checkpoint did not (power loss): the resume truncates and re-fetches it."""
    monkeypatch.setattr(export_module, "CHECKPOINT_INTERVAL", 0.0)  # a checkpoint after every page
    for box in "ab":
        mock_box(mocked, box)
    mock_box(mocked, "c", BASE2)
    out = tmp_path / "runs.jsonl"
    real_save = export_module._Checkpoint.save
    calls = {"n": 0}

    def dying_save(self: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:  # initial save, a page 1, a page 2, then dies before saving a's third page
            raise SystemExit("power loss")
        real_save(self)

    monkeypatch.setattr(export_module._Checkpoint, "save", dying_save)
    with pytest.raises(SystemExit):
        cli("export", "--config", str(config_file), "-o", str(out))
    assert len(read(out)) == 5  # a-4 is in the file, its checkpoint is not
    assert checkpoint(out)["offset"] < out.stat().st_size
    with out.open("a") as fp:
        fp.write('{"half a li')  # and a torn write after it

    monkeypatch.setattr(export_module._Checkpoint, "save", real_save)
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 0, res
    assert read(out) == everything()


class FrozenClock:
    """``time.monotonic`` for the export module that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def counted_saves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The offsets of every checkpoint saved from now on."""
    offsets: list[int] = []
    real_save = export_module._Checkpoint.save

    def save(self: Any) -> None:
        offsets.append(self.offset)
        real_save(self)

    monkeypatch.setattr(export_module._Checkpoint, "save", save)
    return offsets


def test_checkpoints_wait_for_the_interval_not_for_every_page(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two fsyncs per page made the export wait on the disk; now a checkpoint is saved when CHECKPOINT_INTERVAL has
    passed since the last one (and at the end), its offset that of a whole page."""
    mock_box(mocked, "a")
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2)
    clock = FrozenClock()
    monkeypatch.setattr(export_module, "time", clock)
    saves = counted_saves(monkeypatch)
    out = tmp_path / "runs.jsonl"
    res = cli("export", "--config", str(config_file), "-o", str(out), "--jobs", "1")
    assert res.code == 0, res
    assert read(out) == everything()
    size = out.stat().st_size
    assert saves == [0, size, size]  # the empty start, the end of the listings, "complete": none per page

    saves.clear()
    real_write = export_module._FileTarget.write

    def slow_write(self: Any, block: bytes) -> None:  # every page takes 0.4 s of the clock
        real_write(self, block)
        clock.now += 0.4

    monkeypatch.setattr(export_module._FileTarget, "write", slow_write)
    res = cli("export", "--config", str(config_file), "-o", str(out), "--jobs", "1", "--overwrite")
    assert res.code == 0, res
    pages = len(mocked.calls) // 2  # the same requests as the first export
    assert 3 < len(saves) < pages  # about one checkpoint every third page
    lines = out.read_bytes().splitlines(keepends=True)
    whole = {sum(len(x) for x in lines[:i]) for i in range(len(lines) + 1)}
    assert set(saves) <= whole  # every checkpoint at the end of a line


def test_a_crash_between_checkpoints_costs_the_pages_since_then_and_nothing_else(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed with pages written after the last checkpoint: the resume cuts them off and reads them again."""
    for box in "ab":
        mock_box(mocked, box)
    mock_box(mocked, "c", BASE2)
    monkeypatch.setattr(export_module, "time", FrozenClock())  # no checkpoint falls due before the crash
    real_write = export_module._FileTarget.write
    calls = {"n": 0}

    def dying_write(self: Any, block: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # 4 whole pages are in the file, none of them in a checkpoint
            raise SystemExit("killed")
        real_write(self, block)

    monkeypatch.setattr(export_module._FileTarget, "write", dying_write)
    out = tmp_path / "runs.jsonl"
    with pytest.raises(SystemExit):
        cli("export", "--config", str(config_file), "-o", str(out), "--jobs", "1")
    assert read(out) == everything()[:7] and checkpoint(out)["offset"] == 0  # a's 5 runs and b's first 2

    monkeypatch.setattr(export_module._FileTarget, "write", real_write)
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 0, res
    assert read(out) == everything()


def interrupted_export(cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path) -> Path:
    """An export whose box "b" fails on its first page: exit 1, checkpoint left behind."""
    mock_box(mocked, "a")
    mock_box(mocked, "b", fail_at=0, status=500)
    mock_box(mocked, "c", BASE2)
    out = tmp_path / "runs.jsonl"
    assert cli("export", "--config", str(config_file), "-o", str(out)).code == 1
    return out


def test_changed_configuration_is_refused(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    out = interrupted_export(cli, config_file, mocked, tmp_path)
    config_file.write_text(config_file.read_text().replace('team = "red"', 'team = "blue"'))
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 2 and "changed" in res.err and "--restart" in res.err
    mocked.reset()
    for box in "ab":
        mock_box(mocked, box)
    mock_box(mocked, "c", BASE2)
    res = cli("export", "--config", str(config_file), "-o", str(out), "--restart")
    assert res.code == 0, res
    assert read(out) == everything()


def test_tampered_output_is_refused(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    out = interrupted_export(cli, config_file, mocked, tmp_path)
    out.write_text("")
    res = cli("export", "--config", str(config_file), "-o", str(out))
    assert res.code == 2 and "shorter" in res.err


def test_output_directory_must_exist(cli: Cli, config_file: Path, tmp_path: Path) -> None:
    res = cli("export", "--config", str(config_file), "-o", str(tmp_path / "nope" / "runs.jsonl"))
    assert res.code == 2 and "does not exist" in res.err
