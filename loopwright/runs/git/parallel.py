"""Parallel subgoals in their own worktrees, merged back three-way before verify."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import anyio

from ...errors import ProcessError, WorkAtRisk
from ...fsmodes import private_dir
from ...loop.types import Subgoal, TaskResult
from ...loop.vocab import EventType
from .gitcmd import agit, repo_lock, run_git
from .safety import remove_worktree_dir


class Workspace(Protocol):
    """What parallel subgoals need of the run's workspace (``worktree.Workspace``)."""

    path: str
    record: dict[str, Any]
    run_id: str
    emit: Callable[[EventType, int, dict[str, Any]], object]


def _sub(ws: Workspace, iteration: int, subgoal_id: str) -> tuple[str, Path]:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in subgoal_id)[:40]
    branch = f"{ws.record['branch']}-i{iteration}-{safe}"
    return branch, Path(ws.path).parent / f"{ws.run_id}.sub" / f"{iteration}-{safe}"


async def make_subgoal_worktrees(
    ws: Workspace, iteration: int, subgoals: list[Subgoal]
) -> dict[str, str]:
    base = (await agit(ws.path, "rev-parse", "HEAD")).strip()
    repo = ws.record["repo"]
    dirs: dict[str, str] = {}

    def create() -> None:
        with repo_lock(repo):
            for s in subgoals:
                branch, path = _sub(ws, iteration, s.id)
                private_dir(path.parent)
                remove_worktree_dir(repo, path)  # a leftover of an interrupted iteration
                run_git(repo, "branch", "-D", branch)
                done = run_git(
                    repo, "worktree", "add", "-q", "--no-track", "-b", branch, str(path), base
                )
                if done.returncode != 0:
                    raise ProcessError(f"worktree for subgoal {s.id}: {done.stderr.decode()}")
                private_dir(path)  # git made it with the umask
                dirs[s.id] = str(path)

    await anyio.to_thread.run_sync(create)
    return dirs


async def merge_subgoal_worktrees(
    ws: Workspace, iteration: int, results: list[TaskResult]
) -> list[TaskResult]:
    merged = []
    for r in results:
        branch, path = _sub(ws, iteration, r.subgoal_id)
        if not path.exists():
            merged.append(r)
            continue
        outcome = await _merge_one(ws, iteration, r, branch, str(path))
        merged.append(outcome)
    await anyio.to_thread.run_sync(_remove_subgoal_trees, ws, iteration, results)
    return merged


async def _merge_one(
    ws: Workspace, iteration: int, r: TaskResult, branch: str, path: str
) -> TaskResult:
    await agit(path, "add", "-A")
    if await agit(path, "diff", "--cached", "--name-only"):
        await agit(path, "commit", "-q", "--no-verify", "-m", f"loopwright: subgoal {r.subgoal_id}")
    if not (await agit(ws.path, "rev-list", f"HEAD..{branch}")).strip():
        ws.emit("merge", iteration, {"subgoal": r.subgoal_id, "status": "empty"})
        return r
    done = await anyio.to_thread.run_sync(
        lambda: run_git(
            ws.path,
            "merge",
            "--no-ff",
            "--no-edit",
            "-m",
            f"loopwright: merge subgoal {r.subgoal_id}",
            branch,
        )
    )
    if done.returncode == 0:
        ws.emit("merge", iteration, {"subgoal": r.subgoal_id, "status": "merged"})
        return r
    conflicted = (await agit(ws.path, "diff", "--name-only", "--diff-filter=U", "-z")).split("\0")
    paths = [p for p in conflicted if p]
    run_git(ws.path, "merge", "--abort")
    ws.emit(
        "merge",
        iteration,
        {"subgoal": r.subgoal_id, "status": "conflict", "paths": paths, "branch": branch},
    )
    error = (
        f"merge conflict with the other subgoals in {', '.join(paths) or 'the tree'}; "
        f"its work is kept on branch {branch}"
    )
    return r.model_copy(update={"status": "failed", "error": error})


def _remove_subgoal_trees(ws: Workspace, iteration: int, results: list[TaskResult]) -> None:
    repo = ws.record["repo"]
    with repo_lock(repo):
        for r in results:
            branch, path = _sub(ws, iteration, r.subgoal_id)
            try:
                remove_worktree_dir(repo, path)
            except WorkAtRisk as exc:
                ws.emit("warning", iteration, {"message": f"subgoal worktree kept: {exc}"})
            merged = run_git(ws.path, "merge-base", "--is-ancestor", branch, "HEAD")
            if merged.returncode == 0:  # a conflicting branch is kept for inspection
                run_git(repo, "branch", "-D", branch)
        run_git(repo, "worktree", "prune")
