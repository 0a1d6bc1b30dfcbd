"""Round trips: runtrack and the official SDK behind 0, 100 and 300 ms of server latency, side by side (issue 16).

``bash bench/run.sh --only round-trips`` (or part of the full run):

* one LangSmith queue of 10,000 runs, 100 per page (``bench/serve.py``, the fakes' ``latency`` knob): runtrack with
  one page in flight, runtrack with ``concurrency=8`` (pages of the queue in flight), and langsmith's
  ``Client.list_runs_from_annotation_queue``;
* the LangSmith items endpoint with ``runs/query`` hydration (``runtrack.testing.FakeLangSmith``, 2,000 runs):
  runtrack serial (``prefetch=0``: the next page only once this one is consumed, as before issue 16) vs pipelined;
* fan-out over 20 queues / studios / prompts of 100 runs: sequential vs 8 workers.

Every figure is a median of fresh processes; contenders alternate within each round.
"""

from __future__ import annotations

import sys
from typing import Any

from compare import Server, median, run_child, spec_for

LATENCIES = (0.0, 0.1, 0.3)
QUEUE_RUNS = 10_000
ITEMS_RUNS = 2_000


def _measure(server: Server, contenders: dict[str, dict[str, Any]], n: int, rounds: int, what: str) -> dict[str, Any]:
    samples: dict[str, list[dict[str, Any]]] = {label: [] for label in contenders}
    labels = list(contenders)
    for r in range(rounds):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            spec = contenders[label]
            result = run_child(spec_for(server, spec["contender"], "list", spec.get("page_size", 100), **spec["extra"]))
            if "error" not in result and result["items"] != n:
                result = {"error": f"listed {result['items']} items, expected {n}"}
            samples[label].append(result)
            print(f"  {what} {label}: {result.get('error') or round(result['seconds'], 2)}", file=sys.stderr)
    return {
        "samples": samples,
        "seconds": {label: median(s, "seconds") for label, s in samples.items()},
        "errors": {label: [s["error"] for s in ss if "error" in s] for label, ss in samples.items()},
    }


def queue(latency: float, rounds: int, n: int = QUEUE_RUNS) -> dict[str, Any]:
    contenders = {
        "runtrack concurrency=1": {"contender": "runtrack", "extra": {"concurrency": 1}},
        "runtrack concurrency=8": {"contender": "runtrack", "extra": {"concurrency": 8}},
        "langsmith SDK": {"contender": "sdk", "extra": {}},
    }
    with Server("langsmith", n, containers=1, latency=latency) as server:
        out = _measure(server, contenders, n, rounds, f"queue {latency * 1000:.0f} ms")
    return {"part": "queue", "latency_s": latency, "n": n, **out}


def items(latency: float, rounds: int, n: int = ITEMS_RUNS) -> dict[str, Any]:
    contenders = {
        "runtrack serial (prefetch=0)": {"contender": "runtrack", "extra": {"endpoint": "items", "prefetch": "0"}},
        "runtrack pipelined": {"contender": "runtrack", "extra": {"endpoint": "items"}},
    }
    with Server("langsmith-fake", n, containers=1, latency=latency) as server:
        out = _measure(server, contenders, n, rounds, f"items {latency * 1000:.0f} ms")
    return {"part": "items", "latency_s": latency, "n": n, **out}


