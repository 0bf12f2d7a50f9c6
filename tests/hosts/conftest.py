"""Fixtures of the hosts tests: the fake Vast.ai API, pointed at by VAST_API_URL."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.hosts.rented import keeper_beat, load_rented
from loopwright.process.runner import pid_alive
from tests.hosts.fakevast import KEY, FakeVast, VastServer


def _a_keeper(pid: int, name: str) -> bool:
    """``pid`` is the keeper process of ``name`` a rent started (never this process)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    start = (keeper_beat(name) or {}).get("pid_start")
    keeper = b"loopwright.hosts.keeper" in argv and name.encode() in argv
    return keeper and pid != os.getpid() and pid_alive(pid, start)


@pytest.fixture
def fake_vast(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVast]:
    """A fake Vast.ai (``VAST_API_KEY``/``VAST_API_URL`` set for it); at the end every
    keeper the test's rents started is stopped (by its pid) and every instance closed."""
    fake = FakeVast()
    server = VastServer(fake)
    monkeypatch.setenv("VAST_API_KEY", KEY)
    monkeypatch.setenv("VAST_API_URL", server.url)
    try:
        yield fake
    finally:
        for host in load_rented(include_destroyed=True):
            if host.keeper_pid and _a_keeper(host.keeper_pid, host.name):
                os.kill(host.keeper_pid, signal.SIGKILL)
        server.stop()
