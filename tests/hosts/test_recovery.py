"""A host marked down comes back: a probe taken ``PROBE_TTL`` after the failed call that
finds it healthy clears the mark (once: a host that fails again soon after stays down the
full ``DOWN_SECONDS``), and a dead host is not probed more than once per ``PROBE_TTL``.
``@pool`` tries a host never measured for the model once, so its speed gets measured.
The pool's clock is the test's (no sleeps); the hosts are fake Ollama servers."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from loopwright.backends.models import ollama_api
from loopwright.backends.registry import create_backend
from loopwright.hosts import pool
from loopwright.hosts.health import Health, probe_all
from loopwright.hosts.named import Host
from tests.backends.models.fake_ollama import FakeOllama, say
from tests.backends.models.fakes import request
from tests.hosts.poolkit import measured, ollama, refused_url, write_config


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pool.forget()
    yield
    pool.forget()
    ollama_api._FACTS.clear()
    ollama_api.close_profiles()


class Clock:
    """The pool's clock, moved by the test; starts at the real monotonic time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = time.monotonic()
        monkeypatch.setattr(pool, "_clock", lambda: self.now, raising=False)

    def skip(self, seconds: float) -> None:
        self.now += seconds


def hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **urls: str) -> None:
    """``[hosts.NAME]`` of kind ollama for each ``NAME=url``; ``local`` refuses."""
    text = "".join(f'[hosts.{n}]\nkind = "ollama"\nurl = "{u}"\n' for n, u in urls.items())
    text += f'[hosts.local]\nkind = "ollama"\nurl = "{refused_url()}"\n'
    write_config(tmp_path, monkeypatch, text)


def probes(fake: FakeOllama) -> int:
    return len(fake.bodies("/api/version"))


async def names(model: str = "m") -> list[str]:
    return [h.name for h in (await pool.choose("ollama", model))[0]]


async def test_a_host_marked_down_is_used_again_after_a_probe_finds_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    with ollama(loaded={"m"}) as (fake, gpu1):
        hosts(tmp_path, monkeypatch, gpu1=gpu1.url)
        pool.mark_down(pool.find_host("gpu1", "ollama"), "Ollama not reachable")
        assert await names() == []
        clock.skip(pool.PROBE_TTL)  # the failed call stands for a probe this long
        assert await names() == [] and probes(fake) == 0
        clock.skip(1.0)
        assert await names() == ["gpu1"] and probes(fake) == 1
        assert pool.down_reason(pool.find_host("gpu1", "ollama")) is None


async def test_a_host_that_fails_again_soon_after_its_recovery_stays_down_the_full_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    with ollama(loaded={"m"}) as (fake, gpu1):
        hosts(tmp_path, monkeypatch, gpu1=gpu1.url)
        gpu1_host = pool.find_host("gpu1", "ollama")
        pool.mark_down(gpu1_host, "HTTP 500")
        clock.skip(pool.PROBE_TTL + 1)
        assert await names() == ["gpu1"]  # back, by its probe
        clock.skip(5.0)
        pool.mark_down(gpu1_host, "HTTP 500")  # it answers probes but fails calls
        clock.skip(pool.PROBE_TTL + 1)
        assert await names() == [] and probes(fake) == 2  # probed, healthy, still down
        clock.skip(pool.DOWN_SECONDS - pool.PROBE_TTL)
        assert await names() == ["gpu1"]


async def test_a_dead_host_is_probed_at_most_once_per_probe_ttl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    asked: list[list[str]] = []
    real = probe_all

    async def counted(hs: Sequence[Host], client: Any = None, timeout: float = 2.0) -> list[Health]:
        asked.append([h.name for h in hs])
        return await real(hs, client, timeout)

    monkeypatch.setattr(pool, "probe_all", counted)
    hosts(tmp_path, monkeypatch, gpu1=refused_url())
    pool.mark_down(pool.find_host("gpu1", "ollama"), "Ollama not reachable")

    def gpu1_probes() -> int:
        return len([a for a in asked if "gpu1" in a])

    for _ in range(5):  # the failed call stands for a probe for PROBE_TTL
        await names()
        clock.skip(pool.PROBE_TTL / 4 - 0.01)
    assert gpu1_probes() == 0
    for n in (1, 2):
        clock.skip(pool.PROBE_TTL + 1)
        for _ in range(3):
            await names()
        assert gpu1_probes() == n
    assert (await pool.choose("ollama", "m"))[1]["gpu1"] == "marked down: Ollama not reachable"


async def test_a_named_host_with_a_fallback_is_called_again_once_a_probe_finds_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    with ollama(loaded={"m"}, chats=[say("gpu1 is back")]) as (fake, gpu1):
        hosts(tmp_path, monkeypatch, gpu1=gpu1.url)
        backend = create_backend("ollama:m@gpu1", fallback="scripted")
        pool.mark_down(pool.find_host("gpu1", "ollama"), "Ollama not reachable")
        req, events, _ = request("review")
        first = await backend.run(req)
        asked_before = probes(fake)
        clock.skip(pool.PROBE_TTL + 1)
        second = await backend.run(request("review")[0])
    assert first.ok and [e["to"] for e in events.of("host_failover")] == ["scripted"]
    assert asked_before == 0  # not probed while its failed call stands
    assert second.ok and second.text == "gpu1 is back" and len(fake.bodies("/api/chat")) == 1


async def test_at_pool_tries_a_loaded_host_never_measured_once_before_the_measured_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        ollama(loaded={"m"}) as (_, fast),  # loaded, measured
        ollama(loaded={"m"}, chats=[say("new here")]) as (fn, new),  # loaded, never measured
        ollama(loaded=set()) as (_, cold),  # never measured, not loaded
    ):
        hosts(tmp_path, monkeypatch, fast=fast.url, new=new.url, cold=cold.url)
        measured("fast", "m", 80.0)
        measured("new", "other", 500.0)  # another model's speed does not count
        r = await create_backend("ollama:m@pool").run(request("review")[0])
        then = await names()
    assert r.ok and r.text == "new here" and len(fn.bodies("/api/chat")) == 1
    # once measured (by its call), it ranks by its speed; loading a model costs more than
    # an exploration gains, so a host without it loaded is not tried before a loaded one
    assert then[0] == "fast" and then[-1] == "cold"
