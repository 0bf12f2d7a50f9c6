"""Removing runs (``rm``) and collecting what runs leave behind (``gc``): work is never lost."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from loopwright.errors import InvalidState
from loopwright.loop.vocab import LIVE_STATES
from loopwright.runs import cleanup, runner
from loopwright.runs.git.gitcmd import git, run_git
from loopwright.runs.git.merge import merge
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import write_scenario

FEATURE = {"worker": [{"text": "x", "edits": [{"path": "feature.txt", "write": "done\n"}]}]}


def finished(store: RunStore, tmp_path: Path, scenario: dict[str, Any], **kw: Any) -> str:
    spec = write_scenario(tmp_path / f"s{time.monotonic_ns()}.json", scenario)
    run = runner.start_thread(store, build_request("a feature", backend=spec, **kw))
    assert run.wait(30)["state"] not in LIVE_STATES
    return run.run_id


def branches(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def kinds(items: list[cleanup.Item]) -> set[str]:
    return {i.kind for i in items}


def test_rm_of_a_merged_run_removes_its_worktree_branch_run_dir_and_row(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    run_id = finished(store, tmp_path, FEATURE, cwd=str(repo))
    path = Path(store.read_status(run_id)["workspace"]["path"])
    assert path.exists()
    merge(store, run_id, squash=True)  # squashed: the branch tip is not reachable, the work is
    report = cleanup.delete(store, run_id)
    assert not report.kept
    assert kinds(report.removed) == {"worktree", "branch", "run"}
    assert not path.exists() and branches(repo) == ["main"]
    assert not store.paths(run_id).root.exists() and store.index.list() == []
    assert (repo / "feature.txt").read_text() == "done\n"


def test_rm_keeps_an_unmerged_branch_and_the_run_unless_forced(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    run_id = finished(store, tmp_path, FEATURE, cwd=str(repo))
    branch = f"loopwright/{run_id}"
    report = cleanup.delete(store, run_id)
    assert kinds(report.removed) == {"worktree"}  # safe: its commits are on the branch
    kept = {i.kind: i.note for i in report.kept}
    assert "not merged into main" in kept["branch"] and "run" in kept
    assert branch in branches(repo) and store.paths(run_id).root.exists()
    assert store.read_status(run_id)["workspace"]["path_removed"] is True

    tip = git(repo, "rev-parse", branch).strip()
    forced = cleanup.delete(store, run_id, force=True)
    assert not forced.kept and branch not in branches(repo)
    note = next(i.note for i in forced.removed if i.kind == "branch")
    assert note.startswith(f"was {tip[:12]}") and "unmerged" in note
    assert not store.paths(run_id).root.exists()


def test_rm_never_discards_uncommitted_changes_even_when_forced(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    run_id = finished(store, tmp_path, FEATURE, cwd=str(repo))
    path = Path(store.read_status(run_id)["workspace"]["path"])
    (path / "precious.txt").write_text("not committed\n")
    report = cleanup.delete(store, run_id, force=True)
    assert (path / "precious.txt").read_text() == "not committed\n"
    worktree = next(i for i in report.kept if i.kind == "worktree")
    assert "uncommitted change" in worktree.note and "precious.txt" in worktree.note
    assert store.paths(run_id).root.exists()


def test_rm_refuses_a_live_run_and_touches_nothing(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    spec = write_scenario(tmp_path / "slow.json", {"worker": [{"delay": 30, "text": "slow"}]})
    run = runner.start_thread(store, build_request("slow", backend=spec, cwd=str(repo)))
    deadline = time.monotonic() + 20
    while store.read_status(run.run_id)["phase"] != "work":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with pytest.raises(InvalidState, match="cancel it first"):
        cleanup.delete(store, run.run_id)
    assert store.paths(run.run_id).root.exists()
    run.cancel()
    assert run.wait(30)["state"] == "cancelled"


def test_a_dry_run_says_what_would_go_and_changes_nothing(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    run_id = finished(store, tmp_path, FEATURE, cwd=str(repo))
    merge(store, run_id)
    path = Path(store.read_status(run_id)["workspace"]["path"])
    report = cleanup.gc(store, dry_run=True)
    assert report.dry_run and kinds(report.removed) == {"worktree", "branch", "run"}
    assert path.exists() and f"loopwright/{run_id}" in branches(repo)
    assert store.paths(run_id).root.exists()


def test_gc_removes_merged_runs_and_keeps_unmerged_work_saying_why(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    merged = finished(store, tmp_path, FEATURE, cwd=str(repo))
    merge(store, merged)
    other = {"worker": [{"text": "y", "edits": [{"path": "other.txt", "write": "x\n"}]}]}
    unmerged = finished(store, tmp_path, other, cwd=str(repo))
    empty = finished(store, tmp_path, {"worker": [{"text": "nothing"}]}, cwd=str(repo))
    report = cleanup.gc(store)
    gone = {i.run_id for i in report.removed if i.kind == "run"}
    assert gone == {merged, empty}
    assert {(i.kind, i.run_id) for i in report.kept} == {("branch", unmerged), ("run", unmerged)}
    assert sorted(branches(repo)) == [f"loopwright/{unmerged}", "main"]
    assert git(repo, "worktree", "list").count("\n") == 1  # every worktree went, pool too
    assert [r["run_id"] for r in store.index.list()] == [unmerged]


def test_gc_selects_by_state_age_and_merged(store: RunStore, repo: Path, tmp_path: Path) -> None:
    a = finished(store, tmp_path, FEATURE, cwd=str(repo))
    stopped = {"reviewer": [{"json": {"complete": False, "issues": ["no"]}}]}
    b = finished(store, tmp_path, stopped, cwd=str(repo), budget={"max_iterations": 1})
    assert store.read_status(b)["state"] == "stopped"
    assert not cleanup.gc(store, cleanup.Selection(older_than=3600)).removed
    only_stopped = cleanup.gc(store, cleanup.Selection(states=frozenset({"stopped"})))
    assert {i.run_id for i in only_stopped.removed} == {b}
    merge(store, a)
    c = finished(store, tmp_path, {"worker": [{"text": "y", "edits": [
        {"path": "c.txt", "write": "c\n"}]}]}, cwd=str(repo))  # fmt: skip
    merged_only = cleanup.gc(store, cleanup.Selection(merged_only=True))
    assert {i.run_id for i in merged_only.removed if i.kind == "run"} == {a}
    assert not merged_only.kept and store.paths(c).root.exists()


def test_a_resumable_run_is_removed_whole_or_not_at_all(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    question = {"json": {"criteria": ["x"], "questions": [{"id": "q1", "text": "Which?"}]}}
    run_id = finished(store, tmp_path, {"clarifier": [question], **FEATURE}, cwd=str(repo),
                      questions="ask")  # fmt: skip
    status = store.read_status(run_id)
    assert status["state"] == "needs_input"
    path = Path(status["workspace"]["path"])
    (path / "draft.txt").write_text("uncommitted\n")
    report = cleanup.delete(store, run_id)
    assert not report.removed and path.exists() and store.paths(run_id).root.exists()
    assert {i.kind for i in report.kept} == {"worktree", "run"}


def test_scratch_repos_go_with_their_runs_and_orphans_once_old(store: RunStore) -> None:
    run = runner.start_thread(store, build_request("in a scratch repo"))
    assert run.wait(30)["state"] == "completed"
    scratch = Path(store.read_request(run.run_id)["repo"])
    kept = cleanup.gc(store)  # its work is on an unmerged branch of the scratch repo
    assert scratch.exists() and {i.kind for i in kept.kept} == {"branch", "run"}
    forced = cleanup.gc(store, force=True)
    assert "scratch repo" in kinds(forced.removed) and not scratch.exists()

    orphan = store.home / "scratch" / "left-behind"
    from loopwright.runs.git.scratch import make_scratch_repo

    make_scratch_repo(orphan)
    assert not cleanup.gc(store).removed  # young: it may be a run being created
    old = time.time() - 2 * cleanup.ORPHAN_AGE
    os.utime(orphan, (old, old))
    assert [i.target for i in cleanup.gc(store).removed] == [str(orphan)]


def test_gc_drops_index_rows_of_run_dirs_deleted_by_hand(
    store: RunStore, tmp_path: Path, repo: Path
) -> None:
    run_id = finished(store, tmp_path, {"worker": [{"text": "nothing"}]}, cwd=str(repo))
    shutil.rmtree(store.paths(run_id).root)
    report = cleanup.gc(store)
    assert ("index row", run_id) in [(i.kind, i.target) for i in report.removed]
    assert store.index.list() == []
    assert run_git(repo, "rev-parse", "--verify", "-q", f"loopwright/{run_id}").returncode


def backdate(store: RunStore, run_id: str, days: float) -> None:
    status = store.read_status(run_id)
    store.write_status(run_id, status)  # sets updated_at; then moved back
    path = store.paths(run_id).status
    data = json.loads(path.read_text())
    data["updated_at"] = time.time() - days * 86400
    path.write_text(json.dumps(data))


def test_keep_days_is_off_by_default_and_one_collection_runs_at_a_time(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    old = finished(store, tmp_path, {"worker": [{"text": "nothing"}]}, cwd=str(repo))
    backdate(store, old, days=400)
    assert cleanup.auto_gc(store, 0) is None
    with cleanup._collecting(store, wait=True):  # another collection holds the lock
        assert cleanup.auto_gc(store, 1) is None
    report = cleanup.auto_gc(store, 1)
    assert report is not None and old in {i.run_id for i in report.removed}
