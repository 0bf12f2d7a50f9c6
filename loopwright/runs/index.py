"""An index of all runs in SQLite, so ``list`` and lookups stay fast and survive restarts.

The run directories are the truth; the index is rebuilt from them when it is missing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict, cast

from ..fsmodes import open_nofollow
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
        # 0600 before SQLite opens it (an empty file is an empty database): the -wal and
        # -shm files it makes take the database's mode.
        os.close(open_nofollow(self.path, os.O_RDWR | os.O_CREAT))
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
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

    def list(
        self,
        state: RunState | None = None,
        limit: int = 20,
        cwd: str | None = None,
        before: str | None = None,
    ) -> list[IndexRow]:
        """Newest first; ``before`` (a run id) pages on: the rows after the last one seen."""
        where, args = _filters(state, cwd)
        if before:
            where, args = [*where, "run_id < ?"], (*args, before)
        sql = f"SELECT {', '.join(COLUMNS)} FROM runs" + _where(where)
        rows = self._db().execute(sql + " ORDER BY run_id DESC LIMIT ?", (*args, limit))
        return [cast(IndexRow, dict(zip(COLUMNS, r, strict=True))) for r in rows]

    def count(self, state: RunState | None = None, cwd: str | None = None) -> int:
        where, args = _filters(state, cwd)
        sql = "SELECT COUNT(*) FROM runs" + _where(where)
        return int(self._db().execute(sql, args).fetchone()[0])

    def repos(self, limit: int = 200) -> tuple[str, ...]:
        """The working dirs runs were started in, most recently used first."""
        sql = "SELECT cwd FROM runs GROUP BY cwd ORDER BY MAX(run_id) DESC LIMIT ?"
        return tuple(str(r[0]) for r in self._db().execute(sql, (limit,)))

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def _filters(state: RunState | None, cwd: str | None) -> tuple[list[str], tuple[Any, ...]]:
    where: list[str] = []
    args: tuple[Any, ...] = ()
    if state:
        where, args = [*where, "state = ?"], (*args, state)
    if cwd:
        where, args = [*where, "cwd = ?"], (*args, cwd)
    return where, args


def _where(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""
