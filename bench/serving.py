"""What serving costs: every run of a LangSmith fake read directly through the adapter, through `runtrack serve`'s
REST API (/v1/runs, pages of 200 and of 50) and through MCP (list_runs over streamable HTTP), side by side.

    python bench/serving.py [--runs 5000] [--rounds 3]

Prints, per way: the median wall time of a full walk, runs/s, the ratio to the direct read, and the requests the
fake received per walk (the server's cursors must not fetch a vendor page twice). Needs the 'mcp' extra.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import requests

import runtrack
from runtrack.testing import FakeLangSmith
from runtrack.testing._env import no_proxy_updates


def serve(config: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    runtrack_bin = Path(sys.executable).with_name("runtrack")
    proc = subprocess.Popen(
        [str(runtrack_bin), "serve", "--config", str(config), "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    return proc, line.split(" on ", 1)[1].strip()


def rest_walk(url: str, limit: int) -> int:
    n, cursor = 0, None
    with requests.Session() as http:
        while True:
            params: dict[str, Any] = {"source": "ls", "limit": limit, **({"cursor": cursor} if cursor else {})}
            page = http.get(url + "/v1/runs", params=params, timeout=120).json()
            n += len(page["runs"])
            cursor = page["next_cursor"]
            if cursor is None:
                return n


def mcp_walk(url: str, limit: int) -> int:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def main() -> int:
        n, cursor = 0, None
        async with streamable_http_client(url + "/mcp") as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            while True:
                args: dict[str, Any] = {"source": "ls", "limit": limit, **({"cursor": cursor} if cursor else {})}
                result = await session.call_tool("list_runs", args)
                page = result.structured_content
                assert isinstance(page, dict), result
                n += len(page["runs"])
                cursor = page["next_cursor"]
                if cursor is None:
                    return n

    return anyio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with FakeLangSmith(seed=1, queues=1, runs_per_queue=args.runs) as fake, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "runtrack.toml"
        config.write_text(
            f'[[source]]\nname = "ls"\nadapter = "langsmith"\nbase_url = "{fake.base_url}"\n'
            'api_key_env = "BENCH_LS_KEY"\n'
        )
        env = {**os.environ, "BENCH_LS_KEY": fake.api_key}
        env.update(no_proxy_updates(env))
        os.environ.update(no_proxy_updates(os.environ))
        proc, url = serve(config, env)
        try:

            def direct() -> int:
                with runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key) as src:
                    return sum(1 for _ in src.runs())

            ways: dict[str, Callable[[], int]] = {
                "direct (adapter)": direct,
                "REST limit=200": lambda: rest_walk(url, 200),
                "REST limit=50": lambda: rest_walk(url, 50),
                "MCP list_runs limit=200": lambda: mcp_walk(url, 200),
            }
            times: dict[str, list[float]] = {k: [] for k in ways}
            requests_per_walk: dict[str, int] = {}
            for _ in range(args.rounds):  # interleaved rounds: the machine's load falls on every way alike
                for name, walk in ways.items():
                    fake.clear_log()
                    start = time.perf_counter()
                    assert walk() == args.runs, name
                    times[name].append(time.perf_counter() - start)
                    requests_per_walk[name] = fake.request_count
        finally:
            proc.terminate()
            proc.wait()
    base = statistics.median(times["direct (adapter)"])
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        rows.append(
            {
                "way": name,
                "median_s": round(median, 3),
                "runs_per_s": round(args.runs / median),
                "vs_direct": round(median / base, 2),
                "vendor_requests": requests_per_walk[name],
            }
        )
    print(f"{args.runs} runs, {args.rounds} interleaved rounds, median of each")
    print(f"{'way':26} {'median s':>9} {'runs/s':>8} {'x direct':>9} {'vendor requests':>16}")
    for r in rows:
        way, median, rate, ratio, calls = r.values()
        print(f"{way:26} {median:9.3f} {rate:8d} {ratio:9.2f} {calls:16d}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
