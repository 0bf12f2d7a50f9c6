"""The state dir is loopwright's alone: 0700 folders and 0600 files whatever the umask
(issue 11)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.runs import runner
from loopwright.runs.ids import new_run_id
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import write_scenario


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def modes_under(home: Path) -> dict[str, int]:
    """Permission bits of every folder and file loopwright made under ``home``; a git
    checkout (a worktree, a pool slot, a scratch repo) counts by its top folder only: what
    is inside is the user's code, written by git with the user's umask."""
    found = {".": stat.S_IMODE(os.lstat(home).st_mode)}
    for top, dirs, files in os.walk(home):
        for name in list(dirs):
            path = Path(top) / name
            found[str(path.relative_to(home))] = stat.S_IMODE(path.lstat().st_mode)
            if (path / ".git").exists():
                dirs.remove(name)
        for name in files:
            path = Path(top) / name
            found[str(path.relative_to(home))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_under_umask_000_every_folder_is_0700_and_every_file_0600(
    store: RunStore, repo: Path, tmp_path: Path, umask_000: None
) -> None:
    scratch_run = runner.start(store, build_request("write the file"))  # scratch repo, kept
    nothing = write_scenario(tmp_path / "s.json", {"worker": [{"text": "nothing to do"}]})
    pooled_run = runner.start(store, build_request("x", backend=nothing, cwd=str(repo)))
    for run_id in (scratch_run, pooled_run):
        assert runner.wait(store, run_id, timeout=60)["state"] == "completed"
    modes = modes_under(store.home)
    folders = {p for p in modes if (store.home / p).is_dir()}
    made = {"runs", f"runs/{scratch_run}", f"runs/{scratch_run}/workers", "scratch",
            f"scratch/{scratch_run}", "worktrees", f"worktrees/{scratch_run}", "pool",
            f"runs/{pooled_run}/host.log", f"runs/{scratch_run}/events.jsonl", "index.sqlite",
            "index.sqlite-wal", f"runs/{scratch_run}/result.json"}  # fmt: skip
    assert made <= set(modes)  # the walk saw what the runs made
    assert any(p.startswith("pool/") and "/slot-" in p for p in folders)
    loose = {p: oct(m) for p, m in modes.items() if m != (0o700 if p in folders else 0o600)}
    assert not loose


def test_an_existing_state_dir_left_open_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "old-home"
    (home / "runs").mkdir(parents=True)
    home.chmod(0o755)
    (home / "runs").chmod(0o777)
    store = RunStore(home)
    store.create(new_run_id(), build_request("x").model_dump())
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "runs").stat().st_mode) == 0o700
    store.index.close()


def test_the_profile_store_is_0600_in_0700_folders_under_umask_000(
    tmp_path: Path, umask_000: None
) -> None:
    from loopwright.hosts.profiles import ProfileStore

    state = tmp_path / "state"  # missing, like its parent: every level is ours
    store = ProfileStore(state / "loopwright" / "profiles.sqlite")
    store.add_outcomes([])  # opens (makes) the store
    store.close()
    modes = modes_under(state)
    assert {"loopwright", "loopwright/profiles.sqlite"} <= set(modes)
    folders = {p for p in modes if (state / p).is_dir()}
    assert {p: oct(m) for p, m in modes.items() if m != (0o700 if p in folders else 0o600)} == {}
