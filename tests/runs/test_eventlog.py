from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopwright.errors import UserError
from loopwright.runs.eventlog import EventWriter, read_events, read_last
from loopwright.runs.redact import Redactor


def log_with(path: Path, n: int) -> EventWriter:
    w = EventWriter(path, "r1")
    for i in range(n):
        w.append("tick", 0, {"i": i})
    return w


def test_a_torn_last_line_is_ignored_and_not_consumed(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl"
    log_with(p, 3).close()
    with p.open("ab") as f:
        f.write(b'{"seq": 3, "type": "ti')  # a writer mid-append
    page = read_events(p)
    assert [e["seq"] for e in page.events] == [0, 1, 2]
    assert int(page.cursor) < p.stat().st_size
    with p.open("ab") as f:
        f.write(b'ck", "data": {}}\n')  # ... and it finishes the line
    assert [e["seq"] for e in read_events(p, page.cursor).events] == [3]


def test_a_writer_reopening_after_a_crash_ends_the_torn_line_and_goes_on(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl"
    log_with(p, 2).close()
    with p.open("ab") as f:
        f.write(b'{"seq": 2, "tor')
    w = EventWriter(p, "r1")
    w.append("after", 0, {})
    w.close()
    assert [(e["seq"], e["type"]) for e in read_events(p).events] == [
        (0, "tick"),
        (1, "tick"),
        (2, "after"),
    ]


def test_cursors_read_only_the_new_bytes(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl"
    w = log_with(p, 1000)
    cursor = read_events(p, None, limit=1000).cursor
    # Garble everything before the cursor: a reader that re-read the log would choke.
    size = int(cursor)
    with p.open("r+b") as f:
        f.write(b"\x00" * size)
    w.append("new", 1, {"x": 1})
    page = read_events(p, cursor)
    assert [e["type"] for e in page.events] == ["new"]
    assert int(page.cursor) == p.stat().st_size and not page.more


def test_pages_report_more_and_continue_exactly(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl"
    log_with(p, 250).close()
    first = read_events(p, None, limit=200)
    assert len(first.events) == 200 and first.more
    second = read_events(p, first.cursor, limit=200)
    assert [e["seq"] for e in second.events] == list(range(200, 250)) and not second.more


def test_read_last_returns_the_newest_events_and_a_cursor_at_the_end(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl"
    log_with(p, 5000).close()
    page = read_last(p, 3)
    assert [e["seq"] for e in page.events] == [4997, 4998, 4999]
    assert int(page.cursor) == p.stat().st_size


@pytest.mark.parametrize("cursor", ["../etc", "-1", "abc", "9" * 30])
def test_a_bad_cursor_is_refused(tmp_path: Path, cursor: str) -> None:
    p = tmp_path / "events.jsonl"
    log_with(p, 1).close()
    with pytest.raises(UserError, match="cursor"):
        read_events(p, cursor)


def test_a_cursor_past_the_end_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl"
    log_with(p, 1).close()
    with pytest.raises(UserError, match="past the end"):
        read_events(p, str(p.stat().st_size + 10))


def test_secrets_are_redacted_by_value_before_writing(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl"
    w = EventWriter(p, "r1", Redactor(["sk-verysecret-123", 'quo"te-secret']))
    w.append("x", 0, {"msg": "key is sk-verysecret-123", "q": 'a quo"te-secret b'})
    w.close()
    text = p.read_text()
    assert "sk-verysecret" not in text and "te-secret" not in text
    assert json.loads(text)["data"]["msg"] == "key is [redacted]"


def test_event_files_are_private(tmp_path: Path) -> None:
    p = tmp_path / "events.jsonl"
    log_with(p, 1).close()
    assert p.stat().st_mode & 0o777 == 0o600
