"""orchestrate_diff and orchestrate_merge through the SDK's client, in both eras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.runs.git.gitcmd import git
from loopwright.server.state import ServerState

from .test_tools import call, error

EDIT = {"worker": [{"text": "x", "edits": [{"path": "feature.txt", "write": "done\n"}]}]}


async def test_a_runs_diff_and_merge_through_the_server(
    server: MCPServer[ServerState], mode: str, repo: Path, scenario: Any
) -> None:
    async with Client(server, mode=mode) as c:
        run = await call(c, "orchestrate", goal="add a feature", cwd=str(repo),
                         backend=scenario(EDIT), detach=False)  # fmt: skip
        run_id = run["run_id"]
        d = await call(c, "orchestrate_diff", run_id=run_id, max_bytes=1000)
        assert d["files"] == [{"status": "A", "path": "feature.txt"}]
        assert d["insertions"] == 1 and "+done" in d["patch"] and not d["truncated"]
        m = await call(c, "orchestrate_merge", run_id=run_id, squash=True)
        assert m["merged"] and m["into"] == "main" and m["files"] == ["feature.txt"]
    assert (repo / "feature.txt").read_text() == "done\n"
    assert git(repo, "status", "--porcelain") == ""


async def test_a_conflicting_merge_is_a_tool_error_that_changes_nothing(
    server: MCPServer[ServerState], repo: Path, scenario: Any
) -> None:
    readme = {"worker": [{"text": "x", "edits": [{"path": "README.md", "write": "run\n"}]}]}
    async with Client(server) as c:
        run = await call(c, "orchestrate", goal="edit", cwd=str(repo),
                         backend=scenario(readme), detach=False)  # fmt: skip
        (repo / "README.md").write_text("user\n")
        git(repo, "commit", "-qam", "user edit")
        head = git(repo, "rev-parse", "HEAD")
        text = await error(c, "orchestrate_merge", run_id=run["run_id"])
        assert "would conflict in: README.md" in text and "nothing was changed" in text
        assert "is not a run id" in await error(c, "orchestrate_diff", run_id="../x")
    assert git(repo, "rev-parse", "HEAD") == head and (repo / "README.md").read_text() == "user\n"
