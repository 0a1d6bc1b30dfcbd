"""A small test adapter ("clitest"), registered at run time, and helpers to drive the CLI against it.

Boxes hold runs: ``boxes`` lists box names (one page), ``boxes/{box}/runs`` lists runs with offset/limit, two per
page. The data is small and hand-written so the report's numbers can be checked by hand.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import responses

import runtrack
from runtrack import metrics as m
from runtrack.adapter import Option, common_options
from runtrack.cli import main
from runtrack.convert import open_enum, parse_datetime, parse_decimal
from runtrack.http import ErrorInfo, HeaderAuth
from runtrack.paginate import FanOut, HttpListing, Listing, OffsetLimit, Request, Unpaginated
from runtrack.testing import FakeLangSmith

BASE = "https://alpha.clitest.test/api"
BASE2 = "https://beta.clitest.test/api"
KEY = "k3y-alpha-s3cret"
NOW = datetime(2024, 5, 2, 12, 0, tzinfo=timezone.utc)
PAGE = 2
STATUS = {
    "ok": runtrack.RunStatus.SUCCEEDED,
    "bad": runtrack.RunStatus.FAILED,
    "running": runtrack.RunStatus.RUNNING,
    "queued": runtrack.RunStatus.QUEUED,
}
REVIEW = {"todo": runtrack.ReviewStatus.PENDING, "done": runtrack.ReviewStatus.REVIEWED}


def _item(
    id: str, state: str, created: str, start: str | None = None, end: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"id": id, "state": state, "created": created, "start": start, "end": end, **extra}


BOXES: dict[str, list[dict[str, Any]]] = {
    "a": [
        _item(
            "a-0",
            "ok",
            "2024-05-01T09:59:00Z",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:10Z",
            tokens=[100, 50, 150],
            cost="0.10",
            pred=10,
            correct=9,
            review="done",
        ),
        _item(
            "a-1",
            "bad",
            "2024-05-01T09:59:00Z",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:20Z",
            error="model timeout",
            pred=10,
            correct=5,
            review="todo",
        ),
        _item("a-2", "running", "2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z"),  # 36 h before NOW: stuck
        _item("a-3", "queued", "2024-05-02T11:00:00Z"),  # 1 h before NOW: not stuck
        _item(
            "a-4",
            "ok",
            "2024-04-20T00:00:00Z",
            "2024-04-20T00:00:00",
            "2024-04-20T00:00:30",
            cost="0.05",
            review="todo",
            unknown_field={"kept": True},
        ),
    ],
    "b": [
        _item(
            "b-0",
            "ok",
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:40Z",
            tokens=[10, 5, 15],
            cost="1.00",
            currency="EUR",
        ),
        _item("b-1", "bad", "2024-05-01T12:00:00Z", error="model timeout"),
        _item("b-2", "mystery", "2024-05-01T12:00:00Z", error="quota exceeded\nTraceback: ..."),
    ],
    "c": [_item(f"c-{i}", "ok", "2024-05-01T08:00:00Z") for i in range(5)],
}


class ClitestAdapter(runtrack.Adapter):
    name = "clitest"
    kind = "job"
    options = (
        *common_options(base_url_env=("CLITEST_URL",), api_key_env=("CLITEST_KEY",)),
        Option(name="team", env=("CLITEST_TEAM",)),
    )

    def make_auth(self) -> HeaderAuth:
        return HeaderAuth({"X-Key": self.config["api_key"]})

    def describe_error(self, response: Any) -> ErrorInfo:
        body = response.json()
        return ErrorInfo(message=body.get("message"), vendor_code=body.get("code"))

    def parse(self, box: str) -> Callable[[dict[str, Any]], runtrack.Run]:
        def parse(item: dict[str, Any]) -> runtrack.Run:
            status, raw = open_enum(runtrack.RunStatus, STATUS, item.get("state"))
            metrics: dict[str, Any] = {}
            if item.get("tokens"):
                metrics.update(zip(m.TOKENS, item["tokens"], strict=True))
            if item.get("cost") is not None:
                metrics[m.TOTAL_COST] = parse_decimal(item["cost"], "$.cost")
            if item.get("pred") is not None:
                metrics[m.PREDICTIONS], metrics[m.CORRECT] = item["pred"], item["correct"]
            scope = {"box": box, m.CURRENCY: item["currency"]} if item.get("currency") else {"box": box}
            return runtrack.Run(
                platform=self.name,
                instance=self.instance,
                kind=self.kind,
                native_id=item["id"],
                name=item.get("name"),
                status=status,
                status_raw=raw,
                review_status=REVIEW.get(item.get("review") or ""),
                created_at=parse_datetime(item.get("created"), "$.created"),
                started_at=parse_datetime(item.get("start"), "$.start"),
                ended_at=parse_datetime(item.get("end"), "$.end"),
                scope=scope,
                metrics=metrics,
                error=item.get("error"),
                raw=item,
            )

        return parse

    def box_runs(self, box: str, page_size: int | None) -> Listing[runtrack.Run]:
        return HttpListing(
            self.transport.json,
            Request(path=f"boxes/{box}/runs"),
            OffsetLimit(),
            self.parse(box),
            page_size=page_size,
            max_page_size=PAGE,
            key=lambda item: item["id"],
            **self.listing_options(),
        )

    def listing(self, *, page_size: int | None = None, box: str | None = None) -> Listing[runtrack.Run]:
        if box is not None:
            return self.box_runs(box, page_size)
        boxes = HttpListing(self.transport.json, Request(path="boxes"), Unpaginated(items_field="boxes"), str)
        return FanOut(boxes, lambda name: self.box_runs(name, page_size), container_id=str)


class _Plugin:
    @runtrack.hookimpl
    def register_adapters(self, register: Callable[[type[runtrack.Adapter]], None]) -> None:
        register(ClitestAdapter)


@pytest.fixture(autouse=True)
def clitest(fresh_plugins: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the test adapter (after the registry was reset) and give it its key."""
    runtrack.plugin_manager().register(_Plugin(), name="clitest-plugin")
    monkeypatch.setenv("CLITEST_KEY", KEY)
    for var in ("RUNTRACK_CONFIG", "CLITEST_URL", "CLITEST_TEAM"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def page_match(offset: int) -> Any:
    return responses.matchers.query_param_matcher({"offset": str(offset), "limit": str(PAGE)})


def mock_box(
    mock: responses.RequestsMock,
    box: str,
    base: str = BASE,
    *,
    fail_at: int | None = None,
    status: int = 503,
    items: list[dict[str, Any]] | None = None,
) -> None:
    """Serve a box's runs page by page; with ``fail_at`` the page at that offset answers ``status``."""
    items = BOXES[box] if items is None else items
    for offset in range(0, len(items) + 1, PAGE):
        if fail_at is not None and offset == fail_at:
            mock.get(
                f"{base}/boxes/{box}/runs",
                json={"message": "backend on fire", "code": "FIRE"},
                status=status,
                match=[page_match(offset)],
            )
            continue
        mock.get(f"{base}/boxes/{box}/runs", json=items[offset : offset + PAGE], match=[page_match(offset)])


def expected_runs(box: str, base: str = BASE) -> list[runtrack.Run]:
    """The runs the adapter maps from the box's items (no HTTP)."""
    adapter = ClitestAdapter(base_url=base, api_key=KEY, environ={})
    return [adapter.parse(box)(item) for item in BOXES[box]]


CONFIG = f"""
[report]
stuck_after = "6h"
top_errors = 3

[[source]]
name = "alpha"
adapter = "clitest"
base_url = "{BASE}"
api_key_env = "CLITEST_KEY"
team = "red"
scope = {{ box = ["a", "b"] }}

[[source]]
name = "beta"
adapter = "clitest"
base_url = "{BASE2}"
scope = {{ box = "c" }}
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "runtrack.toml"
    path.write_text(CONFIG)
    return path


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def run(*argv: str, now: datetime = NOW) -> Result:
        capsys.readouterr()
        code = main(list(argv), now=now)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def most_requests_at_once(fake: FakeLangSmith) -> list[int]:
    """``[peak]``: the most requests ``fake`` was answering at the same time, from now on."""
    lock, now, peak = threading.Lock(), [0], [0]
    serve = fake._serve

    def counted(*args: Any) -> Any:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            return serve(*args)
        finally:
            with lock:
                now[0] -= 1

    fake._serve = counted  # type: ignore[method-assign]
    return peak


# --------------------------------------------------------------------------- helpers of the export and sync tests


def everything() -> list[runtrack.Run]:
    return expected_runs("a") + expected_runs("b") + expected_runs("c", BASE2)


def mock_all(mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2)


def read(path: Path) -> list[runtrack.Run]:
    with path.open(encoding="utf-8") as fp:
        return list(runtrack.read_jsonl(fp, source=str(path)))


def checkpoint(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out.parent / (out.name + ".checkpoint.json")).read_text())
    return data
