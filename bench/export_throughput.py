"""`runtrack export` of N LangSmith runs to JSON Lines: a baseline commit against the working tree, side by side.

The baseline is taken from git (``git archive REV``) into a temporary directory; every measurement is a fresh
process running ``runtrack.cli.main(["export", ...])`` with either tree first on ``PYTHONPATH``, against one fake
server process (``serve.py``: ~5.5 KB LangSmith runs split over ``--queues`` queues, optional ``--latency``).
Contenders alternate round by round; the figure is the median. The outputs of every contender must be the same
bytes (checked with SHA-256), so the comparison is of the same work.

    python bench/export_throughput.py --baseline 091f8b3 --runs 100000 --queues 10 --rounds 3
    python bench/export_throughput.py --baseline 091f8b3 --runs 100000 --queues 10 --latency 0.1 --rounds 1

Contenders: ``baseline`` (the baseline tree's CLI), ``current`` (the working tree's CLI with its defaults) and, with
``--jobs``, ``current -j N`` for each N given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from runtrack.cli import main
import runtrack
code = main(sys.argv[1:])
wall = time.perf_counter() - t0
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"code": code, "seconds": wall, "cpu_s": u.ru_utime + u.ru_stime,
                  "peak_rss_mb": u.ru_maxrss / 1024, "runtrack": runtrack.__file__}))
"""


def checkout(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (runtrack/ and adapters/) unpacked into ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "runtrack", "adapters"], capture_output=True)
    if archive.returncode:
        raise SystemExit(f"git archive {rev}: {archive.stderr.decode().strip()}")
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def compiled(tree: Path) -> Path:
    """``tree`` with its bytecode written, as ``pip install`` leaves a package: every measured process then loads
    it instead of compiling the sources again (which ``PYTHONDONTWRITEBYTECODE`` would make it do every time)."""
    packages = [str(tree / "runtrack"), str(tree / "adapters")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)
    return tree


def config(path: Path, info: dict[str, Any]) -> Path:
    queues = ", ".join(json.dumps(q) for q in info["containers"])
    path.write_text(
        "[[source]]\n"
        'name = "ls"\n'
        'adapter = "langsmith"\n'
        f"base_url = {json.dumps(info['base_url'])}\n"
        'api_key_env = "BENCH_LANGSMITH_KEY"\n'
        "rate_limit = 0\n"
        f"scope = {{ queue_id = [{queues}] }}\n"
    )
    return path


def config_baseline(path: Path, info: dict[str, Any]) -> Path:
    """The baseline knows no ``rate_limit`` option."""
    text = config(path, info).read_text().replace("rate_limit = 0\n", "")
    path.write_text(text)
    return path


def measure(tree: Path, cfg: Path, out: Path, key: str, extra: list[str]) -> dict[str, Any]:
    for path in (out, out.with_name(out.name + ".checkpoint.json")):
        if path.exists():
            path.unlink()
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'adapters'}", "BENCH_LANGSMITH_KEY": key}
    cmd = [sys.executable, "-c", CHILD, "--quiet", "export", "--config", str(cfg), "-o", str(out), *extra]
    # cwd: not the checkout, whose runtrack/ would shadow PYTHONPATH through sys.path[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600, cwd=out.parent)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:300]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        return {"error": f"exit {result['code']}: {proc.stderr.strip()[-300:]}"}
    if not result["runtrack"].startswith(str(tree)):
        return {"error": f"imported {result['runtrack']}, not the tree under test"}
    # read in chunks: a forked child starts with the parent's memory, so a parent holding the whole output would
    # show up in every later child's peak RSS
    digest, lines, size = hashlib.sha256(), 0, 0
    with out.open("rb") as fp:
        for chunk in iter(lambda: fp.read(1 << 20), b""):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            size += len(chunk)
    result.update(sha256=digest.hexdigest(), lines=lines, bytes=size)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="git revision to compare with (e.g. 091f8b3)")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--queues", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the fake adds to every answer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, action="append", default=[], help="also measure `current -j N`")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    args = parser.parse_args()

    serve = [sys.executable, str(HERE / "serve.py"), "langsmith", f"--runs={args.runs}"]
    serve += [f"--containers={args.queues}", f"--latency={args.latency}"]
    with tempfile.TemporaryDirectory(prefix="rt-export-bench-") as tmp_name:
        tmp = Path(tmp_name)
        base_tree = compiled(checkout(args.baseline, tmp / "baseline"))
        compiled(ROOT)
        server = subprocess.Popen(serve, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            info = json.loads(server.stdout.readline())
            key = info["api_key"]
            contenders: dict[str, tuple[Path, Path, list[str]]] = {
                "baseline": (base_tree, config_baseline(tmp / "base.toml", info), []),
                "current": (ROOT, config(tmp / "cur.toml", info), []),
            }
            for jobs in args.jobs:
                contenders[f"current -j {jobs}"] = (ROOT, tmp / "cur.toml", ["--jobs", str(jobs)])
            names = list(contenders)
            samples: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
            for r in range(args.rounds):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    tree, cfg, extra = contenders[name]
                    result = measure(tree, cfg, tmp / "out.jsonl", key, extra)
                    samples[name].append(result)
                    shown = result.get("error") or (
                        f"{args.runs / result['seconds']:,.0f} runs/s, {result['seconds']:.2f} s, "
                        f"cpu {result['cpu_s']:.2f} s, {result['peak_rss_mb']:.0f} MB"
                    )
                    print(f"round {r + 1} {name}: {shown}", file=sys.stderr, flush=True)
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(30)
    ok = {n: [s for s in ss if "error" not in s] for n, ss in samples.items()}
    digests = {s["sha256"] for ss in ok.values() for s in ss}
    lines = {s["lines"] for ss in ok.values() for s in ss}
    print(f"\nexport of {args.runs:,} LangSmith runs in {args.queues} queues, latency {args.latency * 1000:.0f} ms")
    if len(digests) != 1 or lines != {args.runs}:
        print(f"OUTPUTS DIFFER: {len(digests)} distinct outputs, line counts {sorted(lines)}")
    else:
        print(f"every output identical: {args.runs:,} lines, {next(iter(ok.values()))[0]['bytes']:,} bytes")
    base = statistics.median(s["seconds"] for s in ok["baseline"]) if ok["baseline"] else None
    print("| contender | seconds | runs/s | CPU s | peak RSS MB | × baseline |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        if not ok[name]:
            print(f"| {name} | error: {samples[name][0].get('error')} | | | | |")
            continue
        sec = statistics.median(s["seconds"] for s in ok[name])
        cpu = statistics.median(s["cpu_s"] for s in ok[name])
        rss = statistics.median(s["peak_rss_mb"] for s in ok[name])
        ratio = f"{base / sec:.2f}" if base else "-"
        print(f"| {name} | {sec:.2f} | {args.runs / sec:,.0f} | {cpu:.2f} | {rss:.0f} | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps(samples, indent=1))


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\n(wall {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
