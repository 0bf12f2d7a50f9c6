"""consult, delegate and debate over MCP take a run's sandbox default and checks: the
configured ``sandbox`` stored in the request, bubblewrap that cannot work refused whether
or not preflight runs, and bad specs or paths refused as orchestrate refuses them, naming
the field and creating nothing on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.server.state import ServerState

from .test_strict_input import no_runs
from .test_tools import call, error

PATTERNS: dict[str, dict[str, Any]] = {
    "consult": {"question": "q", "models": ["scripted"]},
    "delegate": {"backend": "scripted", "task": "t"},
    "debate": {"question": "q", "models": ["scripted", "scripted"], "rounds": 0},
}


def _no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH holds git only: bubblewrap is not found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git
    (bin_dir / "git").symlink_to(git)
    monkeypatch.setenv("PATH", str(bin_dir))


@pytest.mark.parametrize("preflight", [True, False])
@pytest.mark.parametrize("tool", list(PATTERNS))
async def test_a_pattern_tool_refuses_a_sandbox_bubblewrap_cannot_give_and_starts_nothing(
    server: MCPServer[ServerState],
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tool: str,
    preflight: bool,
) -> None:
    _no_bwrap(tmp_path, monkeypatch)
    monkeypatch.setenv("LOOPWRIGHT_SANDBOX", "verify")  # the default outside the test suite
    async with Client(server) as c:
        text = await error(c, tool, **PATTERNS[tool], preflight=preflight)
    assert "sandbox 'verify'" in text and "bwrap is not on PATH" in text
    assert "sandbox='off'" in text
    assert no_runs(home) and not (home / "scratch").exists()


async def test_pattern_tools_store_the_sandbox_asked_for_and_default_to_the_configured_one(
    server: MCPServer[ServerState], home: Path
) -> None:
    async with Client(server) as c:  # the suite's default is LOOPWRIGHT_SANDBOX=off
        default = await call(c, "consult", **PATTERNS["consult"])
        asked = await call(c, "debate", **PATTERNS["debate"], sandbox="off", allow_network=True)
        wrong = await error(c, "delegate", **PATTERNS["delegate"], sandbox="none")
    stored = [
        json.loads((home / "runs" / r["run_id"] / "request.json").read_text())
        for r in (default, asked)
    ]
    assert [(s["sandbox"], s["allow_network"]) for s in stored] == [("off", False), ("off", True)]
    assert "sandbox" in wrong


@pytest.mark.parametrize("bad", ["\x00", "\n", "\x1b[2J", "\x7f", "\x9b"])
async def test_control_characters_in_pattern_specs_and_paths_are_refused_as_orchestrate_does(
    server: MCPServer[ServerState], home: Path, tmp_path: Path, bad: str
) -> None:
    said = "holds a control character"
    async with Client(server) as c:
        run = await error(c, "orchestrate", goal="g", workers=[f"scripted{bad}"])
        assert "workers[0] " in run and said in run
        text = await error(c, "consult", question="q", models=["scripted", f"scripted{bad}"])
        assert "models[1] " in text and said in text
        text = await error(c, "delegate", backend=f"scripted{bad}", task="t")
        assert "backend " in text and said in text
        text = await error(c, "debate", **PATTERNS["debate"], judge=f"scripted{bad}")
        assert "judge " in text and said in text
        text = await error(c, "consult", **PATTERNS["consult"], synthesizer=f"a{bad}")
        assert "synthesizer " in text and said in text
        text = await error(c, "delegate", **PATTERNS["delegate"], cwd=f"{tmp_path}{bad}")
        assert "delegate: cwd " in text and said in text
    assert no_runs(home) and not (home / "scratch").exists()
