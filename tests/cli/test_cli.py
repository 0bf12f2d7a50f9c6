"""The command line as a person (or a script) uses it: exit codes, --json, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from ..helpers import wait_for_file, write_scenario

NEVER = {"json": {"complete": False, "issues": ["not yet"]}}
QUESTION = {"json": {"criteria": ["x"], "questions": [{"id": "q1", "text": "Which DB?"}]}}


def cli(
    *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopwright", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def test_a_completed_run_exits_0_and_json_is_one_result_document() -> None:
    done = cli("run", "write a file", "--json", "--verify", "test -f loopwright-scripted.md")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["state"] == "completed" and result["iterations"] == 1
    assert set(result) >= {"run_id", "state", "stop_reason", "usage", "verify", "cwd", "summary"}


def test_a_run_that_does_not_meet_its_criteria_exits_1(tmp_path: Path) -> None:
    spec = write_scenario(tmp_path / "s.json", {"reviewer": [NEVER]})
    done = cli("run", "never done", "--backend", spec, "--max-iterations", "2", "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["stop_reason"].startswith("budget: max_iterations")


def test_needs_input_exits_3_then_resume_with_answers_completes(tmp_path: Path) -> None:
    spec = write_scenario(tmp_path / "s.json", {"clarifier": [QUESTION]})
    asked = cli("run", "ambiguous", "--backend", spec, "--questions", "ask", "--json")
    assert asked.returncode == 3, asked.stderr
    reply = json.loads(asked.stdout)
    assert reply["status"] == "needs_input" and reply["questions"][0]["id"] == "q1"
    done = cli("resume", reply["run_id"], "--answer", "q1=postgres", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "completed"


def test_the_goal_can_come_from_stdin_and_a_file(tmp_path: Path) -> None:
    assert cli("run", "-", "--json", stdin="goal from stdin").returncode == 0
    goal = tmp_path / "goal.md"
    goal.write_text("goal from a file")
    done = cli("run", "--goal-file", str(goal), "--json")
    assert done.returncode == 0
    listed = json.loads(cli("list", "--json").stdout)
    assert [r["goal"] for r in listed] == ["goal from a file", "goal from stdin"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", ""], "goal is empty"),
        (["run", "x" * 100_001], "limit is 100,000"),
        (["run", "x", "--cwd", "/no/such/dir"], "--cwd '/no/such/dir' does not exist"),
        (["run", "x", "--backend", "nope"], "--backend: unknown backend 'nope'"),
        (["run", "x", "--max-seconds", "-5"], "--max-seconds"),
        (["run", "x", "--max-iterations", "100000"], "--max-iterations"),
        (["run", "x", "--verify", ""], "verify command 1 is empty"),
        (["status", "../../etc"], "not a run id"),
        (["resume", "20261123-071300123-a3f9c2"], "no run"),
    ],
)
def test_bad_input_exits_2_naming_the_argument_and_creates_nothing(
    home: Path, args: list[str], message: str
) -> None:
    done = cli(*args)
    assert done.returncode == 2
    assert message in done.stderr, done.stderr
    assert not (home / "runs").exists() and not (home / "scratch").exists()


def test_a_file_cwd_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("")
    done = cli("run", "x", "--cwd", str(f))
    assert done.returncode == 2 and "is not a directory" in done.stderr


def test_ctrl_c_cancels_the_run_and_exits_130(tmp_path: Path) -> None:
    script = f"sleep 60 & echo $! > {tmp_path}/gc.pid; sleep 60"
    spec = write_scenario(tmp_path / "s.json", {"worker": [{"run": ["sh", "-c", script]}]})
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopwright", "run", "hang", "--backend", spec],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        grandchild = int(anyio.run(wait_for_file, tmp_path / "gc.pid"))
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "CANCELLED" in out
    from ..helpers import wait_dead

    anyio.run(wait_dead, grandchild)


def test_detach_returns_at_once_and_tail_status_result_follow_the_run() -> None:
    started = cli("run", "in the background", "--detach", "--json")
    assert started.returncode == 0
    info = json.loads(started.stdout)
    assert info["status"] == "running" and info["tail_command"].startswith("tail -f ")
    run_id = info["run_id"]
    waited = cli("result", run_id, "--wait", "--timeout", "30", "--json")
    assert waited.returncode == 0 and json.loads(waited.stdout)["state"] == "completed"
    tail = cli("tail", run_id, "-n", "100")
    assert "run started" in tail.stdout and "finished: completed" in tail.stdout
    status = json.loads(cli("status", run_id, "--json").stdout)
    assert status["state"] == "completed" and status["run_id"] == run_id
    assert cli("cancel", run_id).returncode == 0  # cancelling a finished run changes nothing
    assert json.loads(cli("status", run_id, "--json").stdout)["state"] == "completed"


def test_backends_lists_what_is_available() -> None:
    rows = json.loads(cli("backends", "--json").stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["scripted"]["available"] and not by_name["claude_code"]["available"]


def test_the_demo_completes_in_two_iterations_under_real_tests() -> None:
    done = cli("demo", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["state"] == "completed" and result["iterations"] == 2
    assert "pytest" in " ".join(result["verify"][0]["argv"]) and result["verify"][0]["passed"]
    stats = Path(result["cwd"]) / "calc" / "stats.py"
    assert "sum(values) / len(values)" in stats.read_text()


def test_the_demo_shows_the_live_event_view_and_the_summary() -> None:
    done = cli("demo", timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "it1 verify: " in out and "FAIL" in out and "it2 iteration passed the gate" in out
    assert "COMPLETED" in out and "run dir:" in out and "calc/stats.py" in out


def test_version_and_help_work() -> None:
    assert cli("--version").stdout.startswith("loopwright ")
    assert "run" in cli("--help").stdout
    assert os.environ["LOOPWRIGHT_HOME"]


def test_diff_merge_and_gc_from_the_command_line(repo: Path, tmp_path: Path) -> None:
    edit = {"worker": [{"text": "x", "edits": [{"path": "feature.txt", "write": "done\n"}]}]}
    spec = write_scenario(tmp_path / "s.json", edit)
    run = json.loads(cli("run", "add a feature", "--cwd", str(repo), "--backend", spec,
                         "--json").stdout)  # fmt: skip
    assert run["state"] == "completed" and run["workspace"]["commits"] == 1
    shown = cli("diff", run["run_id"])
    assert shown.returncode == 0 and "A feature.txt" in shown.stdout and "+done" in shown.stdout
    merged = cli("merge", run["run_id"], "--squash", "--json")
    assert merged.returncode == 0, merged.stderr
    assert json.loads(merged.stdout)["into"] == "main"
    assert (repo / "feature.txt").read_text() == "done\n"
    again = cli("merge", run["run_id"])  # already merged: nothing to do, said plainly
    assert again.returncode == 0 and "already merged into main" in again.stdout
    assert cli("gc", "--json").returncode == 0


def test_no_isolate_changes_the_directory_in_place(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    refused = cli("run", "x", "--cwd", str(plain))
    assert refused.returncode == 2 and "not inside a git repository" in refused.stderr
    done = cli("run", "x", "--cwd", str(plain), "--no-isolate", "--json")
    assert done.returncode == 0 and (plain / "loopwright-scripted.md").exists()
