"""The rented-host store: every GPU instance loopwright rented (Vast.ai), whether it still
runs, who watches it, and when it was last used.

One JSON file, ``<state>/hosts/rented.json`` (0600 in a 0700 folder: it holds each
host's bearer token), replaced atomically under a file lock, so two processes saving at
once (``rent`` and the keeper) never lose an entry. ``mark_used`` is on the path of every
model call to a rented host, so it does not touch that file: it sets the modification
time of ``<state>/hosts/used/<name>``, one ``utime`` per call.

The keeper that watches a host writes ``<state>/hosts/keepers/<name>.json`` (its pid, the
pid's start time, its last heartbeat); ``unwatched`` uses the start time so a recycled
pid is not taken for a living keeper.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import state_dir
from ..fsmodes import open_nofollow, private_dir, write_private
from ..process.runner import pid_alive, proc_start_time

__all__ = [
    "RentedHost",
    "heartbeat",
    "keeper_beat",
    "last_used",
    "load_rented",
    "mark_destroyed",
    "mark_used",
    "rented_dir",
    "save_rented",
    "unwatched",
    "unwatched_warnings",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class RentedHost:
    name: str  # e.g. "vast-12345"; usable as @NAME in a spec
    instance_id: int
    kind: str  # "ollama"
    url: str  # the base URL loopwright calls (the token proxy on the instance)
    token: str | None = field(repr=False)  # bearer token the proxy checks
    usd_per_hour: float  # Vast's dph_total when rented
    gpu: str
    model: str
    created_at: float  # epoch s: billing starts
    idle_minutes: float
    max_hours: float
    state: str  # "loading" | "running" | "destroyed"
    destroyed_at: float | None = None
    keeper_pid: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RentedHost:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def rented_dir() -> Path:
    """``<state>/hosts``, made 0700."""
    return private_dir(state_dir() / "hosts")


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a rented host name: {name!r}")
    return name


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    folder = rented_dir()
    fd = open_nofollow(folder / "rented.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder / "rented.json"
    finally:
        os.close(fd)  # releases the lock


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        fd = open_nofollow(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    with os.fdopen(fd, "rb") as f:
        data = json.loads(f.read() or b"{}")
    hosts = data.get("hosts", [])
    return [h for h in hosts if isinstance(h, dict)]


def _write(path: Path, hosts: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_private(tmp, json.dumps({"hosts": hosts}, indent=1).encode())
    os.replace(tmp, path)


def load_rented(include_destroyed: bool = False) -> list[RentedHost]:
    """Every rented host recorded, oldest first; destroyed ones only when asked. Creates
    nothing when nothing was ever rented (``doctor`` and run starts read it)."""
    if not os.path.lexists(state_dir() / "hosts" / "rented.json"):
        return []
    with _locked() as path:
        rows = _read(path)
    hosts = [RentedHost.from_dict(r) for r in rows]
    return [h for h in hosts if include_destroyed or h.state != "destroyed"]


def save_rented(host: RentedHost) -> None:
    """Insert or replace the host of that name (atomic, under the lock)."""
    _check_name(host.name)
    with _locked() as path:
        rows = [r for r in _read(path) if r.get("name") != host.name]
        rows.append(host.as_dict())
        rows.sort(key=lambda r: float(r.get("created_at") or 0))
        _write(path, rows)


def _update(name: str, **changes: Any) -> RentedHost | None:
    with _locked() as path:
        rows = _read(path)
        found = None
        for i, row in enumerate(rows):
            if row.get("name") == name:
                found = dataclasses.replace(RentedHost.from_dict(row), **changes)
                rows[i] = found.as_dict()
        if found is not None:
            _write(path, rows)
        return found


def mark_destroyed(name: str, when: float) -> None:
    """Record that the instance is gone (a name not recorded is ignored)."""
    _update(_check_name(name), state="destroyed", destroyed_at=when)


def _used_file(name: str) -> Path:
    return private_dir(rented_dir() / "used") / _check_name(name)


def mark_used(name: str, when: float | None = None) -> None:
    """The host was used at ``when`` (now): one ``utime`` of a marker file."""
    path = _used_file(name)
    stamp = time.time() if when is None else when
    try:
        os.utime(path, (stamp, stamp), follow_symlinks=False)
    except FileNotFoundError:
        os.close(open_nofollow(path, os.O_WRONLY | os.O_CREAT))
        os.utime(path, (stamp, stamp), follow_symlinks=False)


def last_used(name: str) -> float | None:
    """When the host was last used (``mark_used``), None if never."""
    try:
        return os.lstat(_used_file(name)).st_mtime
    except FileNotFoundError:
        return None


def _keeper_file(name: str) -> Path:
    return private_dir(rented_dir() / "keepers") / (_check_name(name) + ".json")


def heartbeat(name: str, pid: int | None = None, when: float | None = None) -> None:
    """The keeper of ``name`` is alive (written by the keeper each time it looks)."""
    pid = os.getpid() if pid is None else pid
    beat = {"pid": pid, "pid_start": proc_start_time(pid), "beat": when or time.time()}
    path = _keeper_file(name)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_private(tmp, json.dumps(beat).encode())
    os.replace(tmp, path)


def keeper_beat(name: str) -> dict[str, Any] | None:
    """The keeper's last heartbeat record (pid, pid_start, beat), None if none."""
    try:
        fd = open_nofollow(_keeper_file(name), os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        try:
            data = json.loads(f.read())
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def _watched(host: RentedHost) -> bool:
    if host.keeper_pid is None:
        return False
    beat = keeper_beat(host.name) or {}
    start = beat.get("pid_start") if beat.get("pid") == host.keeper_pid else None
    return pid_alive(host.keeper_pid, start if isinstance(start, int) else None)


def unwatched() -> list[RentedHost]:
    """Hosts not destroyed whose keeper is not alive: paid instances nobody watches."""
    return [h for h in load_rented() if not _watched(h)]


def unwatched_warnings(now: float | None = None) -> list[str]:
    """One sentence per unwatched host, for ``hosts ls``, ``doctor`` and run starts."""
    now = time.time() if now is None else now
    return [
        f"paid instance nobody watches: {h.name} (Vast.ai instance {h.instance_id}, {h.gpu}, "
        f"${h.usd_per_hour:.2f}/h, up {max(0.0, now - h.created_at) / 3600:.1f} h): its "
        f"keeper is not running; destroy it with `loopwright hosts down {h.name}`"
        for h in unwatched()
    ]
