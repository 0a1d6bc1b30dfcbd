"""The ``runtrack`` command: ``adapters``, ``runs``, ``report``, ``export`` and ``demo``.

Exit codes: 0 ok; 1 partial failure (a source, listing or plugin failed; the rest of the output is still
produced); 2 usage or configuration error (nothing was read); 130 interrupted (Ctrl-C; an export's checkpoint is
intact). Errors print one line on stderr; ``--debug`` adds tracebacks. See docs/cli.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import itertools
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import cli_invalid, cli_migrate, cli_store, plugins
from ._redact import LOOKS_LIKE_A_KEY, looks_like_secret, redact
from ._tables import text_table
from ._version import __version__
from .adapter import scope_keywords, unknown_scope_keywords
from .config import Config, find_config, load_config, parse_duration, parse_since, suggest
from .convert import OUTPUT_ERRORS
from .errors import ConfigurationError, RuntrackError
from .export import DEFAULT_JOBS, STDOUT, checkpoint_path, export
from .progress import Progress
from .report import FORMATS, Report, ReportSettings, build, render, scope_label
from .run_formats import RUN_FORMATS, run_writer
from .serve import cli as serve_cli
from .sources import check_scopes, describe_failure, read_sources

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

log = logging.getLogger("runtrack.cli")


class UsageError(Exception):
    """A bad command line (exit 2)."""


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (tests replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - logging must never break the command
            self.handleError(record)


_handler = _StderrHandler()
_handler.setFormatter(logging.Formatter("runtrack: %(levelname)s: %(message)s"))


@contextlib.contextmanager
def _logging(*, debug: bool, quiet: bool) -> Iterator[None]:
    """runtrack's log lines on stderr while a command runs; the logger is restored afterwards (library use)."""
    logger = logging.getLogger("runtrack")
    saved = (logger.level, logger.propagate)
    logger.addHandler(_handler)
    logger.setLevel(logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(_handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _err(message: str) -> None:
    sys.stderr.write(f"runtrack: {message}\n")


# --------------------------------------------------------------------------- the parser


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    return 0 if text.strip() == "0" else _positive_int(text)


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default = False if top else argparse.SUPPRESS
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="no progress or notices")
    parser.add_argument("--debug", action="store_true", default=default, help="tracebacks and debug logging")


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="configuration file (default: $RUNTRACK_CONFIG, then ./runtrack.toml)"
    )
    parser.add_argument(
        "--source", action="append", default=[], metavar="NAME", help="only this configured source (repeatable)"
    )
    cli_invalid.add_argument(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runtrack",
        description="Read runs from Label Studio, LangSmith, Foundry (and any adapter plugin) into one model.",
        epilog="Exit codes: 0 ok, 1 partial failure, 2 usage or configuration error, 130 interrupted. "
        "Documentation: docs/cli.md",
    )
    parser.add_argument("--version", action="version", version=f"runtrack {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("adapters", help="list adapters: name, version, origin; and plugins that failed to load")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _common(p, top=False)

    p = sub.add_parser(
        "runs",
        help="list the runs of one adapter",
        description="List runs of one adapter. Options not given fall back to the vendor SDK's environment "
        "variables (e.g. LANGSMITH_API_KEY). A --scope key given several times lists each value in turn.",
    )
    p.add_argument("adapter", metavar="ADAPTER", help="adapter name (see `runtrack adapters`)")
    p.add_argument(
        "--scope",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="scope keyword such as queue_id=...; repeat a key to list several in turn",
    )
    p.add_argument(
        "--option",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="adapter option such as base_url=...; repeat a key for a list",
    )
    p.add_argument("--api-key-env", metavar="NAME", help="read api_key from this environment variable")
    p.add_argument("--max-items", type=_non_negative_int, metavar="N", help="stop each listing after N runs")
    p.add_argument("--page-size", type=_positive_int, metavar="N", help="wire page size (clamped by the adapter)")
    p.add_argument("--cursor", help="resume a listing from a cursor (printed with listing errors)")
    p.add_argument("--format", choices=RUN_FORMATS, default="table")
    cli_invalid.add_argument(p)
    _common(p, top=False)

    p = sub.add_parser(
        "report",
        help="one report over every configured source",
        description="Counts by status, success rate, durations, stuck runs, top errors, accuracy, tokens, cost and "
        "review backlog per source and scope. A failing source is marked failed; the exit code is then 1.",
    )
    _config_args(p)
    p.add_argument("--since", metavar="DATE", help="only runs created since DATE (2024-05-01, ISO datetime, or 7d)")
    p.add_argument("--stuck-after", metavar="DURATION", help="RUNNING/QUEUED longer than this is stuck (e.g. 6h)")
    p.add_argument("--top-errors", type=_non_negative_int, metavar="N", help="most frequent errors per source")
    p.add_argument("--group-by", action="append", metavar="KEY", help="rows per value of this Run.scope key")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    _common(p, top=False)

    p = sub.add_parser(
        "export",
        help="export every configured source to JSON Lines, resumably",
        description="Lossless JSON Lines export with a checkpoint (FILE.checkpoint.json) every second: "
        "after an error, Ctrl-C or a crash, run the same command again to resume without duplicates.",
    )
    _config_args(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE.jsonl", help="'-': standard output (no checkpoint)")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint and start over")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"listings read at once (default {DEFAULT_JOBS})",
    )
    _common(p, top=False)

    serve_cli.add_parsers(sub)
    sub.add_parser("demo", help="a report over built-in fake platforms (arguments go to the demo)", add_help=False)
    cli_store.add_parsers(sub)
    cli_migrate.add_parsers(sub)
    return parser


