"""`runtrack adapters`, `demo`, `--version`, `--help`, and the progress display."""

from __future__ import annotations

import io
import json
import sys
import types
from collections.abc import Callable

import pytest

import runtrack
from runtrack import plugins
from runtrack.progress import Progress

from .conftest import Result

Cli = Callable[..., Result]


def test_version_and_help(cli: Cli) -> None:
    res = cli("--version")
    assert res.code == 0 and res.out.strip() == f"runtrack {runtrack.__version__}"
    res = cli("--help")
    assert res.code == 0
    for command in ("adapters", "runs", "report", "export", "demo"):
        assert command in res.out
    assert "0 ok, 1 partial failure, 2 usage or configuration error" in " ".join(res.out.split())
    res = cli("report", "--help")
    assert res.code == 0 and "--since" in res.out and "--format" in res.out
    assert cli().code == 2
    res = cli("report", "--format", "yaml")
    assert res.code == 2 and "invalid choice" in res.err
    res = cli("adapters", "--bogus")
    assert res.code == 2 and "unrecognized arguments: --bogus" in res.err


def test_adapters_lists_origin_and_failures(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "plugin_failures", lambda: [])
    res = cli("adapters", "--format", "json")
    assert res.code == 0, res
    doc = json.loads(res.out)
    (mine,) = [a for a in doc["adapters"] if a["name"] == "clitest"]
    assert mine["plugin"] == "clitest-plugin" and mine["distribution"] is None
    assert mine["class"] == "tests.cli.conftest.ClitestAdapter"
    assert [a["name"] for a in doc["adapters"]] == sorted(a["name"] for a in doc["adapters"])

    broken = plugins.PluginFailure(name="shiny", distribution="runtrack-shiny", error="ImportError: no module x")
    monkeypatch.setattr(plugins, "plugin_failures", lambda: [broken])
    res = cli("adapters")
    assert res.code == 1
    lines = res.out.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "ORIGIN", "CLASS"]
    assert any(line.startswith("clitest ") and "plugin clitest-plugin" in line for line in lines)
    assert "Plugins that failed to load" in res.out and "runtrack-shiny" in res.out and "no module x" in res.out


def test_demo_is_loaded_lazily(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType("runtrack.demo")
    fake.main = lambda argv: seen.append(list(argv)) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "runtrack.demo", fake)
    res = cli("demo", "--format", "markdown", "extra")
    assert res.code == 0 and seen == [["--format", "markdown", "extra"]]
    fake.main = lambda argv: 1  # type: ignore[attr-defined]
    assert cli("demo").code == 1


def test_demo_missing_is_a_clear_error(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "runtrack.demo", None)  # makes the import fail as if the module were absent
    res = cli("demo")
    assert res.code == 2 and "runtrack.demo is missing" in res.err


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_throttled_and_per_source() -> None:
    now = [0.0]
    stream = FakeTty()
    progress = Progress(stream, interval=0.5, clock=lambda: now[0])
    progress.start("alpha box=a")
    for _ in range(10):  # ten pages in 0.2 s: no redraw yet
        now[0] += 0.02
        progress.advance(100)
    assert stream.getvalue() == ""
    now[0] = 1.0
    progress.advance(1000)
    assert stream.getvalue() == "\ralpha box=a: 2,000 runs read, 2,000/s"
    progress.finish()
    assert stream.getvalue().endswith(" - done\n")
    progress.start("beta box=c")
    progress.finish(failed=True)
    assert stream.getvalue().split("\n")[-2] == "\rbeta box=c: 0 runs read - failed"
    assert stream.getvalue().endswith(" - failed\n")


def test_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", FakeTty())
    assert Progress.for_stderr().enabled
    assert not Progress.for_stderr(quiet=True).enabled
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not Progress.for_stderr().enabled
    silent = Progress(None)
    silent.start("x")
    silent.advance(5)
    silent.finish()
    assert silent.count == 5


def test_a_command_runs_with_the_collector_tuned_for_bulk_and_leaves_it_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Full collections walked the start-up objects again and again while pages were decoded; a command now runs
    with them frozen and a higher threshold, and a caller of main() in its own process gets its settings back."""
    import gc

    from runtrack import cli as cli_module

    seen: dict[str, object] = {}

    def dispatch(*args: object) -> int:
        seen["threshold"], seen["frozen"] = gc.get_threshold(), gc.get_freeze_count()
        return 0

    monkeypatch.setattr(cli_module, "_dispatch", dispatch)
    before = gc.get_threshold()
    assert cli_module.main(["adapters"]) == 0
    assert seen["threshold"] == (20_000, 10, 10) and isinstance(seen["frozen"], int) and seen["frozen"] > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
