"""Never lose work: checkpoints that survive what workers leave, and guards on every
reset, clean and delete (issue "Never lose work")."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from loopwright.errors import BudgetExceeded, PlanError, WorkAtRisk, unwrapped
from loopwright.runs import runner
from loopwright.runs.git import pool, staging
from loopwright.runs.git.gitcmd import git
from loopwright.runs.git.worktree import Workspace, create, remove_worktree
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ...helpers import events_of, wait_for_file
from .test_worktree import edits_scenario, run_thread

COMMIT = "git -c user.name=w -c user.email=w@x commit -q -m inner"


def tree_of(repo: Path, branch: str) -> dict[str, str]:
    """path -> mode of every entry on ``branch``."""
    out = git(repo, "ls-tree", "-r", "-z", branch)
    return {e.split("\t", 1)[1]: e.split(" ", 1)[0] for e in out.split("\0") if e}


def warnings_of(store: RunStore, run_id: str) -> list[str]:
    events = events_of(store.paths(run_id).events)
    return [e["data"]["message"] for e in events if e["type"] == "warning"]


def test_a_nested_repository_without_commits_is_committed_as_plain_files(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    script = "git init -q sub && echo inner > sub/a.txt && echo outer > f.txt"
    spec = edits_scenario(tmp_path, {"text": "x", "run": ["sh", "-c", script]})
    result = run_thread(store, backend=spec, cwd=str(repo), verify=[["test", "-f", "f.txt"]])
    assert result["state"] == "completed"
    ws = result["workspace"]
    assert ws["commits"] == 1
    tree = tree_of(repo, ws["branch"])
    assert tree["f.txt"] == tree["sub/a.txt"] == "100644"
    assert git(repo, "show", f"{ws['branch']}:sub/a.txt") == "inner\n"
    assert any("nested git repositories committed as plain files" in w and "sub" in w
               for w in warnings_of(store, result["run_id"]))  # fmt: skip


def test_a_nested_repository_with_its_own_commit_is_not_stored_as_a_gitlink(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    script = "git init -q sub && printf 'x\\n' > sub/a.txt && ln -s a.txt sub/link && "
    script += f"chmod +x sub/a.txt && cd sub && git add -A && {COMMIT}"
    spec = edits_scenario(tmp_path, {"text": "x", "run": ["sh", "-c", script]})
    result = run_thread(store, backend=spec, cwd=str(repo))
    assert result["state"] == "completed"
    tree = tree_of(repo, result["workspace"]["branch"])
    assert "160000" not in tree.values()
    assert tree["sub/a.txt"] == "100755" and tree["sub/link"] == "120000"
    assert not any(p.startswith("sub/.git") for p in tree)


def test_a_stale_index_lock_is_removed_and_the_checkpoint_retried(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    lock = ["sh", "-c", 'echo x > f.txt; touch "$(git rev-parse --git-dir)/index.lock"']
    spec = edits_scenario(tmp_path, {"text": "x", "run": lock})
    result = run_thread(store, backend=spec, cwd=str(repo), budget={"max_iterations": 1})
    assert result["state"] == "completed"
    assert result["workspace"]["commits"] == 1
    assert "f.txt" in tree_of(repo, result["workspace"]["branch"])
    assert any(w.startswith("removed stale git lock") for w in warnings_of(store, result["run_id"]))


async def test_a_checkpoint_that_still_fails_ends_the_run_failed_and_keeps_the_worktree(
    store: RunStore, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker writes its work, then waits until this test holds git's index lock (as a
    # git that never finishes would): the checkpoint waits, gives up, and must keep it all.
    monkeypatch.setattr(staging, "LOCK_WAIT", 0.2)
    gitdir, go = tmp_path / "gitdir", tmp_path / "go"
    script = (
        f"echo precious > f.txt; git rev-parse --absolute-git-dir > {gitdir}; "
        f"for i in $(seq 1000); do [ -e {go} ] && exit 0; sleep 0.01; done; exit 9"
    )
    spec = edits_scenario(tmp_path, {"text": "x", "run": ["sh", "-c", script]})
    run = runner.start_thread(
        store, build_request("keep it", backend=spec, cwd=str(repo), cleanup="always")
    )
    lock = Path(await wait_for_file(gitdir)) / "index.lock"
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        go.touch()
        status = await anyio.to_thread.run_sync(run.wait, 30)
    finally:
        os.close(fd)
        lock.unlink()
    assert status["state"] == "failed"
    result = store.read_result(run.run_id)
    assert result is not None
    ws = result["workspace"]
    assert result["error"].startswith("checkpoint_failed")
    assert str(lock) in result["error"] and ws["path"] in result["error"]
    assert ws["kept"] is True and ws["checkpoint_failed"]["iteration"] == 1
    assert (Path(ws["path"]) / "f.txt").read_text() == "precious\n"
    assert git(repo, "branch", "--list", ws["branch"]).strip()
    assert not list((store.home / "pool").glob("*/slot-*"))
    kinds = [e["data"].get("kind") for e in events_of(store.paths(run.run_id).events)
             if e["type"] == "error"]  # fmt: skip
    assert "checkpoint_failed" in kinds


def _workspace(store: RunStore, repo: Path) -> Workspace:
    record = create(str(repo), "r1", store.home, None, False, lambda *a: None)
    return Workspace(record, "r1", lambda *a: None, lambda: None, store.home)


def test_the_pool_refuses_to_park_a_worktree_with_uncommitted_changes(
    store: RunStore, repo: Path
) -> None:
    ws = _workspace(store, repo)
    (Path(ws.path) / "work.txt").write_text("not committed\n")
    with pytest.raises(WorkAtRisk, match="uncommitted"):
        pool.park(store.home, str(repo), ws.path, ws.record["base"])
    assert (Path(ws.path) / "work.txt").read_text() == "not committed\n"


def test_removing_a_worktree_with_uncommitted_changes_is_refused(
    store: RunStore, repo: Path
) -> None:
    ws = _workspace(store, repo)
    (Path(ws.path) / "README.md").write_text("edited\n")
    with pytest.raises(WorkAtRisk):
        remove_worktree(str(repo), ws.path)
    assert (Path(ws.path) / "README.md").read_text() == "edited\n"


def test_cleanup_never_deletes_a_branch_holding_commits_the_base_does_not_reach(
    store: RunStore, repo: Path
) -> None:
    ws = _workspace(store, repo)  # the record says 0 commits, but the worker committed
    (Path(ws.path) / "w.txt").write_text("w\n")
    git(ws.path, "add", "-A")
    git(ws.path, "commit", "-q", "-m", "worker's own commit")
    head = git(ws.path, "rev-parse", "HEAD").strip()
    for policy in ("always", "auto"):
        with pytest.raises(WorkAtRisk):
            ws.cleanup(policy)
        assert git(repo, "rev-parse", ws.record["branch"]).strip() == head
        assert (Path(ws.path) / "w.txt").exists()


@pytest.mark.parametrize("reviewers", [1, 2])
def test_a_budget_that_runs_out_during_review_stops_the_run(
    store: RunStore, repo: Path, tmp_path: Path, reviewers: int
) -> None:
    # planner, worker, then the reviewers: the last reviewer's call crosses the limit.
    spec = edits_scenario(tmp_path, {"text": "x"})
    result = run_thread(store, backend=spec, cwd=str(repo), criteria=["done"],
                        reviewers=[spec] * reviewers,
                        budget={"max_agent_calls": 1 + reviewers})  # fmt: skip
    assert result["state"] == "stopped", result["stop_reason"]
    assert "max_agent_calls" in result["stop_reason"]


async def test_unwrapped_gives_a_task_groups_budget_stop_before_other_errors() -> None:
    async def fail(exc: Exception) -> None:
        raise exc

    with pytest.raises(BudgetExceeded), unwrapped():
        async with anyio.create_task_group() as tg:
            tg.start_soon(fail, PlanError("bad plan"))
            tg.start_soon(fail, BudgetExceeded("max_tokens", "spent"))
    with pytest.raises(ValueError), unwrapped():
        async with anyio.create_task_group() as tg:
            tg.start_soon(fail, ValueError("bug"))
