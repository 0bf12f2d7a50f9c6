"""The rented-host store: round trip, private modes, concurrent writers, unwatched hosts."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from loopwright.hosts import rented
from loopwright.hosts.rented import (
    RentedHost,
    heartbeat,
    last_used,
    load_rented,
    mark_destroyed,
    mark_used,
    save_rented,
    unwatched,
)


def host(name: str = "vast-1", **changes: Any) -> RentedHost:
    base = RentedHost(
        name=name,
        instance_id=int(name.rsplit("-", 1)[-1]),
        kind="ollama",
        url="http://127.0.0.1:9/",
        token="tok-secret",
        usd_per_hour=0.42,
        gpu="RTX 4090",
        model="qwen2.5-coder:32b",
        created_at=1000.0 + int(name.rsplit("-", 1)[-1]),
        idle_minutes=15,
        max_hours=8,
        state="running",
    )
    return dataclasses.replace(base, **changes)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def test_a_saved_host_loads_back_equal_and_an_upsert_replaces_it() -> None:
    save_rented(host("vast-1"))
    save_rented(host("vast-2"))
    save_rented(host("vast-1", state="loading"))
    assert load_rented() == [host("vast-1", state="loading"), host("vast-2")]


def test_the_token_is_not_in_the_repr() -> None:
    assert "tok-secret" not in repr(host())


def test_a_destroyed_host_is_listed_only_when_asked() -> None:
    save_rented(host("vast-1"))
    mark_destroyed("vast-1", 2000.0)
    assert load_rented() == []
    [gone] = load_rented(include_destroyed=True)
    assert (gone.state, gone.destroyed_at) == ("destroyed", 2000.0)


def test_the_store_is_a_0600_file_in_a_0700_folder_whatever_the_umask(home: Path) -> None:
    old = os.umask(0)
    try:
        save_rented(host())
        mark_used("vast-1", 5.0)
        heartbeat("vast-1")
    finally:
        os.umask(old)
    folder = home / "hosts"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.rglob("*"):
        want = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == want, path


def test_last_used_is_what_mark_used_recorded_and_none_before() -> None:
    assert last_used("vast-1") is None
    mark_used("vast-1", 1234.5)
    assert last_used("vast-1") == 1234.5
    mark_used("vast-1")
    assert (last_used("vast-1") or 0) > 1234.5


def test_a_writer_that_saves_while_another_is_between_read_and_write_loses_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race forced: writer 1 has read the file and waits; writer 2 then saves. Without
    the lock writer 2 finishes first and writer 1 writes its stale view over it."""
    read_done, release, w2_waiting = threading.Event(), threading.Event(), threading.Event()
    real_read, real_flock = rented._read, fcntl.flock

    def slow_read(path: Path) -> list[dict[str, Any]]:
        rows = real_read(path)
        if threading.current_thread().name == "w1":
            read_done.set()
            assert release.wait(10)
        return rows

    def flock(fd: int, op: int) -> None:
        if threading.current_thread().name == "w2":
            w2_waiting.set()
        real_flock(fd, op)

    monkeypatch.setattr(rented, "_read", slow_read)
    monkeypatch.setattr(fcntl, "flock", flock)
    w1 = threading.Thread(target=save_rented, args=(host("vast-1"),), name="w1")
    w2 = threading.Thread(target=save_rented, args=(host("vast-2"),), name="w2")
    w1.start()
    assert read_done.wait(10)
    w2.start()
    # w2 either blocks on the lock (it asked for it) or, with no lock, runs to its end
    for _ in range(1000):
        if w2_waiting.wait(0.01) or not w2.is_alive():
            break
    release.set()
    w1.join(10)
    w2.join(10)
    assert sorted(h.name for h in load_rented()) == ["vast-1", "vast-2"]


def test_many_processes_saving_at_once_keep_every_entry(home: Path) -> None:
    code = (
        "import sys, dataclasses\n"
        "from tests.hosts.test_rented import host\n"
        "from loopwright.hosts.rented import save_rented\n"
        "for i in range(15): save_rented(host(f'vast-{int(sys.argv[1]) * 100 + i}'))\n"
    )
    env = {**os.environ, "LOOPWRIGHT_HOME": str(home)}
    root = Path(__file__).parents[2]
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(n)], cwd=root, env=env)
        for n in range(1, 5)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert len(load_rented()) == 60


def test_a_running_host_whose_keeper_pid_is_dead_is_unwatched() -> None:
    save_rented(host("vast-1", keeper_pid=dead_pid()))
    save_rented(host("vast-2", keeper_pid=os.getpid()))
    heartbeat("vast-2")
    save_rented(host("vast-3", keeper_pid=None))
    save_rented(host("vast-4", keeper_pid=dead_pid()))
    mark_destroyed("vast-4", 3000.0)
    assert [h.name for h in unwatched()] == ["vast-1", "vast-3"]


def test_a_recycled_keeper_pid_is_not_taken_for_the_keeper() -> None:
    """The heartbeat recorded the keeper's start time; another process now holding that pid
    (here: this test, with a start time that does not match) does not count."""
    save_rented(host("vast-1", keeper_pid=os.getpid()))
    heartbeat("vast-1")
    beat = rented.keeper_beat("vast-1") or {}
    path = rented._keeper_file("vast-1")
    fake = {"pid": os.getpid(), "pid_start": beat["pid_start"] + 1, "beat": 1}
    path.write_text(json.dumps(fake))
    assert [h.name for h in unwatched()] == ["vast-1"]
