"""The pluggy registry: isolated entry-point loading, duplicates, misspelled hooks, run-time changes, connect()."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

import runtrack
import runtrack.plugins
from runtrack.adapter import common_options


class Dummy(runtrack.Adapter):
    name = "dummy"
    options = common_options(base_url_env=("DUMMY_URL",), api_key_env=("DUMMY_KEY",))


class Plugin:
    def __init__(self, *classes: type[runtrack.Adapter]) -> None:
        self.classes = classes

    @runtrack.hookimpl
    def register_adapters(self, register: Any) -> None:
        for cls in self.classes:
            register(cls)


@attrs.frozen
class FakeDist:
    name: str


@attrs.frozen
class FakeEntryPoint:
    name: str
    module: str
    dist: FakeDist | None

    def load(self) -> Any:
        __import__(self.module)
        return sys.modules[self.module]


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def write_module(directory: Path, name: str, source: str) -> str:
    (directory / f"{name}.py").write_text(source)
    sys.modules.pop(name, None)
    return name


GOOD = """
import runtrack
from runtrack.adapter import common_options

class Good(runtrack.Adapter):
    name = "good"
    options = common_options(base_url_env=("GOOD_URL",), api_key_env=("GOOD_KEY",))

@runtrack.hookimpl
def register_adapters(register):
    register(Good)
