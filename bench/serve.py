"""Run one fake vendor server on 127.0.0.1 in its own process, for the benchmarks.

``python bench/serve.py VENDOR --runs N [--containers C] [--latency S]`` renders every run up front (``data.py``),
prints one JSON line (``base_url``, ``api_key``, ``containers``, ``bytes``, ``render_s``) and serves
(``fakes.py``) until its standard input closes. A separate process keeps the server's CPU off the client's GIL.
``--containers`` splits the runs over that many queues / studios / prompts (of one version each).
``langsmith-fake`` serves ``runtrack.testing.FakeLangSmith`` instead (every endpoint, the items endpoint and its
``runs/query`` hydration included; slower to answer, which latency hides).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

from data import foundry_rows, labelstudio_rows, langsmith_rows
from fakes import BenchServer, describe

from runtrack.testing import Faults

VENDORS = ("langsmith", "foundry", "labelstudio", "langsmith-fake")
KEYS = {
    "langsmith": "lsv2_pt_0123456789abcdef0123456789abcdef_0123456789",
    "foundry": "eyJwbG50ciI6IkJlbmNoIn0.0123456789abcdef",
    "labelstudio": "0123456789abcdef0123456789abcdef01234567",
}


def build(vendor: str, runs: int, containers: int) -> dict[str, list[bytes]]:
    """Rows per container: ``runs`` in total, split evenly; container ids in the vendor's own shape."""
    per = runs // containers
    rows: dict[str, list[bytes]] = {}
    for c in range(containers):
        ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{vendor}/{c}"))
        if vendor == "langsmith":
            rows[ident] = langsmith_rows(per, seed=c)
        elif vendor == "foundry":
            rows[f"ri.models.main.model-studio.{ident}"] = foundry_rows(per, seed=c)
        else:
            rows[f"{11 + c}/{101 + c}"] = labelstudio_rows(per, prompt=11 + c, version=101 + c, seed=c)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vendor", choices=VENDORS)
    parser.add_argument("--runs", type=int, required=True, help="runs in total")
    parser.add_argument("--containers", type=int, default=1, help="queues / studios / prompts")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    args = parser.parse_args()
    t0 = time.perf_counter()
    if args.vendor == "langsmith-fake":
        serve_fake(args.runs, args.containers, args.latency)
        return
    rows = build(args.vendor, args.runs, args.containers)
    server = BenchServer(args.vendor, rows, api_key=KEYS[args.vendor], faults=Faults(latency=args.latency)).start()
    print(describe(server)[:-1] + f', "render_s": {time.perf_counter() - t0:.2f}}}', flush=True)
    try:
        sys.stdin.read()  # serve until the parent closes our stdin (or exits)
    finally:
        server.stop()


def serve_fake(runs: int, containers: int, latency: float) -> None:
    """``FakeLangSmith`` with every answer rendered once, up front (like the other benchmark servers): a first,
    untimed listing through the items endpoint fills a memo of answers keyed by what identifies them (path, query,
    the ids and cursor of a ``runs/query``), so the timed listings measure the client and the latency, not the fake's
    rendering."""
    import json

    import runtrack
    from runtrack.testing import FakeLangSmith
    from runtrack.testing._server import Request, Response

    class Rendered(FakeLangSmith):
        memo: dict[tuple[object, ...], Response] = {}

        def dispatch(self, req: Request) -> Response:
            body: dict[str, object] = json.loads(req.body) if req.body else {}
            ids = tuple(body.get("ids") or ())  # type: ignore[arg-type]
            key = (
                req.method,
                req.path,
                tuple(sorted((k, tuple(v)) for k, v in req.query.items())),
                ids,
                body.get("cursor"),
            )
            answer = self.memo.get(key)
            if answer is None:
                answer = self.memo[key] = super().dispatch(req)
            return answer

    fake = Rendered(seed=1, queues=containers, runs_per_queue=runs // containers, projects=1, faults=Faults())
    fake.start()
    warm = runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key, endpoint="items", rate_limit=0)
    for queue in fake.queue_ids:
        for _ in warm.runs(queue_id=queue):
            pass
    fake.faults.configure(latency=latency)
    info = {"vendor": "langsmith", "base_url": fake.base_url, "api_key": fake.api_key, "containers": fake.queue_ids}
    print(json.dumps({**info, "bytes": 0}), flush=True)
    try:
        sys.stdin.read()
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
