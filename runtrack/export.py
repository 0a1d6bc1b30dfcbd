"""Lossless, checkpointed export of every configured source to one JSON Lines file (or to standard output).

Each page's runs are appended whole (a failed write is cut back to the page before). At most every
:data:`CHECKPOINT_INTERVAL` seconds (and when the export ends, fails or is interrupted) the output is fsync'ed and
then ``FILE.checkpoint.json`` is replaced atomically with each listing's ``page.next_cursor`` and the output's byte
size as of the last whole page. On resume the output is truncated back to that size (dropping anything written
after the last checkpoint) and each unfinished listing continues from its cursor: every run ends up in the file
exactly once, and a crash costs at most the pages of the last interval, read again. A completed export marks its
checkpoint complete, so running it again reports "already complete".

Listings are read by up to ``jobs`` workers at once (:mod:`runtrack.unit_pool`) and written in configuration order:
the output is the same bytes as one listing after the other. A listing read ahead of its turn keeps its pages in an
unlinked temporary file next to the output (not in memory), so the workers never wait for the writer.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import attrs

from .adapter import Adapter
from .config import Config, SourceSpec
from .convert import encode_runs, format_datetime
from .errors import ConfigurationError, RuntrackError
from .progress import Progress
from .report import scope_label
from .sources import connect_source, describe_failure
from .unit_pool import in_order

__all__ = [
    "CHECKPOINT_INTERVAL",
    "CHECKPOINT_SUFFIX",
    "CHECKPOINT_VERSION",
    "DEFAULT_JOBS",
    "STDOUT",
    "ExportResult",
    "ExportStateError",
    "ExportWriteError",
    "checkpoint_path",
    "export",
]

CHECKPOINT_SUFFIX = ".checkpoint.json"
CHECKPOINT_VERSION = 1
#: seconds between checkpoints at most (an fsync of the output and of the checkpoint each): what a crash can cost
CHECKPOINT_INTERVAL = 1.0
#: listings read at once by default (each source's rate limit still holds for all of them together)
DEFAULT_JOBS = 4
#: the output name that means standard output (no checkpoint: such an export cannot resume)
STDOUT = "-"


class ExportStateError(ConfigurationError):
    """The output and its checkpoint do not fit together (or the configuration changed); nothing was written."""


class ExportWriteError(RuntrackError):
    """The output or its checkpoint could not be written (disk full, file too large, ...); the export stopped with
    the output and its checkpoint consistent, so running it again resumes."""


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
    already_complete: bool = False  #: a previous run had finished it; nothing was read or written
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
    """The export's state on disk. :meth:`mark` takes a consistent picture (the output's size after a whole page,
    and every listing's cursor for that size); :meth:`save` writes the last picture taken."""

    def __init__(self, path: Path, output: Path, units: list[Unit]) -> None:
        self.path = path
        self.output = output
        self.units = units
        self.complete = False
        self._picture: tuple[int, list[dict[str, Any]]] = (0, [])

    @property
    def offset(self) -> int:
        """The output's size in the last picture."""
        return self._picture[0]

    @property
    def runs(self) -> int:
        """Runs in the output up to :attr:`offset`."""
        return sum(u["runs"] for u in self._picture[1])

    def mark(self, offset: int) -> None:
        # one assignment: an interrupt at any point leaves the previous picture or this one, never half of each
        self._picture = (offset, [attrs.asdict(u) for u in self.units])

    def save(self) -> None:
        data = {
            "version": CHECKPOINT_VERSION,
            "output": self.output.name,
            "complete": self.complete,
            "offset": self.offset,
            "runs": self.runs,
            "updated_at": format_datetime(datetime.now(timezone.utc)),
            "units": self._picture[1],
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fp:
                json.dump(data, fp, indent=1)
                fp.flush()
                os.fsync(fp.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise _write_error(exc, self.path, self) from None

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
        self.mark(offset)
        self.complete = bool(data.get("complete")) and all(u.done for u in self.units)


def _what(exc: OSError) -> str:
    """A failed write in words, with the errno name: ``no space left on the device (ENOSPC)``."""
    what = {
        errno.ENOSPC: "no space left on the device",
        errno.EFBIG: "the file is too large for the file system or the process's file size limit (ulimit -f)",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
    }.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    code = errno.errorcode.get(exc.errno or 0, "")
    return what + (f" ({code})" if code else "")


def _write_error(exc: OSError, path: Path, checkpoint: _Checkpoint) -> ExportWriteError:
    """What happened, where, and how to go on: the message of a failed write."""
    return ExportWriteError(
        f"cannot write {path}: {_what(exc)}. The export stopped; {checkpoint.output} "
        f"holds the {checkpoint.runs} runs recorded in {checkpoint.path}. Free space (or raise the limit) and run the "
        "same command again to resume."
    )


def _prepare(output: Path, checkpoint: _Checkpoint, *, restart: bool, overwrite: bool) -> bool:
    """Make the output match the checkpoint; returns True when resuming."""
    if not output.parent.is_dir():
        raise ExportStateError(f"{output}: the directory {output.parent} does not exist")
    if checkpoint.path.exists() and not restart:
        checkpoint.restore()
        if checkpoint.complete and overwrite:
            checkpoint.complete = False
            for unit in checkpoint.units:
                unit.cursor, unit.done, unit.runs = None, False, 0
            checkpoint.mark(checkpoint.offset)
        elif checkpoint.complete:
            if not output.exists() or output.stat().st_size != checkpoint.offset:
                raise ExportStateError(
                    f"{output} changed since its export completed ({checkpoint.path} says {checkpoint.offset} "
                    "bytes); pass --overwrite to export again"
                )
            return True
        else:
            if not output.exists():
                raise ExportStateError(
                    f"{output} is missing but {checkpoint.path} exists; pass --restart to start over"
                )
            size = output.stat().st_size
            if size < checkpoint.offset:
                raise ExportStateError(
                    f"{output} is shorter ({size} bytes) than its checkpoint says ({checkpoint.offset} bytes): it "
                    "was changed since; pass --restart to export again from the start"
                )
            try:
                with open(output, "r+b") as fp:
                    fp.truncate(checkpoint.offset)  # drop a page written after the last checkpoint
            except OSError as exc:
                raise _write_error(exc, output, checkpoint) from None
            return True
    elif output.exists() and output.stat().st_size > 0 and not (overwrite or restart):
        raise ExportStateError(f"{output} already exists; pass --overwrite to replace it")
    try:
        with open(output, "wb"):
            pass
    except OSError as exc:
        raise _write_error(exc, output, checkpoint) from None
    checkpoint.mark(0)
    checkpoint.save()
    return False


class _FileTarget:
    """Pages appended to the output (unbuffered: nothing is left to flush after a failed write); the checkpoint
    pictured after every whole page and saved at most every :data:`CHECKPOINT_INTERVAL` seconds."""

    def __init__(self, fd: int, checkpoint: _Checkpoint) -> None:
        self.fd = fd
        self.checkpoint = checkpoint
        self.size = checkpoint.offset
        self.saved_at = time.monotonic()

    def write(self, block: bytes) -> None:
        view = memoryview(block)
        try:
            while view:
                written = os.write(self.fd, view)
                self.size += written
                view = view[written:]
        except OSError as exc:
            raise _write_error(exc, self.checkpoint.output, self.checkpoint) from None

    def mark(self) -> None:
        """A page is whole in the file and the listings' state says so; saved when the interval is up."""
        self.checkpoint.mark(self.size)
        if time.monotonic() - self.saved_at >= CHECKPOINT_INTERVAL:
            self.save()

    def rewind(self) -> None:
        """Back to the last whole page (a page is in the file whole or not at all)."""
        with contextlib.suppress(OSError):  # the resume truncates to the checkpoint anyway
            os.ftruncate(self.fd, self.checkpoint.offset)
            self.size = self.checkpoint.offset

    def save(self) -> None:
        """fsync the output, then save the checkpoint: a crash before this re-fetches the pages since the last."""
        try:
            os.fsync(self.fd)
        except OSError as exc:
            raise _write_error(exc, self.checkpoint.output, self.checkpoint) from None
        self.checkpoint.save()
        self.saved_at = time.monotonic()


class _StreamTarget:
    """Pages written to a stream (standard output): no checkpoint, no resume."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def write(self, block: bytes) -> None:
        self.stream.write(block)
        self.stream.flush()

    def mark(self) -> None:
        pass

    def rewind(self) -> None:
        pass

    def save(self) -> None:
        pass


def export(
    config: Config,
    output: str | Path,
    *,
    restart: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    on_failure: Callable[[str, BaseException], None] | None = None,
    jobs: int = DEFAULT_JOBS,
    stdout: IO[bytes] | None = None,
) -> ExportResult:
    """Export every source of ``config`` to ``output``, resuming from its checkpoint if there is one.

    ``output`` ``"-"`` writes to standard output (``stdout``, default ``sys.stdout.buffer``) without a checkpoint.
    Up to ``jobs`` listings are read at once; the output is written in configuration order all the same. A failing
    listing is recorded (see :attr:`ExportResult.failures`) and the others go on; run the export again to resume
    it. A failed write raises :class:`ExportWriteError` (the checkpoint stays consistent). ``KeyboardInterrupt``
    leaves the checkpoint consistent and propagates.
    """
    progress = progress or Progress(None)
    plan = _units(config)
    units = [u for _, _, u in plan]
    if str(output) == STDOUT:
        result = ExportResult(output=Path(STDOUT))
        target: _FileTarget | _StreamTarget = _StreamTarget(stdout or sys.stdout.buffer)
        _run(plan, target, result, progress, environ, on_failure, jobs)
        result.total = sum(u.runs for u in units)
        result.complete = all(u.done for u in units)
        return result
    output = Path(output)
    checkpoint = _Checkpoint(checkpoint_path(output), output, units)
    result = ExportResult(output=output)
    result.resumed = _prepare(output, checkpoint, restart=restart, overwrite=overwrite)
    if checkpoint.complete:
        result.already_complete = result.complete = True
        result.total = sum(u.runs for u in units)
        return result
    try:
        fd = os.open(output, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise _write_error(exc, output, checkpoint) from None
    try:
        _run(plan, _FileTarget(fd, checkpoint), result, progress, environ, on_failure, jobs, output.parent)
    finally:
        os.close(fd)
    result.total = sum(u.runs for u in units)
    result.complete = all(u.done for u in units)
    if result.complete:
        checkpoint.complete = True
        checkpoint.save()  # kept: a rerun (even after a kill right now) reports "already complete"
    return result


_Plan = list[tuple[SourceSpec, Mapping[str, Any], Unit]]


#: pages of listings read ahead that may wait for the writer (in spool files; only their handles are in memory)
_SPOOLED_PAGES = 100_000


class _Spooled:
    """A page kept in a spool file until the writer takes it."""

    __slots__ = ("length", "offset", "spool")

    def __init__(self, spool: _Spool, offset: int, length: int) -> None:
        self.spool, self.offset, self.length = spool, offset, length

    def take(self) -> bytes:
        return self.spool.read(self.offset, self.length)


_Block = bytes | _Spooled


class _Spool:
    """An unlinked temporary file a worker appends a listing's pages to, read back by the writer (closed when its
    last handle is gone)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.fp: IO[bytes] | None = None
        self.size = 0
        self.lock = threading.Lock()  # one worker writes while the writer thread reads

    def put(self, block: bytes) -> _Spooled:
        try:
            with self.lock:
                if self.fp is None:
                    self.fp = tempfile.TemporaryFile(  # noqa: SIM115 - closed with the last handle
                        dir=self.directory, prefix=".runtrack-spool-", buffering=0
                    )
                self.fp.seek(self.size)
                view = memoryview(block)
                while view:
                    view = view[self.fp.write(view) or 0 :]
        except OSError as exc:
            where = self.directory or Path(tempfile.gettempdir())
            raise ExportWriteError(
                f"cannot write a temporary file in {where}: {_what(exc)}; pages of listings read ahead wait there. "
                "Free space (or pass --jobs 1) and run the same command again to resume."
            ) from None
        spooled = _Spooled(self, self.size, len(block))
        self.size += len(block)
        return spooled

    def read(self, offset: int, length: int) -> bytes:
        with self.lock:
            assert self.fp is not None
            self.fp.seek(offset)
            return self.fp.read(length)

    def __del__(self) -> None:
        if self.fp is not None:
            with contextlib.suppress(OSError):
                self.fp.close()


def _run(
    plan: _Plan,
    target: _FileTarget | _StreamTarget,
    result: ExportResult,
    progress: Progress,
    environ: Mapping[str, str] | None,
    on_failure: Callable[[str, BaseException], None] | None,
    jobs: int,
    spool_dir: Path | None = None,
) -> None:
    """Read the unfinished listings of ``plan`` (``jobs`` at once) and write them in order to ``target``."""
    pending = [entry for entry in plan if not entry[2].done]
    adapters: dict[str, Adapter | BaseException] = {}
    lock = threading.Lock()

    def adapter_for(spec: SourceSpec) -> Adapter:
        with lock:
            adapter = adapters.get(spec.name)
            if adapter is None:
                try:
                    adapter = adapters[spec.name] = connect_source(spec, environ)
                except Exception as exc:
                    adapter = adapters[spec.name] = exc
        if isinstance(adapter, BaseException):
            raise adapter
        return adapter

    def pages(entry: tuple[SourceSpec, Mapping[str, Any], Unit]) -> Iterator[tuple[_Block, int, str | None]]:
        """A listing's pages, encoded (on a worker thread when ``jobs`` > 1, then kept in a spool file)."""
        spec, scope, unit = entry
        adapter = adapter_for(spec)
        max_items = None if spec.max_items is None else spec.max_items - unit.runs
        if max_items is not None and max_items <= 0:
            return
        listing = adapter.runs(max_items=max_items, page_size=spec.page_size, cursor=unit.cursor, **scope)
        spool = _Spool(spool_dir) if jobs > 1 else None
        for page in listing.pages():
            block = encode_runs(page.items)
            yield (block if spool is None else spool.put(block)), len(page.items), page.next_cursor

    try:
        for (_spec, _scope, unit), encoded in in_order(pending, pages, workers=jobs, buffer=_SPOOLED_PAGES):
            unit.error = None
            progress.start(unit.key)
            try:
                for block, n, next_cursor in encoded:
                    target.write(block.take() if isinstance(block, _Spooled) else block)
                    unit.cursor = next_cursor
                    unit.runs += n
                    unit.done = next_cursor is None
                    target.mark()
                    result.written += n
                    progress.advance(n)
                unit.done = True  # the listing ended (or max_items was reached)
                target.mark()
                progress.finish()
            except (KeyboardInterrupt, ExportWriteError):
                target.rewind()
                with contextlib.suppress(ExportWriteError):  # keep the pages written whole, if the disk allows
                    target.save()
                raise
            except Exception as exc:
                progress.finish(failed=True)
                unit.error = describe_failure(exc)
                result.failures.append((unit.key, unit.error))
                target.mark()
                target.save()
                if on_failure is not None:
                    on_failure(unit.key, exc)
        target.save()
    finally:
        for adapter in adapters.values():
            if isinstance(adapter, Adapter):
                adapter.close()
