"""The plain runner's short and detached commands: git's ``run_sync`` and the run host's
``spawn_detached``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from loopwright.errors import ProcessError
from loopwright.process.runner import PlainRunner

from ..helpers import wait_dead, wait_for_file


def test_a_short_command_keeps_stdout_and_stderr_apart_and_gets_its_stdin(
    tmp_path: Path,
) -> None:
    code = "import sys; d = sys.stdin.read(); print(d.upper()); print('warn', file=sys.stderr)"
    done = PlainRunner().run_sync(
        [sys.executable, "-c", code], cwd=tmp_path, timeout=30, stdin=b"abc"
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"ABC\n", b"warn\n")
    assert not done.timed_out


def test_a_short_command_has_dev_null_for_stdin_no_terminal_and_the_env_it_is_given(
    tmp_path: Path,
) -> None:
    code = (
        "import os, sys; print(repr(sys.stdin.read()), os.environ.get('ONLY'), os.getcwd(), "
        "os.getsid(0) == os.getpid())"
    )
    argv = [sys.executable, "-c", code]
    done = PlainRunner().run_sync(argv, cwd=tmp_path, timeout=30, env={"ONLY": "this"})
    assert done.stdout.decode().split() == ["''", "this", str(tmp_path), "True"]


async def test_a_short_command_that_times_out_is_killed_with_its_group(tmp_path: Path) -> None:
    script = f"sleep 60 & echo $! > {tmp_path}/gc.pid; sleep 60"
    with anyio.fail_after(20):
        done = await anyio.to_thread.run_sync(
            lambda: PlainRunner().run_sync(["sh", "-c", script], cwd=tmp_path, timeout=0.5)
        )
    assert done.timed_out and done.returncode is None
    await wait_dead(int(await wait_for_file(tmp_path / "gc.pid")))


@pytest.mark.parametrize("how", ["run_sync", "spawn_detached"])
def test_a_program_that_cannot_be_started_raises_process_error_naming_it(
    tmp_path: Path, how: str
) -> None:
    runner, argv = PlainRunner(), ["no-such-program-xyz"]
    with pytest.raises(ProcessError, match="cannot start 'no-such-program-xyz'"):
        if how == "run_sync":
            runner.run_sync(argv, cwd=tmp_path, timeout=5)
        else:
            runner.spawn_detached(argv, cwd=tmp_path, output=1)


async def test_a_detached_program_leads_its_own_session_writes_its_log_and_is_reaped(
    tmp_path: Path,
) -> None:
    log = tmp_path / "host.log"
    code = "import os, sys; print(os.getsid(0) == os.getpid(), repr(sys.stdin.read()))"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        pid = PlainRunner().spawn_detached([sys.executable, "-c", code], cwd=tmp_path, output=fd)
    finally:
        os.close(fd)
    assert await wait_for_file(log) == "True ''"
    with anyio.fail_after(10):  # gone from /proc: not even a zombie is left
        while Path(f"/proc/{pid}").exists():
            await anyio.sleep(0.01)
