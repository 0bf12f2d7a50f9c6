"""Reading debaters' revisions and picks, and the disagreement measure."""

from __future__ import annotations

import pytest

from loopwright.loop.patterns.agreement import disagreement, distance, medoid
from loopwright.loop.patterns.replies import parse_pick, parse_revision


@pytest.mark.parametrize(
    ("reply", "changed", "answer"),
    [
        ('{"critique": "ok", "changed": false, "answer": "other"}', False, "old"),
        ('{"critique": "ok", "changed": true, "answer": "new"}', True, "new"),
        ('{"critique": "ok", "changed": true, "answer": "old"}', False, "old"),
        ("NO CHANGE.", False, "old"),
        ("no change", False, "old"),
        ("A whole new answer, not JSON", True, "A whole new answer, not JSON"),
        ("  old  ", False, "old"),
        ("", False, "old"),
    ],
)
def test_a_revision_is_unchanged_only_when_it_says_so_or_repeats_its_draft(
    reply: str, changed: bool, answer: str
) -> None:
    revision = parse_revision(reply, "old")
    assert (revision.changed, revision.answer) == (changed, answer)


def test_a_pick_must_name_one_of_the_drafts() -> None:
    assert parse_pick('{"pick": 2, "reason": "best"}', [1, 2]) == (2, "best")
    assert parse_pick('Sure: {"pick": "1"}', [1, 2]) == (1, "")
    for bad in ('{"pick": 3}', '{"pick": true}', "draft two", '{"reason": "x"}'):
        with pytest.raises(ValueError):
            parse_pick(bad, [1, 2])


def test_word_set_distance_ignores_case_and_punctuation_and_counts_shared_words() -> None:
    assert distance("Use Redis!", "use redis") == 0.0
    assert distance("a b c d", "a b") == 0.5
    assert distance("", "") == 0.0
    assert distance("x", "") == 1.0
    measured = disagreement([(1, "a b"), (2, "a b"), (3, "c")])
    assert (measured.mean, measured.max) == (round(2 / 3, 4), 1.0)
    assert [(p.a, p.b) for p in measured.pairs] == [(1, 2), (1, 3), (2, 3)]
    assert medoid([(1, "a b c"), (2, "a b"), (3, "a z")]) == 2
    assert medoid([(1, "a b c"), (2, "a b"), (3, "a z")], among=[1, 3]) == 1
