"""``runtrack migrate`` and ``runtrack migrations``: run a migration direction from the command line.

``--from``/``--to`` name a configured ``[[source]]`` (runtrack.toml) or an adapter (options from the vendor SDK's
environment variables). ``--option`` sets direction options; ``--scope`` narrows the source listing. Exit codes:
0 everything applied (or reconciled, or planned with nothing blocked); 1 anything failed, blocked, missing,
extra or mismatched; 2 usage or configuration error; 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from . import plugins
from ._tables import clip, text_table
from .cli_store import DEFAULT_STORE, STORE_ENV, store_path
from .config import CONFIG_ENV, DEFAULT_CONFIG, load_config
from .errors import ConfigurationError
from .progress import Progress

__all__ = ["add_parsers", "run"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_LISTED = 20  # problem lines printed per kind; the counts cover all


class MigrateUsageError(ConfigurationError):
    """A bad ``migrate`` command line (exit 2)."""


def add_parsers(sub: Any) -> None:
    """Add ``migrate`` and ``migrations`` to the ``runtrack`` subcommands."""
    from .cli import _key_value  # the CLI's own KEY=VALUE parser (cli.py imports this module)

    p = sub.add_parser(
        "migrate",
        help="move runs to another platform: plan, apply (default) or reconcile",
        description="Run a migration direction (see `runtrack migrations`). Without --plan or --reconcile it "
        "applies: idempotent, resumable after any interruption. State lives in the store file.",
    )
    p.add_argument("name", metavar="NAME", help="migration direction, e.g. langsmith-to-labelstudio")
    p.add_argument("--from", dest="source", required=True, metavar="SOURCE", help="configured source or adapter")
    p.add_argument("--to", dest="target", required=True, metavar="SOURCE", help="configured source or adapter")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--plan", action="store_true", help="show what apply would do; write nothing")
    mode.add_argument("--reconcile", action="store_true", help="read the destination back and compare")
    p.add_argument("--store", metavar="PATH", help=f"the store file (default: ${STORE_ENV}, then ./{DEFAULT_STORE})")
    p.add_argument(
        "--from-store",
        action="store_true",
        help="read the source's runs from the store (synced with `runtrack sync`) instead of live",
    )
    p.add_argument("--option", action="append", type=_key_value, default=[], metavar="KEY=VALUE")
    p.add_argument("--scope", action="append", type=_key_value, default=[], metavar="KEY=VALUE")
    p.add_argument("--config", metavar="FILE", help=f"configuration file (default: ${CONFIG_ENV}, ./{DEFAULT_CONFIG})")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS)
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)

    p = sub.add_parser("migrations", help="list migration directions")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS)
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    if args.command == "migrations":
        return _list(args)
    return _migrate(args)


def _list(args: argparse.Namespace) -> int:
    from .migrate import migration_registry

    infos = sorted(migration_registry().values(), key=lambda i: i.name)
    if args.format == "json":
        rows = [
            {
                "name": i.name,
                "from": i.cls.source_platform,
                "to": i.cls.target_platform,
                "plugin": i.plugin,
                "options": [o.name for o in i.cls.options],
            }
            for i in infos
        ]
        sys.stdout.write(json.dumps({"migrations": rows}, indent=2) + "\n")
    else:
        table = [
            [
                i.name,
                i.cls.source_platform,
                i.cls.target_platform,
                f"plugin {i.plugin}",
                ", ".join(o.name for o in i.cls.options),
            ]
            for i in infos
        ]
        sys.stdout.write(text_table(("NAME", "FROM", "TO", "ORIGIN", "OPTIONS"), table) + "\n")
    return EXIT_OK


# --------------------------------------------------------------------------- endpoints


def _config_path(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    path = Path.cwd() / DEFAULT_CONFIG
    return path if path.exists() else None


def _connect(name: str, role: str, config_file: Path | None) -> tuple[Any, list[dict[str, Any]]]:
    """The adapter for ``name`` (a configured source, else an adapter name) and its configured scopes."""
    registry = plugins.adapter_registry()
    if config_file is not None:
        config = load_config(config_file, adapters={n: i.cls for n, i in registry.items()})
        for spec in config.sources:
            if spec.name == name:
                return plugins.connect(spec.adapter, **spec.connect_options()), [dict(s) for s in spec.scopes]
    if name in registry:
        return plugins.connect(name), [{}]
    where = f" in {config_file}" if config_file is not None else ""
    raise MigrateUsageError(
        f"--{role} {name!r}: no configured source of that name{where} and no such adapter; "
        f"adapters: {', '.join(sorted(registry))}"
    )


def _scopes(configured: list[dict[str, Any]], given: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    if not given:
        return configured
    grouped: dict[str, list[Any]] = {}
    for key, value in given:
        grouped.setdefault(key, []).append({"true": True, "false": False}.get(value.lower(), value))
    return [dict(combo) for combo in itertools.product(*([(k, v) for v in vs] for k, vs in grouped.items()))]


# --------------------------------------------------------------------------- migrate


def _migrate(args: argparse.Namespace) -> int:
    from .migrate import migration

    options: dict[str, Any] = dict(args.option)
    store = store_path(args.store)
    config_file = _config_path(args.config)
    with ExitStack() as stack:
        source, source_scopes = _connect(args.source, "from", config_file)
        stack.callback(source.close)
        if args.from_store:
            from .store import open_store

            if not store.exists():
                raise MigrateUsageError(f"--from-store: no store at {store}; run `runtrack sync` first")
            source = stack.enter_context(open_store(store))
            source_scopes = [{"source": args.source}]
        target, _ = _connect(args.target, "to", config_file)
        stack.callback(target.close)
        scopes = _scopes(source_scopes, args.scope)
        progress = Progress.for_stderr(quiet=getattr(args, "quiet", False))
        mig = migration(args.name, source=source, target=target, store=source if args.from_store else store, **options)
        mig.on_progress = _Advance(progress)
        mode = "plan" if args.plan else "reconcile" if args.reconcile else "apply"
        _say_last_pass(mig, mode)
        results = []
        for scope in scopes:
            progress.start(f"{args.name} {mode} {_label(scope)}")
            mig.on_progress = _Advance(progress)
            try:
                results.append((scope, getattr(mig, mode)(**scope)))
            except BaseException:
                progress.finish(failed=True)
                raise
            progress.finish()
    return _report(mode, results, args.format)


def _say_last_pass(mig: Any, mode: str) -> None:
    """One stderr line when the previous pass did not end well (failed, interrupted, or killed: still
    ``running``), so the user knows this run resumes it."""
    last = mig.last_pass()
    if last is None or last.status in ("ok", "partial", "mismatch"):
        return
    ended = "did not end (killed?)" if last.status == "running" else f"ended {last.status}"
    why = f": {last.error}" if last.error else ""
    then = "this apply resumes it" if mode == "apply" else "run apply to resume it"
    sys.stderr.write(f"runtrack: the last {last.mode} of {mig.name} (started {last.started_at}) {ended}{why}; {then}\n")


class _Advance:
    """Feeds the engine's "items done" into a Progress (which counts increments)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.done = 0

    def __call__(self, done: int) -> None:
        self.progress.advance(done - self.done)
        self.done = done


