"""Each vocabulary is a Literal spelled once (``loop/vocab.py``); everything else derives."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import get_args

import pytest

import loopwright
from loopwright.cli.parser import build_parser
from loopwright.errors import UserError
from loopwright.loop import vocab
from loopwright.runs.request import build_request

PACKAGE = Path(loopwright.__file__).parent
SPELLED = {
    "run states": vocab.RunState,
    "live states": vocab.LiveState,
    "terminal states": vocab.TerminalState,
    "quorum": vocab.Quorum,
    "question policy": vocab.QuestionPolicy,
    "cleanup policy": vocab.CleanupPolicy,
}


def spelled_out(words: tuple[str, ...]) -> re.Pattern[str]:
    """Three words of a vocabulary in a row, as a list, tuple, set or Literal spells them."""
    quoted = [rf"['\"]{w}['\"]" for w in words[:3]]
    return re.compile(r",\s*".join(quoted))


@pytest.mark.parametrize("name", SPELLED)
def test_a_vocabulary_is_spelled_out_only_in_vocab_py(name: str) -> None:
    words = get_args(SPELLED[name])
    pattern = spelled_out(words)
    found = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "vocab.py" and pattern.search(path.read_text())
    ]
    assert not found, f"the {name} are spelled out again in {found}: import them from vocab"


def test_the_state_sets_derive_from_the_one_run_state_type() -> None:
    assert get_args(vocab.RunState) == vocab.ALL_STATES
    assert vocab.ALL_STATES[:3] == vocab.LIVE_STATES
    assert not set(vocab.LIVE_STATES) & vocab.TERMINAL_STATES
    assert set(vocab.ALL_STATES) - set(vocab.LIVE_STATES) - vocab.TERMINAL_STATES == {
        "needs_input",
        "interrupted",
    }


@pytest.mark.parametrize(
    ("option", "vocabulary"),
    [
        (["run", "--quorum"], vocab.Quorum),
        (["run", "--cleanup"], vocab.CleanupPolicy),
        (["run", "--questions"], vocab.QuestionPolicy),
        (["list", "--state"], vocab.RunState),
    ],
)
def test_the_cli_takes_every_word_of_a_vocabulary_and_nothing_else(
    option: list[str], vocabulary: object, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = {name: print for name in ("run", "list")}
    parser = build_parser(defaultdict(lambda: print, commands), "0")
    for word in get_args(vocabulary):
        parser.parse_args([*option, word])
    with pytest.raises(SystemExit):
        parser.parse_args([*option, "nope"])
    assert "{" + ",".join(get_args(vocabulary)) + "}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("field", "allowed"),
    [
        ("questions", "auto, ask, console"),
        ("review_quorum", "all, majority, any"),
        ("cleanup", "auto, always, never"),
    ],
)
def test_a_request_outside_a_vocabulary_is_refused_naming_the_field_and_the_words(
    field: str, allowed: str
) -> None:
    with pytest.raises(UserError, match=f"{field} 'nope': allowed are {allowed}") as caught:
        build_request("g", **{field: "nope"})
    assert caught.value.field == field
