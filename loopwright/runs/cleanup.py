"""Removing runs and what they leave behind, without ever losing work.

``delete`` (``loopwright rm``, ``orchestrate_delete``) removes one run: its worktrees, its
branches once their base branch holds all their changes (or with ``force``), its scratch
repository, then its run dir and index row, the last two only when nothing of it was
kept. ``gc`` does the same for each finished run it selects, then trims the pool of parked
checkouts, drops index rows whose run dir is gone and removes scratch repositories no run
refers to. Every removal passes a guard of ``git.safety`` first: a worktree with
uncommitted changes, or a branch with changes its base branch lacks (unless ``force``), is
kept, and the report says why.

A run that may still resume (``needs_input``, ``interrupted``) is removed whole or not at
all: its worktree is where it goes on. A live run is never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import InvalidState, WorkAtRisk
from ..fsmodes import open_nofollow, private_dir
from ..loop.vocab import LIVE_STATES, TERMINAL_STATES, RunState
from . import runner
from .git import pool
from .git.gitcmd import repo_lock, run_git
from .git.safety import (
    assert_branch_merged,
    assert_disposable,
    assert_repo_disposable,
    branch_merged,
    delete_branch,
    remove_repo_dir,
    remove_worktree_dir,
)
from .git.worktree import branch_name
from .status import RunStatus
from .store import RunStore, read_json

Kind = Literal["worktree", "branch", "scratch repo", "run", "index row", "pool slot"]
"""What a cleanup removes or keeps."""

ORPHAN_AGE = 3600.0
"""A scratch repository no run refers to is removed only once it is this old (seconds): a
run being created makes its scratch repository a moment before its run dir."""


@dataclass(frozen=True)
class Item:
    kind: Kind
    target: str
    run_id: str | None = None
    note: str = ""
    """Removed: what to know (a deleted branch's tip); kept: why it was kept."""


@dataclass
class Report:
    """What a cleanup removed and what it kept, and why (``dry_run``: would remove)."""

    dry_run: bool = False
    removed: list[Item] = field(default_factory=list)
    kept: list[Item] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Selection:
    """Which runs ``gc`` cleans: finished ones by default."""

    states: frozenset[RunState] = TERMINAL_STATES
    older_than: float | None = None
    """Seconds since the run last changed (ended); None: any age."""
    merged_only: bool = False
    """Only runs whose work is merged into their base branch (or who committed nothing)."""


def delete(store: RunStore, run_id: str, force: bool = False, dry_run: bool = False) -> Report:
    """Remove one run (see the module); ``InvalidState`` for a live run."""
    report = Report(dry_run=dry_run)
    if runner.refresh(store, run_id)["state"] in LIVE_STATES:
        raise InvalidState(_live(store, run_id), "run_id")
    _clean_run(store, run_id, report, force)
    return report


def _live(store: RunStore, run_id: str) -> str:
    state = store.read_status(run_id)["state"]
    return f"run {run_id} is still {state}; cancel it first (loopwright cancel {run_id})"


def _clean_run(store: RunStore, run_id: str, report: Report, force: bool) -> None:
    with runner.run_lock(store, run_id):  # no resume starts it meanwhile
        status = store.read_status(run_id)
        if status["state"] in LIVE_STATES:
            report.kept.append(Item("run", run_id, run_id, _live(store, run_id)))
            return
        request = store.read_request(run_id)
        if status["state"] not in TERMINAL_STATES:  # whole or not at all: try it first
            trial = Report(dry_run=True)
            _clean_git(store, run_id, status, request, trial, force)
            if trial.kept:
                report.kept += [*trial.kept, _kept_run(run_id, "it may still resume")]
                return
        kept = len(report.kept)
        _clean_git(store, run_id, status, request, report, force)
        if len(report.kept) > kept:
            report.kept.append(_kept_run(run_id, "some of its work is kept (see above)"))
            if not report.dry_run:
                _note_removed_worktree(store, run_id, status)
            return
        report.removed.append(Item("run", str(store.paths(run_id).root), run_id))
        if not report.dry_run:  # under the lock: a resume waiting for it then finds no run
            store.remove(run_id)


def _kept_run(run_id: str, why: str) -> Item:
    return Item("run", run_id, run_id, why)


def _note_removed_worktree(store: RunStore, run_id: str, status: RunStatus) -> None:
    ws = status.get("workspace")
    if ws and ws.get("path") and not Path(ws["path"]).exists():
        ws.update(kept=False, path_removed=True)
        store.write_status(run_id, status)


def _clean_git(
    store: RunStore,
    run_id: str,
    status: RunStatus,
    request: dict[str, Any],
    report: Report,
    force: bool,
) -> None:
    """The run's worktrees, branches and scratch repository."""
    ws = status.get("workspace") or {}
    repo = str(ws.get("repo") or request.get("repo") or "")
    if not repo or not Path(repo).is_dir():
        return  # in place (no git of ours), or its repository is gone
    scratch = _under(Path(repo), store.home / "scratch")
    force = force or (scratch and Path(repo).name.startswith("demo-"))  # the demo's own fix
    kept = len(report.kept)
    with repo_lock(repo):
        trees = _worktrees(store.home, run_id, ws)
        for path in trees:
            _step(report, "worktree", path, run_id, _worktree_action(repo, path, ws, report))
        if not report.dry_run:
            run_git(repo, "worktree", "prune")
        branches = _branches(repo, run_id)
        into = _targets(repo, ws)
        for branch in branches:
            _step(report, "branch", branch, run_id, _branch_action(repo, branch, into, force,
                                                                   report.dry_run))  # fmt: skip
    if scratch and len(report.kept) == kept:
        _step(report, "scratch repo", repo, run_id, _repo_action(repo, report, branches, trees))


def _under(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _worktrees(home: Path, run_id: str, ws: dict[str, Any]) -> list[str]:
    """The run's worktree and those of its parallel subgoals that are still there."""
    found = [str(ws["path"])] if ws.get("path") and Path(ws["path"]).exists() else []
    subs = home / "worktrees" / f"{run_id}.sub"
    found += [str(p) for p in sorted(subs.glob("*"))] if subs.is_dir() else []
    return found


def _branches(repo: str, run_id: str) -> list[str]:
    """The run's branch and the kept branches of its subgoals (``<branch>-i<N>-<id>``)."""
    name = branch_name(run_id)
    refs = run_git(repo, "for-each-ref", "--format=%(refname:short)",
                   f"refs/heads/{name}", f"refs/heads/{name}-i*")  # fmt: skip
    return refs.stdout.decode().split()


def _targets(repo: str, ws: dict[str, Any]) -> list[str]:
    """The branches a run's work is meant for: where it was merged, its base branch, and
    (for records that predate ``base_branch``) the branch checked out in the repository."""
    current = run_git(repo, "symbolic-ref", "--quiet", "--short", "HEAD").stdout.decode()
    found = [ws.get("merged_into"), ws.get("base_branch"), current.strip()]
    return list(dict.fromkeys(b for b in found if b and not b.startswith("loopwright/")))


Action = Callable[[], str]
"""Does (or, in a dry run, only checks) one removal; returns a note; ``WorkAtRisk``: kept."""


def _worktree_action(repo: str, path: str, ws: dict[str, Any], report: Report) -> Action:
    # Commits on its HEAD are safe when the run's branch (deleted only once merged) has
    # them; a subgoal's worktree is checked against its own branch the same way.
    def act() -> str:
        head = run_git(path, "rev-parse", "--verify", "-q", "HEAD").stdout.decode().strip()
        branch = run_git(path, "symbolic-ref", "--quiet", "HEAD").stdout.decode().strip()
        base = branch if branch.startswith("refs/heads/") else (ws.get("head") or head or None)
        if report.dry_run:
            assert_disposable(path, base)
        else:
            remove_worktree_dir(repo, path, base)
        return ""

    return act


def _branch_action(repo: str, branch: str, into: list[str], force: bool, dry_run: bool) -> Action:
    def act() -> str:
        merged = any(branch_merged(repo, branch, b) for b in into)
        if not merged and not force:
            assert_branch_merged(repo, branch, into)  # raises, naming where it is not
        unmerged = "" if merged else " (unmerged: deleted as forced)"
        if dry_run:
            return unmerged.strip(" ()")
        tip = delete_branch(repo, branch, into, force)
        return f"was {tip[:12]}{unmerged}"

    return act


def _repo_action(
    repo: str, report: Report, branches: list[str] | None = None, trees: list[str] | None = None
) -> Action:
    def act() -> str:
        if report.dry_run:  # what the real run removes first does not count against it
            assert_repo_disposable(repo, branches or [], trees or [])
        else:
            remove_repo_dir(repo)
        return ""

    return act


def _step(report: Report, kind: Kind, target: str, run_id: str | None, action: Action) -> None:
    try:
        note = action()
    except WorkAtRisk as exc:
        report.kept.append(Item(kind, target, run_id, str(exc)))
        return
    report.removed.append(Item(kind, target, run_id, note))


@contextlib.contextmanager
def _collecting(store: RunStore, wait: bool) -> Iterator[bool]:
    """One collection at a time per state dir; ``wait`` False: True only if we got it."""
    private_dir(store.home)
    fd = open_nofollow(store.home / "gc.lock", os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def auto_gc(store: RunStore, keep_days: float) -> Report | None:
    """The automatic policy (``gc.keep_days``, applied as a new run starts): finished runs
    that ended more than ``keep_days`` ago go as with ``gc --older-than``, never forced, the
    pool left as it is. None when it is off, or another collection is under way."""
    if keep_days <= 0:
        return None
    with _collecting(store, wait=False) as mine:
        if not mine:
            return None
        return _collect(store, Selection(older_than=keep_days * 86400), False, False, None)


def gc(
    store: RunStore,
    selection: Selection | None = None,
    force: bool = False,
    dry_run: bool = False,
    keep_pooled: int | None = 0,
) -> Report:
    """Clean every selected run (see the module), then the pool (down to ``keep_pooled``
    parked checkouts per repository; None leaves it), index rows whose run dir is gone and
    scratch repositories no run refers to."""
    with _collecting(store, wait=True):
        return _collect(store, selection or Selection(), force, dry_run, keep_pooled)


def _collect(
    store: RunStore, selection: Selection, force: bool, dry_run: bool, keep_pooled: int | None
) -> Report:
    report = Report(dry_run=dry_run)
    runner.recover(store)
    now = time.time()
    for run_id in _run_ids(store):
        try:
            status = store.read_status(run_id)
        except (OSError, ValueError):
            continue  # half made or half removed: not ours to judge
        if _selected(store, status, selection, now):
            _clean_run(store, run_id, report, force)
    _drop_rows(store, report)
    if keep_pooled is not None:
        trimmed = pool.gc(store.home, keep_pooled, dry_run)
        report.removed += [Item("pool slot", p) for p in trimmed["removed_slots"]]
        report.kept += [Item("pool slot", k["path"], None, k["why"]) for k in trimmed["kept_slots"]]
    _orphan_scratch(store, report, now)
    return report


def _run_ids(store: RunStore) -> list[str]:
    if not store.runs_dir.is_dir():
        return []
    return sorted(d.name for d in store.runs_dir.iterdir() if (d / "status.json").is_file())


def _selected(store: RunStore, status: RunStatus, selection: Selection, now: float) -> bool:
    if status["state"] not in selection.states:
        return False
    age = now - float(status.get("updated_at") or 0)
    if selection.older_than is not None and age < selection.older_than:
        return False
    return not selection.merged_only or _merged(status)


def _merged(status: RunStatus) -> bool:
    """Whether the run's work is in its base branch (or it made none, or none in git)."""
    ws = status.get("workspace") or {}
    repo, branch = ws.get("repo"), ws.get("branch")
    if not repo or not branch or not Path(repo).is_dir():
        return True
    if run_git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}").returncode != 0:
        return True
    return any(branch_merged(repo, branch, b) for b in _targets(repo, ws))


def _drop_rows(store: RunStore, report: Report) -> None:
    """Index rows of runs whose run dir was deleted (by hand, or by an older version)."""
    for row in store.index.list(None, 1 << 62):
        run_id = row["run_id"]
        if not store.paths(run_id).root.exists():
            report.removed.append(Item("index row", run_id, run_id))
            if not report.dry_run:
                store.index.delete(run_id)


def _orphan_scratch(store: RunStore, report: Report, now: float) -> None:
    """Scratch repositories no run refers to (a run deleted by hand, a demo that never
    started), once ``ORPHAN_AGE`` old."""
    folder = store.home / "scratch"
    if not folder.is_dir():
        return
    used: set[str] = set()
    for run_id in _run_ids(store):
        try:
            request = read_json(store.paths(run_id).request)
        except (OSError, ValueError):
            continue
        for where in (request.get("repo"), request.get("loop", {}).get("cwd")):
            if where:
                used.add(os.path.realpath(where))
    for repo in sorted(folder.iterdir()):
        if os.path.realpath(repo) in used or now - repo.stat().st_mtime < ORPHAN_AGE:
            continue
        _step(report, "scratch repo", str(repo), None, _repo_action(str(repo), report))
