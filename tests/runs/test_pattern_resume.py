"""An interrupted debate or delegate run goes on from its log on ``resume``: the calls
whose exchange the log holds are not made again, and what they cost stays in the run's
usage.

Each test pauses the run at a call (a usage limit that resets in an hour), kills its host
(the run is then ``interrupted``), rewrites the scenario files so that any call made
again says so, and resumes."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import anyio

from loopwright.runs import runner
from loopwright.runs.pattern_request import build_pattern_request
from loopwright.runs.store import RunStore

from ..helpers import events_of, wait_dead, write_scenario
from ..loop.test_pause import LIMITED, wait_paused

QUESTION = "Which queue should the service use?"
TASK = "Write done.txt"
USAGE = {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.01}
LIMIT = {"usage_limit": {"message": LIMITED, "resets_in": 3000}}
YES = {"json": {"complete": True, "score": 1, "issues": [], "next_steps": []}}


def draft(name: str) -> dict[str, Any]:
    return {"text": f"{name} says queue zero", "usage": USAGE}


def revision(name: str, n: int) -> dict[str, Any]:
    answer = f"{name} revised {n} " + " ".join(f"{name}{n}w{i}" for i in range(4))
    return {"json": {"critique": "c", "changed": True, "answer": answer}, "usage": USAGE}


async def kill_host(store: RunStore, run_id: str, logged: tuple[str, int, int] | None) -> None:
    """Once the run is paused (and ``logged``, an exchange's step, round and participant,
    is in its log), kill its host: the run is ``interrupted``."""
    pid = int((await anyio.to_thread.run_sync(wait_paused, store, run_id))["pid"])
    with anyio.fail_after(20):
        while logged is not None and logged not in asked(store, run_id):
            await anyio.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    await wait_dead(pid)
    assert runner.refresh(store, run_id)["state"] == "interrupted"


def asked(store: RunStore, run_id: str, after_resume: bool = False) -> list[tuple[Any, ...]]:
    """(step, round, participant) of the run's exchanges (only the resumed host's)."""
    events = events_of(store.paths(run_id).events)
    if after_resume:
        events = events[next(n for n, e in enumerate(events) if e["type"] == "resumed"
                             and "goal" in e["data"]):]  # fmt: skip
    return [(e["data"]["step"], e["data"]["round"], e["data"]["participant"])
            for e in events if e["type"] == "exchange"]  # fmt: skip


async def resumed_result(store: RunStore, run_id: str, state: str = "completed") -> dict[str, Any]:
    runner.resume(store, run_id)
    status = await anyio.to_thread.run_sync(lambda: runner.wait(store, run_id, timeout=30))
    assert status["state"] == state, status.get("error")
    result = store.read_result(run_id)
    assert result is not None
    return result


async def interrupted_debate(
    store: RunStore, tmp_path: Path, budget: dict[str, Any] | None = None
) -> str:
    """A debate of alpha and beta (two rounds, a judge) whose host died in round 2, with
    alpha's revision in the log and beta's waiting for its usage limit."""
    a = write_scenario(tmp_path / "a.json", {"debate": [
        draft("alpha"), revision("alpha", 1), revision("alpha", 2)]})  # fmt: skip
    b = write_scenario(tmp_path / "b.json", {"debate": [draft("beta"), revision("beta", 1),
                                                        LIMIT]})  # fmt: skip
    j = write_scenario(tmp_path / "j.json", {"judge": [
        {"json": {"pick": 2, "reason": "r"}, "usage": USAGE}]})  # fmt: skip
    options = {"rounds": 2, "converge_at": 0.0}
    request = build_pattern_request("debate", QUESTION, models=[a, b], helper=j, options=options,
                                    budget=budget)  # fmt: skip
    run_id = runner.start(store, request)
    await kill_host(store, run_id, ("revision", 2, 1))  # beta's round 2 waits for its limit
    write_scenario(tmp_path / "a.json", {"debate": ["alpha was asked again"]})
    write_scenario(tmp_path / "b.json", {"debate": [revision("beta", 2)]})
    return run_id


async def test_an_interrupted_debate_resumes_in_its_round_asking_only_the_missing_calls(
    store: RunStore, tmp_path: Path
) -> None:
    run_id = await interrupted_debate(store, tmp_path)
    result = await resumed_result(store, run_id)
    assert asked(store, run_id, after_resume=True) == [("revision", 2, 2), ("judge", 2, None)]
    extra = result["extra"]
    assert [r["drafts"] for r in extra["rounds"]][1:] == [
        {"1": revision("alpha", 1)["json"]["answer"], "2": revision("beta", 1)["json"]["answer"]},
        {"1": revision("alpha", 2)["json"]["answer"], "2": revision("beta", 2)["json"]["answer"]},
    ]
    assert extra["pick"]["answer"] == revision("beta", 2)["json"]["answer"]
    assert result["iterations"] == 2 and extra["stop_reason"] == "round limit (2) reached"
    assert result["usage"]["agent_calls"] == 7  # 5 in the log, beta's revision, the judge
    assert round(result["usage"]["cost_usd"], 6) == 0.07 and result["usage"]["input_tokens"] == 70
    (resumed,) = [e for e in events_of(store.paths(run_id).events)
                  if e["type"] == "resumed" and "pattern" in e["data"]]  # fmt: skip
    assert resumed["data"] == {"pattern": "debate", "step": "revision", "round": 2, "kept": 5,
                               "asking": [2]}  # fmt: skip


async def test_an_interrupted_delegate_whose_work_finished_resumes_at_its_review(
    store: RunStore, tmp_path: Path, repo: Path
) -> None:
    done = {"text": "wrote done.txt", "edits": [{"path": "done.txt", "write": "ok\n"}],
            "usage": USAGE}  # fmt: skip
    w = write_scenario(tmp_path / "w.json", {"worker": [done]})
    r = write_scenario(tmp_path / "r.json", {"reviewer": [LIMIT]})
    request = build_pattern_request("delegate", TASK, models=[w], helper=r, cwd=str(repo))
    run_id = runner.start(store, request)
    await kill_host(store, run_id, None)  # the review waits for its limit
    again = {"text": "asked again", "edits": [{"path": "again.txt", "write": "x\n"}]}
    write_scenario(tmp_path / "w.json", {"worker": [again]})
    write_scenario(tmp_path / "r.json", {"reviewer": [YES]})

    result = await resumed_result(store, run_id)
    assert asked(store, run_id, after_resume=True) == [("review", 0, None)]
    extra = result["extra"]
    assert extra["work"]["text"] == "wrote done.txt" and extra["verdict"]["complete"] is True
    assert "+ok" in extra["patch"] and "again.txt" not in extra["patch"]
    assert result["usage"]["agent_calls"] == 2 and round(result["usage"]["cost_usd"], 6) == 0.01
    assert result["workspace"]["commits"] == 1
    assert not (Path(result["workspace"]["path"]) / "again.txt").exists()


async def test_an_interrupted_delegate_whose_work_did_not_finish_restarts_it_keeping_its_edits(
    store: RunStore, tmp_path: Path, repo: Path
) -> None:
    half = {"edits": [{"path": "half.txt", "write": "half\n"}], **LIMIT}  # edits, then waits
    w = write_scenario(tmp_path / "w.json", {"worker": [half]})
    r = write_scenario(tmp_path / "r.json", {"reviewer": [YES]})
    request = build_pattern_request("delegate", TASK, models=[w], helper=r, cwd=str(repo))
    run_id = runner.start(store, request)
    await kill_host(store, run_id, None)
    rest = {"text": "finished it", "edits": [{"path": "rest.txt", "write": "rest\n"}]}
    write_scenario(tmp_path / "w.json", {"worker": [rest]})

    result = await resumed_result(store, run_id)
    assert asked(store, run_id) == [("work", 0, None), ("review", 0, None)]
    extra = result["extra"]
    assert extra["work"]["text"] == "finished it"
    assert "+half" in extra["patch"] and "+rest" in extra["patch"]  # the first attempt's too
    worktree = Path(result["workspace"]["path"])
    assert (worktree / "half.txt").read_text() == "half\n" and (worktree / "rest.txt").exists()
    (resumed,) = [e for e in events_of(store.paths(run_id).events)
                  if e["type"] == "resumed" and "pattern" in e["data"]]  # fmt: skip
    assert resumed["data"] == {"pattern": "delegate", "step": "work", "round": 0, "kept": 0,
                               "restarted": True, "files": ["half.txt"], "changed": 1}  # fmt: skip


async def test_a_resumed_debate_whose_log_left_too_little_budget_stops_with_the_budget_reason(
    store: RunStore, tmp_path: Path
) -> None:
    run_id = await interrupted_debate(store, tmp_path, {"max_agent_calls": 6})
    result = await resumed_result(store, run_id, "stopped")
    assert result["stop_reason"] == "budget: max_agent_calls=6 reached"
    assert asked(store, run_id, after_resume=True) == [("revision", 2, 2)]  # not the judge
    assert result["usage"]["agent_calls"] == 6 and round(result["usage"]["cost_usd"], 6) == 0.06
    assert len(result["extra"]["rounds"]) == 3 and result["extra"]["pick"] is None
