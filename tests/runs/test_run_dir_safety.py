"""A run dir or file that is a symbolic link is refused, never followed (issue 11)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.cli import commands
from loopwright.errors import RunNotFound
from loopwright.process.runner import proc_start_time
from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore


def _victim() -> subprocess.Popen[bytes]:
    """An unrelated process, in a session of its own, that keeps any SIGTERM pending."""
    code = (
        "import signal, sys, time\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGHUP})\n"
        "sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


def _sigterm_pending(pid: int) -> bool:
    fields = dict(
        line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    bit = 1 << (signal.SIGTERM - 1)
    return any(int(fields[k], 16) & bit for k in ("SigPnd", "ShdPnd"))


def _contents(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (and every folder, as empty content)."""
    return {str(p): b"" if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


@pytest.fixture
def planted(store: RunStore, tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """A run dir that is a symbolic link to a real-looking run elsewhere, whose status says
    it runs in the victim's pid."""
    victim = _victim()
    elsewhere = RunStore(tmp_path / "elsewhere")
    run_id = runner.create_run(elsewhere, build_request("planted"))
    status = elsewhere.read_status(run_id)
    status.update({"pid": victim.pid, "pid_start": proc_start_time(victim.pid)})
    elsewhere.set_state(run_id, status, "running")
    elsewhere.index.close()
    target = elsewhere.paths(run_id).root
    store.runs_dir.mkdir(parents=True)
    (store.runs_dir / run_id).symlink_to(target)
    try:
        yield run_id, target, victim
    finally:
        victim.kill()
        victim.wait(10)
        assert victim.stdout is not None
        victim.stdout.close()


@pytest.mark.parametrize("command", ["status", "cancel", "tail", "result"])
def test_a_symlinked_run_dir_is_refused_naming_the_run_and_nothing_is_signalled_or_written(
    planted: tuple[str, Path, subprocess.Popen[bytes]],
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_id, target, victim = planted
    before = _contents(target)
    monkeypatch.setattr(commands, "_STORE", None)
    assert commands.main([command, run_id]) == 2
    err = capsys.readouterr().err
    assert run_id in err and "symbolic link" in err
    assert victim.poll() is None and not _sigterm_pending(victim.pid)
    assert _contents(target) == before


def test_writes_through_a_symlinked_run_dir_or_file_are_refused(
    store: RunStore, planted: tuple[str, Path, subprocess.Popen[bytes]]
) -> None:
    run_id, target, _ = planted
    before = _contents(target)
    status = store.paths(run_id).status
    with pytest.raises(RunNotFound, match="symbolic link"):
        store.read_status(run_id)
    with pytest.raises(OSError):
        store.write_status(run_id, {"state": "failed"})  # type: ignore[typeddict-item]
    assert _contents(target) == before
    real = runner.create_run(store, build_request("real"))
    store.paths(real).status.unlink()
    store.paths(real).status.symlink_to(status)
    with pytest.raises(RunNotFound, match="symbolic link"):
        store.read_status(real)
