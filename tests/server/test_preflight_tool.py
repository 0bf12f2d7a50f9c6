"""orchestrate refuses a run whose verify cannot start, unless preflight is false."""

from __future__ import annotations

from pathlib import Path

from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.server.state import ServerState

from .test_tools import call, error


async def test_orchestrate_refuses_a_verify_program_that_is_not_found_and_creates_no_run(
    server: MCPServer[ServerState], home: Path
) -> None:
    bad = [["nonexistent-cmd", "-q"]]
    async with Client(server) as c:
        text = await error(c, "orchestrate", goal="g", verify_commands=bad)
        assert "verify command 1 `nonexistent-cmd -q` cannot start" in text
        assert "preflight=false" in text
        assert not (home / "runs").exists() and not (home / "scratch").exists()
        started = await call(c, "orchestrate", goal="g", verify_commands=bad, preflight=False,
                             max_iterations=1, detach=False)  # fmt: skip
    assert started["status"] == "stopped" and not started["result"]["verify"][0]["passed"]
