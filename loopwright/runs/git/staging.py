"""Staging an iteration's work for its checkpoint, including what ``git add -A`` gets wrong.

Two things a worker commonly leaves make a plain ``git add -A`` fail or lose content:
a git repository of its own inside the worktree (``git init sub``: without a commit the
add fails; with one, git stores only a gitlink and the files live nowhere but in that
folder), and an ``index.lock`` (stale, or held by a git the worker left running). Nested
repositories are staged as plain files (their ``.git`` is not); a stale lock is removed
and a held one waited for, bounded.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from ...errors import unwrapped
from .gitcmd import agit, git, run_git
from .locks import holders, worktree_git_dir

LOCK_WAIT = 10.0
"""Seconds a checkpoint waits for an ``index.lock`` that a live process holds."""

Warn = Callable[[str, dict[str, object]], None]


@dataclass
class Staged:
    """The staged tree and the files it changes from the iteration's base."""

    tree: str
    files: list[dict[str, str]] = field(default_factory=list)
    gitlinks: list[str] = field(default_factory=list)  # new gitlinks: nested repositories


def parse_raw(raw: str) -> tuple[list[dict[str, str]], list[str]]:
    """``git diff-index --raw -M -z`` -> ([{status, path[, old_path]}], new gitlink paths)."""
    parts, files, links, i = raw.split("\0"), [], [], 0
    while i + 1 < len(parts) and parts[i].startswith(":"):
        old_mode, new_mode, _, _, code = parts[i][1:].split(" ")
        if code[0] in "RC":
            files.append({"status": code[0], "old_path": parts[i + 1], "path": parts[i + 2]})
            i += 3
        else:
            files.append({"status": code[0], "path": parts[i + 1]})
            i += 2
        if new_mode == "160000" and old_mode != "160000":
            links.append(files[-1]["path"])
    return files, links


async def stage(path: str, base: str, nested: list[str], warn: Warn) -> Staged:
    """``git add -A`` (nested repositories excluded, then added as plain files) and the
    resulting tree with its changed files; nested repos git took as gitlinks are redone."""
    excludes = [f":(exclude,top,literal){p}" for p in nested]
    await agit(path, "add", "-A", *(["--", ".", *excludes] if nested else []))
    for sub in nested:
        await anyio.to_thread.run_sync(add_plain_files, path, sub, warn)
    staged = await _tree_and_files(path, base)
    if staged.gitlinks:
        for sub in staged.gitlinks:
            await agit(path, "update-index", "--force-remove", "--", sub)
            await anyio.to_thread.run_sync(add_plain_files, path, sub, warn)
        staged = await _tree_and_files(path, base)
    if nested or staged.gitlinks:
        names = ", ".join(sorted({*nested, *staged.gitlinks}))
        warn(
            f"nested git repositories committed as plain files (their .git is not): {names}",
            {"paths": sorted({*nested, *staged.gitlinks})},
        )
    return staged


async def _tree_and_files(path: str, base: str) -> Staged:
    staged = Staged(tree="")

    async def changed() -> None:  # beside write-tree: both only read the index
        raw = await agit(path, "diff-index", "--cached", "--raw", "-M", "-z", base)
        staged.files, staged.gitlinks = parse_raw(raw)

    with unwrapped():
        async with anyio.create_task_group() as tg:
            tg.start_soon(changed)
            staged.tree = (await agit(path, "write-tree")).strip()
    return staged


def add_plain_files(worktree: str, sub: str, warn: Warn) -> None:
    """Stage the files of the nested repository ``sub`` (as that repository sees them:
    tracked and untracked, not ignored) as plain blobs of the outer index."""
    root = Path(worktree) / sub
    raw = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    names = sorted({n for n in raw.split("\0") if n})
    regular, entries, skipped = [], [], []
    for name in names:
        full = root / name
        try:
            st = full.lstat()
        except OSError:
            continue  # listed by its index but deleted: nothing to keep
        if name.endswith("/") or stat.S_ISDIR(st.st_mode) or "\n" in name:
            skipped.append(f"{sub}/{name.rstrip('/')}")  # a repository inside the nested one
        elif stat.S_ISLNK(st.st_mode):
            target = os.fsencode(os.readlink(full))
            sha = git(worktree, "hash-object", "-w", "--no-filters", "--stdin", input=target)
            sha = sha.strip()
            entries.append(f"120000 {sha}\t{sub}/{name}")
        elif stat.S_ISREG(st.st_mode):
            regular.append((name, "100755" if st.st_mode & 0o111 else "100644"))
    if regular:
        listing = "\n".join(str(root / n) for n, _ in regular).encode("utf-8", "surrogateescape")
        out = git(worktree, "hash-object", "-w", "--no-filters", "--stdin-paths", input=listing)
        for (name, mode), sha in zip(regular, out.split(), strict=True):
            entries.append(f"{mode} {sha}\t{sub}/{name}")
    if entries:
        info = "".join(e + "\0" for e in entries).encode("utf-8", "surrogateescape")
        git(worktree, "update-index", "--add", "-z", "--index-info", input=info)
    if skipped:
        why = f"a repository inside {sub}, or a newline in the name"
        warn(f"left out of the checkpoint ({why}): " + ", ".join(skipped), {"paths": skipped})


def nested_repos(worktree: str) -> list[str]:
    """Untracked, not ignored folders of the worktree that hold a git repository."""
    raw = git(worktree, "ls-files", "-z", "--others", "--exclude-standard", "--directory")
    found: list[str] = []
    for entry in raw.split("\0"):
        if not entry.endswith("/"):
            continue
        for dirpath, dirnames, filenames in os.walk(Path(worktree) / entry):
            if ".git" in dirnames or ".git" in filenames:
                found.append(os.path.relpath(dirpath, worktree))
                dirnames.clear()
    if not found:
        return found
    listing = "".join(f + "\0" for f in found).encode("utf-8", "surrogateescape")
    done = run_git(worktree, "check-ignore", "-z", "--stdin", input=listing)  # exit 1: none
    skip = {p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p}
    return [p for p in found if p not in skip]


async def clear_index_lock(worktree: str, warn: Warn, wait: float | None = None) -> None:
    """Remove the worktree's ``index.lock`` if no process holds it; wait (bounded) for a
    holder to finish. A lock still held afterwards stays, and the retry names it."""
    git_dir = worktree_git_dir(Path(worktree))
    if git_dir is None:
        return
    lock = git_dir / "index.lock"
    deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
    told = False
    while lock.exists():
        pids = await anyio.to_thread.run_sync(holders, lock)
        if not pids:
            lock.unlink(missing_ok=True)
            warn(f"removed stale git lock {lock}", {"path": str(lock)})
            return
        if time.monotonic() >= deadline:
            return
        if not told:
            warn(f"waiting for git lock {lock} held by pid {', '.join(map(str, pids))}",
                 {"path": str(lock), "pids": pids})  # fmt: skip
            told = True
        await anyio.sleep(0.05)
