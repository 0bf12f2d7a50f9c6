"""A run's git workspace: its own branch and worktree, checkpoint commits, cleanup.

The user's checkout is never touched: the worktree lives under the state dir, branch
``loopwright/<run_id>`` starts from the base commit, and uncommitted changes are only
ever read (into a snapshot commit, through a private index) when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from ...errors import CheckpointFailed, ProcessError
from ...fsmodes import private_dir
from ...loop.vocab import CleanupPolicy, EventType
from . import pool
from .gitcmd import agit, git, porcelain, repo_lock, resolve_commit, run_git
from .locks import remove_stale_index_lock
from .parallel import make_subgoal_worktrees, merge_subgoal_worktrees
from .safety import assert_branch_disposable, remove_worktree_dir
from .staging import Warn, clear_index_lock, nested_repos, stage
from .tamper import Watch

if TYPE_CHECKING:
    from ...loop.types import Subgoal, TaskResult

Emit = Callable[[EventType, int, dict[str, Any]], object]
"""An event sink's ``emit`` (what it returns, the seq, is not needed here)."""


def branch_name(run_id: str) -> str:
    return f"loopwright/{run_id}"


def parse_name_status(raw: str) -> list[dict[str, str]]:
    """``git diff --name-status -M -z`` output -> [{status, path[, old_path]}]."""
    parts, files, i = raw.split("\0"), [], 0
    while i < len(parts) and parts[i]:
        code = parts[i]
        if code[0] in "RC":
            files.append({"status": code[0], "old_path": parts[i + 1], "path": parts[i + 2]})
            i += 3
        else:
            files.append({"status": code[0], "path": parts[i + 1]})
            i += 2
    return files


def snapshot_uncommitted(repo: str, base: str, scratch_index: Path) -> str:
    """A commit of ``base`` plus the checkout's uncommitted changes (tracked and untracked,
    not ignored), made through a private index: the user's index and stash stay as they are."""
    env = {"GIT_INDEX_FILE": str(scratch_index)}
    try:
        git(repo, "read-tree", base, env=env)
        git(repo, "add", "-A", env=env)
        tree = git(repo, "write-tree", env=env).strip()
    finally:
        scratch_index.unlink(missing_ok=True)
    msg = "loopwright: snapshot of uncommitted changes"
    return git(repo, "commit-tree", tree, "-p", base, "-m", msg).strip()


def create(
    repo: str,
    run_id: str,
    home: Path,
    base_ref: str | None,
    include_uncommitted: bool,
    emit: Emit,
) -> dict[str, Any]:
    """Make the run's branch and worktree; returns the workspace record kept in status."""
    path = home / "worktrees" / run_id
    private_dir(path.parent)
    base = resolve_commit(repo, base_ref or "HEAD")
    if include_uncommitted:
        if porcelain(repo):
            base = snapshot_uncommitted(repo, base, home / "worktrees" / f".index-{run_id}")
        dirty_check = None
    else:  # only for a warning: look while the worktree is being written
        # In this context: its git goes through the same runner (see ``gitcmd``).
        dirty_check = ThreadPoolExecutor(1).submit(copy_context().run, porcelain, repo)
    with repo_lock(repo):
        git(repo, "worktree", "prune")
    pooled = pool.take(home, repo, path, branch_name(run_id), base)
    if not pooled:
        with repo_lock(repo):
            git(repo, "worktree", "add", "-q", "--no-track", "-b", branch_name(run_id), str(path),
                base)  # fmt: skip
    private_dir(path)  # git made it with the umask: a worktree is the user's code, 0700
    dirty = [p for _, p in dirty_check.result()] if dirty_check is not None else []
    if dirty:
        emit("warning", 0, {
            "message": f"{len(dirty)} uncommitted change(s) in {repo} were left out: the run "
            "starts from the last commit (include_uncommitted=true, on the command line "
            "--include-uncommitted, brings them)",
            "paths": dirty[:50],
        })  # fmt: skip
    return {
        "pooled": pooled,
        "mode": "worktree",
        "repo": repo,
        "path": str(path),
        "branch": branch_name(run_id),
        "base": base,
        "base_branch": base_branch(repo, base_ref),
        "head": base,
        "commits": 0,
        "errors": [],
    }


