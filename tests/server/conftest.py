"""Fixtures for the MCP server tests: a server per test and scripted scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer

from loopwright.server.app import build_server
from loopwright.server.state import ServerState

from ..helpers import write_scenario

MODES = ["auto", "legacy"]
"""``auto`` connects on 2026-07-28 (like Claude Code); ``legacy`` with initialize (Inspector)."""

SLOW = {"worker": [{"delay": 30, "text": "slow"}]}
ASKING = {
    "clarifier": [
        {
            "json": {
                "criteria": ["the file exists"],
                "questions": [
                    {"id": "q1", "text": "Which name?", "default": "a"},
                    {"id": "q2", "text": "Which colour?"},
                ],
            }
        }
    ]
}


@pytest.fixture
def server(home: Path) -> MCPServer[ServerState]:
    return build_server(home)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


@pytest.fixture
def scenario(tmp_path: Path) -> Any:
    def make(data: dict[str, Any], name: str = "scenario.json") -> str:
        return write_scenario(tmp_path / name, data)

    return make
