"""The review loop's way back: ``labelstudio-to-langsmith`` against the naive loop people write by hand.

``python bench/review_loop.py [--runs N] [--rounds R]`` starts the real Label Studio of ``tests/realserver`` and two
fake LangSmith servers, sends N queue runs for review (``langsmith-to-labelstudio``), annotates every task through
Label Studio's API (a choice and a rating: 2N feedback), then, per round and side by side:

* runtrack: ``labelstudio-to-langsmith`` apply (run check, lookup, one POST per feedback), then a no-op re-apply;
* naive: list the tasks with annotations and POST every feedback (no id, no run check: what the SDK examples do),
  then run it again (as a cron job would).

Both sides talk to their own fake LangSmith with no client-side rate limit, so the figures compare work, not pacing;
``--latency S`` makes every LangSmith answer take S seconds, as a remote service does.
Prints feedback/s of each first pass, the requests of the second pass per 100 feedback, and the feedback each
LangSmith holds at the end (the naive loop duplicates everything on its second pass).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import runtrack
from runtrack.testing import FakeLangSmith, Faults
from tests.realserver.peer import start_peer

CONFIG = """<View>
  <Text name="input" value="$input"/>
  <Text name="output" value="$output"/>
  <Choices name="review" toName="output" choice="single"><Choice value="good"/><Choice value="bad"/></Choices>
  <Rating name="quality" toName="output" maxRating="5"/>
</View>"""
SCORES = {"good": 1, "bad": 0}


def naive(ls_url: str, token: str, project: int, fake: FakeLangSmith) -> int:
    """The hand-written loop: every annotation's every result becomes one feedback POST."""
    posted = 0
    with requests.Session() as ls, requests.Session() as lsm:
        ls.trust_env = lsm.trust_env = False
        ls.headers["Authorization"] = f"Token {token}"
        lsm.headers["X-API-Key"] = fake.api_key
        page = 1
        while True:
            body = ls.get(f"{ls_url}/api/tasks/", params={"project": project, "fields": "all", "page": page}).json()
            for task in body["tasks"]:
                for annotation in task["annotations"]:
                    if annotation["was_cancelled"]:
                        continue
                    for r in annotation["result"]:
                        value = r["value"]
                        if r["type"] == "choices":
                            fb = {
                                "key": r["from_name"],
                                "value": value["choices"][0],
                                "score": SCORES.get(value["choices"][0]),
                            }
                        else:
                            fb = {"key": r["from_name"], "score": value.get("rating")}
                        fb["run_id"] = task["data"]["langsmith_run_id"]
                        lsm.post(f"{fake.base_url}/api/v1/feedback", json=fb).raise_for_status()
                        posted += 1
            if page * 100 >= body["total"]:
                return posted
            page += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds each LangSmith answer takes (a remote service)"
    )
    args = parser.parse_args()
    peer = start_peer()
    rows: dict[str, list[float]] = {"runtrack apply": [], "naive loop": [], "runtrack re-apply": [], "naive re-run": []}
    requests_per_100: list[float] = []
    held: dict[str, int] = {}
    try:
        for _ in range(args.rounds):
            with (
                FakeLangSmith(queues=1, runs_per_queue=args.runs, faults=Faults(latency=args.latency)) as ours,
                FakeLangSmith(queues=1, runs_per_queue=args.runs, faults=Faults(latency=args.latency)) as theirs,
            ):
                lsm = runtrack.connect(
                    "langsmith", base_url=ours.base_url, api_key=ours.api_key, rate_limit=0, environ={}
                )
                ls = runtrack.connect(
                    "labelstudio", base_url=peer.base_url, api_key=peer.legacy_token, rate_limit=0, environ={}
                )
                store = Path(tempfile.mkdtemp()) / "runtrack.db"
                title = f"bench review {time.monotonic_ns() % 10**8}"
                send = runtrack.migration(
                    "langsmith-to-labelstudio",
                    source=lsm,
                    target=ls,
                    store=store,
                    label_config=CONFIG,
                    project_title=title,
                )
                result = send.apply(queue_id=ours.queue_ids[0])
                project = int(result.target.rsplit("/", 1)[1])
                with requests.Session() as http:
                    http.trust_env = False
                    http.headers.update(peer.legacy_headers())
                    for n, task in enumerate(ls.tasks(project)):
                        results = [
                            {
                                "from_name": "review",
                                "to_name": "output",
                                "type": "choices",
                                "value": {"choices": ["good" if n % 3 else "bad"]},
                            },
                            {
                                "from_name": "quality",
                                "to_name": "output",
                                "type": "rating",
                                "value": {"rating": 1 + n % 5},
                            },
                        ]
                        http.post(
                            peer.url(f"/api/tasks/{task.id}/annotations/"), json={"result": results}
                        ).raise_for_status()
                back = runtrack.migration(
                    "labelstudio-to-langsmith",
                    source=ls,
                    target=lsm,
                    store=store,
                    project=project,
                    feedback_per_minute=10**9,
                )
                feedback = 2 * args.runs
                t0 = time.perf_counter()
                assert back.apply().counts["created"] == feedback
                rows["runtrack apply"].append(feedback / (time.perf_counter() - t0))
                ours.clear_log()
                t0 = time.perf_counter()
                assert back.apply().counts["skipped"] == feedback
                rows["runtrack re-apply"].append(feedback / (time.perf_counter() - t0))
                requests_per_100.append(100 * ours.request_count / feedback)
                t0 = time.perf_counter()
                assert naive(peer.base_url, peer.legacy_token, project, theirs) == feedback
                rows["naive loop"].append(feedback / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                naive(peer.base_url, peer.legacy_token, project, theirs)
                rows["naive re-run"].append(feedback / (time.perf_counter() - t0))
                held = {"runtrack": len(ours.feedback()), "naive": len(theirs.feedback())}
    finally:
        peer.stop()
    print(
        f"{args.runs} reviewed runs, {2 * args.runs} feedback, LangSmith latency {args.latency * 1000:.0f} ms, "
        f"{args.rounds} rounds (median)"
    )
    for name, values in rows.items():
        print(f"  {name:18} {statistics.median(values):8.0f} feedback/s")
    print(f"  runtrack re-apply: {statistics.median(requests_per_100):.2f} LangSmith requests per 100 feedback")
    print(f"  feedback held at the end: runtrack {held['runtrack']}, naive {held['naive']}")


if __name__ == "__main__":
    main()
