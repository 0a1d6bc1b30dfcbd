"""docs/serve.md is true: its curl lines are issued against `runtrack serve` over the fakes, its MCP client block
is valid JSON that starts `runtrack mcp`, and its table of tools says what the server's annotations say."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import requests

pytest.importorskip("mcp")

from runtrack.serve.mcp_tools import TOOLS

from .conftest import Served, Server

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs" / "serve.md"
DOC_ORIGIN = "http://127.0.0.1:8080"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def curl_lines() -> list[str]:
    return [line[2:] for block in blocks("console") for line in block.splitlines() if line.startswith("$ curl ")]


def as_request(line: str, variables: dict[str, str], origin: str) -> dict[str, Any]:
    """The request a curl line makes: ``$NAME`` expanded as the shell would, the doc's origin swapped for ours."""
    args = shlex.split(re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], line))
    assert args[0] == "curl"
    request: dict[str, Any] = {"method": "GET", "headers": {}}
    i = 1
    while i < len(args):
        arg = args[i]
        if arg == "-s":
            i += 1
        elif arg in ("-X", "-H", "-d"):
            value = args[i + 1]
            if arg == "-X":
                request["method"] = value
            elif arg == "-H":
                name, _, header = value.partition(": ")
                request["headers"][name] = header
            else:
                request["data"] = value.encode()
            i += 2
        else:
            assert arg.startswith(DOC_ORIGIN + "/v1/"), f"unexpected curl argument {arg!r} in {line!r}"
            request["url"] = origin + arg[len(DOC_ORIGIN) :]
            i += 1
    return request


def test_the_curl_examples_work(own: Served, own_server: Server) -> None:
    lines = curl_lines()
    assert len(lines) >= 10
    first = requests.get(own_server.url + "/v1/runs", params={"source": "langsmith", "limit": 20}, timeout=60).json()
    lb = requests.get(own_server.url + "/v1/runs", params={"source": "labelstudio", "limit": 1}, timeout=60).json()
    ls = own.fakes["langsmith"]
    variables = {
        "CURSOR": first["next_cursor"],
        "UID": lb["runs"][0]["uid"],
        "STUDIO_RID": own.fakes["foundry"].studio_rids[0],
        "QUEUE_ID": ls.queue_ids[0],
        "RUN_ID": ls.runs_by_queue[ls.queue_ids[1]][0],
        "RUNTRACK_SERVE_TOKEN": "not-needed-on-this-server",
    }
    methods = set()
    for line in lines:
        request = as_request(line, variables, own_server.url)
        response = requests.request(timeout=60, **request)
        own.record(response.text)
        assert 200 <= response.status_code < 300, f"{line}\n-> {response.status_code} {response.text}"
        assert isinstance(response.json(), dict)
        methods.add((request["method"], re.sub(r"/v1/(\w+).*", r"\1", request["url"][len(own_server.url) :])))
    assert {m for m, _ in methods} == {"GET", "POST"}
    assert {p for _, p in methods} == {"sources", "runs", "report", "queues"}


def test_the_mcp_client_block_starts_runtrack_mcp() -> None:
    (block,) = blocks("json")[:1]
    server = json.loads(block)["mcpServers"]["runtrack"]
    assert (server["command"], server["args"][0]) == ("runtrack", "mcp")
    assert all(isinstance(v, str) for v in server["env"].values())


def test_the_tools_table_matches_the_annotations() -> None:
    rows = re.findall(r"^\| `(\w+)` \|[^|]*\| (true|false) \| (true|false) \| (true|false) \|$", DOC.read_text(), re.M)
    table = {name: tuple(v == "true" for v in hints) for name, *hints in rows}
    assert table == {
        name: (bool(a.read_only_hint), bool(a.idempotent_hint), bool(a.destructive_hint)) for name, a in TOOLS.items()
    }
