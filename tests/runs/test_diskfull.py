"""A full disk under the state dir: runs end ``failed`` saying so, nothing is torn or left.

Each test puts the state dir on a small tmpfs and fills it for real (see ``smalldisk``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopwright.cli import commands as cli
from loopwright.cli.commands import main as cli_main
from loopwright.errors import ProcessError
from loopwright.runs import runner
from loopwright.runs.diskspace import RESERVE_NAME
from loopwright.runs.eventlog import EventWriter
from loopwright.runs.redact import Redactor
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore, write_json_atomic

from ..helpers import write_scenario
from ..smalldisk import PAGE, fill, fill_argv, tmpfs

DISK_FULL = "no space left on device writing "


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk") as mnt:
        yield mnt


@pytest.fixture
def full_store(disk: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    """A store whose home is on the small disk (for run hosts too), index already made."""
    monkeypatch.setenv("LOOPWRIGHT_HOME", str(disk / "home"))
    store = RunStore(disk / "home")
    store.index.count()
    yield store
    store.index.close()


def run_dirs(store: RunStore) -> list[str]:
    return sorted(p.name for p in store.runs_dir.iterdir()) if store.runs_dir.exists() else []


def whole_lines(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n"), raw[-200:]
    return [json.loads(line) for line in raw.splitlines()]


def test_an_event_that_does_not_fit_on_the_disk_is_cut_back_to_the_last_whole_line(
    disk: Path,
) -> None:
    path = disk / "events.jsonl"
    writer = EventWriter(path, "r1")
    writer.append("first", 0, {})
    before = path.read_bytes()
    filler = fill(disk)  # the log's first page keeps its slack: the next event is torn there
    with pytest.raises(OSError) as caught:
        writer.append("big", 0, {"text": "x" * (3 * PAGE)})
    assert path.read_bytes() == before
    assert str(caught.value) == DISK_FULL + str(path)
    filler.unlink()
    writer.append("after", 0, {})
    writer.close()
    assert [(e["seq"], e["type"]) for e in whole_lines(path)] == [(0, "first"), (1, "after")]


def test_a_status_write_on_a_full_disk_keeps_the_old_file_and_leaves_no_temp_file(
    disk: Path,
) -> None:
    path = disk / "status.json"
    write_json_atomic(path, {"state": "running"}, Redactor([]))
    fill(disk)
    with pytest.raises(OSError) as caught:
        write_json_atomic(path, {"state": "failed", "pad": "x" * PAGE}, Redactor([]))
    assert json.loads(path.read_text()) == {"state": "running"}
    assert sorted(p.name for p in disk.iterdir() if not p.name.startswith(".filler")) == [
        "status.json"
    ]
    assert str(caught.value) == DISK_FULL + str(path)


def test_a_run_that_fills_the_disk_ends_failed_saying_the_disk_is_full(
    full_store: RunStore, disk: Path, tmp_path: Path
) -> None:
    worker = {"run": fill_argv(disk), "text": "y" * 3000}
    spec = write_scenario(tmp_path / "fill.json", {"worker": [worker]})
    request = build_request("fill the disk", backend=spec, budget={"max_iterations": 2})
    run_id = runner.start(full_store, request)
    status = runner.wait(full_store, run_id, timeout=60)
    assert status["state"] == "failed"
    assert status["error"].startswith(DISK_FULL), status["error"]
    p = full_store.paths(run_id)
    events = whole_lines(p.events)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events][-2:] == ["error", "run_finished"]
    assert events[-2]["data"]["kind"] == "disk_full"
    result = full_store.read_result(run_id)
    assert result is not None and result["state"] == "failed"
    assert not (p.root / RESERVE_NAME).exists()
    assert [f.name for f in p.root.iterdir() if f.name.endswith(".tmp")] == []


def test_starting_a_run_on_a_full_disk_fails_naming_the_disk_and_leaves_nothing_behind(
    full_store: RunStore, disk: Path, repo: Path
) -> None:
    fill(disk, leave=16 * PAGE)  # room for a run dir's files, none for its reserve
    with pytest.raises(OSError, match=DISK_FULL):
        runner.start(full_store, build_request("x", cwd=str(repo)))
    assert run_dirs(full_store) == []
    assert full_store.index.list() == []


def test_a_run_whose_host_cannot_be_launched_leaves_no_run_dir_or_index_row(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(ProcessError, match="cannot start '/nonexistent/python'"):
        runner.start(store, build_request("x"))
    assert run_dirs(store) == []
    assert list((store.home / "scratch").iterdir()) == []
    assert store.index.list() == []


def test_a_run_whose_host_died_is_marked_interrupted_even_on_a_full_disk(
    full_store: RunStore, disk: Path, repo: Path
) -> None:
    run_id = runner.create_run(full_store, build_request("x", cwd=str(repo)))
    status = full_store.read_status(run_id)
    status.update(pid=2**22 + 12345, pid_start=1)  # no such process
    full_store.set_state(run_id, status, "running")
    fill(disk)
    assert runner.refresh(full_store, run_id)["state"] == "interrupted"
    assert whole_lines(full_store.paths(run_id).events)[-1]["type"] == "interrupted"


def test_a_host_that_finds_the_disk_full_at_start_records_failed(
    full_store: RunStore, disk: Path, repo: Path
) -> None:
    run_id = runner.create_run(full_store, build_request("x", cwd=str(repo)))
    fill(disk)
    argv = [sys.executable, "-m", "loopwright.runs.host", str(full_store.paths(run_id).root)]
    host = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=os.environ)
    assert host.returncode == 1, host.stderr
    status = full_store.read_status(run_id)
    assert (status["state"], status["error"][: len(DISK_FULL)]) == ("failed", DISK_FULL)
    assert whole_lines(full_store.paths(run_id).events)[-1]["data"]["kind"] == "disk_full"


def test_the_cli_says_the_disk_is_full_and_exits_2(
    full_store: RunStore,
    disk: Path,
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_STORE", None)  # the CLI caches its store: not past this test
    fill(disk)
    assert cli_main(["run", "x", "--cwd", str(repo), "--detach"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("loopwright: error: " + DISK_FULL) and "Traceback" not in err
    assert run_dirs(full_store) == []
