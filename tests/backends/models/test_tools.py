"""The worker tools: confined to the working dir, clear errors, capped output."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from loopwright.backends.models.chat import ToolCall
from loopwright.backends.models.toolloop import apply_blocks
from loopwright.backends.models.tools import Workspace


async def run(ws: Workspace, name: str, **args: Any) -> tuple[str, bool]:
    r = await ws.execute(ToolCall("t", name, args))
    return r.text, r.error


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "work"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("x = 1\ny = 1\n")
    (tmp_path / "secret.txt").write_text("outside")
    return Workspace(root)


@pytest.mark.parametrize("path", ["../secret.txt", "pkg/../../secret.txt", "/etc/passwd"])
async def test_paths_outside_the_working_dir_are_refused(ws: Workspace, path: str) -> None:
    for name, extra in (("read_file", {}), ("write_file", {"content": "x"})):
        text, err = await run(ws, name, path=path, **extra)
        assert err and "outside the working dir" in text
    assert (ws.root.parent / "secret.txt").read_text() == "outside"


async def test_a_symlink_pointing_out_is_refused(ws: Workspace) -> None:
    os.symlink(ws.root.parent / "secret.txt", ws.root / "link.txt")
    os.symlink(ws.root.parent, ws.root / "up")
    assert (await run(ws, "read_file", path="link.txt"))[1]
    text, err = await run(ws, "write_file", path="up/new.txt", content="x")
    assert err and "outside" in text and not (ws.root.parent / "new.txt").exists()


async def test_an_absolute_path_inside_the_working_dir_is_fine(ws: Workspace) -> None:
    text, err = await run(ws, "read_file", path=str(ws.root / "pkg" / "a.py"))
    assert not err and text == "x = 1\ny = 1\n"


async def test_edit_file_needs_the_search_text_exactly_once(ws: Workspace) -> None:
    text, err = await run(ws, "edit_file", path="pkg/a.py", search="z = 1", replace="")
    assert err and "search text not found" in text
    text, err = await run(ws, "edit_file", path="pkg/a.py", search=" = 1", replace=" = 2")
    assert err and "found 2 times" in text
    text, err = await run(ws, "edit_file", path="pkg/a.py", search="y = 1", replace="y = 2")
    assert not err and (ws.root / "pkg" / "a.py").read_text() == "x = 1\ny = 2\n"
    assert ws.changed == {"pkg/a.py"}


async def test_list_search_and_write(ws: Workspace) -> None:
    assert (await run(ws, "write_file", path="new/b.txt", content="hello y\n")) == (
        "wrote new/b.txt (8 characters)", False)  # fmt: skip
    assert (await run(ws, "list_files"))[0].splitlines() == ["new/b.txt", "pkg/a.py"]
    assert (await run(ws, "search", pattern=r"^y")) == ("pkg/a.py:2: y = 1", False)
    assert (await run(ws, "search", pattern="("))[1]


async def test_run_command_uses_argv_in_the_dir_without_secrets(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret")
    code = "import os, pathlib; print(pathlib.Path.cwd().name, os.environ.get('ANTHROPIC_API_KEY'))"
    text, err = await run(ws, "run_command", argv=["python", "-c", code])
    assert not err and text == "exit 0\nwork None\n"
    text, err = await run(ws, "run_command", argv=["python", "-c", "raise SystemExit(3)"])
    assert err and text.startswith("exit 3")
    text, err = await run(ws, "run_command", argv=["no-such-program-xyz"])
    assert err and "cannot start" in text
    text, err = await run(ws, "run_command", argv=["python", "-c", "import time; time.sleep(30)"],
                          timeout=0.2)  # fmt: skip
    assert err and text.startswith("timed out after 0.2s")


async def test_unknown_tools_and_bad_arguments_are_errors_for_the_model(ws: Workspace) -> None:
    assert (await run(ws, "format_disk"))[1]
    text, err = await run(ws, "read_file")
    assert err and "missing argument 'path'" in text


async def test_fenced_edit_blocks_apply_and_report_failures(ws: Workspace) -> None:
    reply = (
        "pkg/a.py\n<<<<<<< SEARCH\ny = 1\n=======\ny = 5\n>>>>>>> REPLACE\n\n"
        "new.py\n<<<<<<< SEARCH\n=======\nprint('new')\n>>>>>>> REPLACE\n\n"
        "pkg/a.py\n<<<<<<< SEARCH\nnot there\n=======\n\n>>>>>>> REPLACE\n"
        "../out.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n"
    )
    problems = await apply_blocks(ws, reply)
    assert (ws.root / "pkg" / "a.py").read_text() == "x = 1\ny = 5\n"
    assert (ws.root / "new.py").read_text() == "print('new')\n"
    assert len(problems) == 2 and "not found" in problems[0] and "outside" in problems[1]
