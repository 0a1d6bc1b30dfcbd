"""The Python example of docs/store.md runs as written (against a fake, into a temporary store)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "store.md"

pytestmark = pytest.mark.e2e


def test_the_python_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    section = DOC.read_text(encoding="utf-8").split("## From Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    exec(compile(code.group(1), str(DOC), "exec"), {"STORE": tmp_path / "runs.db"})
    out = capsys.readouterr().out
    assert "StatusChange(" in out and "status=<RunStatus.FAILED" in out and "SyncRecord(" in out
