"""Peak memory of a Foundry run listing: does it stream?

A stdlib HTTP server on 127.0.0.1 plays the Model Studio runs endpoint (``pageToken`` pages generated on the fly).
Each measurement runs in a fresh subprocess that lists N runs through ``runtrack.connect("foundry")`` and reports its
peak RSS. ``stream`` only counts the runs (what a streaming export does); ``keep`` holds them all in a list, to show
the measurement would see an accumulation. Flat memory means the ``stream`` peak does not grow with N.

    .venv/bin/python bench/foundry_memory.py                       # N = 10k and 100k, stream and keep
    .venv/bin/python bench/foundry_memory.py --sizes 10000 100000 --modes stream --page-size 500
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from _memory import JSONHandler, measure, print_table, run_child, serve

PREFIX = "/api/v2/models/modelStudios/"
STUDIO = "ri.models.main.model-studio.bench-{n}"
STATUSES = ("SUCCEEDED", "FAILED", "RUNNING", "CANCELED", None)
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def run_payload(i: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "runId": f"run-{i:08d}",
        "configVersion": 1 + i % 5,
        "startedTime": (EPOCH + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "startedBy": "f05f8da4-b84c-4fca-9c77-8af0b13d11de",
        "buildRid": f"ri.foundry-build.main.build.{i:08d}-e5f6-7890-abcd-ef1234567890",
        "jobRid": f"ri.foundry-build.main.job.{i:08d}-e5f6-7890-abcd-ef1234567890",
        "resolvedOutputs": {
            "model": {
                "type": "model",
                "modelRid": "ri.models.main.model.a1b2c3d4-e5f6-7890-abcd-ef1234567890",
                "modelVersionRid": f"ri.models.main.model-version.{i:08d}-e5f6-7890-abcd-ef1234567890",
            }
        },
    }
    status = STATUSES[i % len(STATUSES)]
    if status is not None:
        item["buildStatus"] = status
    return item


class RunsHandler(JSONHandler):
    """``GET /api/v2/models/modelStudios/ri.models.main.model-studio.bench-N/runs?preview=true&pageSize&pageToken``."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if not url.path.startswith(PREFIX) or not url.path.endswith("/runs") or query.get("preview") != ["true"]:
            self.send_text(404, "")
            return
        total = int(url.path[len(PREFIX) : -len("/runs")].rsplit("-", 1)[1])
        size = int(query.get("pageSize", ["100"])[0])
        start = int(query.get("pageToken", ["0"])[0])
        end = min(total, start + size)
        body: dict[str, Any] = {"data": [run_payload(i) for i in range(start, end)]}
        if end < total:
            body["nextPageToken"] = str(end)
        self.send_json(200, body)


def child(url: str, n: int, mode: str, page_size: int) -> None:
    """Runs in the subprocess: list N runs, print one JSON line."""
    import runtrack

    src = runtrack.connect("foundry", base_url=url, api_key="bench-token", environ={})
    measure(src.runs(model_studio_rid=STUDIO.format(n=n), page_size=page_size), n, mode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--modes", nargs="+", choices=["stream", "keep"], default=["stream", "keep"])
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--child", nargs=3, metavar=("URL", "N", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, n, mode = args.child
        child(url, int(n), mode, args.page_size)
        return

    with serve(RunsHandler) as url:
        results = [
            run_child(__file__, ["--child", url, str(n), mode, "--page-size", str(args.page_size)])
            for mode in args.modes
            for n in args.sizes
        ]
    print_table(f"Foundry listing through runtrack, page size {args.page_size}, one fresh process per row", results)


if __name__ == "__main__":
    main()
