from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from loopwright.errors import ProcessError
from loopwright.process import group
from loopwright.process.runner import (
    CappedText,
    Piece,
    pid_alive,
    proc_start_time,
    run_process,
)

from ..helpers import alive, wait_dead, wait_for_file

ESCAPE = """
import os, sys, time
pid_file, how = sys.argv[1], sys.argv[2:]
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()  # a new session and group: out of reach of killpg
    if "double" in how and os.fork():
        os._exit(0)  # the first child goes: the second is an orphan at once
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.write(w, str(os.getpid()).encode())
    time.sleep(60)
    os._exit(0)
if "double" in how:
    os.wait()
with open(pid_file + ".tmp", "wb") as f:
    f.write(os.read(r, 32))
os.rename(pid_file + ".tmp", pid_file)
if "stay" in how:
    time.sleep(60)
"""
"""Starts a process that leaves the session (pid written to argv[1]); "double": it is
orphaned at once, "stay": the command itself keeps running."""


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs /proc and PR_SET_CHILD_SUBREAPER"
)


@pytest.fixture
def strays() -> Iterator[list[tuple[int, int | None]]]:
    """(pid, start time) of processes a failing test would leave behind: killed after it."""
    found: list[tuple[int, int | None]] = []
    yield found
    for pid, start in found:
        if pid_alive(pid, start):
            os.kill(pid, signal.SIGKILL)


def escaped(pid_file: Path, strays: list[tuple[int, int | None]]) -> int:
    pid = int(pid_file.read_text())
    strays.append((pid, proc_start_time(pid)))
    return pid


async def test_a_timed_out_command_is_killed_with_its_grandchildren(tmp_path: Path) -> None:
    script = f"sleep 60 & echo $! > {tmp_path}/gc.pid; sleep 60"
    with anyio.fail_after(20):
        result = await run_process(["sh", "-c", script], cwd=tmp_path, timeout=0.5, grace=0.5)
    assert result.timed_out and result.exit_code is None and not result.ok
    await wait_dead(int((tmp_path / "gc.pid").read_text()))


async def test_cancelling_a_command_kills_its_whole_process_group(tmp_path: Path) -> None:
    script = f"sleep 60 & echo $! > {tmp_path}/gc.pid; sleep 60"
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: run_process(["sh", "-c", script], cwd=tmp_path, timeout=60))
        grandchild = int(await wait_for_file(tmp_path / "gc.pid"))
        assert alive(grandchild)
        tg.cancel_scope.cancel()
    await wait_dead(grandchild)


async def test_a_command_cancelled_while_it_is_being_started_is_killed_with_its_whole_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strays: list[tuple[int, int | None]]
) -> None:
    # Forces the race: asyncio connects the child's pipes after the fork, and the cancel
    # lands while it does, when the command has already started its own children.
    gc_pid = tmp_path / "gc.pid"
    script = f"sleep 60 & echo $! > {gc_pid}; exec sleep 60"
    cancelled = anyio.Event()
    loop = asyncio.get_running_loop()
    connect = loop.connect_read_pipe

    async def connect_after_the_cancel(*args: Any, **kwargs: Any) -> Any:
        await cancelled.wait()
        return await connect(*args, **kwargs)

    monkeypatch.setattr(loop, "connect_read_pipe", connect_after_the_cancel)
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_process(["sh", "-c", script], cwd=tmp_path, timeout=60))
            await wait_for_file(gc_pid)
            grandchild = escaped(gc_pid, strays)
            tg.cancel_scope.cancel()
            cancelled.set()
    await wait_dead(grandchild)


@linux_only
async def test_a_grandchild_that_calls_setsid_is_killed_when_the_command_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strays: list[tuple[int, int | None]]
) -> None:
    pid_file = tmp_path / "escaped.pid"
    spawn = group._spawn

    async def spawn_and_wait_for_the_escape(*args: Any) -> Any:
        started = await spawn(*args)
        await wait_for_file(pid_file)  # the timeout starts once the grandchild has left
        return started

    monkeypatch.setattr(group, "_spawn", spawn_and_wait_for_the_escape)
    argv = [sys.executable, "-c", ESCAPE, str(pid_file), "stay"]
    with anyio.fail_after(30):
        result = await run_process(argv, cwd=tmp_path, timeout=0.1, grace=0.5)
    assert result.timed_out
    assert not alive(escaped(pid_file, strays))


@linux_only
async def test_a_daemon_that_left_the_session_is_killed_and_reaped_when_the_command_ends(
    tmp_path: Path, strays: list[tuple[int, int | None]]
) -> None:
    pid_file = tmp_path / "daemon.pid"
    argv = [sys.executable, "-c", ESCAPE, str(pid_file), "double"]
    with anyio.fail_after(30):
        result = await run_process(argv, cwd=tmp_path, timeout=30)
    assert result.exit_code == 0
    daemon = escaped(pid_file, strays)
    assert not alive(daemon)
    assert not Path(f"/proc/{daemon}").exists()  # reaped: no zombie left with us


@linux_only
async def test_a_command_that_ends_leaves_the_escaped_processes_of_another_alone(
    tmp_path: Path, strays: list[tuple[int, int | None]]
) -> None:
    pid_file = tmp_path / "daemon.pid"
    argv = [sys.executable, "-c", ESCAPE, str(pid_file), "double", "stay"]
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: run_process(argv, cwd=tmp_path, timeout=60))
        await wait_for_file(pid_file)
        daemon = escaped(pid_file, strays)
        with anyio.fail_after(20):
            other = await run_process(["sh", "-c", "true"], cwd=tmp_path, timeout=20)
        assert other.ok and alive(daemon)
        tg.cancel_scope.cancel()
    await wait_dead(daemon)


