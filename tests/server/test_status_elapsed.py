"""orchestrate_status tells a live run's elapsed time as of now, not as of its last write."""

from __future__ import annotations

from pathlib import Path

from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.runs.store import RunStore
from loopwright.server.state import ServerState

from ..runs.test_status_truth import live_run_last_written
from .test_tools import call


async def test_orchestrate_status_of_a_live_run_counts_the_time_since_its_last_write(
    server: MCPServer[ServerState], home: Path
) -> None:
    store = RunStore(home)
    run_id = live_run_last_written(store, seconds_ago=100, elapsed=5.0)
    async with Client(server) as c:
        status = await call(c, "orchestrate_status", run_id=run_id)
    assert status["state"] == "running" and status["elapsed"] >= 105
