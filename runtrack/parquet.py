"""Runs as a Parquet dataset: one directory, hive-partitioned by platform (``DIR/platform=NAME/part-0.parquet``),
typed columns, timezone-aware UTC timestamps, ``scope``/``metrics``/``raw`` as JSON text. DuckDB
(``read_parquet('DIR/**/*.parquet', hive_partitioning = true)``), Polars and Apache Spark (``spark.read.parquet``)
read it as is. Needs pyarrow: ``pip install 'runtrack[parquet]'``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .convert import dump_run, encode_json_line
from .errors import ConfigurationError
from .model import Run

__all__ = ["BATCH_ROWS", "ParquetUnavailableError", "write_parquet"]

#: rows per record batch (and row group): memory stays flat in the number of runs
BATCH_ROWS = 5_000


def _dumps(value: Any) -> str:
    return encode_json_line(value)[:-1].decode()


class ParquetUnavailableError(ConfigurationError):
    """pyarrow is not installed."""


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ParquetUnavailableError(
            "Parquet export needs pyarrow, which is not installed: pip install 'runtrack[parquet]' "
            "(the optional extra 'parquet')"
        ) from None
    return pyarrow


def _schema(pa: Any) -> Any:
    ts = pa.timestamp("us", tz="UTC")
    text = pa.string()
    return pa.schema(
        [
            ("uid", text),
            ("instance", text),
            ("kind", text),
            ("native_id", text),
            ("name", text),
            ("status", text),
            ("status_raw", text),
            ("review_status", text),
            ("created_at", ts),
            ("started_at", ts),
            ("ended_at", ts),
            ("duration_s", pa.float64()),
            ("created_by_id", text),
            ("created_by_username", text),
            ("created_by_email", text),
            ("parent_uid", text),
            ("scope", text),
            ("metrics", text),
            ("error", text),
            ("tags", pa.list_(text)),
            ("url", text),
            ("raw", text),
            ("schema_version", pa.int32()),
        ]
    )


def _row(run: Run) -> dict[str, Any]:
    data = dump_run(run)
    actor = run.created_by
    duration = run.duration
    return {
        "uid": run.uid,
        "instance": run.instance,
        "kind": run.kind,
        "native_id": run.native_id,
        "name": run.name,
        "status": run.status.value,
        "status_raw": run.status_raw,
        "review_status": None if run.review_status is None else run.review_status.value,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "duration_s": None if duration is None else duration.total_seconds(),
        "created_by_id": actor.id if actor else None,
        "created_by_username": actor.username if actor else None,
        "created_by_email": actor.email if actor else None,
        "parent_uid": run.parent_uid,
        "scope": _dumps(data["scope"]),
        "metrics": _dumps(data["metrics"]),
        "error": run.error,
        "tags": list(run.tags),
        "url": run.url,
        "raw": _dumps(data["raw"]),
        "schema_version": run.schema_version,
    }


def _is_dataset(path: Path) -> bool:
    """Only a directory this module wrote (``platform=*`` folders of ``.parquet`` files) may be replaced."""
    if not path.is_dir():
        return False
    for child in path.iterdir():
        if not (child.is_dir() and child.name.startswith("platform=")):
            return False
        if any(not f.name.endswith(".parquet") for f in child.iterdir()):
            return False
    return True


def write_parquet(runs: Iterable[Run], directory: str | Path, *, overwrite: bool = False) -> dict[str, int]:
    """Write ``runs`` to a new dataset ``directory``; returns runs written per platform.

    The dataset is written next to ``directory`` and renamed into place at the end, so a failure never leaves a
    half-written dataset under the name. An existing ``directory`` is replaced only with ``overwrite`` and only
    when it is such a dataset.
    """
    pa = _pyarrow()
    target = Path(directory)
    if target.exists() and not (overwrite and _is_dataset(target)):
        hint = "pass --overwrite to replace it" if _is_dataset(target) else "it is not a runtrack Parquet dataset"
        raise ConfigurationError(f"{target} already exists; {hint}")
    if not target.parent.is_dir():
        raise ConfigurationError(f"{target}: the directory {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    schema = _schema(pa)
    writers: dict[str, Any] = {}
    pending: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}

    def flush(platform: str) -> None:
        rows = pending.pop(platform, [])
        if not rows:
            return
        writer = writers.get(platform)
        if writer is None:
            folder = tmp / f"platform={platform}"
            folder.mkdir(parents=True)
            writer = writers[platform] = pa.parquet.ParquetWriter(folder / "part-0.parquet", schema)
        writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=schema))

    try:
        tmp.mkdir()
        for run in runs:
            rows = pending.setdefault(run.platform, [])
            rows.append(_row(run))
            counts[run.platform] = counts.get(run.platform, 0) + 1
            if len(rows) >= BATCH_ROWS:
                flush(run.platform)
        for platform in list(pending):
            flush(platform)
        for writer in writers.values():
            writer.close()
        writers.clear()
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        for writer in writers.values():
            writer.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return counts
