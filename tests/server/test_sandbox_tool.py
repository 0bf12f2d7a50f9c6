"""orchestrate's ``sandbox`` and ``allow_network``: stored in the run's request, and a
sandbox that cannot work here is refused (preflight or not), creating no run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.server.state import ServerState

from .test_tools import call, error


@pytest.mark.parametrize("preflight", [True, False])
async def test_orchestrate_refuses_the_sandbox_when_bwrap_is_not_on_path_and_creates_no_run(
    server: MCPServer[ServerState],
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    preflight: bool,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git
    (bin_dir / "git").symlink_to(git)
    monkeypatch.setenv("PATH", str(bin_dir))
    async with Client(server) as c:
        text = await error(c, "orchestrate", goal="g", sandbox="verify", preflight=preflight)
    assert "sandbox" in text and "bwrap is not on PATH" in text
    assert "apt-get install bubblewrap" in text and "sandbox='off'" in text
    assert not (home / "runs").exists() and not (home / "scratch").exists()


async def test_orchestrate_stores_the_sandbox_asked_for_and_defaults_to_the_configured_one(
    server: MCPServer[ServerState], home: Path
) -> None:
    async with Client(server) as c:  # the suite's default is LOOPWRIGHT_SANDBOX=off
        default = await call(c, "orchestrate", goal="g", detach=True)
        asked = await call(
            c, "orchestrate", goal="g", sandbox="off", allow_network=True, detach=True
        )
        wrong = await error(c, "orchestrate", goal="g", sandbox="none")
    stored = [
        json.loads((home / "runs" / r["run_id"] / "request.json").read_text())
        for r in (default, asked)
    ]
    assert [(s["sandbox"], s["allow_network"]) for s in stored] == [("off", False), ("off", True)]
    assert "sandbox" in wrong
