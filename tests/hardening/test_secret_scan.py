"""The secret scan: every command and error path we can start, with recognisable credentials of the four kinds
(Label Studio legacy token, Label Studio personal access token, LangSmith key, Foundry token), and no output
(stdout, stderr with --debug, library logs, reports in every format, export and checkpoint files, reprs)
contains any 8-character piece of them."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import runtrack
from runtrack.cli import main
from runtrack.report import FORMATS
from runtrack.run_formats import RUN_FORMATS
from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith, Request, Response

from .servers import FOUNDRY_TOKEN, LANGSMITH_KEY, LANGSMITH_TENANT, LS_LEGACY, Hostile, leaked

ENV = {"RT_LANGSMITH": LANGSMITH_KEY, "RT_FOUNDRY": FOUNDRY_TOKEN, "RT_LS_TOKEN": LS_LEGACY}


class Outputs:
    """Everything the scan looked at, by where it came from."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets
        self.seen: dict[str, str] = {}

    def add(self, where: str, text: str | bytes) -> None:
        self.seen[where] = text.decode("utf-8", "backslashreplace") if isinstance(text, bytes) else text

    def leaks(self) -> dict[str, list[str]]:
        return {where: found for where, text in self.seen.items() if (found := leaked(text, *self.secrets))}