def fanout(vendor: str, latency: float, rounds: int, containers: int = 20, per: int = 100) -> dict[str, Any]:
    page = 100 if vendor != "labelstudio" else None
    contenders = {
        "sequential": {"contender": "runtrack", "extra": {"concurrency": 1}, "page_size": page},
        "8 workers": {"contender": "runtrack", "extra": {"concurrency": 8}, "page_size": page},
    }
    n = containers * per
    with Server(vendor, n, containers=containers, latency=latency) as server:
        runs = {label: {**spec, "mode": "fanout"} for label, spec in contenders.items()}
        samples: dict[str, list[dict[str, Any]]] = {label: [] for label in runs}
        for r in range(rounds):
            for label in list(runs)[r % 2 :] + list(runs)[: r % 2]:
                spec = runs[label]
                result = run_child(spec_for(server, "runtrack", "fanout", spec["page_size"], **spec["extra"]))
                if "error" not in result and result["items"] != n:
                    result = {"error": f"listed {result['items']} items, expected {n}"}
                samples[label].append(result)
                shown = result.get("error") or round(result["seconds"], 2)
                print(f"  fan-out {vendor} {latency * 1000:.0f} ms {label}: {shown}", file=sys.stderr)
    return {
        "part": "fanout",
        "vendor": vendor,
        "latency_s": latency,
        "n": n,
        "containers": containers,
        "samples": samples,
        "seconds": {label: median(s, "seconds") for label, s in samples.items()},
        "errors": {label: [s["error"] for s in ss if "error" in s] for label, ss in samples.items()},
    }


def run(rounds: int, latencies: tuple[float, ...] = LATENCIES, vendors: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    rounds = min(rounds, 3)  # latency-bound: a 300 ms SDK run of 10,000 runs takes half a minute
    parts = [queue(latency, rounds) for latency in latencies]
    parts.append(items(0.1, rounds))
    for vendor in vendors or ("langsmith", "foundry", "labelstudio"):
        for latency in (0.03, 0.1):
            parts.append(fanout(vendor, latency, rounds))
    return parts


def _ratio(seconds: dict[str, float | None], slow: str, fast: str) -> float | None:
    a, b = seconds.get(slow), seconds.get(fast)
    return a / b if a and b else None


def checks(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    goal = {0.1: 6.0, 0.3: 7.0}
    for p in parts:
        s = p["seconds"]
        if p["part"] == "queue" and p["latency_s"] in goal:
            value = _ratio(s, "langsmith SDK", "runtrack concurrency=8")
            if value is not None:
                ms, want = p["latency_s"] * 1000, goal[p["latency_s"]]
                target = f"one queue of {p['n']:,} at {ms:.0f} ms: concurrency=8 >= {want:g}x SDK"
                out.append({"target": target, "value": value, "met": value >= goal[p["latency_s"]]})
        elif p["part"] == "items":
            value = _ratio(s, "runtrack serial (prefetch=0)", "runtrack pipelined")
            if value is not None:
                target = f"items endpoint + hydration at {p['latency_s'] * 1000:.0f} ms: pipelined >= 1.8x serial"
                out.append({"target": target, "value": value, "met": value >= 1.8})
        elif p["part"] == "fanout":
            value = _ratio(s, "sequential", "8 workers")
            if value is not None:
                target = f"fan-out {p['vendor']} at {p['latency_s'] * 1000:.0f} ms: 8 workers >= 5x sequential"
                out.append({"target": target, "value": value, "met": value >= 5})
    return out


def table(parts: list[dict[str, Any]]) -> str:
    lines = ["| listing | latency | contender | seconds | speedup |", "| --- | ---: | --- | ---: | ---: |"]
    for p in parts:
        s = p["seconds"]
        base = next(iter(s.values()))
        if p["part"] == "queue":
            what = f"LangSmith queue, {p['n']:,} runs"
            base = s.get("langsmith SDK")
        elif p["part"] == "items":
            what = f"LangSmith items + hydration, {p['n']:,} runs"
        else:
            what = f"fan-out {p['vendor']}, {p['containers']} × {p['n'] // p['containers']}"
        for label, seconds in s.items():
            if seconds is None:
                failed = p["errors"][label][:1]
                lines.append(f"| {what} | {p['latency_s'] * 1000:.0f} ms | {label} | failed: {failed} | |")
                continue
            speed = f"{base / seconds:.1f}×" if base else "—"
            lines.append(f"| {what} | {p['latency_s'] * 1000:.0f} ms | {label} | {seconds:.2f} | {speed} |")
    return "\n".join(lines)
