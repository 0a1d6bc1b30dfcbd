"""Serving runs to agents and services: ``runtrack mcp`` (Model Context Protocol tools) and ``runtrack serve``
(a REST API under ``/v1`` with the MCP endpoint mounted in the same app).

:mod:`.operations` is the one layer both speak: MCP tools and REST routes are thin translations of it. Only
:mod:`.mcp_tools`, :mod:`.rest` and :mod:`.app` import the optional ``mcp`` extra. See docs/serve.md.
"""
