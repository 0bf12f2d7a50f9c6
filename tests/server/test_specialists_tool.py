"""orchestrate's ``specialists``: stored in the run's request; an unknown spec or a bad tag
is refused naming the field, creating no run."""

from __future__ import annotations

import json
from pathlib import Path

from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.server.state import ServerState

from .test_strict_input import no_runs
from .test_tools import call, error


async def test_orchestrate_refuses_an_unknown_specialist_naming_its_tag_and_starts_nothing(
    server: MCPServer[ServerState], home: Path
) -> None:
    async with Client(server) as c:
        unknown = await error(c, "orchestrate", goal="g", specialists={"tests": "nonsense:x"})
        tag = await error(c, "orchestrate", goal="g", specialists={"Tests!": "scripted"})
        empty = await error(c, "orchestrate", goal="g", specialists={"docs": ""})
        control = await error(c, "orchestrate", goal="g", specialists={"docs": "scripted\x1b"})
    assert "specialists.tests: unknown backend 'nonsense:x'" in unknown
    assert "specialists.Tests!" in tag
    assert "specialists.docs" in empty and "specialists.docs" in control
    assert "holds a control character" in control
    assert no_runs(home)


async def test_orchestrate_stores_the_specialists_table_in_the_request(
    server: MCPServer[ServerState], home: Path
) -> None:
    async with Client(server) as c:
        started = await call(c, "orchestrate", goal="g", specialists={"tests": "scripted"})
    stored = json.loads((home / "runs" / started["run_id"] / "request.json").read_text())
    assert stored["specialists"] == {"tests": "scripted"}
