"""The MCP tools' side of memory and improve: orchestrate's ``memory`` and the ``improve``
tool."""

from __future__ import annotations

from pathlib import Path

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.runs import runner
from loopwright.runs.store import RunStore
from loopwright.server.app import build_server
from loopwright.server.state import ServerState

from ..cli.test_improve_cmd import scenario


async def test_the_mcp_tool_takes_memory_and_refuses_other_words(
    home: Path, store: RunStore
) -> None:
    server: MCPServer[ServerState] = build_server(home)
    async with Client(server) as c:
        r = await c.call_tool("orchestrate", {"goal": "g", "memory": "off", "detach": True})
        assert not r.is_error and r.structured_content is not None
        run_id = r.structured_content["run_id"]
        assert store.read_request(run_id)["memory"] == "off"
        await anyio.to_thread.run_sync(runner.wait, store, run_id, 30)
        bad = await c.call_tool("orchestrate", {"goal": "g", "memory": "everything"})
        assert bad.is_error and "memory" in bad.content[0].text  # type: ignore[union-attr]


async def test_the_mcp_tool_starts_an_improve_run(repo: Path, tmp_path: Path, home: Path) -> None:
    spec = scenario(tmp_path)
    async with Client(build_server(home)) as c:
        r = await c.call_tool("improve", {"task": "Write notes", "cwd": str(repo),
                                          "backend": spec, "max_cycles": 1})  # fmt: skip
        assert not r.is_error and r.structured_content is not None, r.content
        run_id = r.structured_content["run_id"]
        bad = await c.call_tool("improve", {"task": "x", "max_cycles": -1})
        assert bad.is_error and "max_cycles" in bad.content[0].text  # type: ignore[union-attr]
    status = await anyio.to_thread.run_sync(runner.wait, RunStore(home), run_id, 30)
    assert status["state"] == "completed"
    assert RunStore(home).read_request(run_id)["pattern"] == "improve"
