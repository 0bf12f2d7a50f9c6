"""Guards that every destructive git operation passes first: work is never destroyed.

A worktree may be reset, cleaned, parked or removed only when it holds no uncommitted
change (tracked or untracked; ignored files are build output and do not count) and its
HEAD has no commit that the base does not already reach. A branch may be deleted only
when its base reaches every commit on it, or (``delete_branch``) when a branch it was
merged into holds all its changes. The checks live here and are called by the operations
themselves (pool, worktree removal, cleanup, ``loopwright rm`` and ``gc``), not only by
their callers.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection
from pathlib import Path

from ...errors import ProcessError, WorkAtRisk
from .gitcmd import porcelain, run_git


def _unreachable(cwd: str | Path, base: str, tip: str) -> bool:
    done = run_git(cwd, "rev-list", "-n", "1", f"{base}..{tip}", "--")
    if done.returncode != 0:  # cannot tell: treat as holding work
        return True
    return bool(done.stdout.strip())


def assert_disposable(path: str | Path, base: str | None = None) -> None:
    """Raise ``WorkAtRisk`` unless the worktree at ``path`` holds nothing to lose.

    A path that does not exist holds nothing. One that git cannot read is kept: we
    cannot tell what it holds."""
    if not Path(path).exists():
        return
    try:
        dirty = porcelain(path)
    except ProcessError as exc:
        raise WorkAtRisk(f"refusing to discard {path}: git cannot read it ({exc})") from exc
    if dirty:
        names = ", ".join(p for _, p in dirty[:5]) + (" …" if len(dirty) > 5 else "")
        raise WorkAtRisk(
            f"refusing to discard {path}: {len(dirty)} uncommitted change(s) ({names})"
        )
    if base is not None and _unreachable(path, base, "HEAD"):
        raise WorkAtRisk(f"refusing to discard {path}: HEAD holds commits not in {base[:12]}")


def assert_branch_disposable(repo: str | Path, branch: str, base: str) -> None:
    """Raise ``WorkAtRisk`` unless every commit on ``branch`` is reachable from ``base``."""
    ref = f"refs/heads/{branch}"
    if run_git(repo, "rev-parse", "--verify", "-q", ref).returncode != 0:
        return  # no such branch: nothing to lose
    if _unreachable(repo, base, ref):
        raise WorkAtRisk(f"refusing to delete branch {branch}: it holds commits not in {base[:12]}")


def remove_worktree_dir(repo: str | Path, path: str | Path, base: str | None = None) -> None:
    """``git worktree remove --force``, else delete the folder (a prune then drops its
    record), but only after ``assert_disposable``. The caller holds ``repo_lock``."""
    assert_disposable(path, base)
    if run_git(repo, "worktree", "remove", "--force", str(path)).returncode != 0:
        shutil.rmtree(path, ignore_errors=True)


def branch_merged(repo: str | Path, branch: str, into: str) -> bool:
    """True when branch ``into`` holds every change of ``branch``: its tip is reachable from
    ``into``, or merging it would change nothing (a squash merge, a cherry-pick)."""
    ref, target = f"refs/heads/{branch}", f"refs/heads/{into}"
    if run_git(repo, "merge-base", "--is-ancestor", ref, target).returncode == 0:
        return True
    done = run_git(repo, "merge-tree", "--write-tree", "--no-messages", target, ref)
    tree = run_git(repo, "rev-parse", "--verify", "-q", f"{target}^{{tree}}")
    if done.returncode != 0 or tree.returncode != 0:
        return False
    return done.stdout.decode().split("\n", 1)[0].strip() == tree.stdout.decode().strip()


def assert_branch_merged(repo: str | Path, branch: str, into: list[str]) -> None:
    """Raise ``WorkAtRisk`` unless one of the branches ``into`` holds every change of
    ``branch`` (or there is no such branch)."""
    if run_git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}").returncode != 0:
        return
    if not any(branch_merged(repo, branch, b) for b in into):
        where = ", ".join(into) or "its base branch (unknown)"
        raise WorkAtRisk(f"branch {branch} holds changes not merged into {where}")


def delete_branch(repo: str | Path, branch: str, into: list[str], force: bool = False) -> str:
    """Delete ``branch`` after ``assert_branch_merged`` (``force``: whatever it holds);
    returns the tip it had, "" when there was no such branch. The caller holds
    ``repo_lock``."""
    tip = run_git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}")
    if tip.returncode != 0:
        return ""
    if not force:
        assert_branch_merged(repo, branch, into)
    if run_git(repo, "branch", "-D", branch).returncode != 0:
        raise WorkAtRisk(f"git refused to delete branch {branch}")
    return tip.stdout.decode().strip()


def assert_repo_disposable(
    path: str | Path, branches: Collection[str] = (), worktrees: Collection[str] = ()
) -> None:
    """Raise ``WorkAtRisk`` unless deleting the repository at ``path`` (a scratch
    repository loopwright made) loses nothing: its checkout holds no uncommitted change,
    every branch but ``branches`` (being deleted) is reachable from its HEAD, and no
    worktree but ``worktrees`` (being removed) works in it."""
    assert_disposable(path)
    listing = run_git(path, "worktree", "list", "--porcelain").stdout.decode()
    found = [ln[9:] for ln in listing.splitlines() if ln.startswith("worktree ")][1:]
    others = [w for w in found if w not in worktrees and Path(w).exists()]
    if others:
        raise WorkAtRisk(f"refusing to delete {path}: another worktree uses it ({others[0]})")
    heads = run_git(path, "for-each-ref", "--format=%(refname:short)", "refs/heads").stdout
    for branch in heads.decode().split():
        if branch not in branches and _unreachable(path, "HEAD", f"refs/heads/{branch}"):
            raise WorkAtRisk(f"refusing to delete {path}: branch {branch} holds commits HEAD lacks")


def remove_repo_dir(path: str | Path) -> None:
    """Delete a scratch repository after ``assert_repo_disposable``."""
    if not Path(path).exists():
        return
    run_git(path, "worktree", "prune")
    assert_repo_disposable(path)
    shutil.rmtree(path)
