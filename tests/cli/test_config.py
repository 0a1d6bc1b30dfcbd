"""The configuration file: strict checks with key paths, refused inline secrets, scope expansion, discovery."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

import runtrack
from runtrack.config import (
    ConfigFileError,
    find_config,
    load_config,
    parse_config,
    parse_duration,
    parse_since,
)

from .conftest import BASE, NOW, ClitestAdapter, Result

Cli = Callable[..., Result]
ADAPTERS = {"clitest": ClitestAdapter}


def parse(data: dict[str, Any], **kw: Any) -> Any:
    return parse_config(data, file="t.toml", adapters=ADAPTERS, now=NOW, **kw)


def source(**extra: Any) -> dict[str, Any]:
    return {"source": [{"adapter": "clitest", "base_url": BASE, **extra}]}


def test_a_full_configuration() -> None:
    config = parse(
        {
            "report": {"stuck_after": "1h30m", "since": "7d", "top_errors": 2, "group_by": "box"},
            "source": [
                {
                    "name": "x",
                    "adapter": "clitest",
                    "api_key_env": "MY_KEY",
                    "team": "red",
                    "scope": {"box": ["a", "b"]},
                    "page_size": 50,
                    "max_items": 10,
                },
                {"adapter": "clitest", "base_url": BASE},
            ],
        }
    )
    x, y = config.sources
    assert (x.name, x.options, x.secret_env, x.page_size, x.max_items) == ("x", {"team": "red"}, {"api_key": "MY_KEY"},
                                                                           50, 10)  # fmt: skip
    assert x.scopes == ({"box": "a"}, {"box": "b"})
    assert (y.name, y.scopes, y.key) == ("clitest", ({},), "source[1]")
    assert config.report.stuck_after == timedelta(minutes=90)
    assert config.report.since == NOW - timedelta(days=7)
    assert config.report.group_by == ("box",)
    assert x.connect_options({"MY_KEY": "v"}) == {"team": "red", "api_key": "v"}


@pytest.mark.parametrize(
    ("data", "key", "hint"),
    [
        ({"sourcez": []}, "sourcez", "did you mean 'source'"),
        (source(scope={"boxx": "a"}), "source[0].scope.boxx", "did you mean 'box'"),
        (source(teem="red"), "source[0].teem", "did you mean 'team'"),
        (source(scope={"box": []}), "source[0].scope.box", "empty list"),
        (source(scope={"box": [{"a": 1}]}), "source[0].scope.box[0]", "expected a string"),
        (source(page_size=0), "source[0].page_size", ">= 1"),
        (source(page_size="10"), "source[0].page_size", "integer"),
        ({"source": [{"base_url": BASE}]}, "source[0].adapter", "missing"),
        ({"source": [{"adapter": "clitst"}]}, "source[0].adapter", "did you mean 'clitest'"),
        ({**source(), "report": {"stuck_after": "soon"}}, "report.stuck_after", "6h"),
        ({**source(), "report": {"colour": 1}}, "report.colour", "valid: group_by, since, stuck_after"),
        ({"report": {}}, "source", "at least one source"),
        ({"source": [{"adapter": "clitest"}, {"adapter": "clitest"}]}, "source[1].name", "duplicate"),
        (source(base_url="https://user:pw@host"), "source[0].base_url", "credentials"),
    ],
)
def test_errors_name_the_key(data: dict[str, Any], key: str, hint: str) -> None:
    with pytest.raises(ConfigFileError) as info:
        parse(data)
    assert info.value.key == key
    assert str(info.value).startswith(f"t.toml: {key}: ")
    assert hint in str(info.value)


def test_inline_secret_is_refused_and_never_echoed() -> None:
    with pytest.raises(ConfigFileError, match="inline secrets are refused") as info:
        parse(source(api_key="sk-live-abcdef"))
    assert info.value.key == "source[0].api_key" and "api_key_env" in str(info.value)
    assert "sk-live" not in str(info.value)
    with pytest.raises(ConfigFileError, match="looks like a key, not a variable name") as info:
        parse(source(api_key_env="sk-live abcdef"))
    assert "sk-live" not in str(info.value)


def test_unavailable_adapter_skips_adapter_checks() -> None:
    config = parse({"source": [{"adapter": "broken", "whatever": 1}]}, unavailable={"broken": "ImportError: x"})
    assert config.sources[0].options == {"whatever": 1}
    with pytest.raises(ConfigFileError, match="inline secrets"):
        parse({"source": [{"adapter": "broken", "api_key": "x"}]}, unavailable={"broken": "ImportError"})


def test_missing_secret_variable_is_named() -> None:
    (spec,) = parse(source(api_key_env="MY_KEY")).sources
    with pytest.raises(Exception, match="MY_KEY"):
        spec.connect_options({})


def test_durations_and_dates() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration(30) == timedelta(seconds=30)
    for bad in ("6 hours", "h", "-1h", True, -5):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)
    assert parse_since("2024-05-01", NOW).isoformat() == "2024-05-01T00:00:00+00:00"
    assert parse_since("2024-05-01T12:00:00+02:00", NOW).isoformat() == "2024-05-01T10:00:00+00:00"
    assert parse_since("12h", NOW) == NOW - timedelta(hours=12)


def test_toml_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[[source]\nadapter = 'x'\n")
    with pytest.raises(ConfigFileError, match=r"c\.toml: invalid TOML: .*line 1"):
        load_config(path)
    path.write_text(f"[report]\nsince = 2024-05-01\n[[source]]\nadapter = 'clitest'\nbase_url = '{BASE}'\n")
    assert load_config(path, adapters=ADAPTERS).report.since == parse_since("2024-05-01", NOW)  # a TOML date


def test_discovery_order(tmp_path: Path) -> None:
    (tmp_path / "runtrack.toml").write_text("")
    (tmp_path / "env.toml").write_text("")
    assert find_config(None, {}, tmp_path) == tmp_path / "runtrack.toml"
    assert find_config(None, {"RUNTRACK_CONFIG": str(tmp_path / "env.toml")}, tmp_path) == tmp_path / "env.toml"
    assert find_config(str(tmp_path / "runtrack.toml"), {"RUNTRACK_CONFIG": "x"}, tmp_path).name == "runtrack.toml"
    with pytest.raises(ConfigFileError, match="RUNTRACK_CONFIG"):
        find_config(None, {"RUNTRACK_CONFIG": str(tmp_path / "missing.toml")}, tmp_path)
    with pytest.raises(ConfigFileError, match="no configuration"):
        find_config(None, {}, tmp_path / "elsewhere")


def test_cli_config_errors_exit_2(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = cli("report")
    assert res.code == 2 and "no configuration" in res.err
    (tmp_path / "runtrack.toml").write_text(
        f'[[source]]\nadapter = "clitest"\nbase_url = "{BASE}"\n[[source]]\nadapter = "clitest"\nname = "two"\n'
        'scope = { box = "a", boxx = "b" }\n'
    )
    for command in ("report", "export -o out.jsonl"):
        res = cli(*command.split())
        assert res.code == 2
        assert res.err.strip() == (
            "runtrack: error: " + str(tmp_path / "runtrack.toml") + ": source[1].scope.boxx: unknown scope keyword "
            "for adapter 'clitest' (did you mean 'box'?); valid: box"
        )
    assert not (tmp_path / "out.jsonl").exists()


class LooseAdapter(ClitestAdapter):
    """Takes ``**scope`` (its keywords cannot be read from the signature) and rejects unknown ones itself."""

    name = "loose"

    def listing(self, *, page_size: int | None = None, **scope: Any) -> Any:
        unknown = sorted(set(scope) - {"box"})
        if unknown:
            raise runtrack.ConfigurationError(f"unknown scope keyword(s) {', '.join(unknown)}; valid: box")
        return super().listing(page_size=page_size, **scope)


class _LoosePlugin:
    @runtrack.hookimpl
    def register_adapters(self, register: Callable[[type[runtrack.Adapter]], None]) -> None:
        register(LooseAdapter)


def test_scope_rejected_by_the_adapter_is_a_config_error(cli: Cli, tmp_path: Path) -> None:
    runtrack.plugin_manager().register(_LoosePlugin(), name="loose-plugin")
    path = tmp_path / "c.toml"
    path.write_text(f'[[source]]\nadapter = "loose"\nbase_url = "{BASE}"\nscope = {{ box = "a", boxx = ["b"] }}\n')
    with responses.RequestsMock() as mock:  # nothing may be fetched
        res = cli("report", "--config", str(path))
        assert len(mock.calls) == 0
    assert res.code == 2, res
    assert f"{path}: source[0].scope: adapter 'loose' rejects box=a,boxx=b: unknown scope keyword(s) boxx" in res.err
