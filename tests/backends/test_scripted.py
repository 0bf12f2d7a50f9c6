"""The scripted backend keeps to what a call may do: a read-only call edits nothing."""

from __future__ import annotations

from pathlib import Path

from loopwright.backends.base import AgentRequest
from loopwright.backends.scripted import ScriptedBackend


def request(cwd: Path, may_edit: bool) -> AgentRequest:
    return AgentRequest("work", "", "Add a flag", str(cwd), 30.0, may_edit=may_edit)


async def test_a_read_only_work_call_gets_an_answer_and_no_file_is_written(tmp_path: Path) -> None:
    got = await ScriptedBackend().run(request(tmp_path, may_edit=False))
    assert got.ok and list(tmp_path.iterdir()) == []


async def test_a_scripted_edit_on_a_read_only_call_is_refused_and_not_applied(
    tmp_path: Path,
) -> None:
    edits = [{"path": "a.txt", "write": "x"}]
    backend = ScriptedBackend({"worker": [{"text": "done", "edits": edits}]})
    got = await backend.run(request(tmp_path, may_edit=False))
    assert not got.ok and "may not edit" in (got.error or "")
    assert not (tmp_path / "a.txt").exists()


async def test_a_work_call_that_may_edit_writes_its_file(tmp_path: Path) -> None:
    got = await ScriptedBackend().run(request(tmp_path, may_edit=True))
    assert got.ok and (tmp_path / "loopwright-scripted.md").is_file()
