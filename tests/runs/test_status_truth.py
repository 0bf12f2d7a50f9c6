"""What status and summaries say about a run is what happened: time, iterations, commits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio

from loopwright.process.runner import proc_start_time
from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import wait_for_file, write_scenario


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopwright", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def live_run_last_written(store: RunStore, seconds_ago: float, elapsed: float) -> str:
    """A run whose host (this test process, alive) last wrote its status ``seconds_ago``."""
    run_id = runner.create_run(store, build_request("a long run"))
    p = store.paths(run_id)
    status = store.read_status(run_id)
    me = os.getpid()
    status.update(state="running", phase="work", iteration=1, pid=me, pid_start=proc_start_time(me))
    status.update(elapsed=elapsed, updated_at=time.time() - seconds_ago)
    p.status.write_text(json.dumps(status))
    return run_id


def test_status_of_a_live_run_counts_the_time_since_its_host_last_wrote(store: RunStore) -> None:
    run_id = live_run_last_written(store, seconds_ago=100, elapsed=5.0)
    shown = json.loads(cli("status", run_id, "--json").stdout)
    assert shown["state"] == "running" and shown["elapsed"] >= 105
    text = cli("status", run_id).stdout
    seconds = float(text.rsplit("·", 1)[1].strip().removesuffix("s"))
    assert seconds >= 105, text
    assert runner.refresh(store, run_id)["elapsed"] >= 105


def test_a_finished_runs_elapsed_time_stays_what_it_was(store: RunStore) -> None:
    run_id = runner.create_run(store, build_request("done long ago"))
    status = store.read_status(run_id)
    status.update(state="completed", elapsed=7.5, updated_at=time.time() - 1000)
    store.paths(run_id).status.write_text(json.dumps(status))
    assert runner.refresh(store, run_id)["elapsed"] == 7.5


async def test_a_run_cancelled_in_its_first_iteration_reports_that_iteration_and_its_time(
    store: RunStore, tmp_path: Path
) -> None:
    marker = tmp_path / "worker.pid"
    script = f"echo $$ > {marker}; sleep 60"
    spec = write_scenario(tmp_path / "s.json", {"worker": [{"run": ["sh", "-c", script]}]})
    began = time.monotonic()
    run_id = runner.start(store, build_request("hang", backend=spec))
    await wait_for_file(marker)
    status = await anyio.to_thread.run_sync(runner.cancel, store, run_id)
    took = time.monotonic() - began
    assert status["state"] == "cancelled"
    result = store.read_result(run_id)
    assert result is not None and result["state"] == "cancelled"
    assert result["iterations"] == 1
    assert "iteration 1" in result["summary"], result["summary"]
    assert 0 < result["duration"] <= took
    shown = cli("result", run_id).stdout
    assert "1 iteration(s)" in shown and " 0.0s" not in shown, shown


def test_cleanup_always_of_a_run_with_a_commit_says_the_branch_keeps_it(
    repo: Path, tmp_path: Path
) -> None:
    edit = {"worker": [{"text": "x", "edits": [{"path": "feature.txt", "write": "done\n"}]}]}
    spec = write_scenario(tmp_path / "s.json", edit)
    args = ("run", "add a feature", "--cwd", str(repo), "--backend", spec, "--cleanup", "always")
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert "nothing committed" not in done.stdout, done.stdout
    assert "1 checkpoint(s)" in done.stdout and "worktree removed" in done.stdout
    branch = done.stdout.split("  branch ", 1)[1].split()[0]
    log = subprocess.run(["git", "-C", str(repo), "log", "--oneline", branch], text=True,
                         capture_output=True, check=True).stdout  # fmt: skip
    assert "loopwright: iteration 1" in log  # the commit the summary speaks of is there


def test_cleanup_always_of_a_run_without_commits_says_nothing_was_committed(
    repo: Path, tmp_path: Path
) -> None:
    spec = write_scenario(tmp_path / "s.json", {"worker": [{"text": "nothing to do"}]})
    args = ("run", "no change", "--cwd", str(repo), "--backend", spec, "--cleanup", "always")
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert "0 checkpoint(s)" in done.stdout and "nothing committed" in done.stdout, done.stdout
