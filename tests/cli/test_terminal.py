"""The command line as a Unix tool: bad values refused, closed pipes, colour."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest

from loopwright.cli import commands
from loopwright.config import LIST_LIMIT, PATCH_BYTES
from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore
from loopwright.server import params

RUN = "20261123-071300123-a3f9c2"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["list", "--limit", "-3"], "argument --limit: '-3': give a whole number from 1 to 500"),
        (["list", "--limit", "0"], "argument --limit: '0': give a whole number from 1 to 500"),
        (["tail", RUN, "-n", "-1"], "argument -n/--lines: '-1': give a whole number from 0"),
        (["diff", RUN, "--max-bytes", "-5"], "argument --max-bytes: '-5': give a whole number"),
        (["diff", RUN, "--max-bytes", "50"], "from 1000 to 10000000"),
    ],
)
def test_a_value_out_of_range_is_refused_naming_the_option(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        commands.main(argv)
    assert caught.value.code == 2 and said in capsys.readouterr().err


def bounds(annotated: object) -> tuple[Any, Any]:
    found = {type(m).__name__: m for m in get_args(annotated)[1].metadata}
    return found["Ge"].ge, found["Le"].le


def test_the_cli_and_the_tools_take_the_same_limits() -> None:
    assert bounds(params.ListLimit) == LIST_LIMIT
    assert bounds(params.MaxBytes) == PATCH_BYTES


def closed_pipe_run(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with its stdout a pipe nobody reads any more (``| head -1`` once head
    is gone): forced, not raced, by closing the read end before the CLI starts."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "loopwright", *argv], stdout=write,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                              timeout=60)  # fmt: skip
    finally:
        os.close(write)


def test_output_into_a_closed_pipe_ends_quietly_with_exit_0(store: RunStore) -> None:
    run = runner.start_thread(store, build_request("something"))
    assert run.wait(30)["state"] == "completed"
    for argv in (["list"], ["tail", run.run_id], ["backends"]):
        done = closed_pipe_run(*argv)
        assert (done.returncode, done.stderr) == (0, ""), argv


def on_a_terminal(*argv: str, env: dict[str, str]) -> str:
    """The CLI's output when its stdout is a terminal (a pty)."""
    main, child = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "loopwright", *argv], stdout=child,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env,
                       timeout=60, check=True)  # fmt: skip
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(main)


def test_colour_on_a_terminal_but_not_with_no_color_nor_into_a_pipe(
    store: RunStore, home: Path
) -> None:
    run = runner.start_thread(store, build_request("something"))
    assert run.wait(30)["state"] == "completed"
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    coloured = on_a_terminal("list", env=env)
    assert "\x1b[32mcompleted" in coloured and "\x1b[1mRUN" in coloured
    assert "\x1b[" not in on_a_terminal("list", env={**env, "NO_COLOR": "1"})
    piped = subprocess.run([sys.executable, "-m", "loopwright", "list"], capture_output=True,
                           text=True, env=env, timeout=60, check=True)  # fmt: skip
    assert "\x1b[" not in piped.stdout and "completed" in piped.stdout