# --------------------------------------------------------------------------- commands


def cmd_adapters(args: argparse.Namespace) -> int:
    registry = plugins.adapter_registry()
    failures = plugins.plugin_failures()
    adapters = [
        {
            "name": info.name,
            "version": info.version,
            "plugin": info.plugin,
            "distribution": info.distribution,
            "class": f"{info.cls.__module__}.{info.cls.__qualname__}",
        }
        for info in sorted(registry.values(), key=lambda i: i.name)
    ]
    failed = [{"plugin": f.name, "distribution": f.distribution, "error": f.error} for f in failures]
    if args.format == "json":
        sys.stdout.write(json.dumps({"adapters": adapters, "failures": failed}, indent=2) + "\n")
    else:
        rows = [
            [
                str(a["name"]),
                a["version"] or "",
                f"{a['distribution']} (plugin {a['plugin']})" if a["distribution"] else f"plugin {a['plugin']}",
                str(a["class"]),
            ]
            for a in adapters
        ]
        sys.stdout.write(text_table(("NAME", "VERSION", "ORIGIN", "CLASS"), rows) + "\n")
        if failed:
            rows = [[str(f["plugin"]), f["distribution"] or "", str(f["error"])] for f in failed]
            sys.stdout.write("\nPlugins that failed to load\n" + text_table(("PLUGIN", "ORIGIN", "ERROR"), rows) + "\n")
    return EXIT_PARTIAL if failed else EXIT_OK


