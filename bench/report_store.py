"""``runtrack report --store`` over a large run store: wall time, peak RSS and HTML size.

Seeding goes through the public API only: ``runtrack.open_store(path).sync(adapter, ...)`` over a generated adapter
(runs made from their index, four listings), twice: the second pass changes ~1 % of the runs (running ones finish,
some fail) and adds 0.5 % new ones, so the store has a "previous sync" to compare with. The seeded file is cached
in ``bench/.cache/`` (seeding a million runs takes minutes). Each measurement runs ``runtrack report --store`` in a
fresh child process; peak RSS is the child's ``ru_maxrss``. ``--compare`` also times the per-run path (every stored
run decoded and folded in Python, what ``report --store`` did before the SQL aggregation) in the same run.
``--before REV`` also times ``runtrack report --store`` of an older git revision (its code from ``git archive``) in
the same run, over its own cached store file seeded by that revision's code (an older store schema: a newer
runtrack would upgrade the file in place, and the older one would then refuse it).

    .venv/bin/python bench/report_store.py                    # 1,000,000 runs: table and html
    .venv/bin/python bench/report_store.py --runs 100000 --compare
    .venv/bin/python bench/report_store.py --before f92a918   # this tree and store schema 1's report, side by side
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
SHARDS = 4
PAGE = 2000
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
SPAN = timedelta(days=60)
NAMES = [f"{kind}-{model}" for kind in ("eval", "label", "train", "batch", "agent") for model in range(12)]
ERRORS = [
    "TimeoutError('Request timed out after 60.0 seconds')",
    "RateLimitError: 429 Too Many Requests",
    "KeyError: 'order_id'",
    'Traceback (most recent call last):\n  File "run.py", line 3, in <module>\nValueError: bad input',
    "OutOfMemoryError: CUDA out of memory",
    "ConnectionResetError: [Errno 104] Connection reset by peer",
]
STATUSES = ["SUCCEEDED"] * 80 + ["FAILED"] * 9 + ["RUNNING"] * 4 + ["QUEUED"] * 2 + ["CANCELED"] * 3 + ["UNKNOWN"] * 2


def make_run(i: int, shard: int, version: int) -> Any:
    from runtrack import ReviewStatus, Run, RunStatus

    rng = random.Random(i)
    status = RunStatus(rng.choice(STATUSES))
    moves = rng.random() < 0.01  # drawn whatever the version, so the other values stay the same
    if version and moves and status in (RunStatus.RUNNING, RunStatus.QUEUED, RunStatus.SUCCEEDED):
        status = RunStatus.FAILED if status is RunStatus.SUCCEEDED else RunStatus.SUCCEEDED
    created = NOW - SPAN * (1 - i / 1_200_000) - timedelta(seconds=rng.randrange(3600))
    started = created + timedelta(seconds=rng.randrange(1, 120))
    seconds = rng.lognormvariate(4, 1.5)
    ended = started + timedelta(seconds=seconds) if status.is_terminal else None
    metrics: dict[str, Any] = {}
    if rng.random() < 0.7:
        tin, tout = rng.randrange(50, 8000), rng.randrange(10, 2000)
        metrics = {
            "input_tokens": tin,
            "output_tokens": tout,
            "total_tokens": tin + tout,
            "total_cost": (Decimal(tin) * Decimal("0.00000015") + Decimal(tout) * Decimal("0.0000006")).normalize(),
        }
    elif rng.random() < 0.3:
        metrics = {"predictions": 100, "correct": rng.randrange(40, 100)}
    error = None
    if status is RunStatus.FAILED:
        error = rng.choice(ERRORS) if rng.random() < 0.9 else f"ValidationError: field {rng.randrange(500)} invalid"
    review = rng.choice([None, None, ReviewStatus.PENDING, ReviewStatus.REVIEWED])
    return Run(
        platform="bench",
        instance="bench.example",
        kind="run",
        native_id=f"run-{i:08d}",
        name=rng.choice(NAMES),
        status=status,
        status_raw=status.value.lower(),
        review_status=review,
        created_at=created,
        started_at=started,
        ended_at=ended,
        scope={"shard": str(shard)},
        metrics=metrics,
        error=error,
        url=f"https://bench.example/runs/run-{i:08d}",
        raw={"id": i},
    )


def bench_adapter(total: int, version: int) -> Any:
    from runtrack.adapter import Adapter, common_options
    from runtrack.paginate import RawPage

    class Listing:
        def __init__(self, shard: int, page_size: int) -> None:
            self.shard, self.page_size = shard, page_size

        def resume_at(self, state: Any, position: int) -> Any:
            return int(state or 0) + position

        def pages(self, state: Any) -> Iterator[RawPage[Any]]:
            ids = range(self.shard, total, SHARDS)
            offset = int(state or 0)
            while True:
                chunk = ids[offset : offset + self.page_size]
                items = tuple(make_run(i, self.shard, version) for i in chunk)
                nxt = offset + len(items) if offset + len(items) < len(ids) else None
                yield RawPage(items=items, state=offset, next_state=nxt)
                if nxt is None:
                    return
                offset = nxt

    class BenchAdapter(Adapter):
        name = "bench"
        options = common_options(base_url_env=(), api_key_env=(), default_base_url="https://bench.example")

        def __init__(self, **options: Any) -> None:
            super().__init__(api_key="bench-key", **options)

        def listing(self, *, page_size: int | None = None, shard: int = 0) -> Any:  # type: ignore[override]
            return Listing(int(shard), page_size or PAGE)

    return BenchAdapter()


def seed(path: Path | str, runs: int | str) -> None:
    """Two sync passes of every shard into a new store at ``path`` (written under a temporary name first)."""
    import runtrack

    path, runs = Path(path), int(runs)
    tmp = path.with_suffix(".partial")
    for leftover in tmp.parent.glob(tmp.name + "*"):
        leftover.unlink()
    t0 = time.perf_counter()
    with runtrack.open_store(tmp) as store:
        for version, total in ((0, runs), (1, runs + runs // 200)):
            adapter = bench_adapter(total, version)
            for shard in range(SHARDS):
                clock = NOW - timedelta(hours=1) if version == 0 else NOW
                result = store.sync(adapter, source="bench", page_size=PAGE, clock=lambda c=clock: c, shard=shard)
                print(f"  seeded pass {version} shard {shard}: {result}", file=sys.stderr, flush=True)
    for suffix in ("-wal", "-shm", ".lock"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    tmp.rename(path)
    print(f"seeded {path} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process (started in ``env``'s PYTHONPATH when it has one: with
    ``-m`` the working directory comes first on ``sys.path``)."""
    t0 = time.perf_counter()
    cwd = env.get("PYTHONPATH") if env else None
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024


