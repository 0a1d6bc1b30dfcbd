"""Migrating LangSmith runs into a real local Label Studio: runtrack's apply vs the tutorial's naive loop.

Starts the real Label Studio 1.23.2 server of tests/realserver (127.0.0.1) and a FakeLangSmith with N runs, lists
the runs once into memory (the source side is the same for both contenders and is not timed), then, each into its
own new project:

* ``naive``: the loop of Label Studio's tutorial, one ``POST /api/projects/{id}/import`` per run (task + its
  prediction), as ``ls.projects.import_tasks(id=..., request=[task])`` does; no lookup, so a rerun duplicates;
* ``apply``: ``runtrack.migration("langsmith-to-labelstudio", ...).apply()``: lookups by key, batched imports,
  the id map committed in SQLite after each batch;
* ``reapply``: the same apply again, when nothing changed (the id map is trusted: no per-item request);
* ``lookup``: apply again with a new, empty state file (the id map lost): every run is looked up, nothing written.

Reports runs/s and HTTP requests to Label Studio for each, and checks the project holds exactly N tasks and N
predictions. Run from the repository root::

    .venv/bin/python bench/migrate_labelstudio.py                 # N = 5000
    .venv/bin/python bench/migrate_labelstudio.py --runs 500      # quick
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtrack_labelstudio.review import default_label_config  # noqa: E402

import runtrack  # noqa: E402
from runtrack.http import Transport  # noqa: E402
from runtrack.model import Run  # noqa: E402
from runtrack.testing import FakeLangSmith  # noqa: E402
from tests.realserver.peer import running_peer  # noqa: E402

NAME = "langsmith-to-labelstudio"


class RunList:
    """A store-like source over runs already in memory."""

    def __init__(self, runs: list[Run]) -> None:
        self.items = runs

    def runs(self, *, platform: str | None = None, **scope: Any) -> Iterator[Run]:
        return iter(self.items)


def count_requests(transport: Transport) -> list[int]:
    counter = [0]
    send_once = transport._send_once

    def counted(*args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return send_once(*args, **kwargs)

    transport._send_once = counted  # type: ignore[method-assign]
    return counter


def new_project(session: requests.Session, base: str, title: str) -> int:
    response = session.post(f"{base}/api/projects/", json={"title": title, "label_config": default_label_config()})
    response.raise_for_status()
    return int(response.json()["id"])


def totals(session: requests.Session, base: str, project: int) -> tuple[int, int]:
    body = session.get(f"{base}/api/tasks/", params={"project": project, "include": "id", "page_size": 10**6}).json()
    return int(body["total"]), int(body["total_predictions"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--naive-runs", type=int, help="runs for the naive loop (default: --runs)")
    parser.add_argument("-o", "--output", help="write the figures as JSON here")
    args = parser.parse_args()
    n = args.runs
    results: dict[str, Any] = {"runs": n}
    with running_peer() as peer, FakeLangSmith(queues=5, runs_per_queue=n // 5, seed=3) as fake:
        fake.start()
        src = runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key)
        t0 = time.perf_counter()
        runs = list(src.runs())
        results["listing_s"] = time.perf_counter() - t0
        assert len(runs) == n, len(runs)
        session = requests.Session()
        session.trust_env = False
        session.headers.update(peer.legacy_headers())
        base = peer.base_url

        # naive: one import per run, the tutorial's loop (same task and prediction payload as runtrack writes)
        naive_n = args.naive_runs or n
        direction_dst = runtrack.connect("labelstudio", base_url=base, api_key=peer.legacy_token)
        mapper = runtrack.migration(NAME, source=RunList(runs), target=direction_dst).direction
        tasks = []
        for run in runs[:naive_n]:
            payload = mapper.item(run).payload  # type: ignore[attr-defined]
            tasks.append({"data": payload["data"], "predictions": [payload["prediction"]]})
        project = new_project(session, base, "bench naive")
        t0 = time.perf_counter()
        for task in tasks:
            session.post(f"{base}/api/projects/{project}/import", json=[task]).raise_for_status()
        seconds = time.perf_counter() - t0
        results["naive"] = {"runs": naive_n, "seconds": seconds, "runs_per_s": naive_n / seconds, "requests": naive_n}
        assert totals(session, base, project) == (naive_n, naive_n)

        # runtrack apply, then a no-op re-apply
        project = new_project(session, base, "bench runtrack")
        with tempfile.TemporaryDirectory() as tmp:
            for label, state in (("apply", "state.db"), ("reapply", "state.db"), ("lookup", "new.db")):
                dst = runtrack.connect("labelstudio", base_url=base, api_key=peer.legacy_token)
                counter = count_requests(dst.transport)
                mig = runtrack.migration(
                    NAME, source=RunList(runs), target=dst, store=Path(tmp) / state, project=project
                )
                t0 = time.perf_counter()
                result = mig.apply()
                seconds = time.perf_counter() - t0
                assert result.ok, result.failures[:3]
                results[label] = {
                    "runs": n,
                    "seconds": seconds,
                    "runs_per_s": n / seconds,
                    "requests": counter[0],
                    "requests_per_100_runs": 100 * counter[0] / n,
                    "counts": result.counts,
                }
        assert totals(session, base, project) == (n, n)
    naive = results["naive"]["runs_per_s"]
    results["apply_vs_naive"] = results["apply"]["runs_per_s"] / naive
    print(f"N = {n} runs (listing from the fake LangSmith, not timed: {results['listing_s']:.1f} s)")
    print("| contender | runs | seconds | runs/s | requests to Label Studio | vs naive |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label in ("naive", "apply", "reapply", "lookup"):
        r = results[label]
        print(
            f"| {label} | {r['runs']} | {r['seconds']:.1f} | {r['runs_per_s']:,.0f} | {r['requests']} "
            f"| {r['runs_per_s'] / naive:.1f}x |"
        )
    for label in ("reapply", "lookup"):
        print(f"{label}: {results[label]['requests_per_100_runs']:.2f} requests per 100 runs")
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
