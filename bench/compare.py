"""runtrack vs the official SDKs vs a raw ``requests`` loop, side by side in one run.

``bash bench/run.sh`` (creates ``bench/.venv`` with the SDKs) runs this; ``--quick`` for a short run.

* Each vendor's fake runs in its own process (``serve.py``) on 127.0.0.1, every page rendered up front.
* Every measurement is a fresh process (``contenders.py``): runtrack producing full ``Run`` objects, the
  vendor's official SDK through its public listing call, and a serial ``requests`` loop that decodes each page
  with ``json`` or ``orjson`` and only counts the items. Rounds interleave the contenders; medians are reported.
* Import + connect (no request) of runtrack and each SDK, with the RSS after it.
* Fan-out: 20 containers behind 30 ms of server latency, runtrack sequential vs ``concurrency=8``.
* Round trips (``round_trips.py``): the same listings behind 0 / 100 / 300 ms of server latency (``--latency``),
  runtrack with pages in flight and pipelined against the SDK and against itself serially.

Prints markdown tables and writes ``bench/results.json`` (every sample, the medians, the target checks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONTENDERS = ("runtrack", "sdk", "raw-json", "raw-orjson")
PAGE_SIZE = {"langsmith": 100, "foundry": 1000, "labelstudio": None}  # runtrack's default: the vendor maximum
SDK_NAME = {"langsmith": "langsmith", "foundry": "foundry-platform-sdk", "labelstudio": "label-studio-sdk"}
FANOUT_VENDORS = ("foundry", "langsmith", "labelstudio")


class Server:
    """A fake vendor server in its own process, stopped by closing its stdin."""

    def __init__(self, vendor: str, runs: int, containers: int = 1, latency: float = 0.0) -> None:
        cmd = [sys.executable, str(HERE / "serve.py"), vendor, f"--runs={runs}", f"--containers={containers}"]
        cmd.append(f"--latency={latency}")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {vendor} fake did not start (exit code {self.proc.wait()})")
        self.info: dict[str, Any] = json.loads(line)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_child(spec: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    """One measurement in a fresh process."""
    args = [f"{k}={','.join(v) if isinstance(v, list) else ('' if v is None else v)}" for k, v in spec.items()]
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", str(HERE / "contenders.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": tail[:300]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def median(samples: list[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in samples if key in s]
    return statistics.median(values) if values else None


def spec_for(server: Server, contender: str, mode: str, page_size: int | None, **extra: Any) -> dict[str, Any]:
    info = server.info
    return {
        "contender": contender,
        "vendor": info["vendor"],
        "mode": mode,
        "base_url": info["base_url"],
        "api_key": info["api_key"],
        "containers": info["containers"],
        "page_size": page_size,
        **extra,
    }


# --------------------------------------------------------------------------- the three parts


def throughput(vendor: str, n: int, rounds: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    with Server(vendor, n) as server:
        samples: dict[str, list[dict[str, Any]]] = {c: [] for c in CONTENDERS}
        for r in range(rounds):
            order = CONTENDERS[r % len(CONTENDERS) :] + CONTENDERS[: r % len(CONTENDERS)]
            for contender in order:
                result = run_child(spec_for(server, contender, "list", PAGE_SIZE[vendor]))
                if "error" not in result and result["items"] != n:
                    result = {"error": f"listed {result['items']} items, expected {n}"}
                samples[contender].append(result)
                shown = result.get("error") or f"{result['items_per_s']:,.0f} items/s, {result['peak_rss_mb']:.0f} MB"
                print(f"  {vendor} N={n} round {r + 1} {contender}: {shown}", file=sys.stderr, flush=True)
    out = {
        "vendor": vendor,
        "n": n,
        "page_size": PAGE_SIZE[vendor],
        "payload_bytes": server.info["bytes"],
        "samples": samples,
        "median": {
            c: {k: median(s, k) for k in ("items_per_s", "seconds", "cpu_s", "peak_rss_mb")} for c, s in samples.items()
        },
        "errors": {c: [s["error"] for s in ss if "error" in s] for c, ss in samples.items()},
        "wall_s": time.perf_counter() - t0,
    }
    return out


def imports(rounds: int) -> dict[str, Any]:
    """Import + connect of runtrack (per adapter) and each SDK; the raw loop's ``requests`` as a reference."""
    fake = {"base_url": "http://127.0.0.1:9", "api_key": "0123456789abcdef", "containers": []}
    rows: dict[str, Any] = {}
    for vendor in ("langsmith", "foundry", "labelstudio"):
        for contender in ("runtrack", "sdk", "raw-json"):
            label = f"{contender}:{vendor}" if contender != "raw-json" else "requests"
            if label in rows:
                continue
            spec = {"contender": contender, "vendor": vendor, "mode": "import", "page_size": None, **fake}
            samples = [run_child(spec, timeout=120) for _ in range(rounds)]
            rows[label] = {
                "samples": samples,
                "import_connect_s": median(samples, "import_connect_s"),
                "rss_mb": median(samples, "import_connect_rss_mb"),
                "errors": [s["error"] for s in samples if "error" in s],
            }
            print(f"  import {label}: {rows[label]['import_connect_s']}", file=sys.stderr, flush=True)
    return rows


