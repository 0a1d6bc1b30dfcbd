"""Streaming writers for ``runtrack runs``: ``table``, ``json`` (one array), ``jsonl`` and ``csv``.

Each writer writes as runs arrive (nothing is accumulated) and :meth:`RunWriter.close` always leaves a complete
document, also after a listing error: a JSON array is closed, a table keeps its header.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TextIO

from ._tables import fmt_datetime, fmt_duration, is_terminal, use_colour
from .convert import dump_run, format_datetime, write_jsonl
from .model import Run

__all__ = ["RUN_CSV_COLUMNS", "RUN_FORMATS", "RunWriter", "run_writer"]

RUN_FORMATS = ("table", "json", "jsonl", "csv")

#: Columns of ``runtrack runs --format csv``; ``scope`` and ``metrics`` are JSON objects, ``tags`` is ``;``-joined.
RUN_CSV_COLUMNS = (
    "uid",
    "platform",
    "instance",
    "kind",
    "native_id",
    "name",
    "status",
    "status_raw",
    "review_status",
    "created_at",
    "started_at",
    "ended_at",
    "duration_s",
    "created_by",
    "parent_uid",
    "scope",
    "metrics",
    "error",
    "tags",
    "url",
)

#: (header, width, cut): a cell longer than its width is cut only on a terminal and only where ``cut`` says so
#: (an id never is: it must stay usable); 0 is the last, free column.
_TABLE_COLUMNS = (
    ("STATUS", 9, False),
    ("CREATED", 20, False),
    ("DURATION", 8, False),
    ("ID", 36, False),
    ("NAME", 28, True),
    ("ERROR", 0, True),
)
#: SGR colours of statuses in the table on a colour terminal
_STATUS_COLOURS = {"SUCCEEDED": "32", "FAILED": "31", "RUNNING": "34", "QUEUED": "33", "CANCELED": "2"}


class RunWriter:
    """Write runs to a text stream in one format."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0

    def write(self, runs: Iterable[Run]) -> int:
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()


class JsonlWriter(RunWriter):
    def write(self, runs: Iterable[Run]) -> int:
        n = write_jsonl(runs, self.stream)
        self.count += n
        return n


class JsonArrayWriter(RunWriter):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        stream.write("[")

    def write(self, runs: Iterable[Run]) -> int:
        n = 0
        for run in runs:
            self.stream.write(",\n" if self.count else "\n")
            self.stream.write(json.dumps(dump_run(run), ensure_ascii=False))
            self.count += 1
            n += 1
        return n

    def close(self) -> None:
        self.stream.write("\n]\n" if self.count else "]\n")
        super().close()


def _fit(text: str, width: int, cut: bool) -> str:
    text = " ".join(text.split())  # one line, whatever the platform put in a name or error
    if not width:
        return text
    if len(text) > width and cut:
        return text[: width - 1] + "…"
    return text.ljust(width)


class TableWriter(RunWriter):
    """Fixed-width columns, so rows can be printed as they arrive. On a terminal long names and errors are cut to
    fit and statuses are coloured (unless ``NO_COLOR`` is set); piped, nothing is cut and no escape code is
    written. Ids are never cut."""

    def __init__(self, stream: TextIO, *, terminal: bool | None = None, colour: bool | None = None) -> None:
        super().__init__(stream)
        self.terminal = is_terminal(stream) if terminal is None else terminal
        self.colour = use_colour(stream) if colour is None else colour
        stream.write(self._line([name for name, _, _ in _TABLE_COLUMNS]))

    def _line(self, cells: list[str], status: str | None = None) -> str:
        parts = [_fit(c, w, cut and self.terminal) for c, (_, w, cut) in zip(cells, _TABLE_COLUMNS, strict=True)]
        code = _STATUS_COLOURS.get(status or "") if self.colour else None
        if code:
            parts[0] = f"\x1b[{code}m{parts[0]}\x1b[0m"
        return "  ".join(parts).rstrip() + "\n"

    def write(self, runs: Iterable[Run]) -> int:
        n = 0
        for run in runs:
            d = run.duration
            cells = [
                run.status.value,
                fmt_datetime(run.created_at or run.started_at),
                fmt_duration(d.total_seconds()) if d is not None else "",
                run.native_id,
                run.name or "",
                run.error or "",
            ]
            self.stream.write(self._line(cells, run.status.value))
            n += 1
        self.count += n
        return n

    def close(self) -> None:
        if not self.count:
            self.stream.write("(no runs)\n")
        super().close()


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


class CsvWriter(RunWriter):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.writer = csv.writer(stream, lineterminator="\n")
        self.writer.writerow(RUN_CSV_COLUMNS)

    def write(self, runs: Iterable[Run]) -> int:
        n = 0
        dt = format_datetime
        for run in runs:
            d = run.duration
            actor = run.created_by
            self.writer.writerow(
                (
                    run.uid,
                    run.platform,
                    run.instance,
                    run.kind,
                    run.native_id,
                    run.name or "",
                    run.status.value,
                    run.status_raw or "",
                    run.review_status.value if run.review_status is not None else "",
                    dt(run.created_at) if run.created_at else "",
                    dt(run.started_at) if run.started_at else "",
                    dt(run.ended_at) if run.ended_at else "",
                    d.total_seconds() if d is not None else "",
                    (actor.username or actor.email or actor.id or "") if actor else "",
                    run.parent_uid or "",
                    json.dumps(dict(run.scope), ensure_ascii=False, sort_keys=True),
                    json.dumps({k: _json_value(v) for k, v in run.metrics.items()}, sort_keys=True),
                    run.error or "",
                    ";".join(run.tags),
                    run.url or "",
                )
            )
            n += 1
        self.count += n
        return n


def run_writer(fmt: str, stream: TextIO) -> RunWriter:
    """The writer for ``fmt`` (one of :data:`RUN_FORMATS`)."""
    writers: dict[str, type[RunWriter]] = {
        "table": TableWriter,
        "json": JsonArrayWriter,
        "jsonl": JsonlWriter,
        "csv": CsvWriter,
    }
    try:
        return writers[fmt](stream)
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(RUN_FORMATS)}") from None
