"""Every option is checked when an adapter is built and when a configuration file is loaded: bad values are
configuration errors (CLI exit 2, nothing read), credentials in URLs are refused, and a key pasted where a
variable name belongs is recognised without being shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import runtrack
from runtrack.cli import main
from runtrack.http import Transport
from runtrack.testing import FakeLangSmith

from .servers import FOUNDRY_TOKEN, LANGSMITH_KEY, LS_LEGACY, LS_PAT, leaked

PASSWORD = "Pa55wordInTheUrl"
USERINFO_URLS = [
    f"https://user:{PASSWORD}@ls.example.test",
    f" \thttps://user:{PASSWORD}@ls.example.test",
    f"\nuser:{PASSWORD}@ls.example.test",
    f"user:{PASSWORD}@ls.example.test",
    f"https://:{PASSWORD}@ls.example.test/api",
    f"http://{PASSWORD}@127.0.0.1:9",
    f"HTTPS://user:{PASSWORD}@LS.example.test:443/x\n",
]
ADAPTERS = ("langsmith", "labelstudio", "foundry")


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("url", USERINFO_URLS)
def test_userinfo_in_base_url_is_refused_without_showing_it(adapter: str, url: str) -> None:
    with pytest.raises(runtrack.ConfigurationError, match="credentials in the URL") as info:
        runtrack.connect(adapter, base_url=url, api_key=LS_LEGACY)
    assert PASSWORD not in str(info.value) and "Pa55" not in repr(info.value)


def test_a_transport_refuses_userinfo_too() -> None:
    with pytest.raises(ValueError, match="credentials") as info:
        Transport(f"https://u:{PASSWORD}@h.test", platform="x")
    assert PASSWORD not in str(info.value)


BAD = [
    ("base_url", 5, "expected a URL string"),
    ("base_url", "https://", "no host"),
    ("base_url", "https://host:99999", "port"),
    ("base_url", "https://ho st", "whitespace"),
    ("timeout", "abc", "expected a number"),
    ("timeout", "nan", "finite"),
    ("timeout", [1, 2, 3], "pair"),
    ("timeout", True, "boolean"),
    ("deadline", 0, "> 0"),
    ("deadline", "inf", "finite"),
    ("max_retries", -1, "between 0"),
    ("max_retries", 2.5, "integer"),
    ("max_retries", "many", "integer"),
    ("concurrency", 99, "between 1 and 16"),
    ("concurrency", 0, "between 1 and 16"),
    ("verify", "maybe", "true or false"),
    ("ca_bundle", "/no/such/ca.pem", "no such file"),
]


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize(("option", "value", "message"), BAD)
def test_bad_option_values_are_configuration_errors(adapter: str, option: str, value: Any, message: str) -> None:
    options: dict[str, Any] = {"base_url": "https://h.test", "api_key": LS_LEGACY, option: value}
    with pytest.raises(runtrack.ConfigurationError, match=message):
        runtrack.connect(adapter, **options)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("endpoint", "nope", "must be one of auto, runs, items"),
        ("web_url", f"https://u:{PASSWORD}@smith.test", "credentials in the URL"),
        ("web_url", 5, "expected a URL string"),
        ("workspace_id", ["a"], "expected a workspace id"),
        ("workspace_id", " ", "expected a workspace id"),
    ],
)
def test_langsmith_options_are_checked(option: str, value: Any, message: str) -> None:
    with pytest.raises(runtrack.ConfigurationError, match=message) as info:
        runtrack.connect("langsmith", api_key=LANGSMITH_KEY, **{option: value})
    assert PASSWORD not in str(info.value)


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "runtrack.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        ('timeout = "abc"', "timeout", "expected a number"),
        ("max_retries = -1", "max_retries", "between 0"),
        ("concurrency = 99", "concurrency", "between 1 and 16"),
        ('endpoint = "nope"', "endpoint", "must be one of"),
        ("base_url = 5", "base_url", "expected a URL string"),
        ('deadline = "soon"', "deadline", "expected a number"),
        ('verify = "maybe"', "verify", "true or false"),
    ],
)
def test_bad_options_in_the_config_exit_2_before_reading(
    line: str, key: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeLangSmith() as fake:
        base = "" if key == "base_url" else f'base_url = "{fake.base_url}"\n'
        path = _config(tmp_path, f'[[source]]\nadapter = "langsmith"\n{base}{line}\n')
        for command in ("report", "export"):
            argv = [command, "--config", str(path)] + (["-o", str(tmp_path / "x.jsonl")] if command == "export" else [])
            assert main(argv) == 2
            out, err = capsys.readouterr()
            assert f"source[0].{key}" in err and message in err
            assert out == ""
        assert fake.request_count == 0


@pytest.mark.parametrize("url", USERINFO_URLS)
def test_userinfo_in_a_config_base_url_is_refused(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path, f'[[source]]\nadapter = "labelstudio"\nbase_url = {json.dumps(url)}\n')
    code = main(["report", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "source[0].base_url: credentials in the URL" in err
    assert "Pa55" not in err


@pytest.mark.parametrize("key", [LANGSMITH_KEY, LS_LEGACY, FOUNDRY_TOKEN, LS_PAT, "sk-proj-Abc123Def456Ghi789"])
def test_a_key_pasted_as_a_variable_name_is_recognised_and_not_shown(
    key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, f'[[source]]\nadapter = "langsmith"\napi_key_env = "{key}"\n')
    assert main(["report", "--config", str(path)]) == 2
    assert main(["runs", "langsmith", "--api-key-env", key]) == 2
    out, err = capsys.readouterr()
    assert err.count("this looks like a key, not a variable name") == 2
    assert not leaked(out + err, key)


@pytest.mark.parametrize("name", ["LANGSMITH_API_KEY", "MY_KEY_2", "ls_prod_key", "CI_LANGSMITH_API_KEY_STAGING"])
def test_ordinary_variable_names_are_not_mistaken_for_keys(name: str, tmp_path: Path) -> None:
    path = _config(tmp_path, f'[[source]]\nadapter = "langsmith"\napi_key_env = "{name}"\n')
    config = runtrack.config.load_config(path)
    assert config.sources[0].secret_env == {"api_key": name}
