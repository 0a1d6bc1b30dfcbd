"""Peak memory of a LangSmith queue listing: does it stream?

A stdlib HTTP server on 127.0.0.1 plays LangSmith: the deprecated ``GET /api/v1/annotation-queues/{id}/runs``
(offset/limit pages of ~5 KB runs with naive timestamps, decimal-string costs, messages in inputs/outputs), and the
successor ``GET /api/v1/platform/annotation-queues/{id}/items`` plus ``POST /api/v2/runs/query`` that hydrates each
page. Pages are generated on the fly, so the server holds nothing per run. Each measurement runs in a fresh
subprocess that lists N runs through ``runtrack.connect("langsmith")`` and reports its peak RSS (``ru_maxrss``).
``stream`` only counts the runs (what a streaming export does); ``keep`` holds them all in a list, to show the
measurement would see an accumulation. Flat memory means the ``stream`` peak does not grow with N.

    .venv/bin/python bench/langsmith_memory.py                  # runs and items endpoints, N = 10k and 100k
    .venv/bin/python bench/langsmith_memory.py --endpoints runs --sizes 10000 100000 --modes stream keep
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from _memory import JSONHandler, measure, print_table, run_child, serve

QUEUES = "/api/v1/annotation-queues/"
ITEMS = "/api/v1/platform/annotation-queues/"
QUERY = "/api/v2/runs/query"
TENANT = "2b7f5a3c-0e1d-4f6a-8b9c-1d2e3f4a5b6c"
SESSION = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b"
EPOCH = datetime(2026, 1, 1)
STATUSES = ("success", "success", "success", "error", "pending", "interrupted")
QUESTION = (
    "I was charged twice for my subscription this month and the second charge shows as pending on my card. "
    "Can you tell me whether it will be refunded automatically, and how long that usually takes? "
)
ANSWER = (
    "Thanks for reaching out! The second charge is an authorization hold that your bank places while the first "
    "payment settles. It is released automatically, usually within 3 to 5 business days. "
)


def run_id(i: int) -> str:
    return f"5f3a1f5e-7b9c-4d1e-9a63-{i:012d}"


def naive(i: int, offset_ms: int = 0) -> str:
    return (EPOCH + timedelta(seconds=i, milliseconds=offset_ms)).isoformat(timespec="microseconds")


# Rows are rendered from pre-built JSON templates (one per status) with per-run values substituted, so the server
# stays far cheaper than the client it measures.
MARKERS = ("@RID@", "@QRID@", "@START@", "@END@", "@ADDED@", "@THREAD@")


def values(i: int) -> tuple[str, ...]:
    return (
        run_id(i),
        f"a7d2c1e0-3b4f-4c5d-8e9f-{i:012d}",
        naive(i),
        naive(i, 2784),
        naive(i, 86_400_000),
        f"thread-{i // 7:08d}",
    )


def v1_row(status: str) -> dict[str, Any]:
    """A RunSchemaWithAnnotationQueueInfo row of about 5 KB, with markers for the per-run values."""
    pending = status == "pending"
    rid = "@RID@"
    return {
        "id": rid,
        "queue_run_id": "@QRID@",
        "name": "ChatOpenAI",
        "run_type": "llm",
        "status": status,
        "error": "RateLimitError('Rate limit reached for gpt-4o-mini')" if status == "error" else None,
        "start_time": "@START@",
        "end_time": None if pending else "@END@",
        "first_token_time": None,
        "trace_id": rid,
        "dotted_order": f"20260101T000000000000Z{rid}",
        "parent_run_id": None,
        "session_id": SESSION,
        "app_path": f"/o/{TENANT}/projects/p/{SESSION}/r/{rid}?trace_id={rid}&start_time=@START@",
        "inputs": {
            "messages": [
                [
                    {
                        "lc": 1,
                        "type": "constructor",
                        "id": ["langchain", "schema", "messages", "SystemMessage"],
                        "kwargs": {"content": "You are a helpful support agent for Acme Billing. " * 8},
                    },
                    {
                        "lc": 1,
                        "type": "constructor",
                        "id": ["langchain", "schema", "messages", "HumanMessage"],
                        "kwargs": {"content": QUESTION * 4},
                    },
                ]
            ]
        },
        "outputs": None
        if pending
        else {
            "generations": [
                [
                    {
                        "text": ANSWER * 5,
                        "generation_info": {"finish_reason": "stop", "logprobs": None},
                        "type": "ChatGeneration",
                    }
                ]
            ],
            "llm_output": {
                "token_usage": {"prompt_tokens": 412, "completion_tokens": 96, "total_tokens": 508},
                "model_name": "gpt-4o-mini-2024-07-18",
                "system_fingerprint": "fp_0ba0d124f1",
            },
        },
        "inputs_preview": QUESTION[:150],
        "outputs_preview": None if pending else ANSWER[:150],
        "extra": {
            "invocation_params": {
                "model": "gpt-4o-mini",
                "temperature": 0.2,
                "stream": False,
                "n": 1,
                "_type": "openai-chat",
                "stop": None,
            },
            "metadata": {
                "ls_provider": "openai",
                "ls_model_name": "gpt-4o-mini",
                "ls_model_type": "chat",
                "ls_temperature": 0.2,
                "revision_id": "v2.14.0-3-gb1c9a1e",
                "user_tier": "pro",
                "LANGCHAIN_PROJECT": "support-bot-prod",
                "thread_id": "@THREAD@",
            },
            "runtime": {
                "sdk": "langsmith-py",
                "sdk_version": "0.15.0",
                "library": "langchain-core",
                "runtime": "python",
                "platform": "Linux-6.8.0-x86_64-with-glibc2.39",
                "py_implementation": "CPython",
                "runtime_version": "3.12.4",
                "langchain_core_version": "0.3.63",
            },
        },
        "tags": ["prod", "support"],
        "feedback_stats": {"correctness": {"n": 1, "avg": 1.0, "stdev": 0.0, "errors": 0, "values": {}}},
        "prompt_tokens": 412,
        "completion_tokens": None if pending else 96,
        "total_tokens": None if pending else 508,
        "prompt_cost": "0.0000618",
        "completion_cost": None if pending else "0.0000576",
        "total_cost": None if pending else "0.0001194",
        "reference_example_id": None,
        "in_dataset": False,
        "trace_tier": "longlived",
        "added_at": "@ADDED@",
        "effective_added_at": "@ADDED@",
        "last_reviewed_time": None,
        "reserved_by": [],
        "completed_by": [],
    }


def v2_run(status: str) -> dict[str, Any]:
    """The same run as ``POST /api/v2/runs/query`` returns it (v2 names, upper case, numeric costs, ``Z``)."""
    row = v1_row(status)
    for key in (
        "queue_run_id",
        "added_at",
        "effective_added_at",
        "last_reviewed_time",
        "reserved_by",
        "completed_by",
        "session_id",
        "parent_run_id",
        "trace_tier",
        "in_dataset",
    ):
        row.pop(key)
    row.update(
        status=row["status"].upper(),
        run_type="LLM",
        project_id=SESSION,
        parent_run_ids=[],
        start_time="@START@Z",
        end_time=row["end_time"] and "@END@Z",
        prompt_cost=6.18e-05,
        completion_cost=row["completion_cost"] and float(row["completion_cost"]),
        total_cost=row["total_cost"] and float(row["total_cost"]),
    )
    return row


def item() -> dict[str, Any]:
    return {
        "id": "@QRID@",
        "queue_id": "bench",
        "item_type": "RUN",
        "run_id": "@RID@",
        "thread_id": None,
        "project_id": SESSION,
        "start_time": "@START@Z",
        "added_at": "@ADDED@Z",
        "effective_added_at": "@ADDED@Z",
        "last_reviewed_time": None,
        "completed_by": [],
        "reserved_by": [],
        "source_proposed_example_id": None,
    }


def _template(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


V1 = [_template(v1_row(status)) for status in STATUSES]
V2 = [_template(v2_run(status)) for status in STATUSES]
ITEM = _template(item())


def render(template: str, i: int) -> str:
    for marker, value in zip(MARKERS, values(i), strict=True):
        template = template.replace(marker, value)
    return template


def page(templates: list[str], numbers: range) -> str:
    return ",".join(render(templates[i % len(templates)], i) for i in numbers)


class LangSmithHandler(JSONHandler):
    """Queue ``q-N`` holds runs 0..N-1 on both endpoints."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path.startswith(QUEUES) and url.path.endswith("/runs"):
            total = int(url.path[len(QUEUES) : -len("/runs")].split("-")[1])
            offset, limit = int(query["offset"][0]), int(query["limit"][0])
            self.send_text(200, "[" + page(V1, range(offset, min(total, offset + limit))) + "]")
        elif url.path.startswith(ITEMS) and url.path.endswith("/items"):
            total = int(url.path[len(ITEMS) : -len("/items")].split("-")[1])
            if query.get("status") != ["needs_my_review"]:
                self.send_json(200, {"items": [], "next_cursor": None})
                return
            start, size = int(query.get("cursor", ["0"])[0]), int(query.get("page_size", ["100"])[0])
            end = min(total, start + size)
            cursor = json.dumps(str(end) if end < total else None)
            self.send_text(200, '{"items":[' + page([ITEM], range(start, end)) + '],"next_cursor":' + cursor + "}")
        else:
            self.send_json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if urlsplit(self.path).path != QUERY or "min_start_time" not in body:
            self.send_json(400, {"detail": "bad query"})
            return
        numbers = [int(rid.rsplit("-", 1)[1]) for rid in body["ids"]]
        runs = ",".join(render(V2[i % len(V2)], i) for i in numbers)
        self.send_text(200, '{"items":[' + runs + '],"next_cursor":null}')