def fanout(vendor: str, containers: int, per: int, latency: float, workers: int, rounds: int) -> dict[str, Any]:
    n = containers * per
    with Server(vendor, n, containers=containers, latency=latency) as server:
        samples: dict[str, list[dict[str, Any]]] = {"sequential": [], f"concurrency={workers}": []}
        for _ in range(rounds):
            for label, conc in (("sequential", 1), (f"concurrency={workers}", workers)):
                page = PAGE_SIZE[vendor] and min(PAGE_SIZE[vendor] or 0, 100)
                result = run_child(spec_for(server, "runtrack", "fanout", page, concurrency=conc))
                if "error" not in result and result["items"] != n:
                    result = {"error": f"listed {result['items']} items, expected {n}"}
                samples[label].append(result)
                print(f"  fan-out {vendor} {label}: {result.get('error') or result['seconds']}", file=sys.stderr)
    seq, par = (median(s, "seconds") for s in samples.values())
    return {
        "vendor": vendor,
        "containers": containers,
        "runs_per_container": per,
        "page_size": PAGE_SIZE[vendor] and min(PAGE_SIZE[vendor] or 0, 100),
        "latency_s": latency,
        "workers": workers,
        "samples": samples,
        "sequential_s": seq,
        "concurrent_s": par,
        "speedup": seq / par if seq and par else None,
        "errors": {k: [s["error"] for s in v if "error" in s] for k, v in samples.items()},
    }


# --------------------------------------------------------------------------- targets and tables


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    by_key = {(t["vendor"], t["n"]): t["median"] for t in results["throughput"]}
    for (vendor, n), med in sorted(by_key.items()):
        rt, sdk, raw = (med[c]["items_per_s"] for c in ("runtrack", "sdk", "raw-orjson"))
        if rt and sdk:
            checks.append(
                {"target": f"{vendor} N={n}: runtrack >= 2x SDK items/s", "value": rt / sdk, "met": rt >= 2 * sdk}
            )
        if rt and raw:
            checks.append(
                {"target": f"{vendor} N={n}: runtrack >= 0.8x raw orjson", "value": rt / raw, "met": rt >= 0.8 * raw}
            )
        rss, sdk_rss = med["runtrack"]["peak_rss_mb"], med["sdk"]["peak_rss_mb"]
        if rss and sdk_rss:
            checks.append(
                {"target": f"{vendor} N={n}: peak RSS below the SDK's", "value": rss - sdk_rss, "met": rss < sdk_rss}
            )
    for vendor in ("langsmith", "foundry"):
        ns = sorted(n for v, n in by_key if v == vendor)
        if len(ns) >= 2:
            lo, hi = (
                by_key[(vendor, ns[0])]["runtrack"]["peak_rss_mb"],
                by_key[(vendor, ns[-1])]["runtrack"]["peak_rss_mb"],
            )
            if lo and hi:
                checks.append(
                    {
                        "target": f"{vendor}: runtrack peak RSS +<=5 MB from N={ns[0]} to {ns[-1]}",
                        "value": hi - lo,
                        "met": hi - lo <= 5,
                    }
                )
    imp = results.get("imports", {})
    sdk_times = [v["import_connect_s"] for k, v in imp.items() if k.startswith("sdk:") and v["import_connect_s"]]
    rt_times = [v["import_connect_s"] for k, v in imp.items() if k.startswith("runtrack:") and v["import_connect_s"]]
    if sdk_times and rt_times:
        checks.append(
            {
                "target": "import runtrack + connect <= 1/4 of the lightest SDK's",
                "value": max(rt_times) / min(sdk_times),
                "met": max(rt_times) <= min(sdk_times) / 4,
            }
        )
    if results.get("round_trips"):
        import round_trips

        checks += round_trips.checks(results["round_trips"])
    for f in results.get("fanout", []):
        if f["speedup"]:
            checks.append(
                {
                    "target": f"fan-out {f['vendor']}: concurrency={f['workers']} >= 4x sequential",
                    "value": f["speedup"],
                    "met": f["speedup"] >= 4,
                }
            )
    return checks


