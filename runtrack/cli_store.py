"""``runtrack sync`` and the ``--store`` side of ``report``, ``export`` and ``runs`` (no network at all).

``cli.py`` only registers these: :func:`add_parsers` adds the ``sync`` command and the ``--store`` options, and
:func:`dispatch` runs a command line that is ours (it returns None for the live commands). See docs/store.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._tables import text_table
from .config import Config, ConfigFileError
from .progress import Progress

if TYPE_CHECKING:
    from .model import Run
    from .store import Store, SyncRecord, SyncResult

__all__ = ["DEFAULT_STORE", "STORE_ENV", "add_parsers", "dispatch", "store_path"]

STORE_ENV = "RUNTRACK_STORE"
DEFAULT_STORE = "runtrack.db"
_STORE_HELP = f"the run store file (default: ${STORE_ENV}, then ./{DEFAULT_STORE})"


def store_path(value: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """``--store PATH``, else ``$RUNTRACK_STORE``, else ``./runtrack.db``."""
    env = os.environ if environ is None else environ
    return Path(value or env.get(STORE_ENV) or DEFAULT_STORE)


def add_parsers(sub: Any) -> None:
    """The ``sync`` command, and ``--store`` (plus ``export --format``) on the existing commands."""
    from .cli import _common, _config_args, _positive_int

    p = sub.add_parser(
        "sync",
        help="pull every configured source into the local run store, writing only what changed",
        description="Read every configured source (the same configuration as `report`) into a SQLite run store. "
        "Each page is committed with its resume cursor: after an error, Ctrl-C or a kill, run the same command to "
        "resume. A listing read to its end marks the runs it no longer returns as deleted.",
    )
    _config_args(p)
    p.add_argument("--store", default="", metavar="PATH", help=_STORE_HELP)
    p.add_argument(
        "--full",
        action="store_true",
        help="scan every listing completely, also where it could ask only for what changed since the last sync",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=4,
        metavar="N",
        help="listings read from the platforms at once (default 4); pages are stored in configuration order",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for another sync into the same store (default 30)",
    )
    _common(p, top=False)
    for name in ("report", "export", "runs"):
        parser = sub.choices.get(name)
        if parser is not None:
            parser.add_argument(
                "--store",
                nargs="?",
                const="",
                default=None,
                metavar="PATH",
                help=f"read the run store instead of the platforms, no network ({_STORE_HELP})",
            )
    export = sub.choices.get("export")
    if export is not None:
        export.add_argument(
            "--format",
            choices=("jsonl", "parquet"),
            default="jsonl",
            help="jsonl (default), or parquet: -o names a dataset directory partitioned by platform "
            "(needs the 'parquet' extra: pip install 'runtrack[parquet]')",
        )


def dispatch(args: argparse.Namespace, now: datetime) -> int | None:
    """Run ``args`` when it is a store command line; None when it is not ours."""
    if args.command == "sync":
        return cmd_sync(args, now)
    store = getattr(args, "store", None)
    if args.command == "export" and getattr(args, "format", "jsonl") == "parquet":
        return cmd_export(args, now)
    if store is None:
        return None
    if args.command == "report":
        return cmd_report(args, now)
    if args.command == "runs":
        return cmd_runs(args)
    if args.command == "export":
        return cmd_export(args, now)
    return None


def _err(message: str) -> None:
    sys.stderr.write(f"runtrack: {message}\n")


def open_existing(args: argparse.Namespace) -> Store:
    """The store named by ``--store`` for reading: it must exist (reading never creates one)."""
    from .cli import UsageError
    from .store import open_store

    path = store_path(args.store)
    if not path.is_file():
        raise UsageError(f"--store: {path} does not exist (create it with `runtrack sync --store {path}`)")
    return open_store(path)


def optional_config(args: argparse.Namespace, now: datetime) -> Config | None:
    """The configuration when one is given or found (for ``--store`` reads it is optional)."""
    from .cli import _load

    try:
        return _load(args, now)
    except ConfigFileError as exc:
        if args.config or os.environ.get("RUNTRACK_CONFIG") or not str(exc).startswith("no configuration"):
            raise
        return None


# --------------------------------------------------------------------------- sync


_HEADERS = ("SOURCE", "SCOPE", "MODE", "READ", "INSERTED", "CHANGED", "UNCHANGED", "DELETED", "STATE")
_RIGHT = (False, False, False, True, True, True, True, True, False)


def _row(source: str, scope: str, result: SyncResult | None, state: str) -> list[str]:
    if result is None:
        return [source, scope, "", "", "", "", "", "", state]
    counts = (result.read, result.inserted, result.changed, result.unchanged, result.deleted)
    return [source, scope, result.mode, *(f"{n:,}" for n in counts), state]


def cmd_sync(args: argparse.Namespace, now: datetime) -> int:
    from .cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, UsageError, _load
    from .report import scope_label
    from .sources import sync_sources
    from .store import StoreError, open_store

    config = _load(args, now)
    path = store_path(args.store)
    progress = Progress.for_stderr(quiet=args.quiet)
    rows: list[list[str]] = []
    failed = False
    try:
        opened = open_store(path, lock_timeout=args.wait)
    except StoreError as exc:  # not a store, a directory, no such folder, a newer schema: nothing was read
        raise UsageError(f"--store: {exc}") from None
    with opened as store:
        if not args.quiet:
            _err(f"syncing {len(config.sources)} source(s) into {path}")
        try:
            done_all = sync_sources(
                store, config.sources, workers=args.workers, full=args.full, progress=progress, debug=args.debug
            )
            for done in done_all:
                label = scope_label(done.scope)
                if done.result is not None:
                    result = done.result
                    state = "complete" if result.complete else "partial (max_items)"
                    rows.append(_row(done.source, label, result, state + (", resumed" if result.resumed else "")))
                    continue
                failed = True
                rows.append(_failed_row(done.source, label, done.record))
                _err(f"source {done.source!r} {label} failed: {done.error}")
        except KeyboardInterrupt:
            _err(f"interrupted; every page read so far is in {path}: run the same command to resume")
            return EXIT_INTERRUPTED
        finally:
            if rows:
                sys.stdout.write(text_table(_HEADERS, rows, _RIGHT) + "\n")
    return EXIT_PARTIAL if failed else EXIT_OK


def _failed_row(source: str, label: str, record: SyncRecord | None) -> list[str]:
    if record is None:
        return _row(source, label, None, "failed")
    counts = (record.read, record.inserted, record.changed, record.unchanged, record.deleted)
    return [source, label, record.mode, *(f"{n:,}" for n in counts), "failed, resumable"]


# --------------------------------------------------------------------------- report and runs from the store


def cmd_report(args: argparse.Namespace, now: datetime) -> int:
    from .cli import UsageError, _settings
    from .config import Config
    from .report import build
    from .report.from_store import store_changes
    from .sources import read_store

    config = optional_config(args, now)
    settings = _settings(args, config or Config(sources=()), now)
    with open_existing(args) as store:
        specs = config.sources if config is not None else None
        results = read_store(store, specs, settings, progress=Progress.for_stderr(quiet=args.quiet))
        if specs is None and args.source:
            known = {r.source for r in results}
            missing = [n for n in args.source if n not in known]
            if missing:
                raise UsageError(f"--source: no source named {', '.join(map(repr, missing))} in {store.path}")
            results = [r for r in results if r.source in args.source]
        changes = store_changes(store, list(dict.fromkeys(r.source for r in results)))
        where = str(store.path)
    from .cli import emit_report

    return emit_report(build(results, settings, store=where, changes=changes), args)


def cmd_runs(args: argparse.Namespace) -> int:
    """``runtrack runs ADAPTER --store``: the stored runs of that adapter's platform (``--scope`` picks listings)."""
    from .cli import EXIT_OK, UsageError, _grouped, _scope_value
    from .run_formats import run_writer
    from .store.sync import scope_json

    if args.cursor or args.option or args.api_key_env:
        raise UsageError("--store reads the local store: --cursor, --option and --api-key-env do not apply")
    wanted = {k: _scope_value(v[0]) if len(v) == 1 else None for k, v in _grouped(args.scope).items()}
    if None in wanted.values():
        raise UsageError("--store: give each --scope key once")
    writer = run_writer(args.format, sys.stdout)
    try:
        with open_existing(args) as store:
            keys: list[str | None] = [None]
            if wanted:
                listings = [i for i in store.listings() if i.adapter == args.adapter]
                keys = [i.key for i in listings if scope_json(i.scope) == scope_json(wanted)]
                if not keys:
                    stored = "; ".join(sorted({scope_json(i.scope) for i in listings})) or "none"
                    raise UsageError(
                        f"--scope: {store.path} holds no {args.adapter} listing with that scope "
                        f"(stored scopes: {stored})"
                    )
            remaining = args.max_items
            for key in keys:
                runs = store.runs(platform=args.adapter, listing=key)
                batch = []
                for run in runs:
                    if remaining is not None:
                        if remaining <= 0:
                            break
                        remaining -= 1
                    batch.append(run)
                    if len(batch) == 500:
                        writer.write(batch)
                        batch = []
                writer.write(batch)
    finally:
        writer.close()
    return EXIT_OK


