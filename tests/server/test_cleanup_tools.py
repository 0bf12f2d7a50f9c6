"""orchestrate_delete, merge with cleanup, diff of one iteration, and the config files'
defaults, through the SDK's client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from loopwright.runs.git.gitcmd import git
from loopwright.server.state import ServerState

from .conftest import SLOW
from .test_tools import call, error, until_phase

EDIT = {"worker": [{"text": "x", "edits": [{"path": "feature.txt", "write": "done\n"}]}]}
TWO = {
    "worker": [
        {"text": "a", "edits": [{"path": "first.txt", "write": "1\n"}]},
        {"text": "b", "edits": [{"path": "second.txt", "write": "2\n"}]},
    ],
    "reviewer": [{"json": {"complete": False, "issues": ["more"]}}, {"auto": True}],
}


async def run(c: Client, repo: Path, backend: str, **extra: Any) -> str:
    done = await call(c, "orchestrate", goal="a feature", cwd=str(repo), backend=backend,
                      detach=False, **extra)  # fmt: skip
    run_id: str = done["run_id"]
    return run_id


async def test_delete_keeps_unmerged_work_saying_why_and_removes_it_when_forced(
    server: MCPServer[ServerState], repo: Path, scenario: Any, home: Path
) -> None:
    async with Client(server) as c:
        run_id = await run(c, repo, scenario(EDIT))
        dry = await call(c, "orchestrate_delete", run_id=run_id, dry_run=True)
        assert dry["dry_run"] and {i["kind"] for i in dry["removed"]} == {"worktree"}
        kept = await call(c, "orchestrate_delete", run_id=run_id)
        why = {i["kind"]: i["note"] for i in kept["kept"]}
        assert "not merged into main" in why["branch"]
        assert run_id in [r["run_id"] for r in (await call(c, "orchestrate_list"))["runs"]]
        forced = await call(c, "orchestrate_delete", run_id=run_id, force=True)
        assert not forced["kept"] and "run" in {i["kind"] for i in forced["removed"]}
        assert (await call(c, "orchestrate_list"))["runs"] == []
    assert git(repo, "branch", "--list", "loopwright/*") == ""


async def test_a_live_run_is_not_deleted(
    server: MCPServer[ServerState], repo: Path, scenario: Any
) -> None:
    async with Client(server) as c:
        started = await call(c, "orchestrate", goal="slow", cwd=str(repo),
                             backend=scenario(SLOW))  # fmt: skip
        await until_phase(c, started["run_id"], "work")
        text = await error(c, "orchestrate_delete", run_id=started["run_id"])
        assert "is still running; cancel it first" in text
        await call(c, "orchestrate_cancel", run_id=started["run_id"])


async def test_merge_with_cleanup_and_a_second_merge_that_finds_it_merged(
    server: MCPServer[ServerState], repo: Path, scenario: Any
) -> None:
    async with Client(server) as c:
        run_id = await run(c, repo, scenario(EDIT))
        other = await run(c, repo, scenario(EDIT, "again.json"))  # the same change again
        first = await call(c, "orchestrate_merge", run_id=run_id, squash=True, cleanup=True)
        assert first["merged"] and not first["already"]
        assert {i["kind"] for i in first["cleanup"]["removed"]} == {"worktree", "branch", "run"}
        again = await call(c, "orchestrate_merge", run_id=other)
        assert again["already"] and not again["merged"] and again["into"] == "main"
    assert (repo / "feature.txt").read_text() == "done\n"


async def test_diff_of_one_iteration(
    server: MCPServer[ServerState], repo: Path, scenario: Any
) -> None:
    async with Client(server) as c:
        run_id = await run(c, repo, scenario(TWO))
        two = await call(c, "orchestrate_diff", run_id=run_id, iteration=2)
        assert two["iteration"] == 2 and two["files"] == [{"status": "A", "path": "second.txt"}]
        text = await error(c, "orchestrate_diff", run_id=run_id, iteration=7)
        assert "iteration 7 made no checkpoint" in text


async def test_a_run_takes_its_defaults_from_the_repo_file_unless_given(
    server: MCPServer[ServerState], repo: Path, home: Path
) -> None:
    (repo / ".loopwright.toml").write_text(
        "[run]\nverify = ['test -f loopwright-scripted.md']\nquorum = 'any'\n"
        "[budget]\nmax_iterations = 2\n"
    )
    async with Client(server) as c:
        run_id = await run(c, repo, "scripted", max_iterations=3)
    from loopwright.runs.store import RunStore

    loop = RunStore(home).read_request(run_id)["loop"]
    assert loop["verify_commands"] == [["test", "-f", "loopwright-scripted.md"]]
    assert loop["review_quorum"] == "any" and loop["budget"]["max_iterations"] == 3


@pytest.fixture(autouse=True)
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("LOOPWRIGHT_CONFIG", raising=False)


assert anyio  # the SDK's client runs on anyio (pytest-asyncio drives these tests)
