"""Secrets through the MCP tools: a key in a goal is never stored or listed, and verify
commands get only the variables the caller names."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.server.state import ServerState

from .test_tools import call

KEY = "sk-ant-api03-Goal_Key_0123456789abcdefXYZ"
"""In no variable: redacted by its shape."""
VALUE = "value-of-a-secret-variable-42"


async def test_a_key_in_the_goal_is_in_no_file_nor_the_index_nor_the_list(
    server: MCPServer[ServerState], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", VALUE)
    goal = f"deploy with {KEY} and the token {VALUE}"
    async with Client(server) as c:
        run_id = (await call(c, "orchestrate", goal=goal, detach=False))["run_id"]
        listed = await call(c, "orchestrate_list")
        status = await call(c, "orchestrate_status", run_id=run_id)
    (row,) = listed["runs"]
    assert row["goal"] == "deploy with [redacted] and the token [redacted]"
    assert status["goal"] == row["goal"]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.startswith("index.sqlite") for p in files)
    for path in files:  # the index and its WAL, request, status, result, events, outputs
        data = path.read_bytes()
        assert KEY.encode() not in data and VALUE.encode() not in data, path


async def test_verify_commands_get_the_names_given_in_verify_env_and_no_keys(
    server: MCPServer[ServerState], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("MY_DB_URL", "sqlite:///tests.db")
    probe = "import os; print(os.environ.get('ANTHROPIC_API_KEY'), os.environ.get('MY_DB_URL'))"
    verify: Any = [[sys.executable, "-c", probe]]
    async with Client(server) as c:
        given = await call(c, "orchestrate", goal="g", verify_commands=verify,
                           verify_env=["MY_DB_URL"], detach=False)  # fmt: skip
        result = await call(c, "orchestrate_result", run_id=given["run_id"])
        refused = await c.call_tool("orchestrate", {"goal": "g", "verify_env": ["NOT A NAME"]})
    assert result["result"]["verify"][0]["output"] == "None sqlite:///tests.db\n"
    assert refused.is_error and "verify_env" in str(refused.content)
