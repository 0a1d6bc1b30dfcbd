"""What remembering every id of a listing costs: ``runtrack.paginate.seen.SeenIds`` against a plain ``set`` of the
same 64-bit hashes, side by side in one process.

    python bench/seen_ids.py --ids 1000000 --rounds 3

Each contender claims ``--ids`` new ids in pages of 1,000, hashing each page's ids as a listing does (the hashing
is in both times), then claims the first 10% again (all duplicates). Reported: microseconds per id (best of
``--rounds``, contenders alternating) and the bytes per id the structure holds at the end (``tracemalloc``, measured
in a separate pass so it does not slow the timing).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable

from runtrack.paginate.seen import SeenIds


class PlainSet(SeenIds):
    """The obvious alternative: a set of the hashes and nothing else (``SeenIds`` before its first compaction,
    kept so: the same answers from the same loop, no compaction)."""

    __slots__ = ()

    def _grown(self) -> None:
        pass


def run(make: Callable[[], object], pages: list[list[str]], again: int) -> object:
    """A listing's walk: each page's ids hashed as the listing hashes them (so the structure owns its ints)."""
    seen = make()
    for page in pages:
        seen.claim([hash(i) for i in page])  # type: ignore[attr-defined]
    for page in pages[:again]:
        kept, _ = seen.claim([hash(i) for i in page])  # type: ignore[attr-defined]
        assert not kept
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ids = [f"run-{i:08d}" for i in range(args.ids)]
    pages = [ids[i : i + 1000] for i in range(0, len(ids), 1000)]
    again = max(1, len(pages) // 10)
    contenders: dict[str, Callable[[], object]] = {"SeenIds": SeenIds, "set": PlainSet}
    best = {name: float("inf") for name in contenders}
    for r in range(args.rounds):
        for name in list(contenders)[r % 2 :] + list(contenders)[: r % 2]:
            t0 = time.perf_counter()
            run(contenders[name], pages, again)
            best[name] = min(best[name], time.perf_counter() - t0)
    size = {}
    for name, make in contenders.items():
        tracemalloc.start()
        kept = run(make, pages, again)
        size[name] = tracemalloc.get_traced_memory()[0] / args.ids
        tracemalloc.stop()
        del kept
    claimed = args.ids + again * 1000
    print(f"{args.ids:,} ids in pages of 1,000, then {again * 1000:,} again; best of {args.rounds}")
    print("| contender | µs per id | bytes per id held | × set, time |")
    print("| --- | ---: | ---: | ---: |")
    for name in contenders:
        print(f"| {name} | {best[name] / claimed * 1e6:.2f} | {size[name]:.1f} | {best[name] / best['set']:.2f} |")


if __name__ == "__main__":
    main()
