"""The loop's ``Memory`` over the memory store: the few most relevant lessons for a goal,
from runs in the same repository (``repo``) or in any (``all``), fitted under a token cap."""

from __future__ import annotations

import sqlite3

from ..loop.recall import Lesson, Recalled, estimate_tokens
from .store import Hit, MemoryStore

__all__ = ["LESSONS", "LESSON_TOKENS", "StoreMemory", "fit"]

LESSONS = 3
"""Lessons a prompt gets at most."""
LESSON_TOKENS = 1200
"""The estimated tokens (``estimate_tokens``) all of a prompt's lessons take at most."""
SEARCHED = 10
"""Runs a recall looks at before it fits the best under the cap."""


class StoreMemory:
    """Recalls from ``store`` for a run in ``repo`` (``scope``: ``repo`` or ``all``),
    leaving out the run ``exclude`` itself."""

    def __init__(
        self,
        store: MemoryStore,
        repo: str,
        scope: str,
        exclude: str | None = None,
        cap: int = LESSON_TOKENS,
        count: int = LESSONS,
    ) -> None:
        self.store, self.repo, self.scope = store, repo, scope
        self.exclude, self.cap, self.count = exclude, cap, count

    def recall(self, goal: str, criteria: list[str]) -> Recalled:
        empty = Recalled(scope=self.scope, cap=self.cap)
        if self.scope == "repo" and not self.repo:
            return empty  # a fresh scratch repository has no past
        query = "\n".join([goal, *criteria])
        repo = self.repo if self.scope == "repo" else None
        try:
            hits = self.store.search(query, repo, SEARCHED + 1)
        except (sqlite3.Error, OSError) as exc:
            return Recalled(scope=self.scope, cap=self.cap, error=f"{type(exc).__name__}: {exc}")
        hits = [h for h in hits if h.run_id != self.exclude][:SEARCHED]
        lessons = fit(hits, self.cap, self.count)
        return Recalled(lessons, self.scope, self.cap, searched=len(hits))


def fit(hits: list[Hit], cap: int, count: int) -> tuple[Lesson, ...]:
    """The best ``count`` lessons whose estimated tokens sum to ``cap`` at most; the first
    is cut to the cap when it alone is longer (a lesson of a long run still teaches)."""
    out: list[Lesson] = []
    left = cap
    for hit in hits:
        if len(out) == count or left <= 0:
            break
        text = hit.lesson
        if estimate_tokens(text) > left:
            if out:
                continue  # a shorter, less relevant one may still fit
            text = text[: left * 4 - 1] + "…"
        left -= estimate_tokens(text)
        out.append(Lesson(hit.run_id, text, hit.score))
    return tuple(out)
