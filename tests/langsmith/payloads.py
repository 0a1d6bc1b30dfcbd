"""Wire payloads shaped like LangSmith's (vendor-apis.md §2.2, addendum A.1/A.2), and small `responses` helpers."""

from __future__ import annotations

import json
from typing import Any

import responses
from runtrack_langsmith import LangSmithAdapter

BASE = "https://api.smith.langchain.com"
KEY = "lsv2_pt_s3cret_key_0123"
TENANT = "2b7f5a3c-0e1d-4f6a-8b9c-1d2e3f4a5b6c"
SESSION = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b"
PROJECT_B = "0190a1b2-c3d4-7ef0-a5b6-6ea3a82e9328"
QUEUE = "0c5c6b5e-6a3e-4a8e-9e0a-6a1f3f3b2d11"
QUEUE_B = "1b0c7c7e-2a7e-4a7f-9d55-0c9d2b6f7a10"


def rid(n: int) -> str:
    """A run id."""
    return f"5f3a1f5e-7b9c-4d1e-9a63-{n:012d}"


def qrid(n: int) -> str:
    """A queue-run (queue item) id."""
    return f"a7d2c1e0-3b4f-4c5d-8e9f-{n:012d}"


def v1_row(n: int, **over: Any) -> dict[str, Any]:
    """A row of GET /api/v1/annotation-queues/{id}/runs (RunSchemaWithAnnotationQueueInfo), naive UTC times."""
    row: dict[str, Any] = {
        "id": rid(n),
        "queue_run_id": qrid(n),
        "name": "ChatOpenAI",
        "run_type": "llm",
        "status": "success",
        "error": None,
        "start_time": "2025-05-08T17:42:03.118204",
        "end_time": "2025-05-08T17:42:05.902311",
        "first_token_time": None,
        "trace_id": rid(n),
        "dotted_order": f"20250508T174203118204Z{rid(n)}",
        "parent_run_id": None,
        "session_id": SESSION,
        "app_path": f"/o/{TENANT}/projects/p/{SESSION}/r/{rid(n)}?trace_id={rid(n)}",
        "inputs": {"messages": [{"role": "user", "content": "How do I reset my password?"}]},
        "outputs": {"generations": [{"text": "Go to Settings → Security…"}]},
        "inputs_preview": "How do I reset my password?",
        "outputs_preview": "Go to Settings → Security…",
        "extra": {"metadata": {"ls_model_name": "gpt-4o-mini"}},
        "tags": ["prod"],
        "feedback_stats": {"correctness": {"n": 1, "avg": 1.0}},
        "prompt_tokens": 412,
        "completion_tokens": 96,
        "total_tokens": 508,
        "prompt_cost": "0.0000618",
        "completion_cost": "0.0000576",
        "total_cost": "0.0001194",
        "reference_example_id": None,
        "in_dataset": False,
        "trace_tier": "longlived",
        "added_at": "2025-05-09T08:00:12.004512",
        "effective_added_at": "2025-05-09T08:00:12.004512",
        "last_reviewed_time": None,
        "reserved_by": [],
        "completed_by": [],
    }
    row.update(over)
    return row


def item(
    n: int, *, project: str = SESSION, start: str | None = "2026-07-01T12:00:00.123456Z", **over: Any
) -> dict[str, Any]:
    """An item of GET /api/v1/platform/annotation-queues/{id}/items."""
    data: dict[str, Any] = {
        "id": qrid(n),
        "queue_id": QUEUE,
        "item_type": "RUN",
        "run_id": rid(n),
        "thread_id": None,
        "project_id": project,
        "start_time": start,
        "added_at": "2026-07-02T08:00:00Z",
        "effective_added_at": "2026-07-02T08:00:00Z",
        "last_reviewed_time": None,
        "completed_by": [],
        "reserved_by": [],
        "source_proposed_example_id": None,
    }
    data.update(over)
    return data


