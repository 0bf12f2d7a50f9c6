"""``gc.keep_days``: finished runs older than that go as a new run starts (in its host)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from .test_cleanup import backdate, finished


def test_keep_days_removes_old_finished_runs_as_a_new_run_starts(
    store: RunStore, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = finished(store, tmp_path, {"worker": [{"text": "nothing"}]}, cwd=str(repo))
    recent = finished(store, tmp_path, {"worker": [{"text": "nothing"}]}, cwd=str(repo))
    backdate(store, old, days=3)
    config = tmp_path / "config.toml"
    config.write_text("[gc]\nkeep_days = 2\n")
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(config))
    new = runner.start(store, build_request("a new run"))
    assert runner.wait(store, new, 30)["state"] == "completed"
    deadline = time.monotonic() + 30  # the host collects on a thread of its own
    while store.paths(old).root.exists():
        assert time.monotonic() < deadline, "the old run was not collected"
        time.sleep(0.02)
    assert store.paths(recent).root.exists() and store.paths(new).root.exists()
