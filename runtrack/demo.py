"""``runtrack demo``: the unified run report over fake LangSmith, Foundry and Label Studio servers.

The three fakes of :mod:`runtrack.testing` start on 127.0.0.1 with seeded data; the built-in adapters sync them
into a run store (a temporary file, or ``--store PATH`` to keep it) through the same path as ``runtrack sync``
(:func:`runtrack.sources.sync_sources`, with specs built here instead of read from a file), and the report is read
from the store as ``runtrack report --store`` does. No credentials, no configuration, no network beyond loopback.
The report is computed as of the fakes' clock (2025-09-01 12:00 UTC), where their seeded runs end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import attrs

from .config import SourceSpec
from .progress import Progress
from .report import FORMATS, ReportSettings, SourceResult, SyncChange, build, render
from .report.from_store import store_changes
from .sources import read_store, sync_sources
from .store import open_store
from .testing import FakeFoundry, FakeLabelStudio, FakeLangSmith
from .testing._data import EPOCH_US
from .testing._env import no_proxy_updates

__all__ = ["DEMO_NOW", "DemoFakes", "main", "source_specs", "start_fakes"]

#: The fakes' clock: their seeded runs all lie before it, so the report is computed as of this moment.
DEMO_NOW = datetime.fromtimestamp(EPOCH_US / 1_000_000, tz=timezone.utc)
SEED = 2025


@attrs.frozen(kw_only=True)
class DemoFakes:
    langsmith: FakeLangSmith
    foundry: FakeFoundry
    labelstudio: FakeLabelStudio


@contextlib.contextmanager
def start_fakes(seed: int = SEED) -> Iterator[DemoFakes]:
    """The three fakes, started with a small, realistic mix of runs, and stopped afterwards."""
    with (
        FakeLangSmith(seed=seed, queues=3, runs_per_queue=40, shared_runs=4) as langsmith,
        FakeFoundry(seed=seed, studios=3, runs_per_studio=40, config_versions=4) as foundry,
        FakeLabelStudio(seed=seed, prompts=3, versions_per_prompt=2, runs_per_version=6) as labelstudio,
    ):
        yield DemoFakes(langsmith=langsmith, foundry=foundry, labelstudio=labelstudio)


def source_specs(fakes: DemoFakes) -> tuple[tuple[SourceSpec, ...], dict[str, str]]:
    """What a configuration file would say for the three fakes, and the environment holding their secrets."""
    environ = {
        "DEMO_LANGSMITH_API_KEY": fakes.langsmith.api_key,
        "DEMO_FOUNDRY_TOKEN": fakes.foundry.token,
        "DEMO_LABEL_STUDIO_API_KEY": fakes.labelstudio.token,
    }
    specs = (
        SourceSpec(
            name="langsmith",
            adapter="langsmith",
            # workspace_id given, so a LANGSMITH_WORKSPACE_ID of the machine is not picked up
            options={"base_url": fakes.langsmith.base_url, "workspace_id": fakes.langsmith.tenant_id},
            secret_env={"api_key": "DEMO_LANGSMITH_API_KEY"},
            key="source[0]",
        ),
        SourceSpec(
            name="foundry",
            adapter="foundry",
            options={
                "base_url": fakes.foundry.base_url,
                "model_studios": list(fakes.foundry.studio_rids),
                "enrich_end_times": True,  # durations from the runs' builds
            },
            secret_env={"api_key": "DEMO_FOUNDRY_TOKEN"},
            key="source[1]",
        ),
        SourceSpec(
            name="labelstudio",
            adapter="labelstudio",
            options={"base_url": fakes.labelstudio.base_url},
            secret_env={"api_key": "DEMO_LABEL_STUDIO_API_KEY"},
            scopes=tuple({"prompt_id": p} for p in fakes.labelstudio.prompt_ids),
            key="source[2]",
        ),
    )
    return specs, environ


@contextlib.contextmanager
def loopback_bypasses_proxies(environ: Mapping[str, str] | None = None) -> Iterator[None]:
    """Add 127.0.0.1 to ``no_proxy`` while the demo runs: requests would send even loopback traffic through an
    ``HTTP_PROXY`` of the machine otherwise."""
    env = os.environ if environ is None else environ
    updates = no_proxy_updates(env)
    saved = {var: os.environ.get(var) for var in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runtrack demo",
        description="Start fake LangSmith, Foundry and Label Studio servers on 127.0.0.1, read them with the "
        "built-in adapters and print the unified run report (the same report as 'runtrack report'). "
        "No credentials or network needed.",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="report format (default: table)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the report")
    parser.add_argument(
        "--store", metavar="PATH", help="keep the run store in PATH (default: a temporary file, removed at the end)"
    )
    return parser


@contextlib.contextmanager
def _store_path(keep: str | None) -> Iterator[Path]:
    if keep:
        yield Path(keep)
        return
    with tempfile.TemporaryDirectory(prefix="runtrack-demo-") as tmp:
        yield Path(tmp) / "demo.db"


def _read(settings: ReportSettings, *, quiet: bool, keep: str | None = None) -> list[SourceResult]:
    """Sync the fakes into a store, then read the report's runs from it."""
    return _read_store(settings, quiet=quiet, keep=keep)[0]


def _read_store(
    settings: ReportSettings, *, quiet: bool, keep: str | None = None
) -> tuple[list[SourceResult], list[SyncChange]]:
    """The report's runs from the synced store, and (for a kept store) what its last sync changed."""
    with loopback_bypasses_proxies(), start_fakes() as fakes, _store_path(keep) as path, open_store(path) as store:
        specs, environ = source_specs(fakes)
        progress = Progress.for_stderr(quiet=quiet)
        done_all = sync_sources(store, specs, workers=3, progress=progress, environ=environ, clock=lambda: DEMO_NOW)
        failures = [done for done in done_all if done.error is not None]
        if not quiet:
            kept = "" if keep else " (a temporary file, removed at exit; --store PATH keeps it)"
            sys.stderr.write(f"runtrack demo: synced {store.count()} runs into the run store {path}{kept}\n")
        results = read_store(store, specs, settings)
        changes = store_changes(store, [spec.name for spec in specs]) if keep else []
    for done in failures:  # what the sync said beats "not in the store"
        for result in results:
            if result.source == done.source and result.scope == done.scope:
                result.error = done.error
    return results, changes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the exit code (0 when every source was read)."""
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else 2
    settings = ReportSettings(now=DEMO_NOW)
    if not args.quiet:
        sys.stderr.write(
            "runtrack demo: fake LangSmith, Foundry and Label Studio servers on 127.0.0.1 with seeded runs "
            f"(report as of {DEMO_NOW:%Y-%m-%d %H:%M} UTC, the fakes' clock)\n"
        )
    try:
        results, changes = _read_store(settings, quiet=args.quiet, keep=args.store)
    except OSError as exc:
        sys.stderr.write(f"runtrack demo: error: cannot serve the fake platforms on 127.0.0.1: {exc}\n")
        return 1
    report = build(results, settings, store=args.store, changes=changes)
    text = render(report, args.format)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            sys.stderr.write(f"runtrack demo: error: cannot write {args.output}: {exc.strerror or exc}\n")
            return 2
        if not args.quiet:
            sys.stderr.write(f"runtrack demo: wrote the {args.format} report to {args.output}\n")
    else:
        sys.stdout.write(text)
    for source in report.sources:
        for error in source.errors:
            sys.stderr.write(f"runtrack demo: source {source.name!r} failed: {error}\n")
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
