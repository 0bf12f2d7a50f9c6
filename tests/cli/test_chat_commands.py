"""The chat's input line: messages, slash commands, their mistakes, and Tab completion."""

from __future__ import annotations

import pytest

from loopwright.cli.chat.commands import HELP, Command, complete, parse
from loopwright.errors import UserError


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("  hello there ", Command("say", text="hello there", line="hello there")),
        ("//etc/hosts is odd", Command("say", text="/etc/hosts is odd", line="//etc/hosts is odd")),
        ("/models", Command("models", line="/models")),
        ("/history", Command("history", line="/history")),
        ("/cost", Command("cost", line="/cost")),
        ("/quit", Command("quit", line="/quit")),
        ("/exit", Command("quit", line="/exit")),
        ("/model ollama:q@gpu1", Command("model", ("ollama:q@gpu1",), line="/model ollama:q@gpu1")),
        ("/consult a, b why?", Command("consult", ("a", "b"), "why?", line="/consult a, b why?")),
        (
            "/consult anthropic:x,ollama:y@h  is  it?",
            Command("consult", ("anthropic:x", "ollama:y@h"), "is  it?",
                    line="/consult anthropic:x,ollama:y@h  is  it?"),
        ),
        ("/debate a,b q", Command("debate", ("a", "b"), "q", line="/debate a,b q")),
        ("/delegate codex:gpt write it", Command("delegate", ("codex:gpt",), "write it",
                                                 line="/delegate codex:gpt write it")),
    ],
)  # fmt: skip
def test_a_line_is_a_message_or_a_slash_command(line: str, command: Command) -> None:
    assert parse(line) == command


def test_a_blank_line_is_nothing() -> None:
    assert parse("   ") is None


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("/modle x", "no command /modle; did you mean /model?"),
        ("/frobnicate", "no command /frobnicate; /help lists them"),
        ("/history 5", "/history takes nothing after it"),
        ("/model", "write it /model SPEC: one backend spec"),
        ("/model a b", "write it /model SPEC: one backend spec"),
        ("/consult a,b", "write it /consult A,B,… QUESTION"),
        ("/debate a why", "/debate needs two specs or more"),
        ("/delegate a,b task", "/delegate hands its task to one backend"),
        ("/delegate a", "write it /delegate SPEC TASK"),
    ],
)
def test_a_mistyped_command_is_refused_saying_how_it_is_written(line: str, said: str) -> None:
    with pytest.raises(UserError, match="^" + said.replace("?", r"\?")):
        parse(line)


def test_tab_completes_commands_at_the_start_of_a_line() -> None:
    assert complete("/de", []) == (-3, ["/delegate", "/debate"])
    assert complete("/", [])[1] == [f"/{n}" for n in HELP]
    assert complete("hello /de", []) == (0, [])


def test_tab_completes_specs_after_model_and_in_a_panel_but_not_in_the_question() -> None:
    specs = ["ollama:", "ollama:qwen3@gpu1", "anthropic:", "ollama:qwen3@gpu1"]
    assert complete("/model oll", specs) == (-3, ["ollama:", "ollama:qwen3@gpu1"])
    assert complete("/consult anthropic:x,ollama:q", specs) == (-8, ["ollama:qwen3@gpu1"])
    assert complete("/debate a,", specs) == (0, ["ollama:", "ollama:qwen3@gpu1", "anthropic:"])
    assert complete("/debate a, anth", specs) == (-4, ["anthropic:"])
    assert complete("/consult a,b what about ollama", specs) == (0, [])
    assert complete("/history ", specs) == (0, [])