def base_branch(repo: str, base_ref: str | None) -> str:
    """The branch a run's work is meant for (``gc`` deletes the run's branch once it is
    merged there): ``base_ref`` if it names a branch, else the one checked out ("" if none)."""
    if base_ref:
        known = run_git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{base_ref}")
        return base_ref if known.returncode == 0 else ""
    done = run_git(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    return done.stdout.decode().strip() if done.returncode == 0 else ""


class Workspace:
    """The harness's ``LoopWorkspace`` for a run in a git worktree."""

    def __init__(
        self,
        record: dict[str, Any],
        run_id: str,
        emit: Emit,
        save: Callable[[], None],
        home: Path,
    ) -> None:
        self.home = home
        self.record = record
        self.run_id = run_id
        self.emit = emit
        self.save = save  # persists the record (status.json)
        self.path = record["path"]
        self.iteration_base = record.get("head") or record["base"]
        self.base_tree: str | None = None  # the tree of iteration_base, once looked up
        self.git_setup = Watch(self.path)  # the repository's config and hooks

    # --- LoopWorkspace -----------------------------------------------------------------
    async def begin_iteration(self, iteration: int) -> None:
        head = (await agit(self.path, "rev-parse", "HEAD")).strip()
        if head != self.iteration_base:
            self.iteration_base, self.base_tree = head, None
        await anyio.to_thread.run_sync(self.git_setup.start)

    async def subgoal_dirs(self, iteration: int, subgoals: list[Subgoal]) -> dict[str, str]:
        if len(subgoals) < 2:
            return {}
        return await make_subgoal_worktrees(self, iteration, subgoals)

    async def merge_subgoals(self, iteration: int, results: list[TaskResult]) -> list[TaskResult]:
        return await merge_subgoal_worktrees(self, iteration, results)

    async def changed_files(self) -> list[str]:
        tracked = await agit(self.path, "diff", "--name-only", "-z", "--no-renames",
                             self.iteration_base)  # fmt: skip
        untracked = await agit(self.path, "ls-files", "-z", "--others", "--exclude-standard")
        return sorted({p for p in f"{tracked}\0{untracked}".split("\0") if p})

    async def checkpoint(
        self, iteration: int, subject: str, verdict: str, lock_wait: float | None = None
    ) -> None:
        """Commit the iteration's work; on failure repair (stale lock, nested repositories)
        and retry once. Still failing: record it, keep the worktree, raise ``CheckpointFailed``.
        A change the iteration made to the repository's git setup is a ``security`` event.
        """
        changed = await anyio.to_thread.run_sync(self.git_setup.check)
        if changed:
            self.emit("security", iteration, changed)
        try:
            await self._commit(iteration, subject, verdict, [])
            return
        except ProcessError as exc:
            self.emit("warning", iteration, {
                "message": f"checkpoint of iteration {iteration} failed, repairing and "
                f"retrying once: {exc}", "kind": "checkpoint",
            })  # fmt: skip

        def warn(message: str, data: dict[str, object]) -> None:
            self.emit("warning", iteration, {"message": message, "kind": "checkpoint", **data})

        try:
            await clear_index_lock(self.path, warn, lock_wait)
            nested = await anyio.to_thread.run_sync(nested_repos, self.path)
            await self._commit(iteration, subject, verdict, nested, warn)
        except ProcessError as exc:
            self._failed(iteration, str(exc))

    def _failed(self, iteration: int, cause: str) -> None:
        message = (
            f"checkpoint_failed: the work of iteration {iteration} could not be committed "
            f"after a repair and retry ({cause}); it is kept uncommitted in {self.path}"
        )
        self.record["errors"].append(message)
        self.record["checkpoint_failed"] = {"iteration": iteration, "cause": cause,
                                            "path": self.path}  # fmt: skip
        self.record["kept"] = True
        self.emit("error", iteration, {"message": message, "kind": "checkpoint_failed",
                                       "cause": cause, "path": self.path})  # fmt: skip
        self.save()
        raise CheckpointFailed(message, self.path, cause)

    # --- commits -----------------------------------------------------------------------
    async def _commit(
        self,
        iteration: int,
        subject: str,
        verdict: str,
        nested: list[str],
        warn: Warn | None = None,
    ) -> None:
        # Plumbing (write-tree, commit-tree, update-ref) instead of ``git commit``, which
        # would stat the whole tree once more: ``git add -A`` is the only scan. The parent
        # is the last checkpoint even if HEAD moved (merged subgoals, a worker's own
        # commits): their content is in the tree, folded into this one commit.
        base = self.iteration_base
        if self.base_tree is None:
            self.base_tree = (await agit(self.path, "rev-parse", f"{base}^{{tree}}")).strip()
        if warn is None:

            def warn(message: str, data: dict[str, object]) -> None:
                self.emit("warning", iteration, {"message": message, "kind": "checkpoint",
                                                 **data})  # fmt: skip

        staged = await stage(self.path, base, nested, warn)
        if staged.tree == self.base_tree:
            return  # an empty iteration makes no commit
        line = " ".join(subject.split())[:120]
        message = (
            f"loopwright: iteration {iteration} — {line}\n\n"
            f"Loopwright-Run: {self.run_id}\nLoopwright-Iteration: {iteration}\n"
            f"Loopwright-Verdict: {verdict}\n"
        )
        sha = (await agit(self.path, "commit-tree", staged.tree, "-p", base, "-m", message)).strip()
        await agit(self.path, "update-ref", "-m", "loopwright: checkpoint", "HEAD", sha)
        self.iteration_base, self.base_tree = sha, staged.tree
        self.record.update(head=sha, commits=int(self.record.get("commits", 0)) + 1)
        self.save()
        self.emit(
            "checkpoint",
            iteration,
            {
                "sha": sha,
                "files": staged.files,
                "verdict": verdict,
                "branch": self.record["branch"],
            },
        )

    async def recover(self, iteration: int) -> None:
        """After a crash: clear a stale lock we left, then commit partial work as WIP."""
        removed = remove_stale_index_lock(Path(self.path))
        if removed:
            self.emit("warning", iteration, {"message": f"removed stale git lock {removed}"})
        self.iteration_base = (await agit(self.path, "rev-parse", "HEAD")).strip()
        self.base_tree = None
        await self.checkpoint(iteration, "work in progress before the interruption", "wip")

    async def summary(self) -> dict[str, Any]:
        """The record plus the files changed from base to head (renames and odd names right)."""
        raw = await agit(
            self.path, "diff", "--name-status", "-M", "-z", self.record["base"], "HEAD"
        )
        return {**self.record, "changed_files": parse_name_status(raw)}

    def cleanup(self, policy: CleanupPolicy) -> None:
        """``auto``: keep worktree and branch iff the run committed; ``always``: remove the
        worktree (the branch stays if it holds commits); ``never``: keep both. A worktree
        whose checkpoint failed is always kept, and the pool and removal refuse, on their
        own, anything that holds uncommitted or unreachable work (``WorkAtRisk``)."""
        committed = int(self.record.get("commits", 0)) > 0
        failed = bool(self.record.get("checkpoint_failed"))
        if policy == "never" or (policy == "auto" and committed) or failed:
            self.record["kept"] = True
            return
        repo, head = self.record["repo"], self.record.get("head") or self.record["base"]
        if committed or not pool.park(self.home, repo, self.path, head):
            remove_worktree(repo, self.path, head)
        if not committed:
            with repo_lock(repo):
                assert_branch_disposable(repo, self.record["branch"], self.record["base"])
                run_git(repo, "branch", "-D", self.record["branch"])
        self.record["kept"] = False
        self.record["path_removed"] = True
        self.save()


def remove_worktree(repo: str, path: str, base: str | None = None) -> None:
    with repo_lock(repo):
        remove_worktree_dir(repo, path, base)
        run_git(repo, "worktree", "prune")
