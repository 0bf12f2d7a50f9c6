"""The tool surface the calling model sees is pinned: changing it must be deliberate.

Regenerate after an intended change with ``LOOPWRIGHT_UPDATE_SNAPSHOT=1 pytest tests/server``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.server.state import ServerState

SNAPSHOT = Path(__file__).with_name("tools_snapshot.json")


async def surface(server: MCPServer[ServerState]) -> dict[str, Any]:
    async with Client(server) as c:
        tools = (await c.list_tools()).tools
    return {
        t.name: {
            "title": t.title,
            "description": t.description,
            "input": {  # limits included: they are part of what the caller is told
                k: {key: value for key, value in v.items() if key != "title"}
                for k, v in t.input_schema.get("properties", {}).items()
            },
            "required": t.input_schema.get("required", []),
            "additional": t.input_schema.get("additionalProperties", True),
            "output": sorted(t.output_schema.get("properties", {})) if t.output_schema else None,
            "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
        }
        for t in tools
    }


async def test_tool_descriptions_and_schemas_match_the_snapshot(
    server: MCPServer[ServerState],
) -> None:
    current = await surface(server)
    if os.environ.get("LOOPWRIGHT_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text()), (
        "the tool surface changed: if intended, regenerate with LOOPWRIGHT_UPDATE_SNAPSHOT=1"
    )


async def test_descriptions_tell_the_model_how_to_detach_poll_and_read_states(
    server: MCPServer[ServerState],
) -> None:
    tools = await surface(server)
    orchestrate = tools["orchestrate"]["description"]
    for needed in (
        "detach=true",
        "orchestrate_tail",
        "orchestrate_cancel",
        "needs_input",
        "interrupted",
        "scratch",
    ):
        assert needed in orchestrate
    assert "wait" in tools["orchestrate_tail"]["description"]
