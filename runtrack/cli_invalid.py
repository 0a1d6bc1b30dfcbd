"""``--skip-invalid``: the CLI side of the ``on_invalid`` option (list every run that can be read, report the rest)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import attrs

from .config import Config
from .paginate import SkippedItem

__all__ = ["add_argument", "apply", "describe"]

HELP = "an item that cannot be read is skipped and reported (JSON path, id, reason) instead of stopping its listing"


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skip-invalid", action="store_true", help=HELP)


def apply(config: Config, args: argparse.Namespace) -> Config:
    """Every configured source with ``on_invalid = "skip"`` when ``--skip-invalid`` was given."""
    if not getattr(args, "skip_invalid", False):
        return config
    sources = tuple(attrs.evolve(s, options={**s.options, "on_invalid": "skip"}) for s in config.sources)
    return attrs.evolve(config, sources=sources)


def describe(skipped: Sequence[SkippedItem], err: Callable[[str], None]) -> None:
    """One line per skipped item, after a count (on stderr, so it never mixes with the runs on stdout)."""
    if not skipped:
        return
    err(f"skipped {len(skipped)} invalid item(s):")
    for item in skipped:
        ident = f" (id {item.native_id})" if item.native_id is not None else ""
        err(f"  at {item.path}{ident}: {item.reason}")
