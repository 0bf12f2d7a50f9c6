"""``route`` and ``local_max_seconds`` over MCP reach the run's request, and a wrong
route is a tool error naming it."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.server.app import build_server
from loopwright.server.state import ServerState


@pytest.fixture
def server(home: Path) -> MCPServer[ServerState]:
    return build_server(home)


async def test_mcp_route_is_kept_in_the_runs_request(
    server: MCPServer[ServerState], home: Path
) -> None:
    async with Client(server) as c:
        with anyio.fail_after(30):
            r = await c.call_tool(
                "orchestrate",
                {"goal": "write it", "route": "planner", "local_max_seconds": 45, "detach": True},
            )
            assert not r.is_error, r.content
            run_id = r.structured_content["run_id"]  # type: ignore[index]
            await c.call_tool("orchestrate_result", {"run_id": run_id, "wait": True})
            bad = await c.call_tool("orchestrate", {"goal": "x", "route": "fastest"})
    loop = json.loads((home / "runs" / run_id / "request.json").read_text())["loop"]
    assert (loop["route"], loop["local_max_seconds"]) == ("planner", 45)
    assert bad.is_error and "route" in bad.content[0].text  # type: ignore[union-attr]
