"""The runs the benchmark servers serve: one JSON-encoded item per run, in listing order, valid for every client.

* LangSmith and Foundry rows come from ``runtrack.testing``'s seeded fakes (realistic payloads: ~5.5 KB
  LangSmith runs with messages, ~0.5 KB Foundry runs). Those fakes deliberately include a few payloads the
  official SDKs reject (a LangSmith run with ``start_time`` or ``inputs`` null, a Foundry run without
  ``resolvedOutputs`` or with a ``buildStatus`` outside the SDK's literal set); they are
  normalized here, so every contender lists the same, valid runs.
* Label Studio rows are made here (``runtrack.testing`` has no Label Studio fake yet), in the ``ModelRun`` shape
  of Label Studio 1.23 / label-studio-sdk 2.1.2.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from runtrack.testing import FakeFoundry, FakeLangSmith

try:
    import orjson

    dumps: Callable[[Any], bytes] = orjson.dumps
except ImportError:  # pragma: no cover - the bench venv has orjson

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


CHUNK = 10_000  # rows taken from a fake at a time (keeps the parsed copy small)
FOUNDRY_STATUSES = {"RUNNING", "SUCCEEDED", "FAILED", "CANCELED"}


def langsmith_rows(n: int, seed: int = 0) -> list[bytes]:
    """``n`` queue runs as ``GET /annotation-queues/{id}/runs`` lists them (``RunWithAnnotationQueueInfo``)."""
    chunks = max(1, -(-n // CHUNK))
    fake = FakeLangSmith(seed=seed, queues=chunks, runs_per_queue=min(n, CHUNK), projects=4, cache_bytes=0)
    rows: list[bytes] = []
    for queue_id in fake.queue_ids:
        for row in fake.queue_runs(queue_id)[: n - len(rows)]:
            if row.get("start_time") is None:  # the SDK requires a start time
                row["start_time"] = row.get("end_time") or "2025-09-01T00:00:00"
            if row.get("inputs") is None:  # ... and an inputs object
                row["inputs"] = {}
            rows.append(dumps(row))
    return rows


def foundry_rows(n: int, seed: int = 0) -> list[bytes]:
    """``n`` Model Studio runs (``ModelStudioRun``) of one studio."""
    chunks = max(1, -(-n // CHUNK))
    fake = FakeFoundry(seed=seed, studios=chunks, runs_per_studio=min(n, CHUNK), cache_bytes=0)
    rows: list[bytes] = []
    for rid in fake.studio_rids:
        for row in fake.studio_runs(rid)[: n - len(rows)]:
            status = row.get("buildStatus")
            if status is not None and status not in FOUNDRY_STATUSES:  # the SDK's BuildStatus literal
                row["buildStatus"] = "RUNNING"
            outputs = row.get("resolvedOutputs")
            if not isinstance(outputs, dict) or any(o.get("type") != "model" for o in outputs.values()):
                row["resolvedOutputs"] = {}  # required by the SDK, which knows only the "model" output type
            rows.append(dumps(row))
    return rows


LS_STATUSES = ("Completed", "Completed", "Completed", "Failed", "InProgress", "Pending", "Canceled")
LS_SUBSETS = ("All", "HasGT", "Sample")
LS_USERS = [
    {"id": i, "username": u, "email": f"{u}@example.com", "first_name": u.title(), "last_name": "", "avatar": ""}
    for i, u in enumerate(("ana", "bo", "chen", "dara"), start=1)
]


def _ls_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def labelstudio_rows(n: int, *, prompt: int, version: int, seed: int = 0) -> list[bytes]:
    """``n`` Prompts inference runs (``ModelRun``) of one prompt version, newest first."""
    rng = random.Random(seed)
    base = datetime(2025, 3, 2, 10, 0, tzinfo=timezone.utc)
    rows = []
    for i in range(n):
        status = LS_STATUSES[rng.randrange(len(LS_STATUSES))]
        created = base - timedelta(minutes=7 * i, microseconds=rng.randrange(1_000_000))
        tasks = rng.randrange(10, 2000)
        done = status in ("Completed", "Failed", "Canceled")
        predictions = tasks if status == "Completed" else rng.randrange(0, tasks) if done else 0
        rows.append(
            dumps(
                {
                    "id": version * 1_000_000 + n - i,
                    "project": 7 + i % 5,
                    "parent_model": prompt,
                    "model_version": version,
                    "organization": 1,
                    "created_by": LS_USERS[i % len(LS_USERS)],
                    "project_subset": LS_SUBSETS[i % len(LS_SUBSETS)],
                    "status": status,
                    "job_id": f"{rng.getrandbits(128):032x}",
                    "total_tasks": tasks,
                    "total_predictions": predictions,
                    "total_correct_predictions": rng.randrange(0, predictions + 1),
                    "created_at": _ls_time(created),
                    "triggered_at": _ls_time(created + timedelta(seconds=1)),
                    "predictions_updated_at": _ls_time(created + timedelta(minutes=4)) if done else None,
                    "completed_at": _ls_time(created + timedelta(minutes=5)) if done else None,
                    "filters_json": None,
                    "sample_subset_size": 50 if i % len(LS_SUBSETS) == 2 else None,
                    "source_model_run": None,
                    "task_ids": None,
                }
            )
        )
    return rows
