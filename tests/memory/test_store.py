"""The memory store: FTS5 search by repository, replace, forget, private, redacted files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from loopwright.memory.record import RunMemory, VerifyFix
from loopwright.memory.store import MemoryStore
from loopwright.runs.redact import Redactor


def memory(run_id: str, goal: str, repo: str = "/r", **kw: object) -> RunMemory:
    return RunMemory(run_id=run_id, repo=repo, ended=1.7e9, state="completed", goal=goal, **kw)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> MemoryStore:
    return MemoryStore(tmp_path / "state" / "memory.sqlite", Redactor(["s3cr3t-v4lue"]))


def test_search_finds_the_run_whose_goal_shares_the_most_words_first(db: MemoryStore) -> None:
    db.put(memory("a", "add a CSV exporter to the report module"))
    db.put(memory("b", "fix the flaky date parser test"))
    db.put(memory("c", "speed up the date parser for ISO dates"))
    hits = db.search("make the date parser accept ISO week dates")
    assert [h.run_id for h in hits] == ["c", "b"]
    assert hits[0].score < hits[1].score  # bm25: lower is closer


def test_a_word_in_the_lesson_is_found_and_stemmed(db: MemoryStore) -> None:
    fix = VerifyFix("pytest -q", 1, "FAILED tests/test_parser.py::test_weeks", 2, ["x"], [])
    db.put(memory("a", "tidy up", verify=[fix]))
    assert [h.run_id for h in db.search("test_weeks")] == ["a"]  # from the verify output
    assert [h.run_id for h in db.search("parsers")] == ["a"]  # porter: parsers ~ parser
    assert [h.run_id for h in db.search("tidying")] == ["a"]  # porter: tidying ~ tidy


def test_search_keeps_to_the_repository_asked_for(db: MemoryStore) -> None:
    db.put(memory("a", "date parser", repo="/one"))
    db.put(memory("b", "date parser", repo="/two"))
    assert [h.run_id for h in db.search("date", repo="/two")] == ["b"]
    assert {h.run_id for h in db.search("date")} == {"a", "b"}


@pytest.mark.parametrize("query", ['"', "NEAR(a b", "a AND OR NOT", "*", "goal:x", "-", "é"])
def test_a_query_of_fts_operators_or_quotes_is_words_never_an_error(
    db: MemoryStore, query: str
) -> None:
    db.put(memory("a", "date parser"))
    assert db.search(query) == []


def test_putting_a_run_again_replaces_its_memory(db: MemoryStore) -> None:
    db.put(memory("a", "first goal words"))
    db.put(memory("a", "second goal words"))
    assert db.count() == 1
    assert db.search("first") == [] and [h.run_id for h in db.search("second")] == ["a"]


def test_forget_one_run_or_every_run_of_a_repository(db: MemoryStore) -> None:
    for n, repo in enumerate(["/one", "/one", "/two"]):
        db.put(memory(f"r{n}", "date parser", repo=repo))
    assert db.forget("r0") == 1 and db.forget("r0") == 0
    assert db.forget(repo="/one") == 1
    assert [h.run_id for h in db.search("date")] == ["r2"]
    assert db.search("parser", repo="/one") == []  # gone from the index too
    with pytest.raises(ValueError):
        db.forget()


def test_readers_create_nothing_before_the_first_memory(db: MemoryStore) -> None:
    assert db.search("date") == [] and db.get("a") is None and db.forget("a") == 0
    assert db.count() == 0 and not db.path.exists()


def test_the_file_is_0600_in_a_0700_folder_whatever_the_umask(db: MemoryStore) -> None:
    old = os.umask(0)
    try:
        db.put(memory("a", "date parser"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(db.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.path.parent).st_mode) == 0o700
    for extra in db.path.parent.glob("memory.sqlite-*"):
        assert stat.S_IMODE(os.stat(extra).st_mode) == 0o600, extra


def test_every_text_is_redacted_before_it_is_written(db: MemoryStore) -> None:
    db.put(memory("a", "use key s3cr3t-v4lue", issues=["token sk-ant-abcdefghijklmnop leaked"]))
    db.close()
    raw = b"".join(p.read_bytes() for p in db.path.parent.glob("memory.sqlite*"))
    assert b"s3cr3t-v4lue" not in raw and b"sk-ant-abcdefghijklmnop" not in raw
    found = db.get("a")
    assert found is not None
    hit, record = found
    assert "[redacted]" in hit.goal and "[redacted]" in record.goal and "[redacted]" in hit.lesson
