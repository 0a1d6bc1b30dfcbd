"""``runtrack serve`` and ``runtrack mcp`` answer runs that carry lone surrogates (legal JSON) and numbers JSON
cannot hold (``1e400``, ``NaN``): valid UTF-8, strict JSON, and no run lost."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtrack.convert import escape_surrogates
from runtrack.testing import Response
from runtrack.testing._env import no_proxy_updates

from ..serve.conftest import RUNTRACK, Served, http_server
from .servers import LANGSMITH_KEY, Hostile

pytestmark = pytest.mark.e2e

NOW = "2025-01-02T03:04:05Z"
#: one run whose id, name, error and payload carry lone surrogates, and whose payload holds 1e400 and NaN
BODY = (
    b'[{"id": "run-\\ud800", "name": "a\\udfffb", "status": "error", "start_time": "%s", "error": "e\\udc80",'
    b' "big": 1e400, "nan": NaN}]' % NOW.encode()
)


def _strict(data: bytes) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(data.decode("utf-8"), parse_constant=refuse)  # strict UTF-8 too


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A configuration with one LangSmith source whose queue ``q`` answers :data:`BODY`."""

    def answer(req: Any) -> Response:
        if req.path.endswith("/runs") and req.q("offset") in (None, "0"):
            return Response.raw_json(BODY)
        return Response.json([])

    with Hostile(answer) as server:
        config = tmp_path / "runtrack.toml"
        config.write_text(
            f'[[source]]\nname = "ls"\nadapter = "langsmith"\nbase_url = "{server.base_url}"\n'
            f'api_key_env = "SERVE_TEST_LS_KEY"\nmax_retries = 0\nscope = {{ queue_id = "q" }}\n'
        )
        env = {k: v for k, v in os.environ.items() if k not in ("RUNTRACK_CONFIG", "RUNTRACK_SERVE_TOKEN")}
        env["SERVE_TEST_LS_KEY"] = LANGSMITH_KEY
        env.update(no_proxy_updates(env))
        yield Served(fakes={}, config=config, env=env, secrets=[LANGSMITH_KEY])


def _check_run(run: dict[str, Any], as_text: bool = False) -> None:
    """The run, its lone surrogates as themselves (JSON escapes), or ``as_text`` as the text ``\\udXXX``."""
    show = escape_surrogates if as_text else str
    assert run["native_id"] == show("run-\ud800") and run["error"] == show("e\udc80")
    assert run["raw"]["big"] is None and run["raw"]["nan"] is None
    assert run["raw"]["id"] == show("run-\ud800")


def test_rest_answers_lone_surrogates_and_non_finite_numbers_as_strict_json(served: Served) -> None:
    with http_server(served, "serve", "--config", str(served.config)) as server:

        def get(path: str) -> Any:
            with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=60) as answer:
                assert answer.status == 200
                return _strict(answer.read())

        (run,) = get("/v1/runs?source=ls&include_raw=true")["runs"]
        _check_run(run)
        _check_run(get(f"/v1/runs/{run['uid']}?include_raw=true")["run"])
        report = get("/v1/report")
        assert report["sources"][0]["read"] == 1
        assert "Traceback" not in server.stderr()


def test_mcp_answers_lone_surrogates_and_non_finite_numbers(served: Served) -> None:
    pytest.importorskip("mcp")
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    results: dict[str, Any] = {}

    async def main() -> None:
        argv = [*RUNTRACK[1:], "mcp", "--config", str(served.config)]
        params = StdioServerParameters(command=RUNTRACK[0], args=argv, env=served.env)
        with tempfile.TemporaryFile("w+") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                for tool, arguments in (
                    ("list_runs", {"source": "ls", "include_raw": True}),
                    ("run_report", {}),
                ):
                    result = await session.call_tool(tool, arguments)
                    assert not result.is_error, result.content
                    results[tool] = result.structured_content
                uid = results["list_runs"]["runs"][0]["uid"]
                result = await session.call_tool("get_run", {"uid": uid, "include_raw": True})
                assert not result.is_error, result.content
                results["get_run"] = result.structured_content

    anyio.run(main)
    (run,) = results["list_runs"]["runs"]
    # MCP results are JSON the SDK encodes: a surrogate arrives as the text \udXXX, as in tables and CSV
    _check_run(run, as_text=True)
    _check_run(results["get_run"]["run"], as_text=True)
    assert results["run_report"]["sources"][0]["read"] == 1