def v2_run(n: int, *, project: str = SESSION, **over: Any) -> dict[str, Any]:
    """A run of POST /api/v2/runs/query (v2 names and casing, costs as numbers)."""
    run: dict[str, Any] = {
        "id": rid(n),
        "name": "ChatOpenAI",
        "run_type": "LLM",
        "status": "SUCCESS",
        "start_time": "2026-07-01T12:00:00.123Z",
        "end_time": "2026-07-01T12:00:02.456Z",
        "error": None,
        "inputs": {"messages": []},
        "outputs": {"generations": []},
        "project_id": project,
        "trace_id": rid(n),
        "parent_run_ids": [],
        "tags": ["prod"],
        "app_path": f"/o/{TENANT}/projects/p/{project}/r/{rid(n)}",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "prompt_cost": 0.0000015,
        "completion_cost": 0.000003,
        "total_cost": 0.0000045,
        "feedback_stats": {"correctness": {"n": 1, "avg": 1.0, "values": {}}},
    }
    run.update(over)
    return run


def adapter(**options: Any) -> LangSmithAdapter:
    return LangSmithAdapter(environ={}, **{"api_key": KEY, **options})


def runs_url(queue: str = QUEUE, base: str = BASE) -> str:
    return f"{base}/api/v1/annotation-queues/{queue}/runs"


def items_url(queue: str = QUEUE, base: str = BASE) -> str:
    return f"{base}/api/v1/platform/annotation-queues/{queue}/items"


QUERY_URL = f"{BASE}/api/v2/runs/query"


def add_runs_page(queue: str, offset: int, rows: list[dict[str, Any]], *, limit: int = 100, **params: str) -> None:
    responses.get(
        runs_url(queue),
        json=rows,
        match=[responses.matchers.query_param_matcher({"offset": str(offset), "limit": str(limit), **params})],
    )


def add_runs_pages(queue: str, total: int, *, limit: int = 100, start: int = 0, **params: str) -> None:
    """Pages of ``total`` rows numbered from ``start`` at the offsets runtrack asks (consecutive pages of 5 or more
    overlap by an item, see docs/pagination.md); a short (or empty) page ends the listing."""
    offset = 0
    while True:
        count = max(0, min(limit, total - offset))
        add_runs_page(queue, offset, [v1_row(start + offset + i) for i in range(count)], limit=limit, **params)
        if count < limit:
            return
        offset += limit - (limit >= 5)


def add_items_page(
    queue: str,
    items: list[dict[str, Any]],
    *,
    status: str,
    next_cursor: str | None,
    cursor: str | None = None,
    page_size: int = 100,
) -> None:
    params = {"status": status, "item_type": "RUN", "page_size": str(page_size)}
    if cursor is not None:
        params["cursor"] = cursor
    responses.get(
        items_url(queue),
        json={"items": items, "next_cursor": next_cursor},
        match=[responses.matchers.query_param_matcher(params)],
    )


def add_query(
    runs: list[dict[str, Any]],
    *,
    ids: list[str] | None = None,
    next_cursor: str | None = None,
    cursor: str | None = None,
) -> None:
    """A v2 run query answer, matched on the requested ids (and cursor)."""

    def match(request: Any) -> tuple[bool, str]:
        body = json.loads(request.body)
        if ids is not None and body.get("ids") != ids:
            return False, f"ids {body.get('ids')} != {ids}"
        if body.get("cursor") != cursor:
            return False, f"cursor {body.get('cursor')} != {cursor}"
        return True, ""

    responses.post(QUERY_URL, json={"items": runs, "next_cursor": next_cursor}, match=[match])


def bodies(url: str) -> list[Any]:
    return [json.loads(c.request.body) for c in responses.calls if c.request.url.split("?")[0] == url]


def calls_to(url: str) -> list[Any]:
    return [c for c in responses.calls if c.request.url.split("?")[0] == url]
