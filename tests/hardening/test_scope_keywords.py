"""Scope keywords are declared on the adapter class; ``runs()``, the configuration file and the CLI share one
check, so a misspelt keyword is a usage error (exit 2) before anything is read, for every built-in adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

import runtrack
from runtrack.adapter import scope_keywords
from runtrack.cli import main
from runtrack.plugins import adapter_registry

CASES = [
    ("langsmith", "queue_idd", "queue_id"),
    ("labelstudio", "promt_id", "prompt_id"),
    ("foundry", "model_studio", "model_studio_rid"),
]
DECLARED = {
    "langsmith": {"queue_id", "review_status", "archived"},
    "labelstudio": {"prompt_id", "version_id", "project", "project_subset"},
    "foundry": {"model_studio_rid", "config_version"},
}


@pytest.mark.parametrize("adapter", sorted(DECLARED))
def test_built_in_adapters_declare_their_scope_keywords(adapter: str) -> None:
    assert scope_keywords(adapter_registry()[adapter].cls) == DECLARED[adapter]


@pytest.mark.parametrize(("adapter", "wrong", "right"), CASES)
def test_runs_refuses_an_unknown_keyword_and_suggests(adapter: str, wrong: str, right: str) -> None:
    ad = runtrack.connect(adapter, base_url="https://h.test", api_key="k" * 12)
    with pytest.raises(runtrack.ConfigurationError, match=f"did you mean '{right}'"):
        ad.runs(**{wrong: "1"})
    ad.close()


@pytest.mark.parametrize(("adapter", "wrong", "right"), CASES)
def test_the_config_refuses_it_even_when_the_source_cannot_connect(
    adapter: str,
    wrong: str,
    right: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_SUCH_KEY_VAR", "")
    path = tmp_path / "runtrack.toml"
    path.write_text(
        f'[[source]]\nadapter = "{adapter}"\nbase_url = "https://h.test"\napi_key_env = "NO_SUCH_KEY_VAR"\n'
        f'scope = {{ {wrong} = "1" }}\n'
    )
    assert main(["report", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert f"source[0].scope.{wrong}: unknown scope keyword" in err and f"did you mean '{right}'" in err
    assert out == ""


@pytest.mark.parametrize(("adapter", "wrong", "right"), CASES)
def test_the_cli_refuses_it_with_exit_2(
    adapter: str, wrong: str, right: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("LANGSMITH_API_KEY", "LABEL_STUDIO_API_KEY", "FOUNDRY_TOKEN"):
        monkeypatch.setenv(var, "k" * 12)
    code = main(["runs", adapter, "--option", "base_url=https://h.test", "--scope", f"{wrong}=1"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--scope {wrong}: unknown scope keyword" in err and f"did you mean '{right}'" in err
