"""The profiles a run leaves: its recorder writes each model call to the store, and
``loopwright hosts profile`` sums them up."""

from __future__ import annotations

from pathlib import Path

import anyio

from loopwright import AgentRequest, FunctionBackend, ScriptedBackend
from loopwright.hosts.profiles import FILE_NAME, ProfileStore
from loopwright.loop.harness import Roles
from loopwright.runs import runner
from loopwright.runs.drive import drive
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from .test_profiles import LLAMA


def test_a_run_records_the_profiles_of_its_model_calls(store: RunStore, tmp_path: Path) -> None:
    def worker(request: AgentRequest) -> str:
        assert request.emit is not None
        request.emit("model_call", LLAMA)
        return "done"

    work = tmp_path / "work"
    work.mkdir()
    request = build_request("go", cwd=str(work), isolate=False, criteria=["done"])
    run_id = runner.create_run(store, request)
    scripted = ScriptedBackend({"reviewer": [{"json": {"complete": True, "score": 1.0}}]})
    roles = Roles(scripted, [FunctionBackend(worker, "function:w")], [scripted])

    async def go() -> None:
        with anyio.fail_after(30):
            await drive(store, run_id, roles=roles)

    anyio.run(go)
    profiles = ProfileStore(store.home / FILE_NAME)
    [call] = profiles.calls()
    assert (call.model, call.host, call.gen_tps, call.outcome) == ("gemma", "llama", 77.0,
                                                                   "truncated")  # fmt: skip
    profiles.close()


def test_a_run_without_model_calls_creates_no_store(store: RunStore, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    request = build_request("go", cwd=str(work), isolate=False, criteria=["done"])
    run_id = runner.create_run(store, request)
    anyio.run(drive, store, run_id)
    assert not (store.home / FILE_NAME).exists()
