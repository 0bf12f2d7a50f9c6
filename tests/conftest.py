"""Test setup: a private state dir per test, no network but loopback, no sandbox by default."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopwright.runs.store import RunStore

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise OSError(f"tests may only connect to loopback, not {host!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own LOOPWRIGHT_HOME (inherited by run-host processes)."""
    h = tmp_path / "lw-home"
    monkeypatch.setenv("LOOPWRIGHT_HOME", str(h))
    # and no config file of the machine's: the user's is looked for under XDG_CONFIG_HOME
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("LOOPWRIGHT_CONFIG", raising=False)
    # no real Vast.ai: doctor and hosts ls ask it for orphans whenever a key is set
    monkeypatch.delenv("VAST_API_KEY", raising=False)
    monkeypatch.delenv("VAST_API_URL", raising=False)
    return h


@pytest.fixture(autouse=True)
def _unsandboxed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs default to ``--sandbox off`` here (inherited by run-host processes), so the fast
    suite does not need bubblewrap; the ``sandbox`` tests ask for the sandbox themselves."""
    monkeypatch.setenv("LOOPWRIGHT_SANDBOX", "off")


@pytest.fixture
def store(home: Path) -> Iterator[RunStore]:
    s = RunStore(home)
    yield s
    if s._index is not None:
        s._index.close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    from loopwright.runs.git.scratch import make_scratch_repo

    return make_scratch_repo(tmp_path / "repo")


PY = sys.executable