def _grouped(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _scope_value(text: str) -> Any:
    return {"true": True, "false": False}.get(text.lower(), text)


def cmd_runs(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in _grouped(args.option).items()}
    if "api_key" in options:
        raise UsageError(
            "--option api_key=... is refused (it would show in the shell history and process list): "
            "set the adapter's environment variable, or name one with --api-key-env"
        )
    if args.api_key_env:
        if looks_like_secret(args.api_key_env):
            raise UsageError(f"--api-key-env: {LOOKS_LIKE_A_KEY}")
        value = os.environ.get(args.api_key_env)
        if not value:
            raise UsageError(f"--api-key-env: the environment variable {args.api_key_env} is not set or empty")
        options["api_key"] = value
    if args.skip_invalid:
        options["on_invalid"] = "skip"
    axes = [[(k, _scope_value(v)) for v in values] for k, values in _grouped(args.scope).items()]
    scopes = [dict(combo) for combo in itertools.product(*axes)]
    if args.cursor and len(scopes) > 1:
        raise UsageError("--cursor resumes one listing: give each --scope key once")
    adapter = plugins.connect(args.adapter, **options)
    unknown = unknown_scope_keywords(type(adapter), {k for scope in scopes for k in scope})
    valid = scope_keywords(type(adapter))
    if unknown:
        adapter.close()
        raise UsageError(
            f"--scope {unknown[0]}: unknown scope keyword for adapter {args.adapter!r}"
            + suggest(unknown[0], valid or ())
        )
    writer = run_writer(args.format, sys.stdout)
    progress = Progress.for_stderr(quiet=args.quiet)
    failed = False
    try:
        with adapter:
            for scope in scopes:
                progress.start(f"{args.adapter} {scope_label(scope)}")
                next_cursor = None
                try:
                    it = adapter.runs(max_items=args.max_items, page_size=args.page_size, cursor=args.cursor, **scope)
                    for page in it.pages():
                        progress.clear()  # rows and the progress line may share the terminal
                        progress.advance(writer.write(page.items))
                        writer.stream.flush()
                        next_cursor = page.next_cursor
                    cli_invalid.describe(it.skipped, _err)
                except RuntrackError as exc:
                    progress.finish(failed=True)
                    if args.debug:
                        traceback.print_exc()
                    _err(f"error: {describe_failure(exc)}")
                    failed = True
                else:
                    progress.finish()
                    if args.max_items is not None and next_cursor:
                        where = f" for {scope_label(scope)}" if len(scopes) > 1 else ""
                        _err(f"next cursor{where}: {next_cursor}")
    finally:
        writer.close()
    return EXIT_PARTIAL if failed else EXIT_OK


def _load(args: argparse.Namespace, now: datetime) -> Config:
    path = find_config(args.config)
    registry = plugins.adapter_registry()
    unavailable = {f.name: f.error for f in plugins.plugin_failures() if f.name not in registry}
    config = load_config(path, adapters={n: i.cls for n, i in registry.items()}, unavailable=unavailable, now=now)
    config = cli_invalid.apply(config.select(args.source), args)
    check_scopes(config.sources, file=config.file)
    return config


def _settings(args: argparse.Namespace, config: Config, now: datetime) -> ReportSettings:
    opts = config.report
    try:
        since = parse_since(args.since, now, "--since") if args.since else opts.since
        stuck_after = parse_duration(args.stuck_after, "--stuck-after") if args.stuck_after else opts.stuck_after
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return ReportSettings(
        now=now,
        since=since,
        stuck_after=stuck_after,
        top_errors=opts.top_errors if args.top_errors is None else args.top_errors,
        group_by=tuple(args.group_by) if args.group_by else opts.group_by,
    )


def cmd_report(args: argparse.Namespace, now: datetime) -> int:
    config = _load(args, now)
    settings = _settings(args, config, now)
    results = read_sources(config.sources, settings, progress=Progress.for_stderr(quiet=args.quiet), debug=args.debug)
    return emit_report(build(results, settings), args)


def emit_report(report: Report, args: argparse.Namespace) -> int:
    """Write ``report`` in ``--format`` to ``-o`` or stdout, name each failed source on stderr; the exit code."""
    text = render(report, args.format)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8", errors=OUTPUT_ERRORS)
        except OSError as exc:
            raise UsageError(f"--output: cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    for src in report.sources:
        for error in src.errors:
            _err(f"source {src.name!r} failed: {error}")
    return EXIT_OK if report.ok else EXIT_PARTIAL


def _jobs(text: str) -> int:
    number = int(text)
    if not 1 <= number <= 16:
        raise argparse.ArgumentTypeError("must be between 1 and 16")
    return number


def cmd_export(args: argparse.Namespace, now: datetime) -> int:
    config = _load(args, now)
    output = Path(args.output)
    to_stdout = args.output == STDOUT

    def on_failure(listing: str, exc: BaseException) -> None:
        if args.debug:
            traceback.print_exception(type(exc), exc, exc.__traceback__)

    try:
        result = export(
            config,
            output,
            restart=args.restart,
            overwrite=args.overwrite,
            progress=Progress.for_stderr(quiet=args.quiet),
            on_failure=on_failure,
            jobs=args.jobs,
        )
    except KeyboardInterrupt:
        if to_stdout:
            _err("interrupted; the pages written to standard output are whole")
        else:
            _err(f"interrupted; the checkpoint {checkpoint_path(output)} is intact: run the same command to resume")
        return EXIT_INTERRUPTED
    for listing, error in result.failures:
        _err(f"listing {listing!r} failed: {error}")
    if to_stdout:
        if not result.complete:
            _err(f"export incomplete ({result.total} runs written to standard output, which cannot resume)")
            return EXIT_PARTIAL
        if not args.quiet:
            _err(f"exported {result.total} runs to standard output")
        return EXIT_OK
    if result.already_complete:
        if not args.quiet:
            _err(f"export already complete: {result.total} runs in {output} (pass --overwrite to export again)")
        return EXIT_OK
    if not result.complete:
        _err(
            f"export incomplete ({result.total} runs in {output}); run the same command again to resume from "
            f"{checkpoint_path(output)}"
        )
        return EXIT_PARTIAL
    if not args.quiet:
        resumed = " (resumed)" if result.resumed else ""
        _err(f"exported {result.total} runs to {output}{resumed}; {result.written} written by this run")
    return EXIT_OK


def cmd_demo(argv: list[str]) -> int:
    try:
        demo = importlib.import_module("runtrack.demo")
    except ModuleNotFoundError as exc:
        if exc.name != "runtrack.demo":
            raise
        raise UsageError("the demo is not available in this installation (module runtrack.demo is missing)") from None
    code = demo.main(argv)
    return int(code or 0)


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None, *, now: datetime | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code. ``now`` is for tests."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(args_list)
        if args.command != "demo" and extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, and usage errors (argparse prints them)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    debug, quiet = bool(getattr(args, "debug", False)), bool(getattr(args, "quiet", False))
    if args.command == "demo":  # the global flags may follow the command name, as for every other command
        debug = debug or "--debug" in extra
        quiet = quiet or "-q" in extra or "--quiet" in extra
        extra = [a for a in extra if a not in ("--debug", "-q", "--quiet")] + (["--quiet"] if quiet else [])
    args.debug, args.quiet = debug, quiet
    with _escaped_surrogates(), _redacted_stderr(), _logging(debug=debug, quiet=quiet), _bulk_gc():
        return _dispatch(parser, args, extra, now or datetime.now(timezone.utc))


@contextlib.contextmanager
def _bulk_gc() -> Iterator[None]:
    """The cyclic garbage collector tuned for a command that decodes pages by the hundred: the objects of start-up
    frozen (no full collection walks them again) and a collection every 20,000 allocations instead of 700. Decoded
    JSON holds no cycles, so this only saves the walks (about a tenth of an export's CPU, docs/benchmarks.md);
    the previous settings come back when the command ends, for callers of :func:`main` in their own process."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class _RedactingStream:
    """A text stream that redacts known secrets from everything written to it (stderr: messages, log lines,
    ``--debug`` tracebacks)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _escaped_surrogates() -> Iterator[None]:
    """Output stays valid UTF-8 when a vendor sent lone surrogates: they are written as ``\\udXXX`` escapes."""
    streams = [s for s in (sys.stdout, sys.stderr) if isinstance(s, io.TextIOWrapper)]
    saved = [s.errors for s in streams]
    for stream in streams:
        with contextlib.suppress(ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors=OUTPUT_ERRORS)
    try:
        yield
    finally:
        for stream, errors in zip(streams, saved, strict=True):
            with contextlib.suppress(ValueError, io.UnsupportedOperation):
                stream.reconfigure(errors=errors)


@contextlib.contextmanager
def _redacted_stderr() -> Iterator[None]:
    saved = sys.stderr
    sys.stderr = _RedactingStream(saved)
    try:
        yield
    finally:
        sys.stderr = saved


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str], when: datetime) -> int:
    debug = args.debug
    try:
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if args.command == "demo":
            return cmd_demo(["--quiet", *extra] if args.quiet else extra)
        if args.command == "adapters":
            return cmd_adapters(args)
        stored = cli_store.dispatch(args, when)
        if stored is not None:
            return stored
        if args.command == "runs":
            return cmd_runs(args)
        if args.command in ("migrate", "migrations"):
            return cli_migrate.run(args)
        if args.command == "report":
            return cmd_report(args, when)
        if args.command in serve_cli.COMMANDS:
            return serve_cli.run(args, when)
        return cmd_export(args, when)
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    except (UsageError, ConfigurationError) as exc:
        if debug:
            traceback.print_exc()
        _err(f"error: {exc}")
        return EXIT_USAGE
    except RuntrackError as exc:
        if debug:
            traceback.print_exc()
        _err(f"error: {exc}")
        return EXIT_PARTIAL
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PARTIAL
    except Exception as exc:
        if debug:
            traceback.print_exc()
        _err(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return EXIT_PARTIAL


def _silence_stdout() -> None:
    """After a closed pipe (``runtrack runs ... | head``), keep Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
