"""The run store's sync against listing alone: 100k Foundry and 100k LangSmith runs from the fakes.

    .venv/bin/python bench/store_sync.py                    # N = 100k per vendor, 3 interleaved rounds
    .venv/bin/python bench/store_sync.py --runs 20000 --rounds 1
    .venv/bin/python bench/store_sync.py --before /tmp/old   # and an older runtrack (its package in /tmp/old)

The fakes (``runtrack.testing``) serve from their own process on 127.0.0.1 (pages rendered ahead). Every
measurement runs in a fresh interpreter and prints one JSON line: ``list`` counts the runs of one listing,
``sync`` syncs them into a new, empty store, ``resync`` syncs them again into that store (nothing changed). Ratios
are of medians over interleaved rounds. Peak RSS compares a sync of 10% of the runs with a sync of all of them;
store bytes per run are the file's size after a checkpoint, with what zlib would make of the lossless documents.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

PAGE = {"foundry": 1000, "langsmith": 100}


def serve(n: int) -> None:
    """The server process: start both fakes, print how to reach them, serve until stdin closes."""
    from runtrack.testing import FakeFoundry, FakeLangSmith

    with (
        FakeFoundry(seed=7, studios=1, runs_per_studio=n) as foundry,
        FakeLangSmith(seed=7, queues=1, runs_per_queue=n) as langsmith,
    ):
        foundry.prerender(PAGE["foundry"])
        langsmith.prerender(PAGE["langsmith"])
        info = {
            "foundry": {"base_url": foundry.base_url, "api_key": foundry.token, "model_studios": foundry.studio_rids},
            "langsmith": {
                "base_url": langsmith.base_url,
                "api_key": langsmith.api_key,
                "workspace_id": langsmith.tenant_id,
            },
        }
        print(json.dumps(info), flush=True)
        sys.stdin.read()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, vendor: str, options: dict[str, Any], store: str, max_items: int | None) -> None:
    import runtrack

    src = runtrack.connect(vendor, **options)
    started = time.perf_counter()
    if mode == "list":
        runs = sum(len(page.items) for page in src.runs(page_size=PAGE[vendor], max_items=max_items).pages())
        row: dict[str, Any] = {"runs": runs}
    else:
        with runtrack.open_store(store) as st:
            result = st.sync(src, page_size=PAGE[vendor], max_items=max_items)
        row = {"runs": result.read, "inserted": result.inserted, "unchanged": result.unchanged}
    row.update(seconds=time.perf_counter() - started, peak=peak_rss_mib())
    print(json.dumps(row))


def run_child(args: list[str], code: str | None = None) -> dict[str, Any]:
    """One measurement in a fresh interpreter; ``code``: a directory holding another version's ``runtrack``."""
    env = None if code is None else {**os.environ, "PYTHONPATH": code}
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=env).stdout
    row: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return row


def store_size(path: Path) -> tuple[int, int, int, int]:
    """(file bytes after a checkpoint, runs, bytes of the documents, bytes of them zlib-compressed)."""
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    docs = packed = 0
    for (doc,) in conn.execute("SELECT doc FROM run_docs"):
        data = doc.encode()
        docs += len(data)
        packed += len(zlib.compress(data, 6))
    conn.close()
    return path.stat().st_size, runs, docs, packed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vendors", nargs="+", default=["foundry", "langsmith"])
    parser.add_argument(
        "--before",
        metavar="DIR",
        help="also measure sync and re-sync with the runtrack package in DIR (e.g. `git archive REV runtrack | "
        "tar -x -C DIR`), interleaved with the current one in every round",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "VENDOR", "STORE", "MAX"), help=argparse.SUPPRESS)
    parser.add_argument("--options", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.child:
        mode, vendor, store, limit = args.child
        child(mode, vendor, json.loads(args.options), store, None if limit == "-" else int(limit))
        return

    env_note = f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.runs)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    info = json.loads(server.stdout.readline())
    tmp = Path(tempfile.mkdtemp(prefix="runtrack-bench-store-"))
    modes = ("list", "sync", "resync", *(("sync-before", "resync-before") if args.before else ()))
    results: dict[str, dict[str, list[dict[str, Any]]]] = {v: {m: [] for m in modes} for v in info}
    try:
        for vendor in args.vendors:
            options = json.dumps(info[vendor])
            run_child(["--options", options, "--child", "list", vendor, "-", "-"])  # warm the fake's caches
            for rnd in range(args.rounds):
                for mode in modes:
                    before = mode.endswith("-before")
                    store = tmp / f"{vendor}-{rnd}{'-before' if before else ''}.db"
                    child_args = ["--options", options, "--child", mode.removesuffix("-before"), vendor, str(store)]
                    row = run_child([*child_args, "-"], args.before if before else None)
                    assert row["runs"] == args.runs, row
                    results[vendor][mode].append(row)
            small_store = tmp / f"{vendor}-small.db"
            small = run_child(["--options", options, "--child", "sync", vendor, str(small_store), str(args.runs // 10)])
            results[vendor]["small"] = [small]
    finally:
        server.stdin.close() if server.stdin else None
        server.wait(30)
    print(f"## store sync benchmark: {args.runs:,} runs per vendor, {args.rounds} rounds ({env_note})\n")
    print(
        "| vendor | list s | sync (empty store) s | ratio | re-sync (unchanged) s | ratio | peak RSS sync "
        f"{args.runs // 10:,} / {args.runs:,} MiB | store bytes/run | documents bytes/run | zlib-6 of documents |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for vendor in args.vendors:
        r = results[vendor]
        med = {m: statistics.median(x["seconds"] for x in r[m]) for m in ("list", "sync", "resync")}
        size, runs, docs, packed = store_size(tmp / f"{vendor}-0.db")
        small_peak, big_peak = r["small"][0]["peak"], max(x["peak"] for x in r["sync"])
        print(
            f"| {vendor} | {med['list']:.2f} | {med['sync']:.2f} | {med['sync'] / med['list']:.2f}x | "
            f"{med['resync']:.2f} | {med['resync'] / med['list']:.2f}x | {small_peak:.1f} / {big_peak:.1f} "
            f"({big_peak - small_peak:+.1f}) | {size / runs:,.0f} | {docs / runs:,.0f} | {packed / runs:,.0f} |"
        )
    if args.before:
        print(f"\nbefore ({args.before}), same rounds:\n")
        print("| vendor | sync before s | ratio | re-sync before s | ratio |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for vendor in args.vendors:
            r = results[vendor]
            med = {m: statistics.median(x["seconds"] for x in r[m]) for m in ("list", "sync-before", "resync-before")}
            print(
                f"| {vendor} | {med['sync-before']:.2f} | {med['sync-before'] / med['list']:.2f}x | "
                f"{med['resync-before']:.2f} | {med['resync-before'] / med['list']:.2f}x |"
            )
    for vendor in args.vendors:
        for mode in modes:
            print(f"{vendor} {mode}: " + ", ".join(f"{x['seconds']:.2f}" for x in results[vendor][mode]))
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