def child(url: str, n: int, mode: str, endpoint: str) -> None:
    """Runs in the subprocess: list N runs, print one JSON line."""
    import runtrack

    src = runtrack.connect("langsmith", base_url=url + "/api/v1", api_key="bench-key", endpoint=endpoint)
    scope = {"review_status": "needs_my_review"} if endpoint == "items" else {}
    measure(src.runs(queue_id=f"q-{n}", **scope), n, mode, endpoint=endpoint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--modes", nargs="+", choices=["stream", "keep"], default=["stream"])
    parser.add_argument("--endpoints", nargs="+", choices=["runs", "items"], default=["runs", "items"])
    parser.add_argument("--child", nargs=4, metavar=("URL", "N", "MODE", "ENDPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, n, mode, endpoint = args.child
        child(url, int(n), mode, endpoint)
        return

    print(f"row size: {len(render(V1[0], 0))} bytes (deprecated endpoint, one successful run)")
    with serve(LangSmithHandler) as url:
        results = [
            run_child(__file__, ["--child", url, str(n), mode, endpoint])
            for endpoint in args.endpoints
            for mode in args.modes
            for n in args.sizes
        ]
    print_table(
        "LangSmith queue listing through runtrack, page size 100, one fresh process per row", results, "endpoint"
    )


if __name__ == "__main__":
    main()
