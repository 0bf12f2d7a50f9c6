"""What a recall hands the loop: the best lessons under the token cap, never the run itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.loop.recall import estimate_tokens
from loopwright.memory.recall import StoreMemory, fit
from loopwright.memory.store import Hit, MemoryStore
from loopwright.runs.redact import Redactor

from .test_store import memory


@pytest.fixture
def db(tmp_path: Path) -> MemoryStore:
    return MemoryStore(tmp_path / "memory.sqlite", Redactor([]))


def hit(run_id: str, chars: int) -> Hit:
    return Hit(run_id, "/r", 0.0, "completed", "g", "x" * chars, -1.0)


def test_recalled_lessons_fit_the_token_cap_and_the_first_is_cut_to_it() -> None:
    lessons = fit([hit("a", 10_000), hit("b", 400)], cap=300, count=3)
    assert [x.run_id for x in lessons] == ["a"]
    assert estimate_tokens(lessons[0].text) == 300
    lessons = fit([hit("a", 800), hit("b", 2000), hit("c", 400), hit("d", 40)], 350, 3)
    assert [x.run_id for x in lessons] == ["a", "c", "d"]  # b did not fit; the next did
    assert sum(estimate_tokens(x.text) for x in lessons) <= 350
    assert len(fit([hit(str(n), 4) for n in range(9)], 1000, 3)) == 3


def test_a_recall_leaves_out_the_run_itself_and_a_scratch_repo_recalls_nothing(
    db: MemoryStore,
) -> None:
    db.put(memory("self", "date parser"))
    db.put(memory("other", "date parser"))
    got = StoreMemory(db, "/r", "repo", exclude="self").recall("date parser", [])
    assert [x.run_id for x in got.lessons] == ["other"] and got.searched == 1
    assert StoreMemory(db, "", "repo").recall("date parser", []).lessons == ()
    assert len(StoreMemory(db, "", "all").recall("date parser", []).lessons) == 2
