"""Detached runs in their own run-host processes: the run directory is the interface."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import pytest

from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import events_of, wait_dead, wait_for_file, write_scenario

QUESTION = {
    "json": {
        "criteria": ["x"],
        "questions": [{"id": "q1", "text": "Which DB?", "default": "sqlite"}],
    }
}


def test_a_detached_run_completes_and_leaves_a_complete_run_dir(store: RunStore) -> None:
    request = build_request("write the file", verify=[["test", "-f", "loopwright-scripted.md"]])
    run_id = runner.start(store, request)
    status = runner.wait(store, run_id, timeout=30)
    assert status["state"] == "completed"
    p = store.paths(run_id)
    result = store.read_result(run_id)
    assert result is not None and result["state"] == "completed" and result["run_id"] == run_id
    kinds = [e["type"] for e in events_of(p.events)]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert [e["seq"] for e in events_of(p.events)] == list(range(len(kinds)))
    assert (Path(result["cwd"]) / "loopwright-scripted.md").exists()  # scratch repo
    assert Path(result["cwd"]).is_relative_to(store.home)
    assert list(p.workers.iterdir()) == []  # a short worker output is in its event only
    assert store.index.list()[0]["state"] == "completed"


async def test_cancel_mid_iteration_kills_the_worker_and_its_grandchildren(
    store: RunStore, tmp_path: Path
) -> None:
    script = f"sleep 60 & echo $! > {tmp_path}/gc.pid; sleep 60"
    spec = write_scenario(tmp_path / "s.json", {"worker": [{"run": ["sh", "-c", script]}]})
    run_id = runner.start(store, build_request("hang", backend=spec))
    grandchild = int(await wait_for_file(tmp_path / "gc.pid"))
    status = await anyio.to_thread.run_sync(runner.cancel, store, run_id)
    assert status["state"] == "cancelled"
    await wait_dead(grandchild)
    kinds = [e["type"] for e in events_of(store.paths(run_id).events)]
    assert "cancelled" in kinds and kinds[-1] == "run_finished"
    assert store.read_result(run_id)["state"] == "cancelled"  # type: ignore[index]


def test_needs_input_survives_a_restart_and_resumes_with_the_answers(
    store: RunStore, tmp_path: Path
) -> None:
    spec = write_scenario(tmp_path / "s.json", {"clarifier": [QUESTION]})
    run_id = runner.start(store, build_request("build it", backend=spec, questions="ask"))
    status = runner.wait(store, run_id, timeout=30)
    assert status["state"] == "needs_input"
    assert [q["id"] for q in status["questions"]] == ["q1"]
    store.index.close()

    restarted = RunStore(store.home)  # a new process would see exactly this
    assert restarted.read_status(run_id)["state"] == "needs_input"
    with pytest.raises(Exception, match="answers missing"):
        runner.resume(restarted, run_id, {})
    runner.resume(restarted, run_id, {"q1": "postgres"})
    assert runner.wait(restarted, run_id, timeout=30)["state"] == "completed"
    events = events_of(restarted.paths(run_id).events)
    kinds = [e["type"] for e in events]
    assert kinds.count("intake") == 1 and "resumed" in kinds
    answers = [e["data"] for e in events if e["type"] == "answers"]
    assert answers == [{"answers": {"q1": "postgres"}, "assumed": False}]


def test_a_killed_host_is_interrupted_and_resume_continues_after_the_last_iteration(
    store: RunStore, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    # Iteration 1 fails verify (no "go" yet); iteration 2's worker blocks until "go" exists.
    # A new host replays the scenario from its start, so iteration 2 then gets "first".
    worker = [
        {"text": "first"},
        {
            "run": [
                "sh",
                "-c",
                f"echo $$ > {tmp_path}/w.pid; while [ ! -e {gate} ]; do sleep 0.05; done",
            ]
        },
    ]
    spec = write_scenario(tmp_path / "s.json", {"worker": worker})
    run_id = runner.start(
        store, build_request("two steps", backend=spec, verify=[["test", "-e", str(gate)]])
    )
    anyio.run(wait_for_file, tmp_path / "w.pid")
    host = store.read_status(run_id)["pid"]
    os.kill(host, signal.SIGKILL)
    anyio.run(wait_dead, host)
    os.kill(int((tmp_path / "w.pid").read_text()), signal.SIGKILL)  # its orphan too

    status = runner.refresh(store, run_id)
    assert status["state"] == "interrupted"
    gate.touch()
    runner.resume(store, run_id)
    final = runner.wait(store, run_id, timeout=30)
    assert final["state"] == "completed"
    result = store.read_result(run_id)
    assert result is not None and result["iterations"] == 2
    events = events_of(store.paths(run_id).events)
    plans = [e["iteration"] for e in events if e["type"] == "plan"]
    assert plans == [1, 2, 2]  # iteration 1 was not redone; 2 was started again
    assert "interrupted" in [e["type"] for e in events]


def test_runs_left_running_by_a_dead_process_become_interrupted(store: RunStore) -> None:
    run_id = runner.create_run(store, build_request("x"))
    status = store.read_status(run_id)
    status.update(pid=2**22 + 12345, pid_start=1)  # no such process
    store.set_state(run_id, status, "running")
    assert runner.recover(store) == [run_id]
    assert store.read_status(run_id)["state"] == "interrupted"
    assert store.index.list("interrupted")[0]["run_id"] == run_id


def test_a_pid_reused_by_another_process_is_not_taken_for_the_host(store: RunStore) -> None:
    run_id = runner.create_run(store, build_request("x"))
    status = store.read_status(run_id)
    status.update(pid=os.getpid(), pid_start=1)  # alive, but started at another time
    store.set_state(run_id, status, "running")
    assert runner.refresh(store, run_id)["state"] == "interrupted"


def test_a_thread_run_drives_the_same_loop_in_process(store: RunStore) -> None:
    run = runner.start_thread(store, build_request("in process"))
    assert run.wait(30)["state"] == "completed"
    assert store.read_result(run.run_id)["state"] == "completed"  # type: ignore[index]


def test_cancelling_a_thread_run_records_cancelled(store: RunStore, tmp_path: Path) -> None:
    spec = write_scenario(tmp_path / "s.json", {"worker": [{"delay": 60}]})
    run = runner.start_thread(store, build_request("slow", backend=spec))
    anyio.run(_until_phase, store, run.run_id, "work")
    run.cancel()
    assert run.wait(30)["state"] == "cancelled"


async def _until_phase(store: RunStore, run_id: str, phase: str) -> None:
    with anyio.fail_after(20):
        while store.read_status(run_id).get("phase") != phase:
            await anyio.sleep(0.01)


def test_cancelling_a_run_that_waits_for_answers_writes_a_full_result(
    store: RunStore, tmp_path: Path
) -> None:
    spec = write_scenario(tmp_path / "s.json", {"clarifier": [QUESTION]})
    run_id = runner.start(store, build_request("build it", backend=spec, questions="ask"))
    assert runner.wait(store, run_id, timeout=30)["state"] == "needs_input"
    assert runner.cancel(store, run_id)["state"] == "cancelled"
    result = store.read_result(run_id)
    assert result is not None and result["state"] == "cancelled" and result["run_id"] == run_id
    assert result["summary"] == "cancelled after 0 iteration(s)"
    assert result["workspace"]["branch"] == f"loopwright/{run_id}"  # its work is findable
    assert "cancelled" in [e["type"] for e in events_of(store.paths(run_id).events)]
