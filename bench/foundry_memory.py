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
import json
import resource
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


class RunsHandler(BaseHTTPRequestHandler):
    """``GET /api/v2/models/modelStudios/ri.models.main.model-studio.bench-N/runs?preview=true&pageSize&pageToken``."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if not url.path.startswith(PREFIX) or not url.path.endswith("/runs") or query.get("preview") != ["true"]:
            self._send(404, b"")
            return
        total = int(url.path[len(PREFIX) : -len("/runs")].rsplit("-", 1)[1])
        size = int(query.get("pageSize", ["100"])[0])
        start = int(query.get("pageToken", ["0"])[0])
        end = min(total, start + size)
        body: dict[str, Any] = {"data": [run_payload(i) for i in range(start, end)]}
        if end < total:
            body["nextPageToken"] = str(end)
        self._send(200, json.dumps(body, separators=(",", ":")).encode())

    def _send(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(url: str, n: int, mode: str, page_size: int) -> None:
    """Runs in the subprocess: list N runs, print one JSON line."""
    import runtrack

    src = runtrack.connect("foundry", base_url=url, api_key="bench-token", environ={})
    rid = STUDIO.format(n=n)
    baseline = peak_rss_mib()
    started = time.perf_counter()
    kept: list[runtrack.Run] = []
    count = 0
    for run in src.runs(model_studio_rid=rid, page_size=page_size):
        count += 1
        if mode == "keep":
            kept.append(run)
    seconds = time.perf_counter() - started
    if count != n:
        raise SystemExit(f"listed {count} runs, expected {n}")
    print(json.dumps({"n": n, "mode": mode, "baseline": baseline, "peak": peak_rss_mib(), "seconds": seconds}))


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

    server = ThreadingHTTPServer(("127.0.0.1", 0), RunsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    results = []
    try:
        for mode in args.modes:
            for n in args.sizes:
                cmd = [sys.executable, __file__, "--child", url, str(n), mode, "--page-size", str(args.page_size)]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout
                results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        server.shutdown()
        server.server_close()

    print(f"Foundry listing through runtrack, page size {args.page_size}, one fresh process per row")
    print(f"{'mode':<8}{'runs':>10}{'RSS before MiB':>16}{'peak RSS MiB':>14}{'growth MiB':>12}{'runs/s':>10}")
    for r in results:
        growth = r["peak"] - r["baseline"]
        rate = r["n"] / r["seconds"] if r["seconds"] else float("inf")
        print(f"{r['mode']:<8}{r['n']:>10}{r['baseline']:>16.1f}{r['peak']:>14.1f}{growth:>12.1f}{rate:>10.0f}")
    streams = sorted((r for r in results if r["mode"] == "stream"), key=lambda r: r["n"])
    if len(streams) >= 2:
        small, large = streams[0], streams[-1]
        print(
            f"stream: {large['n'] // small['n']}x the runs, peak RSS {large['peak'] - small['peak']:+.1f} MiB "
            f"({large['peak'] / small['peak']:.2f}x)"
        )


if __name__ == "__main__":
    main()
