"""The audit's small CLI findings: ``python -m runtrack``, ``demo --debug``, ``runtrack.plugins`` and the
missing-key message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from runtrack.cli import main


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH", "LANGCHAIN"))}
    return env


def test_python_dash_m_runtrack_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runtrack", "--version"], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("runtrack ")


def test_plugins_is_an_attribute_right_after_import_runtrack() -> None:
    code = "import runtrack; print(runtrack.plugins.plugin_failures())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("argv", [["demo", "--debug", "--format", "json"], ["--debug", "demo", "--format", "json"]])
def test_demo_accepts_the_global_debug_flag(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert '"ok": true' in out
    assert "unrecognized arguments" not in err


def test_quiet_before_demo_silences_the_intro(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quiet", "demo", "--format", "json"]) == 0
    assert capsys.readouterr().err == ""


def test_missing_key_names_the_variable_not_a_python_keyword(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    assert main(["runs", "langsmith", "--option", "base_url=http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "api_key=" not in err.replace("connect(..., api_key=...)", "")
    assert "LANGSMITH_API_KEY" in err and "--api-key-env" in err