def tables(results: dict[str, Any]) -> str:
    lines = [
        "| vendor | N | contender | items/s | vs SDK | vs raw orjson | peak RSS MB |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for t in results["throughput"]:
        med = t["median"]
        sdk, raw = med["sdk"]["items_per_s"], med["raw-orjson"]["items_per_s"]
        for c in CONTENDERS:
            ips, rss = med[c]["items_per_s"], med[c]["peak_rss_mb"]
            name = SDK_NAME[t["vendor"]] if c == "sdk" else c
            if ips is None:
                lines.append(f"| {t['vendor']} | {t['n']:,} | {name} | failed: {t['errors'][c][:1]} | | | |")
                continue
            vs_sdk = f"{ips / sdk:.2f}×" if sdk else "—"
            vs_raw = f"{ips / raw:.2f}×" if raw else "—"
            lines.append(f"| {t['vendor']} | {t['n']:,} | {name} | {ips:,.0f} | {vs_sdk} | {vs_raw} | {rss:.1f} |")
    lines += ["", "| import + connect | seconds | RSS after, MB |", "| --- | ---: | ---: |"]
    for label, row in results.get("imports", {}).items():
        if row["import_connect_s"] is None:
            lines.append(f"| {label} | failed: {row['errors'][:1]} | |")
        else:
            lines.append(f"| {label} | {row['import_connect_s']:.3f} | {row['rss_mb']:.1f} |")
    lines += [
        "",
        "| fan-out | containers × runs | latency | sequential s | concurrent s | speedup |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for f in results.get("fanout", []):
        if f["speedup"] is None:
            lines.append(f"| {f['vendor']} | failed: {f['errors']} | | | | |")
            continue
        lines.append(
            f"| {f['vendor']} (concurrency={f['workers']}) | {f['containers']} × {f['runs_per_container']} | "
            f"{f['latency_s'] * 1000:.0f} ms | {f['sequential_s']:.2f} | {f['concurrent_s']:.2f} | "
            f"{f['speedup']:.1f}× |"
        )
    if results.get("round_trips"):
        import round_trips

        lines += ["", round_trips.table(results["round_trips"])]
    lines += ["", "| target | value | met |", "| --- | ---: | --- |"]
    for c in results["targets"]:
        lines.append(f"| {c['target']} | {c['value']:.2f} | {'yes' if c['met'] else 'NO'} |")
    return "\n".join(lines)


def commit() -> str:
    proc = subprocess.run(["git", "-C", str(HERE), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("runtrack", "requests", "orjson", "langsmith", "foundry-platform-sdk", "label-studio-sdk"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "missing"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 2,000 and 10,000; a couple of minutes")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per contender (medians; at least 3)")
    parser.add_argument("--only", choices=("throughput", "imports", "fanout", "round-trips"), action="append")
    parser.add_argument(
        "--latency", type=float, action="append", metavar="MS", help="round-trips latencies in ms (0, 100, 300)"
    )
    parser.add_argument("--vendor", choices=("langsmith", "foundry", "labelstudio"), action="append")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3 (medians)")
    parts = set(args.only or ("throughput", "imports", "fanout", "round-trips"))
    vendors = args.vendor or ["langsmith", "foundry", "labelstudio"]
    sizes = {"langsmith": (10_000, 100_000), "foundry": (10_000, 100_000), "labelstudio": (10_000,)}
    if args.quick:
        sizes = {"langsmith": (2_000, 10_000), "foundry": (2_000, 10_000), "labelstudio": (10_000,)}
    t0 = time.perf_counter()
    results: dict[str, Any] = {
        "commit": commit(),
        "load_average_before": os.getloadavg(),
        "command": " ".join(["bash bench/run.sh", *sys.argv[1:]]),
        "versions": versions(),
        "rounds": args.rounds,
        "throughput": [],
        "imports": {},
        "fanout": [],
        "round_trips": [],
    }
    if "throughput" in parts:
        for vendor in vendors:
            for n in sizes[vendor]:
                results["throughput"].append(throughput(vendor, n, args.rounds))
    if "imports" in parts:
        results["imports"] = imports(max(args.rounds, 5))
    if "fanout" in parts:
        for vendor in vendors:
            results["fanout"].append(fanout(vendor, 20, 100, 0.03, 8, args.rounds))
    if "round-trips" in parts:
        import round_trips

        latencies = tuple(ms / 1000 for ms in args.latency) if args.latency else round_trips.LATENCIES
        results["round_trips"] = round_trips.run(args.rounds, latencies, tuple(vendors))
    results["targets"] = check_targets(results)
    results["wall_s"] = time.perf_counter() - t0
    results["load_average_after"] = os.getloadavg()
    args.out.write_text(json.dumps(results, indent=1))
    print(tables(results))
    print(
        f"\n{results['command']} at {results['commit']}: {results['wall_s']:.0f} s, {args.rounds} rounds, load average "
        f"{results['load_average_before'][0]:.2f} before / {results['load_average_after'][0]:.2f} after; "
        f"every sample in {args.out}"
    )


if __name__ == "__main__":
    main()
