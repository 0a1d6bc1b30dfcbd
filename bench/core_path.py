"""The core per-item path without network: pagination loop + mapping to Run, against a bare loop.

Pages are pre-built dicts (as a JSON parser would hand them over). Three contenders run side by side in one
process, interleaved, median of several rounds:

* ``bare``: a loop over the same pages that only counts items (the floor);
* ``construct``: the same loop building one ``Run`` per item directly (the cost of the model itself);
* ``runtrack``: ``RunIterator`` over ``HttpListing`` with a page-token strategy and a typical mapping function.

Run: ``python bench/core_path.py [--items 200000] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from runtrack import Run, RunStatus
from runtrack.convert import open_enum, parse_datetime
from runtrack.paginate import HttpListing, PageToken, Request, RunIterator

STATUS = {"success": RunStatus.SUCCEEDED, "error": RunStatus.FAILED, "pending": RunStatus.RUNNING}
PAGE = 100


def make_pages(n: int) -> dict[str | None, dict[str, Any]]:
    pages: dict[str | None, dict[str, Any]] = {}
    for p in range(0, n, PAGE):
        token = None if p == 0 else f"t{p}"
        items = [
            {
                "id": f"run-{i:08d}",
                "name": "ChatOpenAI",
                "status": ("success", "error", "pending")[i % 3],
                "start_time": "2024-05-01T10:00:00.123456",
                "end_time": "2024-05-01T10:00:02.5",
                "total_tokens": 1200 + i % 50,
                "queue": "q1",
            }
            for i in range(p, min(n, p + PAGE))
        ]
        nxt = f"t{p + PAGE}" if p + PAGE < n else None
        pages[token] = {"data": items, "nextPageToken": nxt}
    return pages


def to_run(item: dict[str, Any]) -> Run:
    status, raw = open_enum(RunStatus, STATUS, item.get("status"))
    return Run(
        platform="bench",
        instance="bench.local",
        kind="run",
        native_id=item["id"],
        name=item.get("name"),
        status=status,
        status_raw=raw,
        started_at=parse_datetime(item.get("start_time"), "$.start_time"),
        ended_at=parse_datetime(item.get("end_time"), "$.end_time"),
        scope={"queue_id": item["queue"]},
        metrics={"total_tokens": item["total_tokens"]},
        raw=item,
    )


def bare(pages: dict[str | None, dict[str, Any]]) -> int:
    count, token = 0, None
    while True:
        body = pages[token]
        for _item in body["data"]:
            count += 1
        token = body.get("nextPageToken")
        if not token:
            return count


def construct(pages: dict[str | None, dict[str, Any]]) -> int:
    count, token = 0, None
    while True:
        body = pages[token]
        for item in body["data"]:
            to_run(item)
            count += 1
        token = body.get("nextPageToken")
        if not token:
            return count


def via_runtrack(pages: dict[str | None, dict[str, Any]]) -> int:
    def fetch(req: Request) -> Any:
        return pages[req.params.get("pageToken")]

    listing = HttpListing(fetch, Request(path="runs"), PageToken(), to_run, page_size=PAGE)
    count = 0
    for _run in RunIterator(listing, name="bench"):
        count += 1
    return count


def timed(fn: Callable[[Any], int], pages: Any) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    count = fn(pages)
    return time.perf_counter() - start, count


def allocations_per_item(pages: Any, n: int) -> float:
    """Net allocated blocks per item in the runtrack loop beyond building the Run (tracemalloc peak)."""
    tracemalloc.start()
    via_runtrack(pages)
    _, peak_rt = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tracemalloc.start()
    construct(pages)
    _, peak_c = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak_rt - peak_c) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pages = make_pages(args.items)
    results: dict[str, list[float]] = {"bare": [], "construct": [], "runtrack": []}
    for _ in range(args.rounds):
        for name, fn in (("bare", bare), ("construct", construct), ("runtrack", via_runtrack)):
            seconds, count = timed(fn, pages)
            assert count == args.items, (name, count)
            results[name].append(seconds)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"items={args.items} rounds={args.rounds} page={PAGE}")
    print(f"{'contender':<10} {'items/s':>12} {'us/item':>9} {'vs construct':>13}")
    for name, seconds in med.items():
        rate = args.items / seconds
        print(f"{name:<10} {rate:>12,.0f} {seconds / args.items * 1e6:>9.2f} {med['construct'] / seconds:>12.2f}x")
    overhead = (med["runtrack"] - med["construct"]) / args.items * 1e6
    print(f"loop overhead beyond building the Run: {overhead:.3f} us/item")
    print(f"extra peak bytes per item (tracemalloc): {allocations_per_item(pages, min(args.items, 20_000)):.1f}")


if __name__ == "__main__":
    main()