class Scan:
    """``cli(where, *argv)`` runs a command with ``--debug`` and adds its stdout and stderr to ``out``;
    ``check()`` adds the library logs and asserts that nothing leaked."""

    def __init__(self, out: Outputs, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
        self.out, self._capsys, self._caplog = out, capsys, caplog

    def cli(self, where: str, *argv: str, expect: tuple[int, ...] = (0,)) -> None:
        code = main(["--debug", *argv])
        stdout, stderr = self._capsys.readouterr()
        self.out.add(f"{where} stdout", stdout)
        self.out.add(f"{where} stderr", stderr)
        assert code in expect, f"{where}: exit {code}\n{stderr[-2000:]}"

    def check(self) -> None:
        self.out.add("library logs", "\n".join(r.getMessage() for r in self._caplog.records))
        assert not self.out.leaks()
        assert len(self.out.seen) > 100  # the scan did look at all of it


@pytest.fixture
def fakes() -> Iterator[tuple[FakeLangSmith, FakeFoundry, FakeLabelStudio]]:
    with (
        FakeLangSmith(queues=2, runs_per_queue=6, api_key=LANGSMITH_KEY, tenant_id=LANGSMITH_TENANT) as ls,
        FakeFoundry(studios=2, runs_per_studio=6, token=FOUNDRY_TOKEN) as fd,
        FakeLabelStudio(prompts=2, versions_per_prompt=1, runs_per_version=3, token=LS_LEGACY) as lst,
    ):
        yield ls, fd, lst


@pytest.fixture
def scan(
    fakes: tuple[FakeLangSmith, FakeFoundry, FakeLabelStudio],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> Scan:
    """The four credentials in the environment (``RT_*``), and a scan looking for them."""
    pat = fakes[2].pat
    for var, value in {**ENV, "RT_LS_PAT": pat}.items():
        monkeypatch.setenv(var, value)
    caplog.set_level(logging.DEBUG)
    return Scan(Outputs((LANGSMITH_KEY, FOUNDRY_TOKEN, LS_LEGACY, pat)), capsys, caplog)


def _echo(req: Request) -> Response:
    """A hostile server: echoes every header and the body back in every error field it can."""
    seen = " ".join(f"{k}: {v}" for k, v in req.headers.items()) + " body: " + req.body.decode("utf-8", "replace")
    headers = [("X-Request-Id", seen[:200].replace("\r", " ").replace("\n", " "))]
    body = {"detail": seen, "message": seen, "errorName": seen[:100], "parameters": {"echo": seen}}
    return Response.json(body, 401 if "refresh" in req.path else 400, headers)


def _config(tmp_path: Path, name: str, ls: str, fd: str, lst: str, studios: list[str], prompts: list[Any]) -> Path:
    path = tmp_path / name
    path.write_text(
        f'[[source]]\nname = "ls"\nadapter = "langsmith"\nbase_url = "{ls}"\napi_key_env = "RT_LANGSMITH"\n'
        f'workspace_id = "{LANGSMITH_TENANT}"\n'
        f'[[source]]\nname = "fd"\nadapter = "foundry"\nbase_url = "{fd}"\napi_key_env = "RT_FOUNDRY"\n'
        f"model_studios = {json.dumps(studios)}\nenrich_end_times = true\n"
        f'[[source]]\nname = "legacy"\nadapter = "labelstudio"\nbase_url = "{lst}"\napi_key_env = "RT_LS_TOKEN"\n'
        f"scope = {{ prompt_id = {json.dumps(prompts)} }}\n"
        f'[[source]]\nname = "pat"\nadapter = "labelstudio"\nbase_url = "{lst}"\napi_key_env = "RT_LS_PAT"\n'
        f"scope = {{ prompt_id = {json.dumps(prompts)} }}\n"
    )
    return path


def test_no_output_of_any_command_or_error_path_holds_a_credential(
    fakes: tuple[FakeLangSmith, FakeFoundry, FakeLabelStudio], scan: Scan, tmp_path: Path
) -> None:
    ls, fd, lst = fakes
    out, cli = scan.out, scan.cli

    good = _config(tmp_path, "good.toml", ls.base_url, fd.base_url, lst.base_url, fd.studio_rids, lst.prompt_ids)
    with Hostile(_echo) as echo:
        bad = _config(tmp_path, "bad.toml", *(echo.base_url,) * 3, fd.studio_rids, [1])
        for config, expect in ((good, 0), (bad, 1)):
            for fmt in FORMATS:
                cli(f"report {config.name} {fmt}", "report", "--config", str(config), "--format", fmt, expect=(expect,))
                report = tmp_path / f"report-{config.stem}.{fmt}"
                cli(f"report -o {config.name} {fmt}", "report", "--config", str(config), "--format", fmt,
                    "-o", str(report), expect=(expect,))  # fmt: skip
                out.add(f"file {report.name}", report.read_bytes())
            export = tmp_path / f"export-{config.stem}.jsonl"
            cli(f"export {config.name}", "export", "--config", str(config), "-o", str(export), expect=(expect,))
            out.add(f"file {export.name}", export.read_bytes())
            checkpoint = export.with_name(export.name + ".checkpoint.json")
            if expect:
                out.add(f"file {checkpoint.name}", checkpoint.read_bytes())
        runs_cases = [
            ("langsmith", "RT_LANGSMITH", ls.base_url, ["--scope", f"queue_id={ls.queue_ids[0]}"]),
            ("foundry", "RT_FOUNDRY", fd.base_url, ["--scope", f"model_studio_rid={fd.studio_rids[0]}"]),
            ("labelstudio", "RT_LS_TOKEN", lst.base_url, ["--scope", f"prompt_id={lst.prompt_ids[0]}"]),
            ("labelstudio", "RT_LS_PAT", lst.base_url, ["--scope", f"prompt_id={lst.prompt_ids[0]}"]),
        ]
        for adapter, var, url, scope in runs_cases:
            for base, expect in ((url, 0), (echo.base_url, 1)):
                for fmt in RUN_FORMATS:
                    where = f"runs {adapter} {var} {'echo' if base == echo.base_url else 'fake'} {fmt}"
                    cli(where, "runs", adapter, "--api-key-env", var, "--option", f"base_url={base}", *scope,
                        "--format", fmt, expect=(expect,))  # fmt: skip
            # a key pasted as a variable name, or into a URL
            cli(f"runs {adapter} key as name", "runs", adapter, "--api-key-env", ENV.get(var, lst.pat), expect=(2,))
            secret = ENV.get(var, lst.pat)
            cli(f"runs {adapter} key in url", "runs", adapter, "--api-key-env", var,
                "--option", f"base_url=http://user:{secret}@127.0.0.1:9", expect=(2,))  # fmt: skip
        bad_config = tmp_path / "key-in-config.toml"
        for line in (f'api_key_env = "{LANGSMITH_KEY}"', f'base_url = "http://u:{LANGSMITH_KEY}@127.0.0.1:9"'):
            bad_config.write_text(f'[[source]]\nadapter = "langsmith"\n{line}\n')
            cli(f"config {line[:8]}", "report", "--config", str(bad_config), expect=(2,))
        cli("adapters", "adapters")

        # reprs and errors of the library objects
        for options in (
            {"adapter": "langsmith", "api_key": LANGSMITH_KEY, "workspace_id": LANGSMITH_TENANT},
            {"adapter": "foundry", "api_key": FOUNDRY_TOKEN, "model_studios": fd.studio_rids},
            {"adapter": "labelstudio", "api_key": LS_LEGACY},
            {"adapter": "labelstudio", "api_key": lst.pat},
        ):
            name = options.pop("adapter")
            for base in (echo.base_url, {"langsmith": ls, "foundry": fd, "labelstudio": lst}[name].base_url):
                with runtrack.connect(name, base_url=base, **options) as ad:
                    things = [ad, ad.transport, ad.transport.auth, ad.config, *ad.config.values()]
                    try:
                        things += list(ad.runs(max_items=3))
                    except runtrack.RuntrackError as exc:
                        things += [exc, exc.__dict__]
                    out.add(f"reprs {name} {base}", " ".join(f"{t!r} {t!s}" for t in things))
    scan.check()


def _files(path: Path) -> Iterator[Path]:
    """``path`` and every file under it (a Parquet dataset is a directory)."""
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file())
    elif path.exists():
        yield path


def test_no_store_parquet_or_migration_output_holds_a_credential(
    fakes: tuple[FakeLangSmith, FakeFoundry, FakeLabelStudio],
    scan: Scan,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Part-2 surfaces: the store file and its -wal on disk (after syncs that succeed and syncs whose errors
    echo the credentials), ``report --store`` in every format, ``runs``/``export --store``, Parquet datasets, and
    ``migrate --plan/--reconcile`` with the migration tables it keeps in the store. (``serve`` and ``mcp`` scan
    their own results, responses and stderr: ``tests/serve/conftest.py::assert_no_secrets``.)"""
    pytest.importorskip("pyarrow")
    ls, fd, lst = fakes
    out, cli = scan.out, scan.cli
    monkeypatch.chdir(tmp_path)

    def scan_files(where: str, path: Path) -> None:
        for file in _files(path):
            out.add(f"{where} file {file.relative_to(tmp_path)}", file.read_bytes())

    store = tmp_path / "runs.db"
    good = _config(tmp_path, "good.toml", ls.base_url, fd.base_url, lst.base_url, fd.studio_rids, lst.prompt_ids)
    with Hostile(_echo) as echo:
        bad = _config(tmp_path, "bad.toml", *(echo.base_url,) * 3, fd.studio_rids, [1])
        cli("sync good", "sync", "--config", str(good), "--store", str(store))
        with sqlite3.connect(store) as reader:  # an open reader keeps the -wal on disk: scan it as written
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
            cli("sync bad", "sync", "--config", str(bad), "--store", str(store), expect=(1,))
            wal = store.with_name(store.name + "-wal")
            assert wal.exists()
            scan_files("after syncs", wal)
            scan_files("after syncs", store)
        for fmt in FORMATS:
            cli(f"report --store {fmt}", "report", "--store", str(store), "--format", fmt)
            report = tmp_path / f"report-store.{fmt}"
            cli(f"report --store -o {fmt}", "report", "--store", str(store), "--format", fmt, "-o", str(report))
            scan_files("report --store", report)
        for adapter in ("langsmith", "foundry", "labelstudio"):
            for fmt in RUN_FORMATS:
                cli(f"runs --store {adapter} {fmt}", "runs", adapter, "--store", str(store), "--format", fmt)
        cli("export --store", "export", "--store", str(store), "-o", str(tmp_path / "store.jsonl"))
        cli("export --store parquet", "export", "--store", str(store), "--format", "parquet",
            "-o", str(tmp_path / "store.parquet"))  # fmt: skip
        for config, expect in ((good, 0), (bad, 1)):
            dataset = tmp_path / f"live-{config.stem}.parquet"
            cli(f"export parquet {config.name}", "export", "--config", str(config), "--format", "parquet",
                "-o", str(dataset), expect=(expect,))  # fmt: skip
        for name in ("store.jsonl", "store.parquet", "live-good.parquet", "live-bad.parquet"):
            scan_files("export", tmp_path / name)
        migrations = [("langsmith-to-labelstudio", "ls", to) for to in ("legacy", "pat")]
        # labelstudio-to-langsmith reads a whole project: its source is the adapter, from the SDK's variables
        migrations += [("labelstudio-to-langsmith", key, "ls") for key in (LS_LEGACY, lst.pat)]
        for direction, source, target in migrations:
            for config, ls_url in ((good, lst.base_url), (bad, echo.base_url)):
                monkeypatch.setenv("LABEL_STUDIO_URL", ls_url)
                monkeypatch.setenv("LABEL_STUDIO_API_KEY", source)
                frm = "labelstudio" if direction.startswith("labelstudio") else source
                for mode in ("--plan", "--reconcile"):
                    for fmt in ("table", "json"):
                        cli(f"migrate {direction} {frm} {target} {config.name} {mode} {fmt}", "migrate", direction,
                            "--from", frm, "--to", target, mode, "--config", str(config), "--store", str(store),
                            "--option", "project=1", "--format", fmt, expect=(0, 1))  # fmt: skip
        with sqlite3.connect(store) as conn:  # the migration tables, as rows (the file is scanned below too)
            tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                out.add(f"store table {table}", repr(conn.execute(f'SELECT * FROM "{table}"').fetchall()))
        assert any(t.startswith("migrate_") for t in tables)
        for file in (store, store.with_name(store.name + "-wal")):
            scan_files("after migrations", file)
    scan.check()
