"""Each vocabulary is a Literal spelled once (``loop/vocab.py``); everything else derives."""

from __future__ import annotations

import ast
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
    "sandbox mode": vocab.SandboxMode,
    "memory mode": vocab.MemoryMode,
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
        (["run", "--sandbox"], vocab.SandboxMode),
        (["run", "--memory"], vocab.MemoryMode),
        (["demo", "--sandbox"], vocab.SandboxMode),
        (["list", "--state"], vocab.RunState),
    ],
)
def test_the_cli_takes_every_word_of_a_vocabulary_and_nothing_else(
    option: list[str], vocabulary: object, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = {name: print for name in ("run", "list", "demo")}
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
        ("sandbox", "off, verify, all"),
        ("memory", "off, repo, all"),
    ],
)
def test_a_request_outside_a_vocabulary_is_refused_naming_the_field_and_the_words(
    field: str, allowed: str
) -> None:
    with pytest.raises(UserError, match=f"{field} 'nope': allowed are {allowed}") as caught:
        build_request("g", **{field: "nope"})
    assert caught.value.field == field


def emitted_event_types() -> dict[str, str]:
    """Every event type named in the package where an event is emitted: ``emit(type, ...)``,
    ``_emit(type, ...)``, ``writer.append(type, ...)`` and the runner's ``_append``."""
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            receiver = getattr(getattr(func, "value", None), "id", "")
            if name in ("emit", "_emit") or (name == "append" and receiver == "writer"):
                arg = node.args[0] if node.args else None
            elif name == "_append" and len(node.args) > 2:
                arg = node.args[2]
            else:
                continue
            for const in ast.walk(arg) if arg is not None else ():
                if isinstance(const, ast.Constant) and isinstance(const.value, str):
                    found[const.value] = f"{path.relative_to(PACKAGE)}:{node.lineno}"
    return found


def test_every_event_the_package_emits_is_in_the_vocabulary() -> None:
    found = emitted_event_types()
    unknown = {t: where for t, where in found.items() if t not in get_args(vocab.EventType)}
    assert not unknown, f"event types missing from vocab.EventType: {unknown}"
    assert {"worker_output", "model_call", "model_pull", "run_started"} <= set(found)


def test_every_event_type_is_emitted_somewhere() -> None:
    unused = set(get_args(vocab.EventType)) - set(emitted_event_types())
    assert not unused, f"event types nothing emits: {sorted(unused)}"


def test_the_readme_event_table_names_exactly_the_event_types() -> None:
    readme = (PACKAGE.parent / "README.md").read_text()
    table = readme.split("| type | data |", 1)[1].split("\n\n", 1)[0]
    named = set(
        re.findall(r"`([a-z_]+)`", "\n".join(r.split("|")[1] for r in table.splitlines()[2:]))
    )
    assert named == set(get_args(vocab.EventType))
