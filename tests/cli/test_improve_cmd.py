"""``loopwright improve`` and ``loopwright history``, and the MCP tool ``improve``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from loopwright.cli import main
from loopwright.runs.git.gitcmd import git
from loopwright.runs.store import RunStore

from ..helpers import wait_for_file, write_scenario

REVIEW = {"json": {"complete": True, "issues": [], "next_steps": ["tidy the notes"]}}
LAST = {"json": {"complete": True, "issues": [], "next_steps": []}}
VERIFY = f"{sys.executable} -c pass"


def scenario(tmp_path: Path) -> str:
    """A worker that writes a file each cycle; a reviewer naming one more step, then none."""
    edits = [{"text": f"wrote {n}", "edits": [{"path": f"notes{n}.md", "write": "x\n"}]}
             for n in range(3)]  # fmt: skip
    return write_scenario(tmp_path / "s.json", {"worker": edits, "reviewer": [REVIEW, LAST]})


def test_improve_follows_its_cycles_and_history_prints_the_audit_trail(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = scenario(tmp_path)
    code = main(["improve", "Write notes", "--cwd", str(repo), "--verify", VERIFY,
                 "--backend", spec, "--max-cycles", "5"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "cycle 1: KEPT" in out and "cycle 2: KEPT" in out and "cycle 3" not in out
    assert "COMPLETED: the reviewer named nothing left to improve" in out
    run_id = out.split()[1]
    assert main(["history", run_id]) == 0
    trail = capsys.readouterr().out
    assert trail.startswith("cycle 1: KEPT") and "next: tidy the notes" in trail
    assert "changed: notes0.md" in trail and "verify pass" in trail
    assert main(["history", run_id, "--json"]) == 0
    cycles = json.loads(capsys.readouterr().out)["cycles"]
    assert [c["verdict"] for c in cycles] == ["kept", "kept"]
    tag = git(str(repo), "rev-parse", f"refs/tags/loopwright/{run_id}/good").strip()
    assert tag == cycles[-1]["commit"]


def test_improve_json_prints_the_result_with_its_run_id_and_resume_needs_an_earlier_run(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    spec = scenario(tmp_path)
    argv = ["improve", "Write notes", "--cwd", str(repo), "--backend", spec, "--max-cycles", "1"]
    assert main([*argv, "--resume", "--json"]) == 2
    assert "no finished improve run of this task" in capsys.readouterr().err
    assert main([*argv, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["state"] == "completed" and [c["cycle"] for c in first["cycles"]] == [1]
    assert main([*argv, "--resume", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["run_id"] != first["run_id"] and second["cycles"][0]["cycle"] == 2
    assert second["cycles"][0]["improvement"] == "tidy the notes"
    assert main(["history", "20200101-000000000-abcdef"]) == 2


async def test_ctrl_c_finishes_the_step_under_way_settles_it_and_exits_130(
    repo: Path, tmp_path: Path, home: Path
) -> None:
    started, go = tmp_path / "started", tmp_path / "go"
    wait = f"echo at work > {started}; while [ ! -e {go} ]; do sleep 0.02; done"
    worker = {"run": ["sh", "-c", wait], "text": "noted",
              "edits": [{"path": "notes.md", "write": "x\n"}]}  # fmt: skip
    spec = write_scenario(tmp_path / "s.json", {"worker": [worker], "reviewer": [REVIEW]})
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopwright", "improve", "Write notes", "--cwd", str(repo),
         "--backend", spec, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        await wait_for_file(started)  # the worker of cycle 1 is at work
        proc.send_signal(signal.SIGINT)
        store = RunStore(home)
        with anyio.fail_after(20):  # the stop was asked for before the worker goes on
            while not list(store.runs_dir.glob("*/stop")):
                await anyio.sleep(0.02)
        go.touch()
        out, err = await anyio.to_thread.run_sync(lambda: proc.communicate(timeout=60))
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    result = json.loads(out)
    assert result["state"] == "cancelled" and [c["verdict"] for c in result["cycles"]] == ["kept"]
    assert "after cycle 1" in result["stop_reason"]