def _label(scope: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(scope.items())) or "(all)"


def _report(mode: str, results: list[tuple[dict[str, Any], Any]], fmt: str) -> int:
    ok = True
    docs = []
    rows: list[list[str]] = []
    for scope, result in results:
        counts = result.counts
        if mode == "plan":
            ok = ok and counts["blocked"] == 0
            problems = [f"blocked {e.source_key}: {e.reason}" for e in result.blocked]
        elif mode == "apply":
            ok = ok and result.ok
            problems = [f"blocked {f.source_key}: {f.reason}" for f in result.failures if f.blocked]
            failed = [f for f in result.failures if not f.blocked]
            if failed:
                problems.append(
                    f"{len(failed)} items not written (the next run looks them up first): {failed[0].reason}"
                )
            elif result.error:
                problems.append(f"error: {result.error}")
        else:
            ok = ok and result.ok
            problems = list(_reconcile_lines(result))
        rows += [[_label(scope), result.target, name, str(value)] for name, value in counts.items()]
        docs.append({"scope": scope, "target": result.target, "counts": counts, "problems": problems})
        for line in problems[:MAX_LISTED]:
            sys.stderr.write(f"runtrack: {clip(line, 400)}\n")
        if len(problems) > MAX_LISTED:
            sys.stderr.write(f"runtrack: ... and {len(problems) - MAX_LISTED} more\n")
    if fmt == "json":
        sys.stdout.write(json.dumps({"mode": mode, "ok": ok, "results": docs}, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(
            text_table(("SCOPE", "TARGET", mode.upper(), "COUNT"), rows, right=(False, False, False, True))
        )
        sys.stdout.write("\n")
    return EXIT_OK if ok else EXIT_FAILED


def _reconcile_lines(rec: Any) -> Iterator[str]:
    for m in rec.missing:
        yield f"missing {m.source_key} (key {m.key}{f', was {m.dest_id}' if m.dest_id else ''})"
    for e in rec.extra:
        yield f"extra {e.dest_id} (key {e.key}): {e.reason}"
    for x in rec.mismatched:
        yield f"mismatched {x.source_key} at {x.dest_id}: {x.field}"
    for b in rec.blocked:
        yield f"blocked {b.source_key}: {b.reason}"
    for g in rec.gone:
        yield f"gone from source {g.source_key} (written as {g.dest_id}; not deleted at the destination)"
    if not rec.scanned:
        yield "note: the destination cannot be enumerated: extras were not checked"
