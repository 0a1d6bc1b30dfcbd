"""``runtrack demo``: in-process through ``runtrack.demo.main`` and the CLI, and as the installed console script."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtrack import cli, demo
from runtrack.report import CSV_COLUMNS, FORMATS

pytestmark = pytest.mark.e2e

#: a proxy nobody listens on (loopback discard port): the demo must never send its traffic there
DEAD_PROXY = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def ground_truth() -> dict[str, int]:
    """Runs per source, read from the demo's own fakes (seeded, so a second start serves the same data). The demo
    reports from its run store, which holds a LangSmith run that sits in two queues once (one uid)."""
    with demo.start_fakes() as fakes:
        return {
            "langsmith": len({run for runs in fakes.langsmith.runs_by_queue.values() for run in runs}),
            "foundry": len(fakes.foundry.all_run_ids()),
            "labelstudio": len(fakes.labelstudio.all_run_ids()),
        }


def run_demo(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = demo.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_report_covers_every_run_of_the_three_fakes(
    capsys: pytest.CaptureFixture[str], ground_truth: dict[str, int]
) -> None:
    code, out, err = run_demo(capsys, "--format", "json", "--quiet")
    assert code == 0
    assert err == ""
    report = json.loads(out)
    assert report["ok"] is True
    assert report["generated_at"] == "2025-09-01T12:00:00Z"
    sources = {s["name"]: s for s in report["sources"]}
    assert list(sources) == ["langsmith", "foundry", "labelstudio"]
    for name, source in sources.items():
        assert source["state"] == "ok"
        assert source["read"] == source["totals"]["runs"] == ground_truth[name]
        assert sum(source["totals"]["status"].values()) == ground_truth[name]
    # an interesting mix: every source has finished and failed runs, and each platform's own figures are filled
    assert all(s["totals"]["status"]["SUCCEEDED"] and s["totals"]["status"]["FAILED"] for s in sources.values())
    assert all(s["totals"]["duration_seconds"]["count"] for s in sources.values())
    langsmith = sources["langsmith"]["totals"]
    assert langsmith["tokens"]["total"] > 0 and "USD" in langsmith["cost"]
    assert langsmith["review"]["pending"] + langsmith["review"]["reviewed"] == ground_truth["langsmith"]
    assert sources["labelstudio"]["totals"]["accuracy"] is not None
    assert len(sources["labelstudio"]["scopes"]) == 3  # one row per prompt


def test_the_demo_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    first = run_demo(capsys, "--format", "json", "-q")[1]
    assert run_demo(capsys, "--format", "json", "-q")[1] == first


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_report_format(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_demo(capsys, "--format", fmt, "-q")
    assert code == 0
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert tuple(rows[0]) == CSV_COLUMNS
        assert {r[1] for r in rows[1:]} == {"langsmith", "foundry", "labelstudio"}
    elif fmt == "json":
        assert json.loads(out)["ok"] is True
    else:
        assert ("## Sources" in out) == (fmt == "markdown")
        for name in ("langsmith", "foundry", "labelstudio"):
            assert name in out


def test_without_quiet_an_intro_line_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_demo(capsys)
    assert code == 0
    assert out.startswith("runtrack report, generated 2025-09-01T12:00:00Z")
    assert "127.0.0.1" in err and "2025-09-01 12:00 UTC" in err


def test_usage_errors_and_help_return_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_demo(capsys, "--format", "xml")
    assert code == 2
    assert "invalid choice: 'xml'" in err
    code, out, _ = run_demo(capsys, "--help")
    assert code == 0
    assert "--format" in out


def test_through_the_cli_entry_point(capsys: pytest.CaptureFixture[str], ground_truth: dict[str, int]) -> None:
    assert cli.main(["demo", "--format", "json", "-q"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["read"] for s in report["sources"]] == list(ground_truth.values())


def test_a_proxy_in_the_environment_never_sees_the_traffic(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(var, DEAD_PROXY)
    monkeypatch.setenv("NO_PROXY", "example.com")
    monkeypatch.delenv("no_proxy", raising=False)
    code, out, _ = run_demo(capsys, "--format", "json", "-q")
    assert code == 0
    assert json.loads(out)["ok"] is True
    assert os.environ["NO_PROXY"] == "example.com"  # restored afterwards
    assert "no_proxy" not in os.environ


def test_the_vendor_sdk_environment_of_the_machine_is_not_used(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGSMITH_WORKSPACE_ID", "00000000-0000-0000-0000-000000000000")
    monkeypatch.setenv("FOUNDRY_MODEL_STUDIOS", "ri.models.main.model-studio.elsewhere")
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2_pt_not_the_demo")
    code, out, _ = run_demo(capsys, "--format", "json", "-q")
    assert code == 0
    assert json.loads(out)["ok"] is True


def test_a_failing_source_is_reported_and_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, ground_truth: dict[str, int]
) -> None:
    real_start = demo.start_fakes

    @contextlib.contextmanager
    def legacy_tokens_disabled(seed: int = demo.SEED) -> Iterator[Any]:
        with real_start(seed) as fakes:
            fakes.labelstudio.legacy_tokens_enabled = False
            yield fakes

    monkeypatch.setattr(demo, "start_fakes", legacy_tokens_disabled)
    code, out, err = run_demo(capsys, "--format", "json", "-q")
    assert code == 1
    sources = {s["name"]: s for s in json.loads(out)["sources"]}
    assert sources["labelstudio"]["state"] == "failed"
    assert "legacy token authentication has been disabled" in sources["labelstudio"]["errors"][0]
    assert sources["langsmith"]["read"] == ground_truth["langsmith"]  # the others are still reported
    assert "source 'labelstudio' failed" in err


def test_the_installed_console_script(ground_truth: dict[str, int]) -> None:
    script = shutil.which("runtrack", path=str(Path(sys.executable).parent))
    assert script is not None, "the runtrack console script is not installed next to this Python"
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update({"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY})
    proc = subprocess.run(
        [script, "demo", "--format", "json"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [s["read"] for s in report["sources"]] == list(ground_truth.values())
    assert "fake LangSmith, Foundry and Label Studio" in proc.stderr
