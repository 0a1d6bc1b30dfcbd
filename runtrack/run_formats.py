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

from ._tables import fmt_datetime, fmt_duration
from .convert import dump_run, format_datetime, json_default, write_jsonl
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

_TABLE_COLUMNS = (("STATUS", 9), ("CREATED", 20), ("DURATION", 8), ("ID", 26), ("NAME", 28), ("ERROR", 0))


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
            self.stream.write(json.dumps(dump_run(run), ensure_ascii=False, default=json_default))
            self.count += 1
            n += 1
        return n

    def close(self) -> None:
        self.stream.write("\n]\n" if self.count else "]\n")
        super().close()


def _fit(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    if not width:
        return text
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


class TableWriter(RunWriter):
    """Fixed-width columns, so rows can be printed as they arrive."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        stream.write(self._line([name for name, _ in _TABLE_COLUMNS]))

    @staticmethod
    def _line(cells: list[str]) -> str:
        return "  ".join(_fit(c, w) for c, (_, w) in zip(cells, _TABLE_COLUMNS, strict=True)).rstrip() + "\n"

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
            self.stream.write(self._line(cells))
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
