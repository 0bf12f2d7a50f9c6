"""(marker ``sandbox``, needs bubblewrap) A chat with ``--sandbox all`` runs an agent CLI
confined: a fake agent program that tries to write outside its working directory
leaves nothing there; with ``--sandbox off`` the same program does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..sandboxing import need_sandbox

AGENT = """\
import pathlib, sys
sys.stdin.read()  # the prompt
for target in sys.argv[1:]:
    try:
        pathlib.Path(target).write_text("x")
    except OSError:
        pass
print("the agent ran")
"""


@pytest.mark.sandbox
@pytest.mark.parametrize("mode", ["all", "off"])
def test_an_agent_cli_run_by_a_chat_with_sandbox_all_cannot_write_outside_its_cwd(
    tmp_path: Path, home: Path, mode: str
) -> None:
    need_sandbox()
    work = tmp_path / "work"
    work.mkdir()
    (work / "agent.py").write_text(AGENT)
    outside = tmp_path / "outside.txt"
    spec = f"cli:{sys.executable} {work / 'agent.py'} {outside} {home / 'planted'}"
    done = subprocess.run(
        [sys.executable, "-m", "loopwright", "chat", "--model", spec, "--cwd", str(work),
         "--sandbox", mode],
        input="try to get out\n/quit\n", capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "the agent ran" in done.stdout, done.stdout
    confined = mode == "all"  # what it wrote, if anything, went to the sandbox's own /tmp
    assert outside.exists() != confined and (home / "planted").exists() != confined
