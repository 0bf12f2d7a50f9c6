"""``loopwright chat`` through a pseudo-terminal: messages, replies attributed to their
model, switching models, a consult, the history and the cost, Ctrl-C in the middle of a
reply, quitting and resuming; the session is a run that ``tail`` shows."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from loopwright.cli.chat.render import colour_of
from loopwright.runs.eventlog import read_events
from loopwright.runs.redact import MASK
from loopwright.runs.store import RunStore

from .chatterm import ChatTerm
from .heldollama import HeldOllama

RUN_ID = r"(\d{8}-\d{9}-[0-9a-f]{6})"


def scenario(tmp_path: Path, name: str, replies: dict[str, list[object]]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(replies))
    return f"scripted:{path}"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """The chat's environment: this test's state dir, no colour, no cursor-position
    queries (a pty answers none), a known terminal."""
    return {
        **os.environ,
        "LOOPWRIGHT_HOME": str(home),
        "NO_COLOR": "1",
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }


def test_a_message_gets_the_models_reply_attributed_and_the_session_is_a_run(
    tmp_path: Path, env: dict[str, str], store: RunStore
) -> None:
    usage = {"input_tokens": 12, "output_tokens": 4, "cost_usd": 0.0021}
    spec = scenario(tmp_path, "a", {"chat": [{"text": "Paris, of course.", "usage": usage}]})
    with ChatTerm("--model", spec, env=env) as term:
        run_id = term.expect(f"chat {RUN_ID} started").group(1)
        term.line("capital of France?")
        term.expect("Paris, of course.")
        term.expect(rf"── {spec} · host default · 12\+4 tok · \d+\.\d\ds · \$0\.0021")
        term.line("/quit")
        term.expect("chat completed")
        assert term.wait() == 0
    kinds = [e["type"] for e in read_events(store.paths(run_id).events, None, 100).events]
    assert kinds == ["run_started", "message", "exchange", "run_finished"]
    tail = subprocess.run([sys.executable, "-m", "loopwright", "tail", run_id], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert f"you → {spec}: capital of France?" in tail.stdout
    assert f"[reply] {spec} · 12+4 tok" in tail.stdout and "Paris, of course." in tail.stdout


def test_models_lists_backends_model_switches_consult_prints_both_answers_then_history_and_cost(
    tmp_path: Path, env: dict[str, str]
) -> None:
    a = scenario(tmp_path, "a", {"chat": ["A here"], "consult": ["A: use a set"]})
    b = scenario(tmp_path, "b", {"chat": ["B here"], "consult": ["B: use a dict"]})
    with ChatTerm("--model", a, env=env) as term:
        term.line("hi")
        term.expect("A here")
        term.line("/models")
        term.expect("yes  scripted ")
        term.expect(f"in this chat: {a}\n")
        term.line(f"/model {b}")
        term.expect(f"now talking to {b}")
        term.line("hi again")
        term.expect(f"{b} ▸")
        term.expect("B here")
        term.line(f"/consult {a},{b} how to dedupe?")
        term.expect(f"answer #1. {a} ▸")
        term.expect("A: use a set")
        term.expect(rf"── {a} · host default · 0\+0 tok")
        term.expect(f"answer #2. {b} ▸")
        term.expect("B: use a dict")
        term.expect("consult completed: 2 of 2")
        term.line("/history")
        term.expect(f"you:\n  hi\n{a}:\n  A here\nyou:\n  hi again\n{b}:\n  B here\n")
        term.expect(f"consult of {a}, {b}:\n  answer #1 by {a}:\n  A: use a set")
        term.line("/cost")
        term.expect(rf"{a}: 2 call\(s\) · 0\+0 tok · \$0\.0000")
        term.expect(r"this chat: 4 call\(s\)")
        term.expect("›")
        term.press("\x04")  # Ctrl-D ends the chat as /quit does
        term.expect("chat completed")
        assert term.wait() == 0


def test_ctrl_c_mid_reply_cancels_the_exchange_and_the_chat_goes_on(
    tmp_path: Path, env: dict[str, str], store: RunStore
) -> None:
    spec = scenario(tmp_path, "slow", {"chat": [{"text": "never shown", "delay": 600}, "quick"]})
    with ChatTerm("--model", spec, env=env) as term:
        run_id = term.expect(f"chat {RUN_ID} started").group(1)
        term.expect("›")
        term.press("half a thought")
        term.expect("half a thought")
        term.press("\x03")  # at the prompt: the line is dropped, the chat waits for the next
        term.expect(r"›(?!\s*half a thought)")  # the next prompt
        term.press("take your time\r")
        term.expect(f"{spec} ▸")  # the reply is under way: its SIGINT receiver listens
        term.press("\x03")
        term.expect("cancelled: the reply stopped; the chat goes on")
        term.line("and now?")
        term.expect("quick")
        term.line("/quit")
        assert term.wait() == 0
        assert "never shown" not in term.text
    events = read_events(store.paths(run_id).events, None, 100).events
    cancelled = [e["data"] for e in events if e["type"] == "cancelled"]
    assert cancelled == [{"by": "person", "step": "reply", "spec": spec}]
    said = [e["data"]["text"] for e in events if e["type"] == "message"]
    assert said == ["take your time", "and now?"]
    assert store.read_status(run_id)["state"] == "completed"


def test_a_quit_chat_resumes_with_its_history_and_model(
    tmp_path: Path, env: dict[str, str]
) -> None:
    first = scenario(tmp_path, "first", {"chat": ["noted: teapot"]})
    with ChatTerm("--model", first, env=env) as term:
        run_id = term.expect(f"chat {RUN_ID} started").group(1)
        term.line("remember the word teapot")
        term.expect("noted: teapot")
        term.line("/model scripted")  # replies with no script echo their prompt
        term.expect("now talking to scripted")
        term.line("/quit")
        assert term.wait() == 0
    with ChatTerm("--resume", run_id, env=env) as term:
        term.expect(f"chat {run_id} resumed: talking to scripted")
        term.line("which word?")
        # the echoed prompt is the conversation so far: the first session's turns
        term.expect(f"\\[you\\]\n+remember the word teapot\n+\\[{first}\\]\n+noted: teapot")
        term.expect("The person's message:\n+which word\\?")
        term.line("/quit")
        term.expect("chat completed: 2 message")
        assert term.wait() == 0


def test_each_model_has_its_own_colour_on_a_terminal_and_none_with_no_color(
    tmp_path: Path, env: dict[str, str]
) -> None:
    spec = scenario(tmp_path, "a", {"chat": ["in colour"]})
    coloured = {k: v for k, v in env.items() if k != "NO_COLOR"}
    with ChatTerm("--model", spec, env=coloured) as term:
        term.line("hi")
        term.expect("in colour")
        term.line("/quit")
        assert term.wait() == 0
        assert f"\x1b[{colour_of(spec)}min colour" in term.raw
    with ChatTerm("--model", spec, env=env) as term:
        term.line("hi")
        term.expect("in colour")
        term.line("/quit")
        assert term.wait() == 0
        assert f"\x1b[{colour_of(spec)}m" not in term.raw


def test_the_line_history_file_is_private_and_keeps_no_key(
    tmp_path: Path, env: dict[str, str], home: Path
) -> None:
    key = "sk-ant-api03-" + "k" * 24
    with ChatTerm("--model", "scripted", env=env) as term:
        term.line("/help")
        term.expect("/consult A,B,… QUESTION")
        term.line(f"is {key} a key?")
        term.expect("a key\\?")
        term.line("/quit")
        assert term.wait() == 0
    history = home / "chat_history"
    kept = history.read_text()
    assert (history.stat().st_mode & 0o777) == 0o600 and "/help" in kept
    assert f"is {MASK} a key?" in kept and key not in kept


def test_without_a_terminal_the_chat_reads_plain_lines_until_their_end(
    tmp_path: Path, env: dict[str, str]
) -> None:
    spec = scenario(tmp_path, "a", {"chat": ["piped reply"]})
    coloured = {k: v for k, v in env.items() if k != "NO_COLOR"}  # a pipe is no terminal
    done = subprocess.run([sys.executable, "-m", "loopwright", "chat", "--model", spec],
                          input="hello\n/cost\n", env=coloured, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "piped reply" in done.stdout and "this chat: 1 call(s)" in done.stdout
    assert "chat completed" in done.stdout and "\x1b[" not in done.stdout


def test_loopwright_cancel_ends_an_open_chat_cancelled_and_gives_the_terminal_back(
    tmp_path: Path, env: dict[str, str], store: RunStore
) -> None:
    with ChatTerm("--model", "scripted", env=env) as term:
        run_id = term.expect(f"chat {RUN_ID} started").group(1)
        term.expect("›")  # prompt_toolkit holds the terminal in raw mode now
        cancel = subprocess.run([sys.executable, "-m", "loopwright", "cancel", run_id], env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert cancel.returncode == 0, cancel.stderr
        assert term.wait() == 128 + signal.SIGTERM
        lflag = termios.tcgetattr(term.fd)[3]
        assert lflag & termios.ICANON and lflag & termios.ECHO  # cooked mode again
    assert store.read_status(run_id)["state"] == "cancelled"
    assert (store.read_result(run_id) or {})["state"] == "cancelled"


def test_tab_completes_a_slash_command_and_a_spec_of_this_chat(
    tmp_path: Path, env: dict[str, str]
) -> None:
    spec = scenario(tmp_path, "long-name", {"chat": ["ok"]})
    with ChatTerm("--model", spec, env=env) as term:
        term.expect("›")
        term.press("/hist\t")
        term.expect("/history")
        term.press("\r")
        term.expect("nothing said yet")
        term.expect("›")
        term.press(f"/model {spec[:-12]}\t")  # the chat's spec, from its first letters
        term.expect(f"/model {re.escape(spec)}")
        term.press("\r")
        term.expect(f"now talking to {re.escape(spec)}")
        term.line("/quit")
        assert term.wait() == 0


def test_a_streaming_models_reply_is_on_the_screen_while_it_is_still_being_generated(
    env: dict[str, str],
) -> None:
    server = HeldOllama()
    try:
        with ChatTerm("--model", "ollama:m", env={**env, "OLLAMA_HOST": server.where}) as term:
            term.line("tell me")
            term.expect("First words,")
            assert "the rest of it" not in term.text and "── ollama:m" not in term.text
            server.go.set()
            term.expect("then the rest of it.")
            term.expect(r"── ollama:m · host default · 400\+50 tok")
            term.line("/quit")
            assert term.wait() == 0
    finally:
        server.stop()


def test_a_message_past_the_chats_cost_limit_is_refused_and_the_chat_ends_stopped(
    tmp_path: Path, env: dict[str, str], store: RunStore
) -> None:
    priced = {"text": "that will be two cents", "usage": {"cost_usd": 0.02}}
    spec = scenario(tmp_path, "priced", {"chat": [priced]})
    with ChatTerm("--model", spec, "--max-cost-usd", "0.01", env=env) as term:
        run_id = term.expect(f"chat {RUN_ID} started").group(1)
        term.line("first")
        term.expect("two cents")
        term.line("second")
        term.expect(r"budget_exhausted: max_cost_usd=0.01 reached \(\$0.0200\)")
        term.line("/cost")
        term.expect(r"this chat: 1 call\(s\) · 0\+0 tok · \$0.0200")
        term.line("/quit")
        term.expect("chat stopped")
        assert term.wait() == 0
        assert term.text.count(f"{spec} ▸") == 1  # the refused message was never sent
    said = [e["data"]["text"] for e in read_events(store.paths(run_id).events, None, 100).events
            if e["type"] == "message"]  # fmt: skip
    assert said == ["first"] and store.read_status(run_id)["state"] == "stopped"
