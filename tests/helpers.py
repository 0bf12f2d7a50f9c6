"""Small helpers shared by tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio

from loopwright.process.runner import pid_alive


def write_scenario(path: Path, scenario: dict[str, Any]) -> str:
    path.write_text(json.dumps(scenario))
    return f"scripted:{path}"


async def wait_dead(pid: int, timeout: float = 10.0) -> None:
    """Bounded wait for ``pid`` to be gone (kills are asynchronous in the kernel)."""
    with anyio.fail_after(timeout):
        while pid_alive(pid, None):
            await anyio.sleep(0.01)


async def wait_for_file(path: Path, timeout: float = 20.0) -> str:
    """Bounded wait for a file with content to appear (written by a child process)."""
    with anyio.fail_after(timeout):
        while not (path.exists() and path.read_text().strip()):
            await anyio.sleep(0.01)
    return path.read_text().strip()


def events_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return pid_alive(pid, None)


def worker_output(finished: dict[str, Any]) -> str:
    """A worker's whole output from its ``worker_finished`` data: the file it spilled to,
    else the event itself (``output``, or the preview when output and answer are one)."""
    if finished.get("output_path"):
        return Path(finished["output_path"]).read_text()
    return str(finished.get("output", finished["preview"]))
