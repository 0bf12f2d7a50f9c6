"""Git isolation: worktrees, checkpoints, cleanup, diff and merge, crash recovery."""

from __future__ import annotations

import hashlib
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

from loopwright.errors import InvalidState, UserError
from loopwright.loop.vocab import LIVE_STATES
from loopwright.runs import runner
from loopwright.runs.git.gitcmd import git
from loopwright.runs.git.merge import diff, merge
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ...helpers import events_of, wait_dead, wait_for_file, write_scenario

YES = {"auto": True}
NEVER = {"json": {"complete": False, "issues": ["more"]}}


def snapshot(repo: Path) -> tuple[str, str, str, str]:
    """Everything a user could notice: file bytes, status, stash list, HEAD and branches."""
    h = hashlib.sha256()
    for p in sorted(repo.rglob("*")):
        if ".git" in p.relative_to(repo).parts or not p.is_file():
            continue
        h.update(str(p.relative_to(repo)).encode() + b"\0" + p.read_bytes())
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    refs = git(repo, "rev-parse", "HEAD") + git(repo, "symbolic-ref", "HEAD")
    return h.hexdigest(), status, git(repo, "stash", "list"), refs


def run_thread(store: RunStore, timeout: float = 30, **kw: Any) -> dict[str, Any]:
    goal = kw.pop("goal", "change things")
    run = runner.start_thread(store, build_request(goal, **kw))
    assert run.wait(timeout)["state"] not in LIVE_STATES
    result = store.read_result(run.run_id)
    assert result is not None
    return result


def edits_scenario(tmp_path: Path, *workers: dict[str, Any], **roles: Any) -> str:
    return write_scenario(tmp_path / "s.json", {"worker": list(workers), **roles})


