"""Model Studio run payloads (``ModelStudioRun``) to :class:`runtrack.Run`, and loose RID checks.

The per-item function built by :func:`run_parser` runs once per run: direct dict lookups, no logging, no cattrs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from runtrack import Actor, PayloadError, Run, RunStatus
from runtrack.convert import enum_table, open_enum, parse_datetime

__all__ = ["KIND", "STATUS", "check_rid", "looks_like_rid", "run_parser"]

log = logging.getLogger("runtrack.foundry")

#: What a Foundry run is (part of every uid).
KIND = "model_studio_run"

#: ``buildStatus`` (``orchestration.BuildStatus``), keys lower case. Anything else is UNKNOWN with the raw string kept.
STATUS = {
    "running": RunStatus.RUNNING,
    "succeeded": RunStatus.SUCCEEDED,
    "failed": RunStatus.FAILED,
    "canceled": RunStatus.CANCELED,
}

#: ``buildStatus`` absent or null: Foundry has not attached a build status to the run yet.
NO_BUILD_STATUS = RunStatus.QUEUED

# ri.<service>.<instance>.<type>.<locator>; the instance may be empty ("ri.service..type.locator").
_RID = re.compile(r"^ri\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9-]+\.[A-Za-z0-9._:-]+$")
_OUTPUT_FIELDS = (
    ("modelRid", "model_rid"),
    ("modelVersionRid", "model_version_rid"),
    ("experimentRid", "experiment_rid"),
)
_warned: set[str] = set()


def looks_like_rid(value: str) -> bool:
    """Whether ``value`` has the documented RID shape ``ri.<service>.<instance>.<type>.<locator>``."""
    return _RID.match(value) is not None


def check_rid(value: Any, what: str) -> str:
    """A RID given by the user, checked loosely.

    Values that cannot be part of a URL path (empty, whitespace, ``/``, ``?``, ``#``) are a :class:`ValueError`;
    an unfamiliar shape is only logged once and kept: Foundry decides what a valid RID is.
    """
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string RID, got {type(value).__name__}")
    text = value.strip()
    if not text or any(c.isspace() or c in "/?#" for c in text):
        raise ValueError(f"{what} {value!r} is not a RID (expected ri.<service>.<instance>.<type>.<locator>)")
    if not looks_like_rid(text) and text not in _warned:
        _warned.add(text)
        log.warning(
            "%s %r does not look like a Foundry RID (ri.<service>.<instance>.<type>.<locator>); using it as given",
            what,
            text,
        )
    return text


def _output_keys(alias: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Scope keys of one output alias: ``output.<alias>.type`` and ``(wire field, scope key)`` pairs."""
    return f"output.{alias}.type", tuple((wire, f"output.{alias}.{name}") for wire, name in _OUTPUT_FIELDS)


def _add_outputs(scope: dict[str, str], outputs: Any, keys_of: dict[str, Any]) -> None:
    if not isinstance(outputs, dict):
        raise PayloadError(
            f"expected an object of outputs by alias, got {type(outputs).__name__}", path="$.resolvedOutputs"
        )
    for alias, output in outputs.items():
        if not isinstance(output, dict):
            continue  # kept in raw; there is no RID to lift
        keys = keys_of.get(alias)
        if keys is None:
            keys = _output_keys(alias)
            if len(keys_of) < 256:  # aliases repeat across the runs of a studio
                keys_of[alias] = keys
        kind = output.get("type")
        if kind != "model" and kind is not None:
            scope[keys[0]] = str(kind)
        for wire, key in keys[1]:
            value = output.get(wire)
            if value is not None:
                scope[key] = value if isinstance(value, str) else str(value)


def run_parser(*, platform: str, instance: str, model_studio_rid: str) -> Callable[[Any], Run]:
    """The mapping of one ``ModelStudioRun`` of the studio ``model_studio_rid``."""
    status_table = enum_table(STATUS)
    output_keys: dict[str, Any] = {}
    actors: dict[str, Actor] = {}  # a studio has few launching users; Actor is frozen, so runs can share one

    def actor(value: Any) -> Actor:
        if not isinstance(value, str):
            return Actor(id=str(value))
        found = actors.get(value)
        if found is None:
            found = Actor(id=value)
            if len(actors) < 1024:
                actors[value] = found
        return found

    def parse(item: Any) -> Run:
        if not isinstance(item, dict):
            raise PayloadError(f"expected a run object, got {type(item).__name__}", path="$")
        run_id = item.get("runId")
        if not isinstance(run_id, str) or not run_id:
            if isinstance(run_id, int) and not isinstance(run_id, bool):
                run_id = str(run_id)
            else:
                raise PayloadError(f"expected a non-empty string runId, got {run_id!r}", path="$.runId")
        raw_status = item.get("buildStatus")
        if raw_status is None:
            status, status_raw = NO_BUILD_STATUS, None
        else:
            status, status_raw = open_enum(RunStatus, status_table, raw_status)
        started = parse_datetime(item.get("startedTime"), "$.startedTime")
        scope = {"model_studio_rid": model_studio_rid}
        value = item.get("configVersion")
        if value is not None:
            scope["config_version"] = str(value)
        value = item.get("buildRid")
        if value is not None:
            scope["build_rid"] = str(value)
        value = item.get("jobRid")
        if value is not None:
            scope["job_rid"] = str(value)
        value = item.get("resolvedOutputs")
        if value:
            _add_outputs(scope, value, output_keys)
        value = item.get("startedBy")
        return Run(
            platform=platform,
            instance=instance,
            kind=KIND,
            native_id=run_id,
            status=status,
            status_raw=status_raw,
            created_at=started,
            started_at=started,
            created_by=actor(value) if value is not None else None,
            scope=scope,
            raw=item,
        )

    return parse
