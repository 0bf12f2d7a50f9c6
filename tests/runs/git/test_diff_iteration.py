"""``diff --iteration N``: what one iteration changed, from its checkpoint commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.cli import commands
from loopwright.errors import UserError
from loopwright.runs import runner
from loopwright.runs.git.merge import diff
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ...helpers import write_scenario

TWO = {
    "worker": [
        {"text": "a", "edits": [{"path": "first.txt", "write": "1\n"}]},
        {"text": "b", "edits": [{"path": "second.txt", "write": "2\n"}]},
    ],
    "reviewer": [{"json": {"complete": False, "issues": ["more"]}}, {"auto": True}],
}


def two_iterations(store: RunStore, repo: Path, tmp_path: Path) -> str:
    spec = write_scenario(tmp_path / "s.json", TWO)
    run = runner.start_thread(store, build_request("two steps", backend=spec, cwd=str(repo)))
    assert run.wait(30)["state"] == "completed"
    return run.run_id


def test_one_iterations_change_is_shown_alone(
    store: RunStore, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = two_iterations(store, repo, tmp_path)
    assert [f["path"] for f in diff(store, run_id)["files"]] == ["first.txt", "second.txt"]
    one, two = diff(store, run_id, iteration=1), diff(store, run_id, iteration=2)
    assert one["files"] == [{"status": "A", "path": "first.txt"}] and one["iteration"] == 1
    assert two["files"] == [{"status": "A", "path": "second.txt"}] and "+2" in two["patch"]
    with pytest.raises(UserError, match=r"iteration 3 made no checkpoint .*checkpoints: 1, 2"):
        diff(store, run_id, iteration=3)
    commands._STORE = None
    try:
        assert commands.main(["diff", run_id, "--iteration", "2"]) == 0
        shown = capsys.readouterr().out
        assert f"loopwright/{run_id} iteration 2 (" in shown and "A second.txt" in shown
        assert "first.txt" not in shown
    finally:
        commands._STORE = None