def test_a_run_leaves_the_users_checkout_untouched_and_commits_on_its_branch(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    (repo / "README.md").write_text("locally edited\n")  # dirty, tracked
    (repo / "scratch.txt").write_text("untracked\n")
    before = snapshot(repo)
    spec = edits_scenario(tmp_path, {"text": "x", "edits": [{"path": "new.txt", "write": "hi\n"}]})
    result = run_thread(store, backend=spec, cwd=str(repo), verify=[["test", "-f", "new.txt"]])
    assert result["state"] == "completed"
    assert snapshot(repo) == before
    ws = result["workspace"]
    assert ws["branch"].startswith("loopwright/") and ws["commits"] == 1 and ws["kept"]
    assert not Path(ws["path"]).is_relative_to(repo)
    assert [f["path"] for f in ws["changed_files"]] == ["new.txt"]
    assert git(repo, "show", f"{ws['branch']}:new.txt") == "hi\n"
    # the dirty README was left out, and the run said so
    assert git(repo, "show", f"{ws['branch']}:README.md").startswith("# Scratch")
    events = events_of(store.paths(result["run_id"]).events)
    warning = next(e for e in events if e["type"] == "warning")["data"]
    assert "README.md" in warning["paths"] and "scratch.txt" in warning["paths"]


def test_include_uncommitted_starts_from_the_checkouts_changes_without_touching_it(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    (repo / "README.md").write_text("locally edited\n")
    (repo / "scratch.txt").write_text("untracked\n")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "debug.log").write_text("ignored\n")
    git(repo, "stash", "list")
    before = snapshot(repo)
    index_before = (repo / ".git" / "index").read_bytes()
    spec = edits_scenario(tmp_path, {"text": "x", "edits": [{"path": "new.txt", "write": "hi"}]})
    result = run_thread(store, backend=spec, cwd=str(repo), include_uncommitted=True)
    assert snapshot(repo) == before and (repo / ".git" / "index").read_bytes() == index_before
    branch = result["workspace"]["branch"]
    assert git(repo, "show", f"{branch}:README.md") == "locally edited\n"
    assert git(repo, "show", f"{branch}:scratch.txt") == "untracked\n"
    assert "debug.log" not in git(repo, "ls-tree", "-r", "--name-only", branch)


def test_every_iteration_is_a_checkpoint_commit_with_trailers(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    spec = edits_scenario(
        tmp_path,
        {"text": "one", "edits": [{"path": "a.txt", "write": "1"}]},
        {"text": "two", "edits": [{"path": "b.txt", "write": "2"}]},
    )
    verify = [["test", "-f", "b.txt"]]
    result = run_thread(store, backend=spec, cwd=str(repo), verify=verify)
    assert result["state"] == "completed" and result["iterations"] == 2
    ws = result["workspace"]
    log = git(
        repo, "log", "--format=%s%n%(trailers:only,unfold)%x00", f"{ws['base']}..{ws['branch']}"
    )
    commits = [c.strip() for c in log.split("\0") if c.strip()][::-1]
    assert commits[0].startswith("loopwright: iteration 1 — verify failed")
    assert f"Loopwright-Run: {result['run_id']}" in commits[0]
    assert (
        "Loopwright-Iteration: 1" in commits[0] and "Loopwright-Verdict: incomplete" in commits[0]
    )
    assert "Loopwright-Iteration: 2" in commits[1] and "Loopwright-Verdict: complete" in commits[1]
    checkpoints = [e for e in events_of(store.paths(result["run_id"]).events)
                   if e["type"] == "checkpoint"]  # fmt: skip
    assert [[f["path"] for f in c["data"]["files"]] for c in checkpoints] == [["a.txt"], ["b.txt"]]
    assert (
        checkpoints[1]["data"]["sha"] == ws["head"] == git(repo, "rev-parse", ws["branch"]).strip()
    )


def test_an_iteration_without_changes_makes_no_commit(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    spec = edits_scenario(tmp_path, {"text": "looked, changed nothing"})
    result = run_thread(store, backend=spec, cwd=str(repo))
    ws = result["workspace"]
    assert ws["commits"] == 0 and ws["changed_files"] == []
    # auto cleanup: nothing committed, so worktree and branch are gone
    assert not Path(ws["path"]).exists()
    assert git(repo, "branch", "--list", ws["branch"]) == ""


def test_changed_files_are_right_for_renames_and_unusual_names(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    body = "a long enough body to be detected as the same file\n" * 5
    (repo / "old name.txt").write_text(body)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add file")
    edits = [{"path": "old name.txt", "delete": True}, {"path": "dir/nëw name.txt", "write": body},
             {"path": "tab\there.txt", "write": "x"}]  # fmt: skip
    result = run_thread(store, backend=edits_scenario(tmp_path, {"text": "x", "edits": edits}),
                        cwd=str(repo))  # fmt: skip
    files = sorted(result["workspace"]["changed_files"], key=lambda f: f["path"])
    assert files == [
        {"status": "R", "old_path": "old name.txt", "path": "dir/nëw name.txt"},
        {"status": "A", "path": "tab\there.txt"},
    ]


@pytest.mark.parametrize(
    ("policy", "worktree_kept", "branch_kept"),
    [("auto", True, True), ("always", False, True), ("never", True, True)],
)
def test_cleanup_policies(store: RunStore, repo: Path, tmp_path: Path, policy: str,
                          worktree_kept: bool, branch_kept: bool) -> None:  # fmt: skip
    spec = edits_scenario(tmp_path, {"text": "x", "edits": [{"path": "f.txt", "write": "x"}]})
    ws = run_thread(store, backend=spec, cwd=str(repo), cleanup=policy)["workspace"]
    assert Path(ws["path"]).exists() == worktree_kept
    assert bool(git(repo, "branch", "--list", ws["branch"]).strip()) == branch_kept


def test_never_keeps_even_an_empty_runs_worktree(store: RunStore, repo: Path) -> None:
    ws = run_thread(store, backend="scripted", cwd=str(repo), cleanup="never",
                    criteria=["x"])["workspace"]  # fmt: skip
    assert Path(ws["path"]).exists()


def test_a_directory_outside_git_is_refused_unless_isolate_is_off(
    store: RunStore, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UserError, match="not inside a git repository"):
        build_request("x", cwd=str(plain))
    result = run_thread(store, cwd=str(plain), isolate=False)
    assert result["state"] == "completed" and result["workspace"] == {}
    assert (plain / "loopwright-scripted.md").exists()  # in place, as asked


def test_a_subdirectory_cwd_works_in_the_same_subdirectory_of_the_worktree(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    (repo / "pkg").mkdir()
    (repo / "pkg" / "keep").write_text("")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pkg")
    spec = edits_scenario(tmp_path, {"text": "x", "edits": [{"path": "here.txt", "write": "x"}]})
    result = run_thread(
        store, backend=spec, cwd=str(repo / "pkg"), verify=[["test", "-f", "here.txt"]]
    )
    assert result["state"] == "completed"
    assert [f["path"] for f in result["workspace"]["changed_files"]] == ["pkg/here.txt"]


def test_sixteen_runs_started_at_once_on_one_repo_all_succeed(store: RunStore, repo: Path) -> None:
    def start(n: int) -> str:
        return runner.start(store, build_request(f"run {n}", cwd=str(repo)))

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(start, range(16)))
    states = [runner.wait(store, run_id, timeout=120)["state"] for run_id in ids]
    assert states == ["completed"] * 16
    branches = git(repo, "for-each-ref", "--format=%(refname)", "refs/heads/loopwright/").split()
    assert len(branches) == 16
    assert git(repo, "status", "--porcelain") == ""


def test_diff_shows_files_stats_and_a_capped_patch(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    edits = [{"path": "a.txt", "write": "line\n" * 1000}]
    result = run_thread(store, backend=edits_scenario(tmp_path, {"text": "x", "edits": edits}),
                        cwd=str(repo))  # fmt: skip
    d = diff(store, result["run_id"], max_bytes=500)
    assert d["files"] == [{"status": "A", "path": "a.txt"}]
    assert (d["insertions"], d["deletions"]) == (1000, 0)
    assert d["truncated"] and len(d["patch"]) == 500 and d["patch"].startswith("diff --git")


def _run_writing(store: RunStore, repo: Path, tmp_path: Path, path: str, text: str) -> str:
    edits = [{"path": path, "write": text}]
    result = run_thread(store, backend=edits_scenario(tmp_path, {"text": "x", "edits": edits}),
                        cwd=str(repo))  # fmt: skip
    return str(result["run_id"])


def test_merge_brings_the_work_into_the_checked_out_branch(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    run_id = _run_writing(store, repo, tmp_path, "feature.txt", "done\n")
    m = merge(store, run_id)
    assert m["into"] == "main" and m["files"] == ["feature.txt"]
    assert (repo / "feature.txt").read_text() == "done\n"
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-parse", "HEAD").strip() == m["commit"]


def test_a_squash_merge_into_another_branch_touches_no_checkout(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    git(repo, "branch", "release")
    run_id = _run_writing(store, repo, tmp_path, "feature.txt", "done\n")
    before = snapshot(repo)
    merge(store, run_id, squash=True, into="release")
    assert snapshot(repo) == before
    assert git(repo, "show", "release:feature.txt") == "done\n"
    assert git(repo, "rev-list", "--count", "main..release").strip() == "1"  # one commit


def test_a_conflicting_merge_is_refused_and_changes_nothing(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    run_id = _run_writing(store, repo, tmp_path, "README.md", "the run's version\n")
    (repo / "README.md").write_text("the user's version\n")
    git(repo, "commit", "-qam", "user edit")
    before = snapshot(repo)
    with pytest.raises(InvalidState, match=r"would conflict in: README\.md"):
        merge(store, run_id)
    assert snapshot(repo) == before
    assert not (repo / ".git" / "MERGE_HEAD").exists()


def test_merge_refuses_uncommitted_changes_in_the_touched_files(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    run_id = _run_writing(store, repo, tmp_path, "README.md", "the run's version\n")
    (repo / "README.md").write_text("unsaved work\n")
    with pytest.raises(
        InvalidState, match=r"uncommitted changes in files the run touched: README\.md"
    ):
        merge(store, run_id)
    assert (repo / "README.md").read_text() == "unsaved work\n"


PLAN3 = {"json": {"subgoals": [{"id": "a", "title": "write a"}, {"id": "b", "title": "write b"},
                               {"id": "c", "title": "also write a"}]}}  # fmt: skip


def test_parallel_subgoals_merge_back_and_a_conflict_is_reported(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    workers = [
        {"match": "write a", "text": "a", "edits": [{"path": "a.txt", "write": "from a\n"}]},
        {"match": "write b", "text": "b", "edits": [{"path": "b.txt", "write": "from b\n"}]},
        {"match": "also write a", "text": "c", "edits": [{"path": "a.txt", "write": "from c\n"}]},
    ]
    spec = write_scenario(tmp_path / "s.json", {"planner": [PLAN3], "worker": workers,
                                                "reviewer": [YES]})  # fmt: skip
    result = run_thread(store, backend=spec, cwd=str(repo), budget={"max_iterations": 1},
                        options={"worker_retries": 0})  # fmt: skip
    by_id = {r["subgoal_id"]: r for r in result["last_results"]}
    assert by_id["a"]["status"] == "ok" and by_id["b"]["status"] == "ok"
    assert by_id["c"]["status"] == "failed" and "merge conflict" in by_id["c"]["error"]
    assert "a.txt" in by_id["c"]["error"]
    branch = result["workspace"]["branch"]
    assert git(repo, "show", f"{branch}:a.txt") == "from a\n"
    assert git(repo, "show", f"{branch}:b.txt") == "from b\n"
    kept = git(repo, "branch", "--list", f"{branch}-i1-c").strip()
    assert kept  # the conflicting branch is kept for inspection
    assert git(repo, "show", f"{branch}-i1-c:a.txt") == "from c\n"


async def test_kill_9_mid_iteration_then_resume_completes_with_all_work(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    hang = (
        f"echo partial > partial.txt; echo $$ > {tmp_path}/w.pid; "
        f"while [ ! -e {gate} ]; do sleep 0.05; done"
    )
    workers = [{"text": "first", "edits": [{"path": "first.txt", "write": "1"}]},
               {"text": "second", "run": ["sh", "-c", hang]}]  # fmt: skip
    spec = write_scenario(tmp_path / "s.json", {"worker": workers})
    request = build_request("two steps", backend=spec, cwd=str(repo),
                            verify=[["test", "-e", str(gate)]])  # fmt: skip
    run_id = runner.start(store, request)
    await wait_for_file(tmp_path / "w.pid")
    host = store.read_status(run_id)["pid"]
    os.kill(host, signal.SIGKILL)
    await wait_dead(host)
    worker = int((tmp_path / "w.pid").read_text())
    assert runner.refresh(store, run_id)["state"] == "interrupted"
    await wait_dead(worker)  # the host's whole session went with it
    ws = store.read_status(run_id)["workspace"]
    lock = repo / ".git" / "worktrees" / Path(ws["path"]).name / "index.lock"
    lock.write_text("")  # as if our git call had died holding it
    gate.touch()
    runner.resume(store, run_id)
    final = await anyio.to_thread.run_sync(lambda: runner.wait(store, run_id, 60))
    assert final["state"] == "completed"
    result = store.read_result(run_id)
    assert result is not None
    branch = result["workspace"]["branch"]
    files = git(repo, "ls-tree", "-r", "--name-only", branch).split()
    assert {"first.txt", "partial.txt"} <= set(files)
    log = git(repo, "log", "--format=%s", f"{result['workspace']['base']}..{branch}")
    assert "work in progress before the interruption" in log
    assert not lock.exists()
    assert snapshot(repo)[1] == ""


def test_a_pooled_checkout_is_reused_clean_and_on_the_new_base(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    (repo / ".gitignore").write_text("*.log\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ignore logs")
    junk = [{"path": "build.log", "write": "ignored junk"}, {"path": "notes.tmp", "write": "x"}]
    spec = edits_scenario(tmp_path, {"text": "x", "edits": junk[:1]})
    first = run_thread(store, backend=spec, cwd=str(repo))
    assert first["workspace"]["commits"] == 0 and not first["workspace"].get("pooled")
    assert len(list((store.home / "pool").glob("*/slot-*"))) == 1  # parked, not removed

    (repo / "later.txt").write_text("committed after the first run\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "later")
    spec2 = write_scenario(tmp_path / "s2.json", {"worker": [{"text": "y", "edits": junk[1:]}]})
    second = runner.start_thread(store, build_request("again", backend=spec2, cwd=str(repo),
                                                      cleanup="never"))  # fmt: skip
    assert second.wait(30)["state"] == "completed"
    ws = store.read_status(second.run_id)["workspace"]
    assert ws["pooled"] is True
    tree = Path(ws["path"])
    assert not (tree / "build.log").exists()  # nothing of the previous run survives
    assert (tree / "later.txt").exists() and (tree / "notes.tmp").exists()
    assert git(tree, "rev-parse", "--abbrev-ref", "HEAD").strip() == ws["branch"]
    assert git(tree, "status", "--porcelain") == ""
    assert not list((store.home / "pool").glob("*/slot-*"))


def test_gc_trims_the_pool(store: RunStore, repo: Path, tmp_path: Path) -> None:
    from loopwright.runs.git.pool import gc

    spec = edits_scenario(tmp_path, {"text": "nothing"})
    run_thread(store, backend=spec, cwd=str(repo))
    assert len(list((store.home / "pool").glob("*/slot-*"))) == 1
    assert gc(store.home)["removed"] == 1
    assert not list((store.home / "pool").glob("*/slot-*"))
    assert git(repo, "worktree", "list").count("\n") == 1
