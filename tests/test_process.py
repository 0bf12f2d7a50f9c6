from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from loopwright.errors import ProcessError
from loopwright.process import CappedText, run_process

from .helpers import alive, wait_dead, wait_for_file


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
