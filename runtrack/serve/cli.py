"""``runtrack mcp`` and ``runtrack serve``: the command-line side of serving (cli.py only registers these)."""

from __future__ import annotations

import argparse
import importlib.util
import os
from datetime import datetime

from ..config import CONFIG_ENV, DEFAULT_CONFIG, Config
from ..errors import ConfigurationError

__all__ = ["COMMANDS", "add_parsers", "run"]

COMMANDS = ("mcp", "serve")
EXTRA_HINT = "pip install 'runtrack[mcp]'"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``mcp`` and ``serve`` on the ``runtrack`` command's subparsers."""
    p = sub.add_parser(
        "mcp",
        help="serve runs to agents over the Model Context Protocol (stdio or streamable HTTP)",
        description="An MCP server with the tools list_sources, list_runs, get_run, run_report, create_run, "
        f"cancel_run and add_to_queue. Needs the optional extra: {EXTRA_HINT}. See docs/serve.md.",
    )
    _common(p, port=9090)
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    p = sub.add_parser(
        "serve",
        help="serve runs over HTTP: the /v1 REST API and the MCP endpoint (/mcp) in one process",
        description=f"REST under /v1 (OpenAPI at /v1/openapi.json) and MCP at /mcp. Needs: {EXTRA_HINT}. "
        "See docs/serve.md.",
    )
    _common(p, port=8080)


def _common(p: argparse.ArgumentParser, *, port: int) -> None:
    p.add_argument(
        "--config", metavar="FILE", help=f"configuration file (default: ${CONFIG_ENV}, then ./{DEFAULT_CONFIG})"
    )
    p.add_argument(
        "--store",
        nargs="?",
        const="",
        metavar="PATH",
        help="answer reads from this run store (no network; PATH defaults to $RUNTRACK_STORE, then ./runtrack.db); "
        "writes stay live",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1; any other needs a token)")
    p.add_argument("--port", type=int, default=port, help=f"port (default {port}; 0 picks a free one)")
    p.add_argument(
        "--read-only", action="store_true", help="no create_run, cancel_run, add_to_queue (default with a store alone)"
    )
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="debug logging")


def _config(args: argparse.Namespace, now: datetime) -> Config | None:
    """The CLI's configuration; optional when a store is given (reads then need nothing else)."""
    from ..cli_store import optional_config

    args.source = []
    if args.store is not None:
        return optional_config(args, now)
    from ..cli import _load

    return _load(args, now)


def run(args: argparse.Namespace, now: datetime) -> int:
    if importlib.util.find_spec("mcp") is None:
        raise ConfigurationError(f"runtrack {args.command} needs the optional extra 'mcp': {EXTRA_HINT}")
    from ..cli_store import store_path
    from .app import TOKEN_ENV, build_app, check_bind, run_http
    from .operations import Operations

    http = args.command == "serve" or args.transport == "http"
    token = os.environ.get(TOKEN_ENV) or None
    if http:
        check_bind(args.host, token)
    store = store_path(args.store) if args.store is not None else None
    if store is not None and not store.is_file():
        raise ConfigurationError(f"--store: {store} does not exist (create it with `runtrack sync --store {store}`)")
    ops = Operations(_config(args, now), store_path=store, read_only=args.read_only)
    if not http:
        from .mcp_tools import build_mcp

        build_mcp(ops).run("stdio")
        return 0
    app = build_app(ops, rest=args.command == "serve", host=args.host, token=token)
    run_http(app, args.host, args.port, what="REST /v1 and MCP /mcp" if args.command == "serve" else "MCP /mcp")
    return 0
