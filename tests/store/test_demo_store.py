"""``runtrack demo`` goes through a run store: it names the store, and a kept store gives the same report offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import runtrack
from runtrack import cli, demo

pytestmark = pytest.mark.e2e


def test_the_demo_reports_from_its_store_and_a_kept_store_reports_the_same_offline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "demo.db"
    assert demo.main(["--format", "json", "--store", str(db)]) == 0
    captured = capsys.readouterr()
    assert f"runs into the run store {db}" in captured.err
    live = json.loads(captured.out)
    with runtrack.open_store(db) as store:
        assert store.count() == sum(s["read"] for s in live["sources"])
        assert {r.source for r in store.syncs()} == {"langsmith", "foundry", "labelstudio"}
    # the fakes are gone now: this report can only come from the file
    assert cli.main(["report", "--store", str(db), "--format", "json", "--stuck-after", "6h"], now=demo.DEMO_NOW) == 0
    offline = json.loads(capsys.readouterr().out)
    assert offline == live


def test_the_default_store_is_temporary(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    err = capsys.readouterr().err
    path = Path(err.split("runs into the run store ")[1].split(" ")[0])
    assert path.name == "demo.db" and not path.exists() and not path.parent.exists()
