"""The keeper: idle and max-hours destroys driven by an injected clock, retries of a
failed destroy, and the heartbeat; then a real keeper process started by a rent."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time

import httpx
import pytest

from loopwright.hosts.keeper import due, keep
from loopwright.hosts.rented import (
    RentedHost,
    keeper_beat,
    load_rented,
    mark_destroyed,
    mark_used,
    save_rented,
    unwatched,
)
from loopwright.hosts.vast import VastClient
from tests.hosts.fakevast import KEY, FakeVast

T0 = 1_000_000.0


async def no_wait(_: float) -> None:
    return None


async def created(vast: VastClient) -> int:
    onstart = "LW_PROXY_TOKEN='" + "t" * 40 + "'"
    return await vast.create(502, image="i", disk=60, onstart=onstart, label="lw", port=11434)


def saved(instance_id: int, **changes: object) -> RentedHost:
    host = RentedHost(
        name=f"vast-{instance_id}",
        instance_id=instance_id,
        kind="ollama",
        url="http://127.0.0.1:9",
        token="t" * 40,
        usd_per_hour=0.41,
        gpu="RTX 4090",
        model="m",
        created_at=T0,
        idle_minutes=15,
        max_hours=8,
        state="running",
        keeper_pid=os.getpid(),
    )
    host = dataclasses.replace(host, **changes)  # type: ignore[arg-type]
    save_rented(host)
    return host


class Clock:
    """The keeper's clock; each pause between looks moves it by ``step`` seconds and runs
    ``between`` (what happens meanwhile)."""

    def __init__(self, step: float, between: object = None) -> None:
        self.now, self.step, self.looks = T0, step, 0
        self.between = between

    def __call__(self) -> float:
        return self.now

    async def wait(self, _: float) -> None:
        self.looks += 1
        assert self.looks < 10_000, "the keeper never stopped"
        if callable(self.between):
            self.between(self.now)
        self.now += self.step


def test_due_says_idle_after_idle_minutes_from_the_last_use_and_max_hours_whatever() -> None:
    host = saved(1)
    assert due(host, T0 + 14 * 60, None) is None
    assert due(host, T0 + 15 * 60, None) == "idle"
    assert due(host, T0 + 20 * 60, T0 + 10 * 60) is None
    assert due(host, T0 + 25 * 60, T0 + 10 * 60) == "idle"
    assert due(host, T0 + 8 * 3600, T0 + 8 * 3600) == "max-hours"


async def test_the_keeper_destroys_an_idle_host_and_not_before(fake_vast: FakeVast) -> None:
    async with httpx.AsyncClient() as http:
        vast = VastClient(http, KEY, os.environ["VAST_API_URL"], sleep=no_wait)
        host = saved(await created(vast))
        clock = Clock(step=60.0)
        # used at 10 minutes: idle from then, so it goes at 25 minutes
        clock.between = lambda now: mark_used(host.name, now) if now == T0 + 600 else None
        assert await keep(host.name, vast, now=clock, wait=clock.wait) == "idle"
    assert clock.now == T0 + 25 * 60
    assert fake_vast.destroyed() == [host.instance_id]
    [gone] = load_rented(include_destroyed=True)
    assert (gone.state, gone.destroyed_at) == ("destroyed", T0 + 25 * 60)


async def test_the_keeper_destroys_a_busy_host_at_max_hours(fake_vast: FakeVast) -> None:
    async with httpx.AsyncClient() as http:
        vast = VastClient(http, KEY, os.environ["VAST_API_URL"], sleep=no_wait)
        host = saved(await created(vast), max_hours=2)
        clock = Clock(step=300.0, between=lambda now: mark_used(host.name, now))
        assert await keep(host.name, vast, now=clock, wait=clock.wait) == "max-hours"
    assert clock.now == T0 + 2 * 3600
    assert fake_vast.destroyed() == [host.instance_id]


async def test_a_destroy_that_fails_is_tried_again_at_the_next_look(fake_vast: FakeVast) -> None:
    async with httpx.AsyncClient() as http:
        vast = VastClient(http, KEY, os.environ["VAST_API_URL"], retries=0, sleep=no_wait)
        host = saved(await created(vast), created_at=T0 - 3600)
        fake_vast.rate_limit = 2
        clock = Clock(step=30.0)
        assert await keep(host.name, vast, now=clock, wait=clock.wait) == "idle"
    assert clock.looks == 2 and fake_vast.destroyed() == [host.instance_id]


async def test_the_keeper_ends_when_someone_else_destroyed_the_host_and_beats_meanwhile(
    fake_vast: FakeVast,
) -> None:
    async with httpx.AsyncClient() as http:
        vast = VastClient(http, KEY, os.environ["VAST_API_URL"], sleep=no_wait)
        host = saved(await created(vast))
        clock = Clock(step=60.0, between=lambda now: mark_destroyed(host.name, now))
        started = time.time()
        assert await keep(host.name, vast, now=clock, wait=clock.wait) == "gone"
    beat = keeper_beat(host.name) or {}
    assert beat["pid"] == os.getpid() and beat["beat"] >= started
    assert fake_vast.destroyed() == []  # not the keeper's doing


@pytest.mark.parametrize("name", ["../x", "a/b", ""])
def test_a_host_name_that_is_not_a_plain_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        mark_used(name)


def test_a_keeper_without_vast_api_key_stops_saying_why_and_its_host_is_then_unwatched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VAST_API_KEY", raising=False)
    saved(5, keeper_pid=None)
    done = subprocess.run(
        [sys.executable, "-m", "loopwright.hosts.keeper", "vast-5", "--interval", "0.05"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2 and "VAST_API_KEY is not set" in done.stderr
    assert [h.name for h in unwatched()] == ["vast-5"]
