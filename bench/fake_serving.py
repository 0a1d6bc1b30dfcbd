"""Serving speed of the fakes: ``python bench/fake_serving.py [--runs N] [--page P]``.

Fetches every page with a plain ``requests.Session`` loop and times, separately, fetching a page
(server + transfer + ``response.content``) and ``json.loads`` of it: serving must cost well under parsing.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import requests

from runtrack.testing._foundry import FakeFoundry
from runtrack.testing._langsmith import FakeLangSmith


class _Clock:
    """Splits wall time between fetching (server + transfer) and ``json.loads``."""

    def __init__(self) -> None:
        self.fetch = self.parse = 0.0
        self.pages = self.runs = self.bytes = 0

    def get(self, session: requests.Session, url: str, params: dict[str, str | int]) -> Any:
        t0 = time.perf_counter()
        response = session.get(url, params=params)
        response.raise_for_status()
        body = response.content
        t1 = time.perf_counter()
        parsed = json.loads(body)
        self.parse += time.perf_counter() - t1
        self.fetch += t1 - t0
        self.pages += 1
        self.bytes += len(body)
        self.runs += len(parsed["data"] if isinstance(parsed, dict) else parsed)
        return parsed

    def report(self, label: str) -> None:
        print(
            f"{label:16} {self.pages} pages, {self.runs} runs, {self.bytes / 1e6:.0f} MB: fetched in "
            f"{self.fetch:.2f} s ({self.pages / self.fetch:.0f} pages/s, {self.runs / self.fetch:.0f} runs/s, "
            f"{self.bytes / self.fetch / 1e6:.0f} MB/s); json.loads of the same pages {self.parse:.2f} s"
        )


def _langsmith(fake: FakeLangSmith, session: requests.Session, page: int) -> _Clock:
    clock = _Clock()
    for queue_id in fake.queue_ids:
        offset = 0
        while True:
            rows = clock.get(
                session, f"{fake.base_url}/api/v1/annotation-queues/{queue_id}/runs", {"offset": offset, "limit": page}
            )
            if len(rows) < page:
                break
            offset += page
    return clock


def _foundry(fake: FakeFoundry, session: requests.Session, page: int) -> _Clock:
    clock = _Clock()
    for rid in fake.studio_rids:
        token: str | None = None
        while True:
            params: dict[str, str | int] = {"preview": "true", "pageSize": page}
            if token:
                params["pageToken"] = token
            token = clock.get(session, f"{fake.base_url}/api/v2/models/modelStudios/{rid}/runs", params).get(
                "nextPageToken"
            )
            if not token:
                break
    return clock


def main() -> None:
    """Run the benchmark: a cold pass (pages rendered on demand) then a warm pass (served from the cache)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()
    with FakeLangSmith(queues=1, runs_per_queue=args.runs, cache_bytes=2**30) as ls, requests.Session() as s:
        s.headers["X-API-Key"] = ls.api_key
        for attempt in ("cold", "warm"):
            _langsmith(ls, s, args.page).report(f"langsmith {attempt}")
    with FakeFoundry(studios=1, runs_per_studio=args.runs, cache_bytes=2**30) as fd, requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {fd.token}"
        for attempt in ("cold", "warm"):
            _foundry(fd, s, args.page).report(f"foundry {attempt}")


if __name__ == "__main__":
    main()
