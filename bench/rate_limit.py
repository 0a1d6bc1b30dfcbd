"""A 429-heavy listing: every 5th request is answered 429; runtrack must finish with every run exactly once and keep
its request rate at or under ``rate_limit``.

``runtrack.testing.FakeLangSmith`` on 127.0.0.1 serves ``--queues`` queues of ``--runs`` runs; the adapter lists all
of them at ``concurrency=4`` with small pages (many requests). Each send is timed in the client (the transport's
``_send_once``), so the rates are what the vendor would see. Contenders, side by side in one run:

* ``limit R/s``: ``rate_limit=R`` (429s without ``Retry-After``: jittered backoff);
* ``limit R/s, Retry-After 1``: the same with ``Retry-After: 1`` on every 429 (a pause for every thread);
* ``no limit``: ``rate_limit=0``, for comparison.

    python bench/rate_limit.py [--rate 10] [--queues 4] [--runs 200] [--page-size 10]
"""

from __future__ import annotations

import argparse
import bisect
import logging
import threading
import time
from typing import Any

import runtrack
from runtrack.testing import FakeLangSmith


def max_in_window(times: list[float], window: float) -> int:
    """The most sends in any interval of ``window`` seconds."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, bisect.bisect_right(times, t + window) - i)
    return best


def measure(args: argparse.Namespace, rate: float, retry_after: int | None) -> dict[str, Any]:
    fake = FakeLangSmith(seed=11, queues=args.queues, runs_per_queue=args.runs).start()
    try:
        truth = sorted(fake.all_run_ids())
        fake.prerender(args.page_size)  # pages served from memory: the client's pacing is what is measured
        fake.faults.configure(rate_limit_every=5, retry_after=retry_after)
        src = runtrack.connect(
            "langsmith",
            environ={},
            base_url=fake.base_url,
            api_key=fake.api_key,
            concurrency=4,
            rate_limit=rate,
            max_retries=4,
        )
        sends: list[float] = []
        lock = threading.Lock()
        real_send_once = src.transport._send_once

        def timed_send_once(*a: Any, **kw: Any) -> Any:
            with lock:
                sends.append(time.monotonic())
            return real_send_once(*a, **kw)

        src.transport._send_once = timed_send_once  # type: ignore[method-assign]
        error = None
        t0 = time.monotonic()
        try:
            got = [run.native_id for run in src.runs(page_size=args.page_size)]
        except runtrack.RuntrackError as exc:
            got, error = [], f"{type(exc).__name__}: {exc}"
        seconds = time.monotonic() - t0
        src.close()
        injected = len(fake.faults.injected_kinds())
    finally:
        fake.stop()
    sends.sort()
    return {
        "error": error,
        "exactly_once": sorted(got) == truth and len(got) == len(set(got)),
        "runs": len(got),
        "sends": len(sends),
        "429s": injected,
        "seconds": seconds,
        "rate": len(sends) / seconds,
        "max_1s": max_in_window(sends, 1.0),
        "max_250ms": max_in_window(sends, 0.25),
        "throttles_seen": src.transport.congestion.throttles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="rate_limit of the limited contenders")
    parser.add_argument("--queues", type=int, default=4)
    parser.add_argument("--runs", type=int, default=200, help="runs per queue")
    parser.add_argument("--page-size", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("runtrack").setLevel(logging.ERROR)  # one warning per retry otherwise
    contenders = [
        (f"limit {args.rate:g}/s", args.rate, None),
        (f"limit {args.rate:g}/s, Retry-After 1", args.rate, 1),
        ("no limit", 0.0, None),
    ]
    print(
        f"{args.queues} LangSmith queues x {args.runs} runs, page size {args.page_size}, concurrency 4, "
        "every 5th request answered 429"
    )
    print("| contender | error | every run once | sends | 429s | seconds | sends/s | most in 1 s | most in 250 ms |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, rate, retry_after in contenders:
        r = measure(args, rate, retry_after)
        print(
            f"| {name} | {r['error'] or 'none'} | {'yes' if r['exactly_once'] else 'NO'} | {r['sends']} | "
            f"{r['429s']} | {r['seconds']:.2f} | {r['rate']:.1f} | {r['max_1s']} | {r['max_250ms']} |"
        )


if __name__ == "__main__":
    main()
