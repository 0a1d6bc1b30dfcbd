"""`runtrack mcp` through the MCP SDK's own clients (stdio and streamable HTTP) over the three fakes."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
import anyio.from_thread
import pytest
from anyio.from_thread import BlockingPortal

pytest.importorskip("mcp")

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

import runtrack
from runtrack.serve.output import MAX_STRING

from .conftest import PLATFORMS, RUNTRACK, Served, assert_no_secrets, http_server, runtrack_cli, timeless

pytestmark = pytest.mark.e2e

SEVEN = ["list_sources", "list_runs", "get_run", "run_report", "create_run", "cancel_run", "add_to_queue"]
#: (readOnlyHint, idempotentHint, destructiveHint) as the issue and DESIGN.md fix them
HINTS = {
    "list_sources": (True, True, False),
    "list_runs": (True, True, False),
    "get_run": (True, True, False),
    "run_report": (True, True, False),
    "create_run": (False, False, False),
    "cancel_run": (False, False, True),
    "add_to_queue": (False, False, False),
}


@contextlib.asynccontextmanager
async def stdio_session(served: Served, *args: str, config: bool = True) -> AsyncIterator[ClientSession]:
    """``runtrack mcp [--config FILE] ARGS`` through the SDK's stdio client, initialized."""
    argv = [*RUNTRACK[1:], "mcp", *(["--config", str(served.config)] if config else []), *args]
    params = StdioServerParameters(command=RUNTRACK[0], args=argv, env=served.env)
    with tempfile.TemporaryFile("w+") as errlog:
        try:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                result = await session.initialize()
                assert result.server_info.name == "runtrack"
                yield session
        finally:
            errlog.seek(0)
            served.record(errlog.read())


@pytest.fixture(scope="module")
def shared(served: Served) -> Iterator[tuple[BlockingPortal, ClientSession]]:
    """One ``runtrack mcp`` over stdio for the module's tests (the SDK's client runs in a portal's event loop)."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(stdio_session(served)) as session,
    ):
        yield portal, session


def run(
    served: Served,
    body: Callable[[ClientSession], Awaitable[None]],
    *args: str,
    shared: tuple[BlockingPortal, ClientSession] | None = None,
) -> None:
    """``body(session)`` in the shared session, or in a server of its own started with ``args``."""
    if shared is not None:
        portal, session = shared
        portal.call(body, session)
        return

    async def main() -> None:
        async with stdio_session(served, *args) as session:
            await body(session)

    anyio.run(main)


async def call(served: Served, session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool call that must succeed; its structured result (also checked against its text content)."""
    result = await session.call_tool(tool, arguments)
    text = "".join(getattr(c, "text", "") for c in result.content)
    served.record(text)
    assert not result.is_error, text
    assert isinstance(result.structured_content, dict)
    assert json.loads(text) == result.structured_content
    return result.structured_content


async def tool_error(served: Served, session: ClientSession, tool: str, **arguments: Any) -> str:
    """A tool call that must fail; its text (the SDK prefixes ``Error executing tool NAME: ``)."""
    result = await session.call_tool(tool, arguments)
    text = "".join(getattr(c, "text", "") for c in result.content)
    served.record(text)
    assert result.is_error, text
    return text


def problem_of(text: str) -> dict[str, Any]:
    """The problem document in a tool error's text."""
    assert text.startswith("Error executing tool "), text
    doc: dict[str, Any] = json.loads(text[text.index("{") :])
    return doc


def test_initialize_lists_the_seven_tools_with_their_hints(
    served: Served, shared: tuple[BlockingPortal, ClientSession]
) -> None:
    async def body(session: ClientSession) -> None:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert list(tools) == SEVEN
        for name, (read_only, idempotent, destructive) in HINTS.items():
            hints = tools[name].annotations
            assert hints is not None, name
            assert (hints.read_only_hint, hints.idempotent_hint, hints.destructive_hint) == (
                read_only,
                idempotent,
                destructive,
            ), name
            for prop, schema in tools[name].input_schema.get("properties", {}).items():
                assert schema.get("description"), f"{name}.{prop} has no description"
            assert tools[name].description
        assert "cannot be resumed" in (tools["cancel_run"].description or "")
        assert tools["list_runs"].input_schema["properties"]["limit"]["maximum"] == 200

    run(served, body, shared=shared)
    assert_no_secrets(served)


