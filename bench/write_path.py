"""The export write path per LangSmith run, the old way and the new way, side by side in one process.

* ``before``: ``converter.unstructure(run)`` (cattrs walks ``raw``) + ``json.dumps`` + UTF-8 encode (what
  ``write_jsonl`` did up to 091f8b3);
* ``dump_run + stdlib``: the new ``dump_run`` (``raw`` passed through) + ``encode_json_line`` without orjson;
* ``dump_run + orjson``: the same with orjson (the ``fast`` extra).

Runs come from ``runtrack.testing.FakeLangSmith`` (~5.5 KB each), mapped by the LangSmith adapter. The rounds
interleave the contenders; the figure is the best round. Every contender's bytes are checked to decode to the same
documents.

    python bench/write_path.py [--runs 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from runtrack_langsmith.mapping import queue_run_parser

from runtrack import convert
from runtrack.convert import base_converter, dump_run, encode_json_line
from runtrack.testing import FakeLangSmith


def before(runs: list[Any]) -> bytes:
    conv = base_converter()
    return b"".join(
        (json.dumps(conv.unstructure(r), ensure_ascii=False, separators=(",", ":")) + "\n").encode() for r in runs
    )


def new_stdlib(runs: list[Any]) -> bytes:
    saved = convert._orjson_dumps
    convert._orjson_dumps = None
    try:
        return b"".join(encode_json_line(dump_run(r)) for r in runs)
    finally:
        convert._orjson_dumps = saved


def new_orjson(runs: list[Any]) -> bytes:
    return b"".join(encode_json_line(dump_run(r)) for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    fake = FakeLangSmith(seed=1, queues=1, runs_per_queue=args.runs)
    queue = fake.queue_ids[0]
    parse = queue_run_parser(instance="bench.example", queue_id=queue, review=None, web="https://bench.example")
    runs = [parse(row) for row in fake.queue_runs(queue)]
    contenders: dict[str, Callable[[list[Any]], bytes]] = {
        "before (cattrs + json.dumps)": before,
        "dump_run + stdlib": new_stdlib,
        "dump_run + orjson": new_orjson,
    }
    best = {name: float("inf") for name in contenders}
    outputs: dict[str, bytes] = {}
    for _ in range(args.rounds):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            outputs[name] = fn(runs)
            best[name] = min(best[name], time.perf_counter() - t0)
    docs = {name: [json.loads(line) for line in data.splitlines()] for name, data in outputs.items()}
    same = all(d == next(iter(docs.values())) for d in docs.values())
    size = len(outputs["dump_run + orjson"]) / len(runs)
    print(f"{len(runs)} LangSmith runs, {size:,.0f} bytes each as JSON; same documents from every contender: {same}")
    print(f"new paths byte-identical: {outputs['dump_run + stdlib'] == outputs['dump_run + orjson']}")
    base = best["before (cattrs + json.dumps)"]
    print("| contender | µs per run | × before |")
    print("| --- | ---: | ---: |")
    for name, seconds in best.items():
        print(f"| {name} | {seconds / len(runs) * 1e6:.1f} | {base / seconds:.1f} |")


if __name__ == "__main__":
    main()
