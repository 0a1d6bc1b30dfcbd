"""Lossless, checkpointed export of every configured source to one JSON Lines file.

After each page, the page's runs are written, flushed and fsync'ed, and then ``FILE.checkpoint.json`` is replaced
atomically with each listing's ``page.next_cursor`` and the output's byte size at that moment. On resume the output
is truncated back to that size (dropping anything written after the last checkpoint) and each unfinished listing
continues from its cursor: every run ends up in the file exactly once. A completed export removes its checkpoint.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from .adapter import Adapter
from .config import Config, SourceSpec
from .convert import OUTPUT_ERRORS, format_datetime, write_jsonl
from .errors import ConfigurationError
from .progress import Progress
from .report import scope_label
from .sources import connect_source, describe_failure

__all__ = ["CHECKPOINT_SUFFIX", "CHECKPOINT_VERSION", "ExportResult", "ExportStateError", "checkpoint_path", "export"]

CHECKPOINT_SUFFIX = ".checkpoint.json"
CHECKPOINT_VERSION = 1


class ExportStateError(ConfigurationError):
    """The output and its checkpoint do not fit together (or the configuration changed); nothing was written."""


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + CHECKPOINT_SUFFIX)


@attrs.define(kw_only=True)
class Unit:
    """One listing to export: a source and one of its scopes, and how far it got."""

    key: str
    fingerprint: str
    cursor: str | None = None
    done: bool = False
    runs: int = 0
    error: str | None = None


@attrs.define(kw_only=True)
class ExportResult:
    output: Path
    written: int = 0  #: runs written by this invocation
    total: int = 0  #: runs in the file
    resumed: bool = False
    complete: bool = False
    failures: list[tuple[str, str]] = attrs.field(factory=list)  #: (listing, error with resume cursor)


def _fingerprint(spec: SourceSpec, scope: Mapping[str, Any]) -> str:
    """What must not change between an interrupted export and its resume (secrets are not part of it)."""
    data = {"adapter": spec.adapter, "options": dict(spec.options), "scope": dict(scope), "max_items": spec.max_items}
    return json.dumps(data, sort_keys=True, default=str)


def _units(config: Config) -> list[tuple[SourceSpec, Mapping[str, Any], Unit]]:
    return [
        (spec, scope, Unit(key=f"{spec.name} {scope_label(scope)}", fingerprint=_fingerprint(spec, scope)))
        for spec in config.sources
        for scope in spec.scopes
    ]


class _Checkpoint:
    def __init__(self, path: Path, output: Path, units: list[Unit]) -> None:
        self.path = path
        self.output = output
        self.units = units
        self.offset = 0

    def save(self) -> None:
        data = {
            "version": CHECKPOINT_VERSION,
            "output": self.output.name,
            "offset": self.offset,
            "runs": sum(u.runs for u in self.units),
            "updated_at": format_datetime(datetime.now(timezone.utc)),
            "units": [attrs.asdict(u) for u in self.units],
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fp:
            json.dump(data, fp, indent=1)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, self.path)

    def restore(self) -> None:
        """Read the saved state into ``self.units``; a checkpoint of another configuration is an error."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {CHECKPOINT_VERSION}")
            saved = {u["key"]: u for u in data["units"]}
            offset = int(data["offset"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExportStateError(
                f"{self.path}: unreadable checkpoint ({exc}); pass --restart to start over"
            ) from None
        if set(saved) != {u.key for u in self.units}:
            raise ExportStateError(
                f"{self.path} was written for other sources/scopes ({', '.join(sorted(saved))}); "
                "restore the configuration, or pass --restart to export again from the start"
            )
        for unit in self.units:
            s = saved[unit.key]
            if s.get("fingerprint") != unit.fingerprint:
                raise ExportStateError(
                    f"{self.path}: the configuration of {unit.key!r} changed since the export was interrupted; "
                    "restore it, or pass --restart to export again from the start"
                )
            unit.cursor, unit.done, unit.runs = s.get("cursor"), bool(s.get("done")), int(s.get("runs", 0))
        self.offset = offset


def _prepare(output: Path, checkpoint: _Checkpoint, *, restart: bool, overwrite: bool) -> bool:
    """Make the output match the checkpoint; returns True when resuming."""
    if not output.parent.is_dir():
        raise ExportStateError(f"{output}: the directory {output.parent} does not exist")
    if checkpoint.path.exists() and not restart:
        checkpoint.restore()
        if not output.exists():
            raise ExportStateError(f"{output} is missing but {checkpoint.path} exists; pass --restart to start over")
        size = output.stat().st_size
        if size < checkpoint.offset:
            raise ExportStateError(
                f"{output} is shorter ({size} bytes) than its checkpoint says ({checkpoint.offset} bytes): it was "
                "changed since; pass --restart to export again from the start"
            )
        with open(output, "r+b") as fp:
            fp.truncate(checkpoint.offset)  # drop a page written after the last checkpoint
        return True
    if output.exists() and output.stat().st_size > 0 and not (overwrite or restart):
        raise ExportStateError(f"{output} already exists; pass --overwrite to replace it")
    with open(output, "wb"):
        pass
    checkpoint.save()
    return False


def export(
    config: Config,
    output: str | Path,
    *,
    restart: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    on_failure: Callable[[str, BaseException], None] | None = None,
) -> ExportResult:
    """Export every source of ``config`` to ``output``, resuming from its checkpoint if there is one.

    A failing listing is recorded (see :attr:`ExportResult.failures`) and the others go on; run the export again
    to resume it. ``KeyboardInterrupt`` leaves the checkpoint consistent and propagates.
    """
    output = Path(output)
    progress = progress or Progress(None)
    plan = _units(config)
    checkpoint = _Checkpoint(checkpoint_path(output), output, [u for _, _, u in plan])
    result = ExportResult(output=output)
    result.resumed = _prepare(output, checkpoint, restart=restart, overwrite=overwrite)
    adapters: dict[str, Adapter | BaseException] = {}
    try:
        with open(output, "a", encoding="utf-8", errors=OUTPUT_ERRORS, newline="") as fp:
            for spec, scope, unit in plan:
                if unit.done:
                    continue
                unit.error = None
                adapter = adapters.get(spec.name)
                if adapter is None:
                    try:
                        adapter = adapters[spec.name] = connect_source(spec, environ)
                    except Exception as exc:
                        adapter = adapters[spec.name] = exc
                try:
                    if isinstance(adapter, BaseException):
                        raise adapter
                    progress.start(unit.key)
                    result.written += _export_unit(adapter, spec, scope, unit, fp, checkpoint, progress)
                    progress.finish()
                except KeyboardInterrupt:
                    fp.flush()
                    fp.truncate(checkpoint.offset)
                    raise
                except Exception as exc:
                    progress.finish(failed=True)
                    unit.error = describe_failure(exc)
                    result.failures.append((unit.key, unit.error))
                    checkpoint.save()
                    if on_failure is not None:
                        on_failure(unit.key, exc)
    finally:
        for adapter in adapters.values():
            if isinstance(adapter, Adapter):
                adapter.close()
    result.total = sum(u.runs for u in checkpoint.units)
    result.complete = all(u.done for u in checkpoint.units)
    if result.complete:
        checkpoint.path.unlink()
    return result


def _export_unit(
    adapter: Adapter,
    spec: SourceSpec,
    scope: Mapping[str, Any],
    unit: Unit,
    fp: Any,
    checkpoint: _Checkpoint,
    progress: Progress,
) -> int:
    written = 0
    max_items = None if spec.max_items is None else spec.max_items - unit.runs
    if max_items is not None and max_items <= 0:
        unit.done = True
        checkpoint.save()
        return 0
    pages = adapter.runs(max_items=max_items, page_size=spec.page_size, cursor=unit.cursor, **scope).pages()
    for page in pages:
        n = write_jsonl(page.items, fp)
        fp.flush()
        os.fsync(fp.fileno())
        checkpoint.offset = os.fstat(fp.fileno()).st_size
        unit.cursor = page.next_cursor
        unit.runs += n
        unit.done = page.next_cursor is None
        checkpoint.save()  # only now: a crash before this line re-fetches the page, after truncation
        written += n
        progress.advance(n)
    unit.done = True  # the listing ended (or max_items was reached)
    checkpoint.save()
    return written
