"""Guards that every destructive git operation passes first: work is never destroyed.

A worktree may be reset, cleaned, parked or removed only when it holds no uncommitted
change (tracked or untracked; ignored files are build output and do not count) and its
HEAD has no commit that the base does not already reach. A branch may be deleted only
when its base reaches every commit on it. The checks live here and are called by the
operations themselves (pool, worktree removal, cleanup), not only by their callers.
"""

from __future__ import annotations

import shutil
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
