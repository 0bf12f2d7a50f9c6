"""A per-repository pool of clean checkouts, so a new run need not write every file.

``git worktree add`` writes the whole tree (tens of seconds on a 50,000-file repo). A
finished run's worktree that holds no work is parked here instead of removed; the next
run on the same repo takes it and ``git switch``es it to its own branch, which rewrites
only the files that differ, then cleans it. ``loopwright gc`` trims the pool.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from ...errors import WorkAtRisk
from ...fsmodes import private_dir, write_private
from .gitcmd import common_dir, git, repo_lock, run_git
from .safety import assert_disposable, remove_worktree_dir

POOL_SIZE = int(os.environ.get("LOOPWRIGHT_POOL_SIZE", "2"))
"""Parked checkouts kept per repository (0 turns the pool off)."""


def pool_dir(home: Path, repo: str) -> Path:
    key = hashlib.sha256(str(common_dir(repo)).encode()).hexdigest()[:16]
    return home / "pool" / key


def _slots(d: Path) -> list[Path]:
    return sorted(d.glob("slot-*")) if d.is_dir() else []


def take(home: Path, repo: str, dest: Path, branch: str, base: str) -> bool:
    """Move a parked checkout to ``dest`` on a new ``branch`` at ``base``; False if none."""
    d = pool_dir(home, repo)
    with repo_lock(repo):
        for slot in _slots(d):
            try:  # a slot someone worked in is left alone, never switched or cleaned
                assert_disposable(slot)
            except WorkAtRisk:
                continue
            if run_git(repo, "worktree", "move", str(slot), str(dest)).returncode == 0:
                break
            remove_worktree_dir(repo, slot)
        else:
            return False
        git(str(dest), "switch", "-q", "--discard-changes", "--no-track", "-C", branch, base)
    git(str(dest), "clean", "-ffdxq")  # nothing of the previous run survives
    return True


def park(home: Path, repo: str, path: str, base: str) -> bool:
    """Clean ``path`` and keep it in the pool (detached); False when the pool is full.

    Raises ``WorkAtRisk`` (and touches nothing) when ``path`` holds uncommitted changes or
    commits that ``base`` does not reach."""
    d = pool_dir(home, repo)
    if POOL_SIZE <= 0 or len(_slots(d)) >= POOL_SIZE:
        return False
    assert_disposable(path, base)
    private_dir(d)
    write_private(d / "repo", repo.encode())
    git(path, "reset", "-q", "--hard")
    git(path, "clean", "-ffdxq")
    with repo_lock(repo):
        git(path, "checkout", "-q", "--detach")
        git(repo, "worktree", "move", path, str(d / f"slot-{uuid.uuid4().hex[:12]}"))
    return True


def gc(home: Path, keep: int = 0, dry_run: bool = False) -> dict[str, Any]:
    """Trim every repository's pool to ``keep`` checkouts and prune stale worktree records.

    Returns counts and the slots ``removed`` and ``kept`` (``{path, why}``); a slot someone
    worked in is kept. ``dry_run``: say what would go, change nothing."""
    removed: list[str] = []
    kept: list[dict[str, str]] = []
    repos = 0
    for d in sorted((home / "pool").glob("*")) if (home / "pool").is_dir() else []:
        try:
            repo = (d / "repo").read_text().strip()
        except OSError:
            repo = ""
        repos += 1
        if not repo or not Path(repo).is_dir():  # the repository is gone: its pool is just files
            removed += [str(s) for s in _slots(d)]
            if not dry_run:
                shutil.rmtree(d, ignore_errors=True)
            continue
        with repo_lock(repo):
            for slot in _slots(d)[keep:]:
                try:
                    assert_disposable(slot) if dry_run else remove_worktree_dir(repo, slot)
                except WorkAtRisk as exc:
                    kept.append({"path": str(slot), "why": str(exc)})  # someone worked in it
                    continue
                removed.append(str(slot))
            if not dry_run:
                run_git(repo, "worktree", "prune")
    return {"repositories": repos, "removed": len(removed), "kept_per_repo": keep,
            "removed_slots": removed, "kept_slots": kept}  # fmt: skip
