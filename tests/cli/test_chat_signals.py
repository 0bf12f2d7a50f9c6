"""``loopwright chat`` through a pseudo-terminal, interrupted: Ctrl-C in the middle of a
``/consult`` or ``/debate`` cancels it and the chat goes on; closing the terminal (SIGHUP)
ends the session cleanly, so it resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.runs.eventlog import read_events
from loopwright.runs.store import RunStore

from .chatterm import ChatTerm
from .heldollama import HeldOllama

RUN_ID = r"(\d{8}-\d{9}-[0-9a-f]{6})"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """As test_chat_repl's: this test's state dir, no colour, no cursor-position queries."""
    return {**os.environ, "LOOPWRIGHT_HOME": str(home), "NO_COLOR": "1", "TERM": "xterm",
            "PROMPT_TOOLKIT_NO_CPR": "1"}  # fmt: skip


@pytest.fixture
def held() -> Iterator[HeldOllama]:
    server = HeldOllama()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("command", ["/consult ollama:m,ollama:n", "/debate ollama:m,ollama:n"])
def test_ctrl_c_mid_consult_or_debate_cancels_it_and_the_next_message_works(
    env: dict[str, str], store: RunStore, held: HeldOllama, command: str
) -> None:
    with ChatTerm("--model", "scripted", env={**env, "OLLAMA_HOST": held.where}) as term:
        run_id = term.expect(f"chat {RUN_ID} started").group(1)
        term.line(f"{command} which is better?")
        assert held.asked.wait(30)  # a backend is answering, and holds its answer
        term.press("\x03")
        step = command.split()[0][1:]
        term.expect(f"cancelled: the {step} stopped; the chat goes on")
        term.line("still there?")
        term.expect("The person's message:\n+still there\\?")  # scripted echoes its prompt
        term.line("/quit")
        term.expect("chat completed")
        assert term.wait() == 0
        assert "then the rest of it" not in term.text
    events = read_events(store.paths(run_id).events, None, 1000).events
    cancelled = [e["data"] for e in events if e["type"] == "cancelled"]
    assert cancelled == [{"by": "person", "step": step}]
    assert [e["data"]["text"] for e in events if e["type"] == "message"] == ["still there?"]
    assert store.read_status(run_id)["state"] == "completed"


def resumes(env: dict[str, str], run_id: str) -> None:
    """``chat --resume`` takes the session up again and quits it."""
    with ChatTerm("--resume", run_id, env=env) as term:
        term.expect(f"chat {run_id} resumed")
        term.line("/quit")
        term.expect("chat completed")
        assert term.wait() == 0


def hang_up(term: ChatTerm, how: str) -> int:
    """Close the chat's terminal, or send SIGHUP alone; its exit code (bounded)."""
    if how == "closed":
        return term.hang_up()
    os.kill(term.proc.pid, signal.SIGHUP)
    return term.wait()


def ended_by_the_closed_terminal(store: RunStore, run_id: str) -> None:
    status = store.read_status(run_id)
    assert status["state"] == "completed" and status["phase"] == "done"
    events = read_events(store.paths(run_id).events, None, 1000).events
    assert events[-1]["type"] == "run_finished"
    assert events[-1]["data"]["stop_reason"] == "the terminal was closed"


@pytest.mark.parametrize("how", ["closed", "sighup"])
def test_a_closed_terminal_ends_the_chat_at_its_prompt_completed_and_it_resumes(
    env: dict[str, str], store: RunStore, how: str
) -> None:
    with ChatTerm("--model", "scripted", env=env) as term:
        run_id = term.expect(f"chat {RUN_ID} started").group(1)
        term.line("hello")  # an exchange first: its end leaves the chat's SIGHUP handler
        term.expect("The person's message:\n+hello")
        term.expect("›")
        assert hang_up(term, how) == 128 + signal.SIGHUP
    ended_by_the_closed_terminal(store, run_id)
    resumes(env, run_id)


@pytest.mark.parametrize("how", ["closed", "sighup"])
@pytest.mark.parametrize("line", ["tell me", "/consult ollama:m,ollama:n which?"])
def test_a_closed_terminal_mid_exchange_cancels_it_then_ends_the_chat_and_it_resumes(
    env: dict[str, str], store: RunStore, held: HeldOllama, how: str, line: str
) -> None:
    with ChatTerm("--model", "ollama:m", env={**env, "OLLAMA_HOST": held.where}) as term:
        run_id = term.expect(f"chat {RUN_ID} started").group(1)
        term.line(line)
        assert held.asked.wait(30)  # the model is answering, and holds its answer
        assert hang_up(term, how) == 128 + signal.SIGHUP
    events = read_events(store.paths(run_id).events, None, 1000).events
    assert [e["type"] for e in events][-2:] == ["cancelled", "run_finished"]
    step = "reply" if line == "tell me" else "consult"
    assert events[-2]["data"]["step"] == step and events[-2]["data"]["by"] == "terminal closed"
    ended_by_the_closed_terminal(store, run_id)
    resumes(env, run_id)


def test_loopwright_cancel_mid_reply_cancels_the_reply_then_ends_the_chat_cancelled(
    env: dict[str, str], store: RunStore, held: HeldOllama
) -> None:
    with ChatTerm("--model", "ollama:m", env={**env, "OLLAMA_HOST": held.where}) as term:
        run_id = term.expect(f"chat {RUN_ID} started").group(1)
        term.line("tell me")
        assert held.asked.wait(30)
        cancel = subprocess.run([sys.executable, "-m", "loopwright", "cancel", run_id], env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert cancel.returncode == 0, cancel.stderr
        assert term.wait() == 128 + signal.SIGTERM
        term_text = term.text
    assert "cancelled: the reply stopped" in term_text
    assert store.read_status(run_id)["state"] == "cancelled"
    events = read_events(store.paths(run_id).events, None, 1000).events
    assert [e["type"] for e in events][-2:] == ["cancelled", "run_finished"]
    assert events[-2]["data"]["by"] == "loopwright cancel"
