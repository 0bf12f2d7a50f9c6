"""Stale ``index.lock`` files: removed only when no process holds them open."""

from __future__ import annotations

import os
from pathlib import Path


def holders(path: Path) -> list[int]:
    """Pids with ``path`` open (Linux /proc); a lock file git holds is open while held."""
    target = str(path)
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fd_dir = f"/proc/{name}/fd"
        try:
            links = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in links:
            try:
                if os.readlink(f"{fd_dir}/{fd}") == target:
                    found.append(int(name))
                    break
            except OSError:
                continue
    return found


def worktree_git_dir(worktree: Path) -> Path | None:
    dotgit = worktree / ".git"
    if dotgit.is_dir():
        return dotgit
    try:
        text = dotgit.read_text().strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    return (worktree / text.split(":", 1)[1].strip()).resolve()


def remove_stale_index_lock(worktree: Path) -> str | None:
    """Remove the worktree's ``index.lock`` if no process holds it; returns what it removed."""
    git_dir = worktree_git_dir(worktree)
    if git_dir is None:
        return None
    lock = git_dir / "index.lock"
    if not lock.exists() or holders(lock):
        return None
    lock.unlink(missing_ok=True)
    return str(lock)
