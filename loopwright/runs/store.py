"""The run directory: request, status, result, events and worker outputs of each run.

``<state>/runs/<run_id>/`` holds ``request.json``, ``status.json`` (replaced atomically),
``result.json`` (written once), ``events.jsonl`` and ``workers/*.out``; while the run is
live, ``.reserve`` keeps room for its final writes (see ``diskspace``). Files are 0600,
folders 0700, whatever the umask. A run dir or file that is a symbolic link is refused:
reading, writing or signalling through it would act on whatever it points at. Every write
goes through the redactor.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RunNotFound
from ..fsmodes import open_folder, open_nofollow, private_dir
from ..loop.vocab import RunState
from .diskspace import make_reserve, writing
from .ids import check_run_id
from .index import IndexRow, RunIndex
from .redact import Redactor
from .status import RunStatus

if TYPE_CHECKING:
    from ..loop.types import RunResult

ResultData = dict[str, Any]
"""``result.json`` as read back: a ``loop.types.RunResult`` dumped. Readers that only show it
(the CLI, the tools) take it as data; reading it costs no pydantic."""


def make_private_dir(path: Path) -> None:
    private_dir(path)


def write_json_atomic(path: Path, data: Any, redact: Redactor, durable: bool = False) -> None:
    """tmp + rename: readers see the old or the new file, never half of one.

    A failed write (``DiskFull`` on a full disk) leaves the old file and no tmp file."""
    tmp = f".{path.name}.{os.getpid()}.tmp"
    payload = redact(json.dumps(data, ensure_ascii=False, indent=1, default=str)).encode()
    folder = open_folder(path.parent)  # both names in it, the folder not a link
    try:
        with writing(path):
            fd = open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, dir_fd=folder)
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view) :]
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=folder)
        raise
    finally:
        os.close(folder)


def read_json(path: Path) -> Any:
    """The JSON in ``path``; a symbolic link (as the file or its folder) is an ``OSError``."""
    with os.fdopen(open_nofollow(path, os.O_RDONLY), "rb") as f:
        return json.loads(f.read())


class RunPaths:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.request = root / "request.json"
        self.status = root / "status.json"
        self.result = root / "result.json"
        self.events = root / "events.jsonl"
        self.workers = root / "workers"
        self.host_log = root / "host.log"
        self.lock = root / ".lock"


class RunStore:
    def __init__(self, home: Path, redactor: Redactor | None = None) -> None:
        self.home = home
        self.runs_dir = home / "runs"
        self.redact = redactor or Redactor.from_env()
        self._index: RunIndex | None = None

    @property
    def index(self) -> RunIndex:
        if self._index is None:
            fresh = not (self.home / "index.sqlite").exists()
            make_private_dir(self.home)
            self._index = RunIndex(self.home / "index.sqlite", self.redact)
            if fresh and self.runs_dir.is_dir():
                self.reindex()
        return self._index

    def paths(self, run_id: str) -> RunPaths:
        return RunPaths(self.runs_dir / check_run_id(run_id))

    def existing(self, run_id: str) -> RunPaths:
        """The paths of a run that exists. A run dir or status file that is a symbolic link
        is no run (``RunNotFound`` saying so): nothing is read, written or signalled."""
        p = self.paths(run_id)
        for path in (p.root, p.status):
            try:
                mode = os.lstat(path).st_mode
            except (FileNotFoundError, NotADirectoryError):
                break
            if stat.S_ISLNK(mode):
                raise RunNotFound(f"run {run_id}: {path} is a symbolic link; refused", "run_id")
        else:
            if stat.S_ISREG(mode):
                return p
        raise RunNotFound(f"no run {run_id!r} under {self.runs_dir}", "run_id")

    def create(self, run_id: str, request: dict[str, Any]) -> RunPaths:
        """A new ``queued`` run with its disk reserve. A create that fails (a full disk:
        ``DiskFull``) leaves neither a run dir nor an index row behind."""
        p = self.paths(run_id)
        make_private_dir(self.runs_dir)
        private_dir(p.root, exist_ok=False)
        try:
            self._fill(p, run_id, request)
        except BaseException:
            self.remove(run_id)
            raise
        return p

    def _fill(self, p: RunPaths, run_id: str, request: dict[str, Any]) -> None:
        make_private_dir(p.workers)
        make_reserve(p.root)
        write_json_atomic(p.request, request, self.redact, durable=True)
        now = time.time()
        row = _row(run_id, None, request, self.redact, now)
        status: RunStatus = {
            "run_id": run_id,
            "state": "queued",
            "phase": "queued",
            "iteration": 0,
            "pid": None,
            "pid_start": None,
            "started_at": now,
            "updated_at": now,
            "usage": {},
            "elapsed": 0.0,
            "goal": row["goal"],
        }
        write_json_atomic(p.status, status, self.redact, durable=True)
        self.index.upsert(row)

    def remove(self, run_id: str) -> None:
        """Delete a run that never started: its dir, then (with the room that freed) its
        index row. Best effort: it runs while a failure is on its way to the caller."""
        shutil.rmtree(self.paths(run_id).root, ignore_errors=True)
        with contextlib.suppress(OSError, sqlite3.Error):
            self.index.delete(run_id)

    def read_status(self, run_id: str) -> RunStatus:
        p = self.existing(run_id)
        status: RunStatus = read_json(p.status)
        return status

    def write_status(self, run_id: str, status: RunStatus, durable: bool = False) -> None:
        status["updated_at"] = time.time()
        write_json_atomic(self.paths(run_id).status, status, self.redact, durable)

    def set_state(self, run_id: str, status: RunStatus, state: RunState) -> None:
        """A state change: written at once, durably, and mirrored into the index."""
        status["state"] = state
        self.write_status(run_id, status, durable=True)
        self.index.set_state(run_id, state, status["updated_at"])

    def read_request(self, run_id: str) -> dict[str, Any]:
        data: dict[str, Any] = read_json(self.existing(run_id).request)
        return data

    def write_result(self, run_id: str, result: RunResult) -> None:
        data = result.model_dump()
        write_json_atomic(self.paths(run_id).result, data, self.redact, durable=True)

    def read_result(self, run_id: str) -> ResultData | None:
        p = self.existing(run_id)
        try:
            data: ResultData = read_json(p.result)
        except FileNotFoundError:
            return None
        return data

    def reindex(self) -> int:
        """Rebuild index rows from the run directories (after the index was lost)."""
        n = 0
        for d in sorted(self.runs_dir.iterdir()):
            try:
                st = read_json(d / "status.json")
                req = read_json(d / "request.json")
            except (OSError, ValueError):
                continue
            self.index.upsert(_row(d.name, st, req, self.redact))
            n += 1
        return n


def _row(
    run_id: str,
    status: RunStatus | None,
    request: dict[str, Any],
    redact: Redactor,
    now: float = 0.0,
) -> IndexRow:
    """The index row of a run: from its status (None: a new run, ``queued`` at ``now``).
    The goal is redacted before it is cut, so a key is not cut in half past the mask."""
    loop = request.get("loop", {})
    return {
        "run_id": run_id,
        "state": status.get("state", "interrupted") if status else "queued",
        "created_at": status.get("started_at", now) if status else now,
        "updated_at": status.get("updated_at", now) if status else now,
        "goal": redact(str(loop.get("goal", "")))[:200],
        "cwd": str(loop.get("cwd", "")),
        "backend": request.get("planner", ""),
    }