"""


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    eps: list[FakeEntryPoint] = []
    monkeypatch.setattr(
        runtrack.plugins.metadata, "entry_points", lambda group: list(eps) if group == "runtrack" else []
    )
    monkeypatch.setattr(runtrack.plugins, "BUILTIN_PLUGINS", {})
    return eps


def test_broken_plugin_is_reported_and_skipped(plugin_dir: Path, entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(
        FakeEntryPoint("broken", write_module(plugin_dir, "rt_broken", "import nope_not_here"), FakeDist("rt-broken"))
    )
    entry_points.append(FakeEntryPoint("good", write_module(plugin_dir, "rt_good", GOOD), FakeDist("rt-good")))
    assert runtrack.available_adapters() == ["good"]
    failures = runtrack.plugins.plugin_failures()
    assert [(f.name, f.distribution) for f in failures] == [("broken", "rt-broken")]
    assert "nope_not_here" in failures[0].error
    info = runtrack.plugins.adapter_registry()["good"]
    assert info.plugin == "good"
    assert info.distribution == "rt-good"


def test_misspelled_hook_is_caught(plugin_dir: Path, entry_points: list[FakeEntryPoint]) -> None:
    typo = "import runtrack\n@runtrack.hookimpl\ndef register_adapter(register):\n    pass\n"
    entry_points.append(FakeEntryPoint("typo", write_module(plugin_dir, "rt_typo", typo), FakeDist("rt-typo")))
    entry_points.append(FakeEntryPoint("good", write_module(plugin_dir, "rt_good2", GOOD), FakeDist("rt-good")))
    assert runtrack.available_adapters() == ["good"]
    [failure] = runtrack.plugins.plugin_failures()
    assert failure.name == "typo"
    assert "unknown hook" in failure.error
    assert "register_adapter" in failure.error


def test_duplicate_entry_point_names(plugin_dir: Path, entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("good", write_module(plugin_dir, "rt_good3", GOOD), FakeDist("a")))
    entry_points.append(FakeEntryPoint("good", write_module(plugin_dir, "rt_good4", GOOD), FakeDist("b")))
    runtrack.available_adapters()
    [failure] = runtrack.plugins.plugin_failures()
    assert failure.distribution == "b"
    assert "already uses the entry-point name" in failure.error


def test_duplicate_adapter_names_are_a_clear_error(entry_points: list[FakeEntryPoint]) -> None:
    class Other(Dummy):
        pass

    pm = runtrack.plugin_manager()
    pm.register(Plugin(Dummy), name="first")
    pm.register(Plugin(Other), name="second")
    with pytest.raises(runtrack.ConfigurationError, match="'dummy' is registered twice: by plugin 'first'.*'second'"):
        runtrack.available_adapters()


def test_env_switch_disables_third_party_plugins(
    plugin_dir: Path, entry_points: list[FakeEntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    entry_points.append(FakeEntryPoint("good", write_module(plugin_dir, "rt_good5", GOOD), FakeDist("rt-good")))
    monkeypatch.setenv("RUNTRACK_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert runtrack.available_adapters() == []
    assert runtrack.plugins.plugin_failures() == []


def test_run_time_registration_is_reflected_immediately(entry_points: list[FakeEntryPoint]) -> None:
    assert runtrack.available_adapters() == []
    plugin = Plugin(Dummy)
    runtrack.plugin_manager().register(plugin)
    assert runtrack.available_adapters() == ["dummy"]
    runtrack.plugin_manager().unregister(plugin)
    assert runtrack.available_adapters() == []


def test_registering_a_non_adapter_is_refused(entry_points: list[FakeEntryPoint]) -> None:
    runtrack.plugin_manager().register(Plugin(object))  # type: ignore[arg-type]
    with pytest.raises(runtrack.ConfigurationError, match="not a runtrack.Adapter"):
        runtrack.available_adapters()


def test_connect(entry_points: list[FakeEntryPoint], monkeypatch: pytest.MonkeyPatch) -> None:
    runtrack.plugin_manager().register(Plugin(Dummy))
    with pytest.raises(runtrack.ConfigurationError, match="unknown adapter 'dumy'.*available: dummy"):
        runtrack.connect("dumy")
    monkeypatch.delenv("DUMMY_KEY", raising=False)
    with pytest.raises(runtrack.ConfigurationError, match="missing option 'api_key'.*DUMMY_KEY"):
        runtrack.connect("dummy", base_url="https://x.test")
    monkeypatch.setenv("DUMMY_KEY", "k-123456")
    monkeypatch.setenv("DUMMY_URL", "x.test")
    src = runtrack.connect("dummy")
    assert src.config["base_url"] == "https://x.test"
    assert src.instance == "x.test"
    assert "k-123456" not in repr(src.config)
    with pytest.raises(runtrack.ConfigurationError, match="invalid option 'max_retries'"):
        runtrack.connect("dummy", max_retries=-1)


def test_builtin_fallback_when_entry_points_are_missing(monkeypatch: pytest.MonkeyPatch, plugin_dir: Path) -> None:
    # A source checkout without installed metadata still finds runtrack's own adapters.
    monkeypatch.setattr(runtrack.plugins.metadata, "entry_points", lambda group: [])
    monkeypatch.setattr(runtrack.plugins, "BUILTIN_PLUGINS", {"good": write_module(plugin_dir, "rt_good6", GOOD)})
    assert runtrack.available_adapters() == ["good"]
    assert runtrack.plugins.adapter_registry()["good"].distribution == "runtrack"


def test_the_hookspec_is_documented() -> None:
    # Every hook appears with its signature in the plugin author's guide.
    doc = (Path(__file__).parents[2] / "docs" / "writing-an-adapter.md").read_text()
    pm = runtrack.plugin_manager()
    for name in pm.hook.__dict__:
        if not name.startswith("_"):
            assert f"def {name}(register)" in doc


def test_import_runtrack_is_light() -> None:
    # pytest loads runtrack's plugin in every run where runtrack is installed, and connect() is on every script's
    # start-up path: requests and cattrs load with the first request and the first (de)serialisation, not before.
    import subprocess

    code = (
        "import sys, runtrack, runtrack.testing.pytest_plugin\n"
        "heavy = lambda: ','.join(m for m in ('requests', 'cattrs', 'urllib3') if m in sys.modules)\n"
        "print(heavy())\n"
        "runtrack.connect('foundry', base_url='https://foundry.invalid', api_key='k', model_studios=['ri.a.b.c.d'])\n"
        "print(heavy())\n"
        "data = runtrack.dump_run(runtrack.Run(platform='p', instance='i', kind='k', native_id='1'))\n"
        "print(heavy())\n"
        "runtrack.load_run(data)\n"
        "print(heavy())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:4] == ["", "", "", "cattrs"]  # dump_run needs no cattrs; load_run does