# --------------------------------------------------------------------------- export from the store


def cmd_export(args: argparse.Namespace, now: datetime) -> int:
    """``export --store`` (JSON Lines or Parquet) and ``export --format parquet`` from the live sources."""
    from .cli import EXIT_OK, EXIT_PARTIAL, UsageError, _load
    from .convert import write_jsonl
    from .parquet import write_parquet

    if args.restart:
        raise UsageError("--restart applies to a live JSON Lines export only (the others have no checkpoint)")
    output = Path(args.output)
    if args.store is None:  # parquet from the platforms
        live = _load(args, now)
        failures: list[tuple[str, str]] = []
        progress = Progress.for_stderr(quiet=args.quiet)
        counts = write_parquet(_live_runs(live, failures, progress), output, overwrite=args.overwrite)
        for listing, error in failures:
            _err(f"listing {listing!r} failed: {error}")
        if not args.quiet:
            _err(f"exported {sum(counts.values())} runs to the Parquet dataset {output}")
        return EXIT_PARTIAL if failures else EXIT_OK
    config = optional_config(args, now)
    sources = [s.name for s in config.sources] if config is not None else (args.source or None)
    with open_existing(args) as store:
        if args.format == "parquet":
            written = sum(write_parquet(store.runs(source=sources), output, overwrite=args.overwrite).values())
        else:
            if output.exists() and output.stat().st_size > 0 and not args.overwrite:
                raise UsageError(f"{output} already exists; pass --overwrite to replace it")
            tmp = output.with_name(f".{output.name}.tmp")
            try:
                with open(tmp, "w", encoding="utf-8", newline="") as fp:
                    written = write_jsonl(store.runs(source=sources), fp)
                os.replace(tmp, output)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        if not args.quiet:
            _err(f"exported {written} runs from {store.path} to {output}")
    return EXIT_OK


def _live_runs(config: Config, failures: list[tuple[str, str]], progress: Progress) -> Iterator[Run]:
    """Every run of every configured listing, read from the platforms; a failing listing is recorded and skipped."""
    from .report import scope_label
    from .sources import connect_source, describe_failure

    for spec in config.sources:
        try:
            adapter = connect_source(spec)
        except Exception as exc:
            failures.extend((f"{spec.name} {scope_label(s)}", describe_failure(exc)) for s in spec.scopes)
            continue
        with adapter:
            for scope in spec.scopes:
                label = f"{spec.name} {scope_label(scope)}"
                progress.start(label)
                try:
                    it = adapter.runs(max_items=spec.max_items, page_size=spec.page_size, **scope)
                    for page in it.pages():
                        progress.advance(len(page.items))
                        yield from page.items
                except Exception as exc:
                    progress.finish(failed=True)
                    failures.append((label, describe_failure(exc)))
                    continue
                progress.finish()
