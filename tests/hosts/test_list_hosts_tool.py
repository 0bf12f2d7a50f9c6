"""The MCP tool ``list_hosts``: the rows ``loopwright hosts ls --json`` gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from loopwright.backends.models import ollama_api
from loopwright.hosts import pool
from loopwright.server.app import build_server
from tests.hosts.test_hosts_ls import hosts

__all__ = ["hosts"]  # the fixture, shared


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pool.forget()
    yield
    pool.forget()
    ollama_api.close_profiles()


async def test_the_list_hosts_tool_gives_the_rows_hosts_ls_gives(hosts: str, home: Path) -> None:
    async with Client(build_server(home)) as c:
        r = await c.call_tool("list_hosts", {})
        quiet = await c.call_tool("list_hosts", {"probe": False})
        bad = await c.call_tool("list_hosts", {"probe": "yes"})
    assert not r.is_error and r.structured_content is not None
    rows = {h["name"]: h for h in r.structured_content["hosts"]}
    assert rows["gpu1"]["healthy"] is True and rows["gpu1"]["models"] == ["qwen:7b"]
    assert rows["llama"]["kind"] == "openai" and rows["vast-7"]["source"] == "rented"
    assert rows["local"]["healthy"] is False and hosts in rows["local"]["reason"]
    # rented 2 h ago at $0.45/h, never held by a run: the pool's idle cost, as hosts ls says
    assert rows["vast-7"]["idle_cost_usd"] == pytest.approx(0.9, abs=0.01)
    assert rows["gpu1"]["idle_cost_usd"] is None
    assert any("vast-7" in w for w in r.structured_content["warnings"])
    assert quiet.structured_content is not None
    assert {h["healthy"] for h in quiet.structured_content["hosts"]} == {None}
    assert bad.is_error
