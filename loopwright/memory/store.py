"""The memory store: one SQLite file (``<state>/memory.sqlite``, 0600 in a 0700 folder)
with a row per finished run and an FTS5 index over its goal and lesson.

``runs`` writes a run's memory when it ends (``put``, which replaces an earlier memory of
the same run: a resumed run ends again); the loop reads lessons through ``memory.recall``;
the CLI searches, shows and forgets. Every text goes through the redactor the store is
given before it is written, like every other write of loopwright. WAL and a busy timeout
let several run hosts write at once; each method may be called from any thread.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import state_dir
from ..fsmodes import PrivateSqlite
from .lesson import lesson_text, match_query, search_text
from .record import RunMemory

__all__ = ["FILE_NAME", "Hit", "MemoryStore", "default_path"]

FILE_NAME = "memory.sqlite"
GOAL_WEIGHT = 4.0
"""How much more a word in a past goal counts than one in the rest of its lesson."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, repo TEXT NOT NULL, ended REAL NOT NULL, state TEXT NOT NULL,
    goal TEXT NOT NULL, lesson TEXT NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_repo ON runs (repo, ended);
CREATE VIRTUAL TABLE IF NOT EXISTS lessons USING fts5(
    scope, goal, body, tokenize='porter unicode61'
);
"""
# ``scope`` holds one word per repository (``scope_word``): a search in one repository
# matches it AND the query's words, so only that repository's runs are ranked.
_HIT = "r.run_id, r.repo, r.ended, r.state, r.goal, r.lesson"


def default_path() -> Path:
    return state_dir() / FILE_NAME


def scope_word(repo: str) -> str:
    """The one word that stands for ``repo`` in the index (no path word can equal it)."""
    return "repo" + hashlib.sha256(repo.encode("utf-8", "surrogatepass")).hexdigest()[:24]


@dataclass(frozen=True)
class Hit:
    """One remembered run as a search finds it."""

    run_id: str
    repo: str
    ended: float
    state: str
    goal: str
    lesson: str
    score: float = 0.0
    """FTS5's bm25 (lower is more relevant); 0 when not from a search."""


class MemoryStore:
    """The store at ``path``; ``redact`` is applied to every text before it is written."""

    def __init__(self, path: Path | None, redact: Callable[[str], str]) -> None:
        self.path = path or default_path()
        self.redact = redact
        self._sql = PrivateSqlite(self.path, SCHEMA, timeout=10.0)

    def exists(self) -> bool:
        """False until a first memory was written: readers then create nothing."""
        return self.path.exists()

    def put(self, memory: RunMemory) -> None:
        """Remember ``memory`` (redacted), replacing an earlier memory of the same run."""
        r = self.redact
        goal, lesson, body = r(memory.goal), r(lesson_text(memory)), r(search_text(memory))
        row = (memory.run_id, memory.repo, memory.ended, memory.state, goal, lesson)
        with self._sql.transaction() as db:
            _delete(db, "run_id = ?", (memory.run_id,))
            cur = db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)", (*row, r(memory.to_json()))
            )
            db.execute(
                "INSERT INTO lessons (rowid, scope, goal, body) VALUES (?, ?, ?, ?)",
                (cur.lastrowid, scope_word(memory.repo), goal, body),
            )

    def search(self, query: str, repo: str | None = None, limit: int = 5) -> list[Hit]:
        """The runs whose goal and lesson share most words with ``query``, most relevant
        first; only those of ``repo`` when given."""
        match = match_query(query)
        if match is None or not self.exists():
            return []
        if repo is not None:
            match = f"scope : {scope_word(repo)} AND ({match})"
        # ranked in the index alone, then joined: bm25 is computed once per matching row
        sql = (
            f"SELECT {_HIT}, s.score FROM (SELECT rowid AS id, bm25(lessons, 0.0, "
            f"{GOAL_WEIGHT}, 1.0) AS score FROM lessons WHERE lessons MATCH ? "
            "ORDER BY score LIMIT ?) s JOIN runs r ON r.rowid = s.id ORDER BY s.score, r.ended DESC"
        )
        with self._sql.transaction() as db:
            return [Hit(*row) for row in db.execute(sql, (match, limit))]

    def get(self, run_id: str) -> tuple[Hit, RunMemory] | None:
        """The memory of ``run_id``: its row and its whole record; None if none is kept."""
        if not self.exists():
            return None
        sql = f"SELECT {_HIT}, 0.0, r.record FROM runs r WHERE r.run_id = ?"
        with self._sql.transaction() as db:
            row = db.execute(sql, (run_id,)).fetchone()
        if row is None:
            return None
        return Hit(*row[:-1]), RunMemory.from_json(row[-1])

    def forget(self, run_id: str | None = None, repo: str | None = None) -> int:
        """Forget the run ``run_id``, or every run of ``repo``; returns how many went."""
        if (run_id is None) == (repo is None):
            raise ValueError("forget one run or one repository")
        if not self.exists():
            return 0
        with self._sql.transaction() as db:
            if run_id is not None:
                return _delete(db, "run_id = ?", (run_id,))
            return _delete(db, "repo = ?", (str(repo),))

    def count(self) -> int:
        if not self.exists():
            return 0
        with self._sql.transaction() as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def close(self) -> None:
        self._sql.close()


def _delete(db: sqlite3.Connection, where: str, args: tuple[str, ...]) -> int:
    rows = [r[0] for r in db.execute(f"SELECT rowid FROM runs WHERE {where}", args)]
    for rowid in rows:
        db.execute("DELETE FROM lessons WHERE rowid = ?", (rowid,))
        db.execute("DELETE FROM runs WHERE rowid = ?", (rowid,))
    return len(rows)