async def test_a_leader_that_exits_does_not_leave_its_background_children(tmp_path: Path) -> None:
    script = f"sleep 60 & echo $! > {tmp_path}/gc.pid; echo done"
    with anyio.fail_after(20):
        result = await run_process(["sh", "-c", script], cwd=tmp_path, timeout=30, grace=0.5)
    assert result.exit_code == 0 and "done" in result.output
    await wait_dead(int((tmp_path / "gc.pid").read_text()))


async def test_children_get_an_empty_stdin_not_ours(tmp_path: Path) -> None:
    with anyio.fail_after(10):
        result = await run_process(
            [sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"],
            cwd=tmp_path,
            timeout=10,
        )
    assert result.output.strip() == "''"


async def test_output_is_streamed_by_line_and_capped(tmp_path: Path) -> None:
    lines: list[str] = []
    code = "import sys\nfor i in range(20000): print('line', i)\n"
    with anyio.fail_after(20):
        result = await run_process(
            [sys.executable, "-c", code], cwd=tmp_path, timeout=20, on_line=lines.append, cap=4096
        )
    assert len(lines) == 20000 and lines[-1] == "line 19999"
    assert result.truncated and len(result.output) < 4200
    assert result.output.startswith("line 0") and result.output.rstrip().endswith("line 19999")


async def test_a_missing_program_is_a_clear_process_error(tmp_path: Path) -> None:
    with pytest.raises(ProcessError, match="no-such-program"):
        await run_process(["no-such-program-xyz"], cwd=tmp_path, timeout=5)


async def test_stdin_can_be_fed_from_a_pipe_we_own(tmp_path: Path) -> None:
    with anyio.fail_after(10):
        result = await run_process(["cat"], cwd=tmp_path, timeout=10, stdin=b"hello\n" * 3)
    assert result.output == "hello\n" * 3


def test_capped_text_keeps_head_and_tail() -> None:
    buf = CappedText(100)
    for n in range(100):
        buf.add(f"{n:04d}".encode())
    text = buf.text()
    assert text.startswith("0000") and text.endswith("0099") and "bytes cut" in text


async def test_a_command_silent_for_the_idle_timeout_is_killed_with_its_grandchildren(
    tmp_path: Path,
) -> None:
    script = f"echo started; sleep 60 & echo $! > {tmp_path}/gc.pid; sleep 60"
    with anyio.fail_after(20):
        result = await run_process(
            ["sh", "-c", script], cwd=tmp_path, timeout=60, idle_timeout=0.5, grace=0.5
        )
    assert result.idle_timed_out and result.timed_out and result.exit_code is None
    assert "started" in result.output and result.duration < 30
    await wait_dead(int((tmp_path / "gc.pid").read_text()))


async def test_output_keeps_a_command_alive_past_the_idle_timeout(tmp_path: Path) -> None:
    # prints every 0.1 s for ~1.5 s: three idle periods of 0.5 s pass, none of them silent
    code = "import time\nfor i in range(15):\n    print(i, flush=True)\n    time.sleep(0.1)\n"
    with anyio.fail_after(20):
        result = await run_process(
            [sys.executable, "-c", code], cwd=tmp_path, timeout=20, idle_timeout=0.5
        )
    assert result.exit_code == 0 and not result.timed_out and not result.idle_timed_out
    assert result.output.split() == [str(i) for i in range(15)]


async def test_the_overall_timeout_is_not_reported_as_idle(tmp_path: Path) -> None:
    code = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)\n"
    with anyio.fail_after(20):
        result = await run_process(
            [sys.executable, "-c", code], cwd=tmp_path, timeout=0.5, idle_timeout=5, grace=0.5
        )
    assert result.timed_out and not result.idle_timed_out


async def test_a_long_line_reaches_on_line_whole_up_to_max_line(tmp_path: Path) -> None:
    lines: list[str] = []
    code = "import sys\nsys.stdout.write('a' * 300000 + '\\n' + 'b' * 5 + '\\n')\n"
    with anyio.fail_after(20):
        await run_process(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            timeout=20,
            on_line=lines.append,
            max_line=1024 * 1024,
        )
    assert [len(line) for line in lines] == [300000, 5]
    pieces: list[str] = []
    with anyio.fail_after(20):
        await run_process(
            [sys.executable, "-c", code], cwd=tmp_path, timeout=20, on_line=pieces.append
        )
    assert "".join(pieces[:-1]) == "a" * 300000 and len(pieces) > 2  # default: in pieces


async def test_a_line_past_max_line_comes_in_pieces_of_max_line_cut_between_characters(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    line = "a" * 99 + "é" * 200  # the first cut, at byte 100, falls inside an "é"
    code = f"import sys\nsys.stdout.buffer.write({line.encode()!r})\n"
    with anyio.fail_after(20):
        await run_process(
            [sys.executable, "-c", code], cwd=tmp_path, timeout=20, on_line=lines.append,
            max_line=100,
        )  # fmt: skip
    *pieces, end = lines
    assert all(isinstance(p, Piece) for p in pieces) and not isinstance(end, Piece)
    assert "".join(lines) == line  # nothing broken or lost
    assert [len(p.encode()) for p in lines] == [99, 100, 100, 100, 100]  # whole characters
