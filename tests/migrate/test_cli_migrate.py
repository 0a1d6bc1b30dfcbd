"""``runtrack migrations`` and the usage errors of ``runtrack migrate`` (the real runs are in tests/realserver)."""

from __future__ import annotations

import json
import re

import pytest

from runtrack.cli import main


def test_migrations_lists_the_built_in_direction(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrations", "--format", "json"]) == 0
    [row] = [m for m in json.loads(capsys.readouterr().out)["migrations"] if m["name"] == "langsmith-to-labelstudio"]
    assert (row["from"], row["to"]) == ("langsmith", "labelstudio")
    assert "project" in row["options"] and "max_field_chars" in row["options"]
    assert main(["migrations"]) == 0
    out = capsys.readouterr().out  # column widths depend on every registered direction
    assert re.search(r"langsmith-to-labelstudio +langsmith +labelstudio", out)
    assert re.search(r"labelstudio-to-langsmith +labelstudio +langsmith", out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["migrate", "nope", "--from", "langsmith", "--to", "labelstudio"], "unknown migration 'nope'"),
        (
            ["migrate", "langsmith-to-labelstudio", "--from", "lsm", "--to", "labelstudio"],
            "--from 'lsm': no configured",
        ),
        (
            ["migrate", "langsmith-to-labelstudio", "--from", "langsmith", "--to", "labelstudio", "--option", "x=1"],
            "unknown option(s) x",
        ),
        (
            ["migrate", "langsmith-to-labelstudio", "--from", "labelstudio", "--to", "labelstudio"],
            "needs a langsmith source, got 'labelstudio'",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.delenv("RUNTRACK_CONFIG", raising=False)
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2_pt_" + "a" * 40)
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "b" * 40)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert "b" * 40 not in err


def test_plan_and_reconcile_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["migrate", "langsmith-to-labelstudio", "--from", "a", "--to", "b", "--plan", "--reconcile"]
    assert main(argv) == 2
    assert "not allowed with argument" in capsys.readouterr().err
