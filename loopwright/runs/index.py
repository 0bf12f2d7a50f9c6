"""An index of all runs in SQLite, so ``list`` and lookups stay fast and survive restarts.

The run directories are the truth; the index is rebuilt from them when it is missing.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict, cast

from ..loop.vocab import RunState
from .diskspace import writing
from .redact import Redactor

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, goal TEXT NOT NULL, cwd TEXT NOT NULL, backend TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_state ON runs (state, run_id);
"""


class IndexRow(TypedDict):
    """One run in the index: enough to list runs without opening their directories."""

    run_id: str
    state: RunState
    created_at: float
    updated_at: float
    goal: str
    """The first 200 characters."""
    cwd: str
    backend: str
    """The planner's spec."""


COLUMNS = tuple(IndexRow.__annotations__)
_TEXT = ("goal", "cwd", "backend")
"""The columns that hold text a caller gave (a goal may quote a key)."""


def _set_wal(db: sqlite3.Connection, tries: int = 100) -> None:
    """Switching to WAL takes an exclusive lock without waiting on the busy timeout: while
    another process sets up a new index it fails with "database is locked"; retry briefly."""
    for attempt in range(tries):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if attempt == tries - 1 or "locked" not in str(exc):
                raise
            time.sleep(0.02)


class RunIndex:
    """The index at ``path``; its text columns go through ``redact`` (default: a
    ``Redactor`` from the environment) before they are written."""

    def __init__(self, path: Path, redact: Callable[[str], str] | None = None) -> None:
        self.path = path
        self.redact = redact or Redactor.from_env()
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            with writing(self.path):  # even a reader needs room for the WAL's -shm file
                db = self._connect()
            self._local.db = db
        return db

    def _connect(self) -> sqlite3.Connection:
        fresh = not self.path.exists()
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        if fresh:
            self.path.chmod(0o600)
        _set_wal(db)
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        with writing(self.path):  # a full disk is DiskFull naming the index, not SQLITE_FULL
            self._db().execute(sql, args)

    def upsert(self, row: IndexRow) -> None:
        fields: dict[str, object] = dict(row)
        for c in _TEXT:
            fields[c] = self.redact(str(fields[c]))
        self._write(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?) ON CONFLICT(run_id) DO UPDATE SET "
            "state=excluded.state, updated_at=excluded.updated_at",
            tuple(fields[c] for c in COLUMNS),
        )

    def set_state(self, run_id: str, state: RunState, updated_at: float) -> None:
        self._write(
            "UPDATE runs SET state=?, updated_at=? WHERE run_id=?", (state, updated_at, run_id)
        )

    def delete(self, run_id: str) -> None:
        self._write("DELETE FROM runs WHERE run_id=?", (run_id,))

    def list(self, state: RunState | None = None, limit: int = 20) -> list[IndexRow]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM runs"
        args: tuple[Any, ...] = ()
        if state:
            sql += " WHERE state=?"
            args = (state,)
        rows = self._db().execute(sql + " ORDER BY run_id DESC LIMIT ?", (*args, limit))
        return [cast(IndexRow, dict(zip(COLUMNS, r, strict=True))) for r in rows]

    def count(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
