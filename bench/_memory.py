"""What the per-vendor memory benchmarks share: a quiet JSON handler base, a loopback server, the measuring child
and the side-by-side table.

Each measurement runs in a fresh subprocess that lists N runs and prints one JSON line with its peak RSS.
``stream`` only counts the runs (what a streaming export does); ``keep`` holds them all in a list, to show the
measurement would see an accumulation. Flat memory means the ``stream`` peak does not grow with N.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JSONHandler(BaseHTTPRequestHandler):
    """Keep-alive JSON answers, no request log."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: without this, delayed ACKs add ~40 ms

    def send_json(self, status: int, payload: Any) -> None:
        self.send_text(status, json.dumps(payload, separators=(",", ":")))

    def send_text(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded server on 127.0.0.1 (ephemeral port); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def measure(runs: Iterable[Any], n: int, mode: str, **labels: Any) -> None:
    """In the child: list ``runs`` (``keep`` holds them), check there were ``n``, print one JSON line."""
    baseline = peak_rss_mib()
    started = time.perf_counter()
    kept: list[Any] = []
    count = 0
    for run in runs:
        count += 1
        if mode == "keep":
            kept.append(run)
    seconds = time.perf_counter() - started
    if count != n:
        raise SystemExit(f"listed {count} runs, expected {n}")
    row = {"n": n, "mode": mode, **labels, "baseline": baseline, "peak": peak_rss_mib(), "seconds": seconds}
    print(json.dumps(row))


def run_child(script: str, args: Sequence[str]) -> dict[str, Any]:
    """Run ``script`` with ``args`` in a fresh interpreter and return the JSON line it printed last."""
    cmd = [sys.executable, script, *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout
    row: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return row


def print_table(title: str, results: list[dict[str, Any]], group: str | None = None) -> None:
    """The rows side by side, then how much the ``stream`` peak grew from the smallest to the largest N."""
    print(title)
    head = f"{group:<10}" if group else ""
    print(f"{head}{'mode':<8}{'runs':>10}{'RSS before MiB':>16}{'peak RSS MiB':>14}{'growth MiB':>12}{'runs/s':>10}")
    for r in results:
        rate = r["n"] / r["seconds"] if r["seconds"] else float("inf")
        cell = f"{r[group]:<10}" if group else ""
        print(
            f"{cell}{r['mode']:<8}{r['n']:>10}{r['baseline']:>16.1f}{r['peak']:>14.1f}"
            f"{r['peak'] - r['baseline']:>12.1f}{rate:>10.0f}"
        )
    for key in sorted({r.get(group) for r in results} if group else {None}, key=str):
        streams = sorted(
            (r for r in results if r["mode"] == "stream" and (group is None or r[group] == key)), key=lambda r: r["n"]
        )
        if len(streams) >= 2:
            small, large = streams[0], streams[-1]
            print(
                f"{key + ' ' if key else ''}stream: {large['n'] // small['n']}x the runs, peak RSS "
                f"{large['peak'] - small['peak']:+.1f} MiB ({large['peak'] / small['peak']:.2f}x)"
            )
