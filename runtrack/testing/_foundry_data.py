"""Seeded Foundry Model Studio data: runs, config versions, builds and jobs, as Conjure JSON."""

from __future__ import annotations

from typing import Any, NamedTuple

from runtrack.testing import _data as d

SPAN_US = 30 * d.DAY_US
BUILD_STATUS = (
    ("SUCCEEDED", 60),
    ("FAILED", 12),
    ("RUNNING", 8),
    ("CANCELED", 6),
    ("<absent>", 6),
    ("<null>", 5),
    ("NOT_STARTED", 3),
)
GPUS = ("A10G", "T4", "H100", "L4", "B300")
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")


class StudioRun(NamedTuple):
    """Facts of one Model Studio run."""

    run_id: str
    build_rid: str
    job_rid: str
    config_version: int
    started_by: str
    started_us: int
    duration_us: int
    status: str  # a BuildStatus, "<absent>" or "<null>"
    outputs: str  # "model", "model-no-experiment", "empty", "absent" or "odd"
    model_version: str
    experiment: str
    offset_hours: int  # 0: "...Z"; else the same instant written with this UTC offset


def run_facts(prefix: bytes, s: int, i: int, started_us: int, config_version: int, users: list[str]) -> StudioRun:
    """A pure function of its arguments."""
    h = d.digest(prefix, "run", s, i, size=64)
    x = int.from_bytes(h[48:64], "big")
    status = d.weighted(x % 100, BUILD_STATUS)
    roll = (x >> 7) % 100
    if status == "SUCCEEDED":
        outputs = "odd" if roll < 2 else "model-no-experiment" if roll < 30 else "model"
    else:
        outputs = "absent" if roll < 4 else "empty"
    return StudioRun(
        run_id=h[:8].hex(),
        build_rid=f"ri.foundry-build.main.build.{d.uuid4(h, 8)}",
        job_rid=f"ri.foundry-build.main.job.{d.uuid4(h, 24)}",
        config_version=config_version,
        started_by=users[(x >> 14) % len(users)],
        started_us=started_us,
        duration_us=60_000_000 + (x >> 20) % 7_200_000_000,
        status=status,
        outputs=outputs,
        model_version=f"ri.models.main.model-version.{d.uuid4(d.digest(prefix, 'mv', s, i))}",
        experiment=f"ri.models.main.experiment.{d.uuid4(d.digest(prefix, 'exp', s, i))}",
        offset_hours=2 if (x >> 40) % 10 == 0 else 0,
    )


def started_text(r: StudioRun) -> str:
    """``startedTime`` as sent: ``Z`` with milliseconds, or (one run in ten) a ``+02:00`` offset."""
    return d.iso_offset(r.started_us, r.offset_hours) if r.offset_hours else d.iso_z(r.started_us, 3)


def run_json(r: StudioRun, model_rid: str) -> str:
    """One ``ModelStudioRun`` object (ASCII JSON)."""
    status = (
        ""
        if r.status == "<absent>"
        else (',"buildStatus":null' if r.status == "<null>" else f',"buildStatus":"{r.status}"')
    )
    if r.outputs == "absent":
        outputs = ""
    elif r.outputs == "empty":
        outputs = ',"resolvedOutputs":{}'
    elif r.outputs == "odd":
        outputs = f',"resolvedOutputs":{{"model":{{"type":"externalModel","externalRid":"{r.model_version}"}}}}'
    else:
        exp = f',"experimentRid":"{r.experiment}"' if r.outputs == "model" else ""
        outputs = (
            f',"resolvedOutputs":{{"model":{{"type":"model","modelRid":"{model_rid}",'
            f'"modelVersionRid":"{r.model_version}"{exp}}}}}'
        )
    return (
        f'{{"runId":"{r.run_id}","configVersion":{r.config_version},"startedTime":"{started_text(r)}",'
        f'"startedBy":"{r.started_by}","buildRid":"{r.build_rid}","jobRid":"{r.job_rid}"{status}{outputs}}}'
    )


def build_status(r: StudioRun) -> str:
    """The Orchestration build status behind a run (unknown/absent run statuses are still RUNNING)."""
    return r.status if r.status in (*TERMINAL, "RUNNING") else "RUNNING"


def build_json(r: StudioRun) -> dict[str, Any]:
    """``GET /api/v2/orchestration/builds/{rid}``: ``finishedTime`` only once the build is done."""
    status = build_status(r)
    out: dict[str, Any] = {
        "rid": r.build_rid,
        "branchName": "master",
        "createdTime": d.iso_z(r.started_us - 2_000_000, 3),
        "createdBy": r.started_by,
        "fallbackBranches": [],
        "jobRids": [r.job_rid],
        "retryCount": 0,
        "retryBackoffDuration": {"unit": "SECONDS", "value": 30},
        "abortOnFailure": False,
        "status": status,
    }
    if status in TERMINAL:
        out["finishedTime"] = d.iso_z(r.started_us + r.duration_us, 3)
    return out


def job_json(r: StudioRun) -> dict[str, Any]:
    """The single job of a run's build."""
    status = build_status(r)
    out: dict[str, Any] = {
        "rid": r.job_rid,
        "buildRid": r.build_rid,
        "startedTime": d.iso_z(r.started_us, 3),
        "jobStatus": "WAITING" if r.status in ("<absent>", "<null>", "NOT_STARTED") else status,
        "outputs": [],
    }
    if out["jobStatus"] != "WAITING":
        out["latestAttemptStartTime"] = d.iso_z(r.started_us + 4_000_000, 3)
    if status in TERMINAL:
        out["finishedTime"] = d.iso_z(r.started_us + r.duration_us, 3)
    return out


def config_version_json(prefix: bytes, s: int, version: int, users: list[str], created_us: int) -> dict[str, Any]:
    """One ``ModelStudioConfigVersion``."""
    h = d.digest(prefix, "config", s, version)
    trainer = f"ri.models.main.model-studio-trainer.{d.uuid4(d.digest(prefix, 'trainer', s))}"
    resources: dict[str, Any] = {"memory": f"{4 * (1 + h[0] % 4)}G", "cpu": str(1 + h[1] % 8)}
    if h[2] % 3:
        resources["gpu"] = GPUS[h[3] % len(GPUS)]
    out: dict[str, Any] = {
        "name": f"baseline-v{version}",
        "version": version,
        "trainerId": trainer,
        "trainer": {"trainerId": trainer, "version": f"1.{h[4] % 6}.{h[5] % 10}"},
        "workerConfig": {
            "customConfig": {"learning_rate": round(0.0001 * (1 + h[6] % 20), 4), "epochs": 1 + h[7] % 20},
            "inputs": {
                "training_data": {
                    "type": "dataset",
                    "rid": f"ri.foundry.main.dataset.{d.uuid4(d.digest(prefix, 'ds', s))}",
                    "columnMapping": {"label": ["y"], "features": ["x1", "x2"]},
                    "ignoreColumns": [],
                    "selectColumns": [],
                }
            },
            "outputs": {
                "model": {"type": "model", "modelRid": f"ri.models.main.model.{d.uuid4(d.digest(prefix, 'model', s))}"}
            },
        },
        "resources": resources,
        "createdBy": users[h[8] % len(users)],
        "createdTime": d.iso_z(created_us, 3),
    }
    if version > 1:
        out["changelog"] = f"bump learning rate (v{version})"
    return out