def test_list_runs_pages_cover_each_source_exactly_once(
    served: Served, shared: tuple[BlockingPortal, ClientSession]
) -> None:
    async def body(session: ClientSession) -> None:
        everything: list[str] = []
        for name, platform in PLATFORMS.items():
            runs, cursor, pages = [], None, 0
            while True:
                # a limit that changes from call to call, cutting across the vendor pages differently each time
                limit = (5, 13, 2)[pages % 3]
                args: dict[str, Any] = {"source": name, "limit": limit, "include_raw": True}
                page = await call(served, session, "list_runs", **({"cursor": cursor} | args if cursor else args))
                assert len(page["runs"]) == limit or page["next_cursor"] is None
                runs += [runtrack.converter.structure(r, runtrack.Run) for r in page["runs"]]
                cursor, pages = page["next_cursor"], pages + 1
                if cursor is None:
                    break
            platform.assert_exactly_once(platform.keys(runs), platform.truth(served.fakes[name]))
            assert pages > 1
            everything += [f"{name}:{platform.key(r)}" for r in runs]
        # without a source, one cursor walks every source in turn
        walked, cursor = [], None
        while True:
            page = await call(served, session, "list_runs", limit=50, **({"cursor": cursor} if cursor else {}))
            walked += [r["uid"] for r in page["runs"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(walked) == len(everything)
        assert all("raw" not in r for r in page["runs"])

    run(served, body, shared=shared)
    assert_no_secrets(served)


def test_get_run_by_uid_and_by_native_id(served: Served, shared: tuple[BlockingPortal, ClientSession]) -> None:
    async def body(session: ClientSession) -> None:
        for name in PLATFORMS:
            listed = (await call(served, session, "list_runs", source=name, limit=3))["runs"][-1]
            by_uid = await call(served, session, "get_run", uid=listed["uid"])
            assert by_uid == {"source": name, "run": listed}
            by_id = await call(served, session, "get_run", source=name, native_id=listed["native_id"])
            assert by_id["run"] == listed
            raw = await call(served, session, "get_run", uid=listed["uid"], include_raw=True)
            assert "raw" in raw["run"]
        missing = await tool_error(served, session, "get_run", source="labelstudio", native_id="no-such-run")
        assert problem_of(missing)["status"] == 404

    run(served, body, shared=shared)


def test_run_report_equals_the_cli_json_report(served: Served, shared: tuple[BlockingPortal, ClientSession]) -> None:
    cli = runtrack_cli(served, "report", "--config", str(served.config), "--format", "json", "--since", "2020-01-01")
    expected = json.loads(cli)

    async def body(session: ClientSession) -> None:
        got = await call(served, session, "run_report", since="2020-01-01")
        assert timeless(got) == timeless(expected)
        assert {s["name"] for s in got["sources"]} == set(PLATFORMS)

    run(served, body, shared=shared)
    assert_no_secrets(served)


def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(
    served: Served, shared: tuple[BlockingPortal, ClientSession]
) -> None:
    async def body(session: ClientSession) -> None:
        await tool_error(served, session, "list_runs", limit=0)
        unknown = problem_of(await tool_error(served, session, "list_runs", source="nope"))
        assert (unknown["status"], unknown["title"]) == (404, "Unknown source")
        assert "valid: foundry, labelstudio, langsmith" in unknown["detail"]
        bad = problem_of(await tool_error(served, session, "list_runs", source="langsmith", status="DONE"))
        assert bad["status"] == 400 and "SUCCEEDED" in bad["detail"]
        first = await call(served, session, "list_runs", source="langsmith", limit=2)
        replayed = problem_of(
            await tool_error(served, session, "list_runs", source="foundry", cursor=first["next_cursor"])
        )
        assert "another request" in replayed["detail"]
        scope = problem_of(await tool_error(served, session, "list_runs", source="langsmith", scope={"queue": "x"}))
        assert "queue_id" in scope["detail"]
        await tool_error(served, session, "get_run")
        await tool_error(served, session, "no_such_tool")
        # and the next call works
        again = await call(served, session, "list_runs", source="langsmith", limit=2)
        assert again["runs"] == first["runs"]

    run(served, body, shared=shared)
    assert_no_secrets(served)


def test_streamable_http_transport(served: Served) -> None:
    with http_server(served, "mcp", "--config", str(served.config), "--transport", "http") as server:

        async def main() -> None:
            async with (
                streamable_http_client(server.url + "/mcp") as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                assert [t.name for t in (await session.list_tools()).tools] == SEVEN
                page = await call(served, session, "list_runs", source="foundry", limit=200)
                platform = PLATFORMS["foundry"]
                got = [(r["scope"]["model_studio_rid"], r["native_id"]) for r in page["runs"]]
                platform.assert_exactly_once(got, platform.truth(served.fakes["foundry"]))
                await tool_error(served, session, "list_runs", source="foundry", limit=1000)
                assert (await call(served, session, "list_sources"))["reads_from"] == "live"

        anyio.run(main)
    assert_no_secrets(served)


def test_long_strings_are_clipped_with_a_marker() -> None:
    from runtrack.serve.output import clip

    text = "x" * (MAX_STRING + 10)
    assert clip({"a": [text]}) == {"a": ["x" * MAX_STRING + "…[clipped 10 characters]"]}
    assert clip("short") == "short"
