"""Fixtures of the hosts tests: the fake Vast.ai API, pointed at by VAST_API_URL."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from loopwright.hosts.rented import keeper_beat, load_rented
from loopwright.process.runner import pid_alive
from tests.hosts.fakevast import KEY, FakeVast, VastServer


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
            start = (keeper_beat(host.name) or {}).get("pid_start")
            if host.keeper_pid and pid_alive(host.keeper_pid, start):
                os.kill(host.keeper_pid, signal.SIGKILL)
        server.stop()
