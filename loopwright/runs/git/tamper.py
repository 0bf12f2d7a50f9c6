"""Changes a worker makes to the repository's git setup, found so they can be reported.

A worktree shares the user's ``.git``: a key a worker adds to ``.git/config`` (a filter, a
``core.hooksPath``), a hook it drops into ``.git/hooks`` or a line in ``info/attributes``
outlives the run and runs in the user's own git afterwards. Before an iteration's work the
config files, the hooks (names and content digests) and ``info/attributes`` are read — a
few small files, no git call — and read again at its checkpoint; ``changes`` names what
differs: config keys, files, hooks.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ProcessError
from .gitcmd import common_dir, git
from .locks import worktree_git_dir

__all__ = ["GitSetup", "Watch", "changes", "snapshot"]


@dataclass(frozen=True)
class GitSetup:
    """What a repository's git setup looked like: file bytes (None: absent) by path, and
    a digest of each hook by name."""

    files: dict[str, bytes | None] = field(default_factory=dict)
    hooks: dict[str, str] = field(default_factory=dict)


def _read(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _hooks(folder: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for name in names:
        path = folder / name
        if path.is_symlink():
            found[name] = "link:" + os.readlink(path)
        else:
            data = _read(path)
            mode = oct(path.stat().st_mode) if data is not None else "dir"
            found[name] = f"{mode}:{hashlib.sha256(data or b'').hexdigest()}"
    return found


def snapshot(worktree: str | Path) -> GitSetup:
    """The git setup the worktree at ``worktree`` shares with its repository."""
    common = common_dir(worktree)
    own = worktree_git_dir(Path(worktree)) or common
    paths = {common / "config", common / "config.worktree", own / "config.worktree",
             common / "info" / "attributes"}  # fmt: skip
    return GitSetup({str(p): _read(p) for p in sorted(paths)}, _hooks(common / "hooks"))


def _entries(cwd: str | Path, data: bytes | None) -> Counter[tuple[str, str]] | None:
    """The (key, value) entries of a config file's bytes; None if git cannot read them."""
    if not data:
        return Counter()
    try:
        raw = git(cwd, "config", "--file", "-", "--list", "-z", input=data)
    except ProcessError:
        return None
    found: Counter[tuple[str, str]] = Counter()
    for item in filter(None, raw.split("\0")):
        key, _, value = item.partition("\n")
        found[key, value] += 1
    return found


def _changed_keys(cwd: str | Path, old: bytes | None, new: bytes | None) -> list[str]:
    before, after = _entries(cwd, old), _entries(cwd, new)
    if before is None or after is None:
        return ["(unreadable config)"]
    return sorted({key for key, _ in (before - after) + (after - before)})


def _differ(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in {*old, *new} if old.get(k) != new.get(k))


def changes(cwd: str | Path, before: GitSetup, after: GitSetup) -> dict[str, Any] | None:
    """What differs between two snapshots (None: nothing): ``files`` changed, config
    ``keys`` added, removed or changed, ``hooks`` added, removed or changed."""
    files = _differ(before.files, after.files)
    keys: set[str] = set()
    for path in files:
        if Path(path).name.startswith("config"):
            keys.update(_changed_keys(cwd, before.files.get(path), after.files.get(path)))
    hooks = _differ(before.hooks, after.hooks)
    if not files and not hooks:
        return None
    return {"files": files, "keys": sorted(keys), "hooks": hooks}


class Watch:
    """The git setup of a worktree's repository, read as an iteration starts (``start``)
    and compared at its checkpoint (``check``). Blocking: call from a worker thread."""

    def __init__(self, worktree: str | Path) -> None:
        self.worktree = worktree
        self.before: GitSetup | None = None

    def _now(self) -> GitSetup | None:
        try:
            return snapshot(self.worktree)
        except (OSError, ProcessError):  # a broken worktree: its checkpoint says so
            return None

    def start(self) -> None:
        self.before = self._now()

    def check(self) -> dict[str, Any] | None:
        """The ``security`` event's data if the setup changed since ``start`` (or since the
        last ``check``: a change is reported once), else None."""
        before, now = self.before, self._now()
        self.before = now
        found = changes(self.worktree, before, now) if before and now else None
        if found is None:
            return None
        named = [*found["keys"], *(f"hook {h}" for h in found["hooks"])] or found["files"]
        message = (
            f"the repository's git setup was changed during this iteration ({', '.join(named)});"
            " it is shared with your checkout and outlives the run. loopwright's own git calls"
            " do not run it: check it before you run git there yourself"
        )
        return {"message": message, **found}
