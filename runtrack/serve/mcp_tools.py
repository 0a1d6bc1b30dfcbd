"""The MCP server: one tool per operation, with annotations that say what each does to the world.

Tool names and annotations are a contract (docs/serve.md): agents and their users decide from them what may run
without asking. Errors become tool errors (``isError``) whose text is the problem document of
:func:`~.problems.problem`; the server keeps serving.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from .._version import __version__
from ..convert import plain_values
from .operations import DEFAULT_LIMIT, MAX_LIMIT, MAX_SCAN, Operations
from .problems import problem

__all__ = ["TOOLS", "build_mcp"]

log = logging.getLogger("runtrack.serve")

READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, destructive_hint=False, open_world_hint=True)
CREATE = ToolAnnotations(read_only_hint=False, idempotent_hint=False, destructive_hint=False, open_world_hint=True)
CANCEL = ToolAnnotations(read_only_hint=False, idempotent_hint=False, destructive_hint=True, open_world_hint=True)
QUEUE = ToolAnnotations(read_only_hint=False, idempotent_hint=False, destructive_hint=False, open_world_hint=True)

#: every tool's name and annotations, in the order they are listed
TOOLS: dict[str, ToolAnnotations] = {
    "list_sources": READ,
    "list_runs": READ,
    "get_run": READ,
    "run_report": READ,
    "create_run": CREATE,
    "cancel_run": CANCEL,
    "add_to_queue": QUEUE,
}

INSTRUCTIONS = (
    "runtrack reads runs (inference runs, annotation-queue runs, model training runs) from Label Studio, "
    "LangSmith and Palantir Foundry into one model. Start with list_sources, then list_runs or run_report. "
    "Runs are identified by uid (stable across platforms) or by source + native_id."
)

Source = Annotated[str, Field(description="A configured source name, as list_sources returns it.")]
OptSource = Annotated[
    str | None, Field(description="A configured source name (see list_sources); omit to cover every source.")
]
Uid = Annotated[str | None, Field(description="The run's uid (the 'uid' field of a listed run).")]
NativeId = Annotated[
    str | None, Field(description="The platform's own id of the run (its 'native_id'); needs source too.")
]
IncludeRaw = Annotated[
    bool, Field(description="Also return each run's 'raw' vendor payload (large; long strings are clipped).")
]


def _call(operation: Callable[..., dict[str, Any]], **arguments: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = plain_values(operation(**arguments))  # the SDK writes strict UTF-8 JSON
        return result
    except Exception as exc:
        log.debug("tool %s failed", operation.__name__, exc_info=True)
        raise ToolError(json.dumps(problem(exc))) from None


def build_mcp(ops: Operations) -> MCPServer:
    """The MCP server over ``ops``; a read-only ``ops`` has no write tools."""
    server: MCPServer = MCPServer(
        "runtrack", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING", warn_on_duplicate_tools=False
    )

    @server.tool(annotations=READ)
    def list_sources() -> dict[str, Any]:
        """List the configured sources: name, adapter (labelstudio, langsmith, foundry, ...), the scopes the
        configuration lists, and which write actions each offers. Call this first to learn the source names."""
        return _call(ops.list_sources)

    @server.tool(annotations=READ)
    def list_runs(
        source: OptSource = None,
        scope: Annotated[
            dict[str, str | int | bool] | None,
            Field(
                description="Adapter scope keywords for one listing, e.g. {'queue_id': '...'} (langsmith), "
                "{'prompt_id': 1, 'version_id': 2} (labelstudio), {'model_studio_rid': '...'} (foundry). "
                "Omit to list the source's configured scopes. Live reads only."
            ),
        ] = None,
        status: Annotated[
            str | None,
            Field(description="Only runs with this status: QUEUED RUNNING SUCCEEDED FAILED CANCELED SKIPPED UNKNOWN"),
        ] = None,
        since: Annotated[
            str | None,
            Field(description="Only runs created since: a date (2024-05-01), an ISO datetime, or an age such as 7d."),
        ] = None,
        limit: Annotated[
            int, Field(description=f"Most runs to return (1-{MAX_LIMIT}).", ge=1, le=MAX_LIMIT)
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            Field(
                description="next_cursor of the previous call, to continue; repeat the same other arguments. "
                "next_cursor null means everything was returned (fewer runs than limit alone does not)."
            ),
        ] = None,
        include_raw: IncludeRaw = False,
    ) -> dict[str, Any]:
        """List runs as runtrack's normalized JSON (uid, platform, status, timings, scope, metrics, error, url),
        a page at a time: returns {'runs': [...], 'next_cursor': ...}."""
        return _call(
            ops.list_runs,
            source=source,
            scope=scope,
            status=status,
            since=since,
            limit=limit,
            cursor=cursor,
            include_raw=include_raw,
        )

    @server.tool(
        annotations=READ,
        description=f"Get one run by uid, or by source + native_id. Served live this looks through at most {MAX_SCAN} "
        "runs of the configured listings; served from a store it is a direct lookup.",
    )
    def get_run(
        uid: Uid = None, source: OptSource = None, native_id: NativeId = None, include_raw: IncludeRaw = False
    ) -> dict[str, Any]:
        return _call(ops.get_run, uid=uid, source=source, native_id=native_id, include_raw=include_raw)

    @server.tool(annotations=READ)
    def run_report(
        since: Annotated[
            str | None, Field(description="Only runs created since (2024-05-01, ISO datetime, 7d).")
        ] = None,
        stuck_after: Annotated[
            str | None, Field(description="RUNNING/QUEUED longer than this counts as stuck, e.g. 6h or 2d.")
        ] = None,
        top_errors: Annotated[int | None, Field(description="How many most frequent errors per source.", ge=0)] = None,
        group_by: Annotated[list[str] | None, Field(description="Rows per value of these Run.scope keys.")] = None,
        sources: Annotated[list[str] | None, Field(description="Only these source names; omit for all.")] = None,
    ) -> dict[str, Any]:
        """The unified report of `runtrack report --format json`: per source and scope, counts by status,
        success rate, durations, stuck runs, top errors, accuracy, tokens, cost and review backlog."""
        return _call(
            ops.run_report,
            since=since,
            stuck_after=stuck_after,
            top_errors=top_errors,
            group_by=group_by,
            sources=sources,
        )

    if ops.read_only:
        return server

    @server.tool(annotations=CREATE)
    def create_run(
        source: Source,
        params: Annotated[
            dict[str, Any] | None,
            Field(
                description="Label Studio: {'prompt_id', 'version_id', 'project', optional 'project_subset' "
                "(All, HasGT, Sample, Custom) and body fields}. Foundry: {'model_studio_rid'}."
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Start a run: Label Studio prompt inference, or a Foundry model studio launch. Each call starts a new
        run (not idempotent) and may cost money on the platform; returns the new run."""
        return _call(ops.create_run, source=source, params=params)

    @server.tool(annotations=CANCEL)
    def cancel_run(uid: Uid = None, source: OptSource = None, native_id: NativeId = None) -> dict[str, Any]:
        """Cancel a running Label Studio inference run, by uid or source + native_id. Destructive: it stops work
        that cannot be resumed; a canceled run must be started again from the beginning with create_run."""
        return _call(ops.cancel_run, uid=uid, source=source, native_id=native_id)

    @server.tool(annotations=QUEUE)
    def add_to_queue(
        source: Source,
        queue_id: Annotated[str, Field(description="The LangSmith annotation queue id.")],
        run_ids: Annotated[list[str], Field(description="LangSmith run ids (a run's native_id) to add.", min_length=1)],
    ) -> dict[str, Any]:
        """Add runs to a LangSmith annotation queue for human review. Not read-only: it changes the queue."""
        return _call(ops.add_to_queue, source=source, queue_id=queue_id, run_ids=run_ids)

    return server
