"""Serving tests: the three fakes (small data, real HTTP on 127.0.0.1), a configuration that reads them with keys
from the environment, and servers started as the user would (``runtrack mcp`` / ``runtrack serve`` subprocesses)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runtrack.testing import FakeFoundry, FakeLabelStudio, FakeLangSmith
from runtrack.testing._env import no_proxy_updates

from ..e2e.platforms import FOUNDRY, LABELSTUDIO, LANGSMITH, Platform
from ..hardening.servers import leaked

#: the installed console script, as users start it (``python -m runtrack.cli`` where there is none)
_SCRIPT = Path(sys.executable).with_name("runtrack")
RUNTRACK = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "runtrack.cli"]
TOKEN = "serve-t0ken-Do-Not-Print"
#: source name -> the platform whose fake and ground truth it reads
PLATFORMS: dict[str, Platform] = {"langsmith": LANGSMITH, "foundry": FOUNDRY, "labelstudio": LABELSTUDIO}


@dataclass
class Served:
    """The fakes, the configuration file and the environment a server runs with; ``secrets`` must never leak."""

    fakes: dict[str, Any]
    config: Path
    env: dict[str, str]
    secrets: list[str]
    seen: list[str] = field(default_factory=list)  #: every result, response and stderr text, for the secret scan

    def record(self, text: str) -> str:
        self.seen.append(text)
        return text


def _config(fakes: Mapping[str, Any]) -> str:
    ls, fd, lb = fakes["langsmith"], fakes["foundry"], fakes["labelstudio"]
    return f"""
[report]
stuck_after = "6h"
top_errors = 3

[[source]]
name = "langsmith"
adapter = "langsmith"
base_url = "{ls.base_url}"
api_key_env = "SERVE_TEST_LS_KEY"
page_size = {LANGSMITH.page_size}
max_retries = 0

[[source]]
name = "foundry"
adapter = "foundry"
base_url = "{fd.base_url}"
api_key_env = "SERVE_TEST_FD_TOKEN"
model_studios = {json.dumps(list(fd.studio_rids))}
page_size = {FOUNDRY.page_size}
max_retries = 0

[[source]]
name = "labelstudio"
adapter = "labelstudio"
base_url = "{lb.base_url}"
api_key_env = "SERVE_TEST_LB_TOKEN"
max_retries = 0
"""


@contextlib.contextmanager
def start_fakes(tmp: Path) -> Iterator[Served]:
    """Fresh fakes of the three platforms and a configuration reading them (keys in ``env`` only)."""
    classes = {"langsmith": FakeLangSmith, "foundry": FakeFoundry, "labelstudio": FakeLabelStudio}
    fakes: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        for name, platform in PLATFORMS.items():
            fakes[name] = stack.enter_context(classes[platform.vendor](**platform.fake_options))
        config = tmp / "runtrack.toml"
        config.write_text(_config(fakes))
        keys = {
            "SERVE_TEST_LS_KEY": fakes["langsmith"].api_key,
            "SERVE_TEST_FD_TOKEN": fakes["foundry"].token,
            "SERVE_TEST_LB_TOKEN": fakes["labelstudio"].token,
        }
        env = {k: v for k, v in os.environ.items() if k not in ("RUNTRACK_CONFIG", "RUNTRACK_SERVE_TOKEN")}
        env.update(keys)
        env.update(no_proxy_updates(env))
        yield Served(fakes=fakes, config=config, env=env, secrets=[*keys.values(), TOKEN])


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The fakes most tests share: nothing writes to them."""
    with start_fakes(tmp_path_factory.mktemp("serve")) as served:
        yield served
    assert_no_secrets(served)


class Server:
    """A ``runtrack`` server subprocess; ``url`` is where it said it serves; ``stderr()`` all it wrote there."""

    def __init__(self, proc: subprocess.Popen[str], url: str, lines: list[str]) -> None:
        self.proc, self.url, self._lines = proc, url, lines

    def stderr(self) -> str:
        return "".join(self._lines)


@contextlib.contextmanager
def http_server(served: Served, *args: str, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """Start ``runtrack ARGS --port 0`` and wait for its "serving ... on URL" line."""
    proc = subprocess.Popen(
        [*RUNTRACK, *args, "--port", "0"],
        env={**served.env, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        if not ready.wait(60) or " on http://" not in lines[0]:
            raise AssertionError(f"the server did not start: {''.join(lines)!r}")
        yield Server(proc, lines[0].split(" on ", 1)[1].strip(), lines)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        served.record("".join(lines))


@pytest.fixture(scope="package")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Fakes for the tests that write (create, cancel, queue, fault knobs): the others' ground truth stays put.
    These tests read their ground truth from the fakes when they check it, after any write."""
    with start_fakes(tmp_path_factory.mktemp("own")) as served:
        yield served
    assert_no_secrets(served)


@pytest.fixture(scope="package")
def own_server(own: Served) -> Iterator[Server]:
    """``runtrack serve`` over the writing tests' fakes, on 127.0.0.1 without RUNTRACK_SERVE_TOKEN (none asked for)."""
    with http_server(own, "serve", "--config", str(own.config)) as server:
        yield server


def runtrack_cli(served: Served, *args: str) -> str:
    """``runtrack ARGS`` as a user runs it, with the served environment; its stdout (it must succeed)."""
    done = subprocess.run([*RUNTRACK, *args], env=served.env, capture_output=True, text=True, timeout=120)
    served.record(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr
    return done.stdout


def timeless(report: dict[str, Any]) -> dict[str, Any]:
    """A JSON report without the times that say when it was made or read (two runs never share them)."""
    del report["generated_at"]
    for src in report["sources"]:
        src.pop("read_at", None)
        src.pop("finished_at", None)
    return report


def assert_no_secrets(served: Served) -> None:
    """No 8-character piece of any secret in what the servers answered and wrote (the secret scan's rule)."""
    leaks = [(found, text[:200]) for text in served.seen if (found := leaked(text, *served.secrets))]
    assert not leaks, f"a secret leaked: {leaks[:1]}"
