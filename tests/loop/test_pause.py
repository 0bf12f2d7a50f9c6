"""A usage limit with a reset time pauses the run: ``paused`` with ``resume_at``, then the
same call again by itself; ``resume`` wakes it early, ``cancel`` stops it while it waits,
and a reset after the run's time budget stops the run with the budget at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from loopwright import AgentRequest, AgentResponse, FunctionBackend, Harness, LoopConfig, Roles
from loopwright.backends.base import UsageLimit
from loopwright.loop.events import MemorySink
from loopwright.loop.types import Budget
from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import events_of, wait_dead, write_scenario

LIMITED = "You've hit your limit · resets 3pm (Europe/Berlin)"
SHORT = 0.5
"""Seconds to a reset the tests wait for (the only real wait here)."""


class LimitedOnce:
    """A worker that meets a usage limit on its first call, then does the work."""

    def __init__(self, resets_in: float) -> None:
        self.resets_in = resets_in
        self.calls: list[float] = []

    def __call__(self, request: AgentRequest) -> AgentResponse:
        self.calls.append(time.time())
        if len(self.calls) == 1:
            limit = UsageLimit(LIMITED, time.time() + self.resets_in)
            return AgentResponse("", ok=False, error=LIMITED, usage_limit=limit)
        return AgentResponse("did it")


def harness(tmp_path: Path, worker: LimitedOnce, sink: MemorySink, **budget: Any) -> Harness:
    cfg = LoopConfig(
        goal="make it so",
        success_criteria=["it is so"],
        cwd=str(tmp_path),
        retry_backoff=0,
        budget=Budget(**budget),
    )
    reviewer = FunctionBackend(lambda r: '{"complete": true, "score": 1}', spec="yes")
    planner = FunctionBackend(lambda r: '{"subgoals": [{"id": "s1", "title": "do"}]}')
    roles = Roles(planner=planner, workers=[FunctionBackend(worker, "w")], reviewers=[reviewer])
    return Harness(cfg, roles, sink)


async def test_a_usage_limit_pauses_the_run_and_the_same_call_goes_on_by_itself_after_the_reset(
    tmp_path: Path,
) -> None:
    worker, sink = LimitedOnce(SHORT), MemorySink()
    with anyio.fail_after(30):
        result = await harness(tmp_path, worker, sink).run()
    assert result.state == "completed" and len(worker.calls) == 2
    assert worker.calls[1] - worker.calls[0] >= SHORT - 0.05  # waited for the reset
    paused, resumed = sink.of_type("paused"), sink.of_type("resumed")
    assert len(paused) == 1 and paused[0]["data"]["message"] == LIMITED
    assert resumed[0]["data"]["early"] is False
    assert sink.pauses == [paused[0]["data"]["resume_at"], None]  # paused, then running
    assert result.usage.agent_calls == 3  # planner, worker (once, though run twice), reviewer


async def test_a_usage_limit_that_resets_after_the_time_budget_stops_the_run_at_once(
    tmp_path: Path,
) -> None:
    worker, sink = LimitedOnce(3600), MemorySink()
    started = time.monotonic()
    with anyio.fail_after(30):
        result = await harness(tmp_path, worker, sink, max_seconds=600).run()
    assert time.monotonic() - started < 5  # no waiting for a reset it cannot live to see
    assert result.state == "stopped" and len(worker.calls) == 1
    assert "usage limit" in result.stop_reason and "time budget" in result.stop_reason
    assert LIMITED in result.stop_reason
    assert sink.of_type("budget_exhausted")[0]["data"]["limit"] == "max_seconds"
    assert sink.pauses == [] and not sink.of_type("paused")


async def test_wake_ends_a_pause_before_the_reset(tmp_path: Path) -> None:
    worker, sink = LimitedOnce(3000), MemorySink()
    h = harness(tmp_path, worker, sink)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(h.run)
            while not sink.pauses:
                await anyio.sleep(0.01)
            assert h.pauses.wake()
    assert len(worker.calls) == 2 and sink.of_type("resumed")[0]["data"]["early"] is True
    assert sink.pauses[-1] is None


# --- detached runs -------------------------------------------------------------------
def start_limited(store: RunStore, tmp_path: Path, resets_in: float) -> str:
    limit = {"usage_limit": {"message": LIMITED, "resets_in": resets_in}}
    done = {"text": "wrote it", "edits": [{"path": "done.txt", "write": "ok\n"}]}
    spec = write_scenario(tmp_path / "s.json", {"worker": [limit, done]})
    return runner.start(store, build_request("write done.txt", backend=spec))


def wait_paused(store: RunStore, run_id: str) -> dict[str, Any]:
    status = runner.wait(store, run_id, timeout=30, states=frozenset({"paused"}))
    assert status["state"] == "paused", status
    return status


def test_a_detached_run_pauses_until_the_reset_and_goes_on_by_itself(
    store: RunStore, tmp_path: Path
) -> None:
    run_id = start_limited(store, tmp_path, resets_in=SHORT)
    status = runner.wait(store, run_id, timeout=30)
    assert status["state"] == "completed" and "resume_at" not in status
    events = events_of(store.paths(run_id).events)
    paused = next(e for e in events if e["type"] == "paused")
    resumed = next(e for e in events if e["type"] == "resumed" and "early" in e["data"])
    assert paused["seq"] < resumed["seq"] and resumed["data"]["early"] is False
    assert paused["ts"] < paused["data"]["resume_at"] <= paused["ts"] + SHORT + 0.01  # ts: ms
    assert resumed["ts"] >= paused["data"]["resume_at"] - 0.05  # it waited for the reset


def test_loopwright_resume_continues_a_paused_run_before_its_reset(
    store: RunStore, tmp_path: Path
) -> None:
    run_id = start_limited(store, tmp_path, resets_in=3000)
    status = wait_paused(store, run_id)
    assert time.time() + 2900 < status["resume_at"] < time.time() + 3000
    assert [r["run_id"] for r in store.index.list("paused")] == [run_id]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "loopwright", "resume", run_id, "--detach"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = runner.wait(store, run_id, timeout=30)
    assert status["state"] == "completed" and time.monotonic() - started < 30
    events = events_of(store.paths(run_id).events)
    woken = [e for e in events if e["type"] == "resumed" and "early" in e["data"]]
    assert woken[0]["data"]["early"] is True
    assert "it goes on now" in done.stdout  # woken in its host, not restarted


def test_cancel_stops_a_paused_run(store: RunStore, tmp_path: Path) -> None:
    run_id = start_limited(store, tmp_path, resets_in=3000)
    wait_paused(store, run_id)
    started = time.monotonic()
    status = runner.cancel(store, run_id)
    assert status["state"] == "cancelled" and time.monotonic() - started < 10
    assert store.read_result(run_id)["state"] == "cancelled"  # type: ignore[index]


async def test_a_paused_run_whose_host_died_becomes_interrupted(
    store: RunStore, tmp_path: Path
) -> None:
    run_id = start_limited(store, tmp_path, resets_in=3000)
    pid = int((await anyio.to_thread.run_sync(wait_paused, store, run_id))["pid"])
    os.kill(pid, signal.SIGKILL)
    await wait_dead(pid)
    assert runner.refresh(store, run_id)["state"] == "interrupted"


def test_a_run_on_a_thread_of_this_process_is_woken_without_a_signal(
    store: RunStore, tmp_path: Path
) -> None:
    limit = {"usage_limit": {"message": LIMITED, "resets_in": 3000}}
    spec = write_scenario(tmp_path / "s.json", {"worker": [limit, "wrote it"]})
    run = runner.start_thread(store, build_request("write it", backend=spec))
    wait_paused(store, run.run_id)
    status = runner.resume(store, run.run_id)  # a signal would reach this whole process
    assert status["state"] != "paused"
    assert run.wait(30)["state"] == "completed"
