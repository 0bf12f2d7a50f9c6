"""Pattern runs (consult, delegate, debate) pause on a usage limit as the loop does: the
run is ``paused`` until the limit resets and the same call goes on by itself; ``loopwright
resume`` (MCP ``orchestrate_resume``) ends the pause at once, and only the calls that met
the limit are asked again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from loopwright.runs import runner
from loopwright.runs.pattern_request import build_pattern_request
from loopwright.runs.store import RunStore
from loopwright.server.app import build_server

from ..helpers import events_of, wait_dead, write_scenario
from ..loop.test_pause import LIMITED, SHORT, wait_paused

QUESTION = "Which queue should the service use?"


def limit(resets_in: float) -> dict[str, Any]:
    return {"usage_limit": {"message": LIMITED, "resets_in": resets_in}}


def test_a_consult_pauses_on_a_usage_limit_and_asks_that_backend_again_after_the_reset(
    store: RunStore, tmp_path: Path
) -> None:
    a = write_scenario(tmp_path / "a.json", {"consult": ["Use Redis", "asked twice"]})
    b = write_scenario(tmp_path / "b.json", {"consult": [limit(SHORT), "Use Postgres"]})
    run_id = runner.start(store, build_pattern_request("consult", QUESTION, models=[a, b]))
    status = runner.wait(store, run_id, timeout=30)
    assert status["state"] == "completed", status.get("error")
    result = store.read_result(run_id)
    assert result is not None
    answers = [(x["spec"], x["ok"], x["text"]) for x in result["extra"]["answers"]]
    assert answers == [(a, True, "Use Redis"), (b, True, "Use Postgres")]
    assert result["summary"] == "consult completed: 2 of 2 consultant(s) answered"
    assert result["usage"]["agent_calls"] == 2  # the call after the pause is the same call
    events = events_of(store.paths(run_id).events)
    paused = next(e for e in events if e["type"] == "paused")
    resumed = next(e for e in events if e["type"] == "resumed" and "early" in e["data"])
    assert paused["data"]["backend"] == b and resumed["data"]["early"] is False
    assert paused["seq"] < resumed["seq"]


def test_loopwright_resume_goes_on_with_a_paused_consult_before_its_reset(
    store: RunStore, tmp_path: Path
) -> None:
    a = write_scenario(tmp_path / "a.json", {"consult": ["Use Redis", "asked twice"]})
    b = write_scenario(tmp_path / "b.json", {"consult": [limit(3000), "Use Postgres"]})
    run_id = runner.start(store, build_pattern_request("consult", QUESTION, models=[a, b]))
    status = wait_paused(store, run_id)
    assert time.time() + 2900 < status["resume_at"] < time.time() + 3000
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "loopwright", "resume", run_id, "--detach"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "it goes on now" in done.stdout  # woken in its host, not begun again
    status = runner.wait(store, run_id, timeout=30)
    assert status["state"] == "completed" and time.monotonic() - started < 30
    result = store.read_result(run_id)
    assert result is not None
    assert [x["text"] for x in result["extra"]["answers"]] == ["Use Redis", "Use Postgres"]
    events = events_of(store.paths(run_id).events)
    assert sum(e["type"] == "exchange" for e in events) == 2  # a was not asked again
    woken = [e for e in events if e["type"] == "resumed" and "early" in e["data"]]
    assert woken[0]["data"]["early"] is True


async def test_orchestrate_resume_goes_on_with_a_paused_delegate(
    store: RunStore, tmp_path: Path, home: Path
) -> None:
    done = {"text": "wrote it", "edits": [{"path": "done.txt", "write": "ok\n"}]}
    spec = write_scenario(tmp_path / "d.json", {"worker": [limit(3000), done]})
    async with Client(build_server(home)) as c:
        started = await c.call_tool("delegate", {"backend": spec, "task": "write done.txt"})
        assert not started.is_error, started.content
        run_id = (started.structured_content or {})["run_id"]
        await anyio.to_thread.run_sync(wait_paused, store, run_id)
        woken = await c.call_tool("orchestrate_resume", {"run_id": run_id})
        assert not woken.is_error, woken.content
    status = await anyio.to_thread.run_sync(lambda: runner.wait(store, run_id, timeout=30))
    assert status["state"] == "completed", status.get("error")
    result = store.read_result(run_id)
    assert result is not None and result["extra"]["work"]["text"] == "wrote it"
    assert "+ok" in result["extra"]["patch"]


async def test_a_paused_consult_whose_host_died_resumes_asking_only_the_backends_without_an_answer(
    store: RunStore, tmp_path: Path
) -> None:
    a = write_scenario(tmp_path / "a.json", {"consult": [
        {"text": "Use Redis", "usage": {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.01}},
    ]})  # fmt: skip
    b = write_scenario(tmp_path / "b.json", {"consult": [limit(3000)]})
    run_id = runner.start(store, build_pattern_request("consult", QUESTION, models=[a, b]))
    pid = int((await anyio.to_thread.run_sync(wait_paused, store, run_id))["pid"])
    os.kill(pid, signal.SIGKILL)
    await wait_dead(pid)
    assert runner.refresh(store, run_id)["state"] == "interrupted"
    write_scenario(tmp_path / "a.json", {"consult": ["a was asked again"]})
    write_scenario(tmp_path / "b.json", {"consult": ["Use Postgres"]})  # the limit has reset
    runner.resume(store, run_id)
    status = await anyio.to_thread.run_sync(lambda: runner.wait(store, run_id, timeout=30))
    assert status["state"] == "completed", status.get("error")
    result = store.read_result(run_id)
    assert result is not None
    assert [(x["spec"], x["text"]) for x in result["extra"]["answers"]] == [
        (a, "Use Redis"),
        (b, "Use Postgres"),
    ]
    assert result["usage"]["cost_usd"] == 0.01 and result["usage"]["input_tokens"] == 10
    events = events_of(store.paths(run_id).events)
    asked = [e["data"]["spec"] for e in events if e["type"] == "exchange"]
    assert asked == [a, b]  # a answered before the host died and was not asked again
