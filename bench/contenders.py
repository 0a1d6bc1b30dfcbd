"""One benchmark measurement in this (fresh) process; ``bench/compare.py`` starts one process per measurement.

``python bench/contenders.py key=value ...`` prints one JSON line. The keys are ``contender`` (``runtrack``,
``sdk``, ``raw-json``, ``raw-orjson``), ``vendor``, ``mode`` (``list``: the runs of every given container one
after the other; ``fanout``: runtrack's own fan-out over every container; ``import``: import + connect only),
``base_url``, ``api_key``, ``containers``, ``page_size`` and, for fan-out, ``concurrency``.

Only ``sys``, ``time`` and ``resource`` are imported before the contender's own imports, so the import
figures are what a user's script pays. Peak RSS is ``ru_maxrss`` of the whole process.
"""

from __future__ import annotations

import resource
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing is not imported at run time: it would make the contender's own imports look cheaper
    from collections.abc import Callable
    from typing import Any

    Spec = dict[str, Any]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


# --------------------------------------------------------------------------- runtrack


def runtrack_connect(spec: Spec) -> Any:
    import runtrack

    options: dict[str, Any] = {"base_url": spec["base_url"], "api_key": spec["api_key"]}
    if spec["vendor"] == "foundry":
        options["model_studios"] = spec["containers"]
    if spec.get("concurrency") is not None:
        options["concurrency"] = spec["concurrency"]
    # the client-side rate limit is a policy, not a cost: off unless a benchmark asks for it (a loopback fake)
    options["rate_limit"] = spec.get("rate_limit") or 0
    return runtrack.connect(spec["vendor"], **options)


def _scope(vendor: str, container: str) -> dict[str, Any]:
    if vendor == "langsmith":
        return {"queue_id": container}
    if vendor == "foundry":
        return {"model_studio_rid": container}
    prompt, version = container.split("/")
    return {"prompt_id": prompt, "version_id": version}


def runtrack_list(src: Any, spec: Spec) -> int:
    n = 0
    page_size = spec.get("page_size")
    if spec["mode"] == "fanout":
        for _ in src.runs(page_size=page_size):
            n += 1
        return n
    for container in spec["containers"]:
        for _ in src.runs(page_size=page_size, **_scope(spec["vendor"], container)):
            n += 1
    return n


# --------------------------------------------------------------------------- official SDKs


def sdk_connect(spec: Spec) -> Any:
    vendor = spec["vendor"]
    if vendor == "langsmith":
        import langsmith

        return langsmith.Client(api_url=spec["base_url"], api_key=spec["api_key"], auto_batch_tracing=False)
    if vendor == "foundry":
        import foundry_sdk

        host = spec["base_url"].split("://", 1)[1]
        return foundry_sdk.FoundryClient(
            auth=foundry_sdk.UserTokenAuth(spec["api_key"]), hostname=host, config=foundry_sdk.Config(scheme="http")
        )
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=spec["base_url"], api_key=spec["api_key"])


def sdk_list(client: Any, spec: Spec) -> int:
    vendor, n = spec["vendor"], 0
    for container in spec["containers"]:
        if vendor == "langsmith":
            for _ in client.list_runs_from_annotation_queue(container):
                n += 1
        elif vendor == "foundry":
            for _ in client.models.ModelStudio.Run.list(container, page_size=spec["page_size"], preview=True):
                n += 1
        else:
            prompt, version = container.split("/")
            for _ in client.prompts.runs.list(int(prompt), int(version)):
                n += 1
    return n


# --------------------------------------------------------------------------- raw requests + json/orjson loop


def raw_connect(spec: Spec) -> Any:
    import requests

    session = requests.Session()
    vendor, key = spec["vendor"], spec["api_key"]
    if vendor == "langsmith":
        session.headers["X-API-Key"] = key
    elif vendor == "foundry":
        session.headers["Authorization"] = f"Bearer {key}"
    else:
        session.headers["Authorization"] = f"Token {key}"
    return session


def raw_list(session: Any, spec: Spec) -> int:
    """Fetch every page serially, decode it, count the items: the floor of any client."""
    if spec["contender"] == "raw-orjson":
        import orjson

        loads: Callable[[bytes], Any] = orjson.loads
    else:
        import json

        loads = json.loads
    vendor, base, size, n = spec["vendor"], spec["base_url"], spec["page_size"], 0
    for container in spec["containers"]:
        if vendor == "langsmith":
            url, offset = f"{base}/api/v1/annotation-queues/{container}/runs", 0
            while True:
                response = session.get(url, params={"offset": offset, "limit": size})
                response.raise_for_status()
                items = loads(response.content)
                n += len(items)
                if len(items) < size:
                    break
                offset += len(items)
        elif vendor == "foundry":
            url, token = f"{base}/api/v2/models/modelStudios/{container}/runs", None
            while True:
                params: dict[str, Any] = {"preview": "true", "pageSize": size}
                if token:
                    params["pageToken"] = token
                response = session.get(url, params=params)
                response.raise_for_status()
                body = loads(response.content)
                n += len(body["data"])
                token = body.get("nextPageToken")
                if not token:
                    break
        else:
            prompt, version = container.split("/")
            response = session.get(f"{base}/api/prompts/{prompt}/versions/{version}/inference-runs")
            response.raise_for_status()
            n += len(loads(response.content))
    return n


CONTENDERS: dict[str, tuple[Callable[[Spec], Any], Callable[[Any, Spec], int]]] = {
    "runtrack": (runtrack_connect, runtrack_list),
    "sdk": (sdk_connect, sdk_list),
    "raw-json": (raw_connect, raw_list),
    "raw-orjson": (raw_connect, raw_list),
}


def measure(spec: Spec) -> dict[str, Any]:
    connect, listing = CONTENDERS[spec["contender"]]
    t0 = time.perf_counter()
    client = connect(spec)
    t1 = time.perf_counter()
    out: dict[str, Any] = {"import_connect_s": t1 - t0, "import_connect_rss_mb": _current_rss_mb()}
    if spec["mode"] != "import":
        cpu0 = _cpu_s()
        items = listing(client, spec)
        t2 = time.perf_counter()
        cpu = _cpu_s() - cpu0
        out.update(items=items, seconds=t2 - t1, items_per_s=items / (t2 - t1) if t2 > t1 else 0.0, cpu_s=cpu)
    out["peak_rss_mb"] = _rss_mb()
    return out


def parse_args(argv: list[str]) -> Spec:
    """``key=value`` arguments (no json import before the measurement); ``containers`` is comma-separated."""
    spec: Spec = {"page_size": None, "concurrency": None}
    for arg in argv:
        key, _, value = arg.partition("=")
        if key == "containers":
            spec[key] = value.split(",") if value else []
        elif key in ("page_size", "concurrency"):
            spec[key] = int(value) if value else None
        else:
            spec[key] = value
    return spec


def main() -> None:
    result = measure(parse_args(sys.argv[1:]))
    import json

    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
