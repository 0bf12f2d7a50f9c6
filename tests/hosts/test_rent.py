"""Renting on the fake Vast.ai end to end: rent -> saved, reachable only with the token ->
used -> destroyed by its (real, detached) keeper when idle; a failure after creation
destroys the instance; a killed keeper is warned about; the command line's rent/down."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from loopwright.backends.models import ollama_api
from loopwright.backends.registry import create_backend
from loopwright.errors import HostError
from loopwright.hosts import pool
from loopwright.hosts.keeper import keeper_log
from loopwright.hosts.rented import (
    RentedHost,
    keeper_beat,
    last_used,
    load_rented,
    mark_used,
    unwatched,
    unwatched_warnings,
)
from loopwright.hosts.vast import VastClient
from loopwright.hosts.vast_rent import RentRequest, Waits, rent
from loopwright.process.runner import PlainRunner, pid_alive
from tests.backends.models.fake_ollama import say
from tests.backends.models.fakes import request
from tests.hosts.fakevast import KEY, FakeVast

FAST = Waits(running=30.0, ready=30.0, poll=0.0, keeper_interval=0.05)


async def no_wait(_: float) -> None:
    return None


async def rented(
    idle_minutes: float = 15.0, progress: Callable[[str], None] = lambda _: None
) -> RentedHost:
    req = RentRequest("RTX 4090", "qwen2.5-coder:32b", 0.60, idle_minutes=idle_minutes)
    async with httpx.AsyncClient() as http:
        vast = VastClient(http, KEY, os.environ["VAST_API_URL"], sleep=no_wait)
        return await rent(req, vast=vast, http=http, runner=PlainRunner(), progress=progress,
                          waits=FAST)  # fmt: skip


async def until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for ``check`` to hold (a process to end, a file to appear), bounded."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_a_rented_host_is_saved_reachable_only_with_its_token_and_the_keeper_ends_it_idle(
    fake_vast: FakeVast,
) -> None:
    lines: list[str] = []
    host = await rented(idle_minutes=0.05, progress=lines.append)  # 3 s without calls
    inst = fake_vast.instances[host.instance_id]
    assert host.name == f"vast-{host.instance_id}" and host.state == "running"
    assert host.url == f"http://127.0.0.1:{inst.proxy_port}" and host.usd_per_hour == 0.41
    assert host.token == inst.token and load_rented() == [host]
    assert host.keeper_pid is not None and pid_alive(host.keeper_pid, None)
    assert inst.body["image"].startswith("ollama/ollama") and inst.body["disk"] == 60
    assert any("pulling qwen2.5-coder:32b: success" in line for line in lines)
    assert not [line for line in lines if KEY in line or (host.token or "-") in line]
    assert fake_vast.ollama_of(host.instance_id).bodies("/api/pull")[0]["model"] == host.model
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{host.url}/api/tags")).status_code == 401
        auth = {"Authorization": f"Bearer {host.token}"}
        mark_used(host.name)
        tags = (await http.get(f"{host.url}/api/tags", headers=auth)).json()
        mark_used(host.name)
    assert [m["name"] for m in tags["models"]] == [host.model]
    assert (last_used(host.name) or 0) >= host.created_at
    assert await asyncio.to_thread(fake_vast.wait_destroyed, host.instance_id)
    await until(lambda: not pid_alive(host.keeper_pid or 0, None))
    [gone] = load_rented(include_destroyed=True)
    assert gone.state == "destroyed" and (gone.destroyed_at or 0) >= (last_used(host.name) or 0)
    assert unwatched() == []
    log = Path(keeper_log(host.name)).read_text()
    assert f"{host.name} (instance {host.instance_id}) destroyed: idle" in log
    assert KEY not in log and (host.token or "-") not in log


async def test_a_model_call_through_at_name_reaches_the_rented_host_with_its_token_as_use(
    fake_vast: FakeVast,
) -> None:
    fake_vast.chats = [say("from the rented GPU")]
    host = await rented()
    before = last_used(host.name) or 0
    req, events, _ = request("review")
    try:
        reply = await create_backend(f"ollama:{host.model}@{host.name}").run(req)
    finally:
        pool.forget()
        ollama_api._FACTS.clear()
        ollama_api.close_profiles()
    assert reply.ok and reply.text == "from the rented GPU"
    ollama = fake_vast.ollama_of(host.instance_id)
    [(_, body, headers)] = [r for r in ollama.requests if r[0] == "/api/chat"]
    assert body["model"] == host.model and "authorization" not in headers  # stripped
    assert [e["host"] for e in events.of("model_call")] == [host.name]
    assert (last_used(host.name) or 0) >= before


async def test_an_instance_that_fails_after_creation_is_destroyed_and_the_error_says_so(
    fake_vast: FakeVast,
) -> None:
    fake_vast.fail_state = "exited"
    with pytest.raises(HostError, match=r"exited instead of running.*was destroyed") as err:
        await rented()
    [inst] = fake_vast.instances.values()
    assert fake_vast.destroyed() == [inst.id] and err.value.instance_id == inst.id
    [gone] = load_rented(include_destroyed=True)
    assert gone.state == "destroyed"


async def test_a_failed_rent_whose_destroy_fails_too_says_the_instance_may_still_be_billed(
    fake_vast: FakeVast,
) -> None:
    fake_vast.fail_state = "exited"
    fake_vast.destroy_status = 500
    with pytest.raises(HostError, match=r"may still be billed; run `loopwright hosts down vast-"):
        await rented()
    [host] = load_rented()  # still recorded as not destroyed: unwatched() and doctor see it
    assert host.state == "loading" and fake_vast.destroyed() == []
    fake_vast.destroy_status = None  # the keeper's next look now succeeds
    assert await asyncio.to_thread(fake_vast.wait_destroyed, host.instance_id)


async def test_an_interrupted_rent_destroys_its_instance_before_it_stops(
    fake_vast: FakeVast,
) -> None:
    def interrupt(line: str) -> None:
        if line.startswith("pulling"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await rented(progress=interrupt)
    [inst] = fake_vast.instances.values()
    assert fake_vast.destroyed() == [inst.id]
    assert [h.state for h in load_rented(include_destroyed=True)] == ["destroyed"]


async def test_429s_from_vast_during_a_rent_are_waited_out(fake_vast: FakeVast) -> None:
    fake_vast.rate_limit = 3
    host = await rented()
    assert host.state == "running"
    assert sum(1 for c in fake_vast.calls if c[1] == "/bundles/") == 4


async def test_no_offer_under_the_price_creates_nothing(fake_vast: FakeVast) -> None:
    req = RentRequest("RTX 4090", "m", 0.10)
    async with httpx.AsyncClient() as http:
        vast = VastClient(http, KEY, os.environ["VAST_API_URL"], sleep=no_wait)
        with pytest.raises(HostError, match=r"no rentable RTX 4090 offer at \$0\.10/h"):
            await rent(req, vast=vast, http=http, runner=PlainRunner(), waits=FAST)
    assert fake_vast.instances == {} and load_rented() == []


async def test_a_killed_keeper_leaves_an_unwatched_host_that_doctor_warns_of(
    fake_vast: FakeVast, home: Path
) -> None:
    host = await rented()
    assert host.keeper_pid is not None
    await until(lambda: keeper_beat(host.name) is not None)
    assert unwatched() == []
    os.kill(host.keeper_pid, signal.SIGKILL)  # the keeper this test's rent started
    await until(lambda: not pid_alive(host.keeper_pid or 0, None))
    [warning] = unwatched_warnings()
    assert f"paid instance nobody watches: {host.name}" in warning
    assert f"loopwright hosts down {host.name}" in warning
    doctor = _cli("doctor", "--json", ok=False)  # a failed check: doctor exits 1
    assert warning.split(" (")[0] in doctor
    fake_vast.instances[host.instance_id].stop()  # end of the test: no instance is left
    fake_vast.instances[host.instance_id].destroyed = True


def _cli(*args: str, ok: bool = True) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "loopwright", *args], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode == 0) == ok, done.stderr
    return done.stdout if ok else done.stdout + done.stderr