PER_RUN = """
import sys
from runtrack import open_store
from runtrack.report import Collector, ReportSettings, SourceResult, build, render
settings = ReportSettings(now=__import__("datetime").datetime.now(__import__("datetime").timezone.utc))
with open_store(sys.argv[1]) as store:
    results = []
    for info in store.listings():
        result = SourceResult(source=info.source, adapter=info.adapter, scope=info.scope)
        Collector(result, settings).add(store.runs(listing=info.key))
        results.append(result)
render(build(results, settings), sys.argv[2])
"""


def checkout(rev: str) -> tuple[Path, dict[str, str]]:
    """The tree of git revision ``rev`` under ``bench/.cache/`` and an environment that imports runtrack from it."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], capture_output=True, text=True, check=True).stdout
    tree = CACHE / f"tree-{sha.strip()}"
    if not tree.exists():
        tree.mkdir()
        archive = subprocess.run(["git", "archive", rev], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree, {**os.environ, "PYTHONPATH": str(tree)}


def seed_with(env: dict[str, str], path: Path, runs: int) -> None:
    """:func:`seed` run by the runtrack that ``env`` imports."""
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import report_store; report_store.seed(*sys.argv[1:3])"
    subprocess.run([sys.executable, "-c", code, str(path), str(runs)], env=env, cwd=env["PYTHONPATH"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="measurements per format (the median is shown)")
    parser.add_argument("--compare", action="store_true", help="also time the per-run Python path")
    parser.add_argument("--before", metavar="REV", help="also time `report --store` of this git revision")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"report_store_{args.runs}.db"
    if not path.exists():
        seed(path, args.runs)
    runtrack_cli = [sys.executable, "-m", "runtrack.cli"]
    rows = []
    for fmt in ("table", "html"):
        out = CACHE / f"report_{args.runs}.{fmt}"
        samples = [measure([*runtrack_cli, "report", "--store", str(path), "--format", fmt, "-o", str(out)])]
        samples += [measure([*runtrack_cli, "report", "--store", str(path), "--format", fmt, "-o", str(out)])
                    for _ in range(args.rounds - 1)]  # fmt: skip
        samples.sort()
        wall, rss = samples[len(samples) // 2]
        rows.append((f"report --store --format {fmt}", wall, max(s[1] for s in samples), out.stat().st_size))
    if args.before:
        tree, env = checkout(args.before)
        old = CACHE / f"report_store_{args.runs}.{tree.name}.db"
        if not old.exists():
            seed_with(env, old, args.runs)
        for fmt in ("table", "html"):
            out = CACHE / f"report_{args.runs}.{tree.name}.{fmt}"
            argv = [*runtrack_cli, "report", "--store", str(old), "--format", fmt, "-o", str(out)]
            samples = sorted(measure(argv, env) for _ in range(args.rounds))
            wall, rss = samples[len(samples) // 2]
            rows.append((f"{args.before}: --format {fmt}", wall, max(s[1] for s in samples), out.stat().st_size))
    if args.compare:  # once: the fold dominates, the format does not matter
        wall, rss = measure([sys.executable, "-c", PER_RUN, str(path), "table"])
        rows.append(("per-run Python fold (before), table", wall, rss, None))
    size_mb = path.stat().st_size / 2**20
    load = os.getloadavg()[0]
    print(f"\n{args.runs:,} runs in {SHARDS} listings, store file {size_mb:,.0f} MB, {os.cpu_count()} CPUs, "
          f"load average {load:.1f}")  # fmt: skip
    print(f"{'what':<34} {'wall s':>7} {'peak RSS MB':>12} {'output':>10}")
    for what, wall, rss, size in rows:
        shown = f"{size / 1024:,.0f} KB" if size is not None else ""
        print(f"{what:<34} {wall:>7.2f} {rss:>12.0f} {shown:>10}")


if __name__ == "__main__":
    main()
