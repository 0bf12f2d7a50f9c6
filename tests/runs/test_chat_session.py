"""A chat session is a run: every message, reply and pattern exchange an event; its
history is what the model is sent; it ends with a result and is taken up again from its
events; its budget counts across the session."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from loopwright.backends.base import AgentRequest, AgentResponse, Usage
from loopwright.backends.registry import _FUNCTIONS, register_function
from loopwright.backends.scripted import FunctionBackend
from loopwright.errors import BudgetExceeded, InvalidState
from loopwright.loop.vocab import Event
from loopwright.runs import runner
from loopwright.runs.chat import ChatSession, build_chat_request
from loopwright.runs.eventlog import read_events
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore


class Recorder:
    """A backend that answers ``reply N`` and keeps every request it was sent."""

    def __init__(self) -> None:
        self.requests: list[AgentRequest] = []

    def __call__(self, request: AgentRequest) -> AgentResponse:
        self.requests.append(request)
        usage = Usage(input_tokens=10, output_tokens=5, cost_usd=0.01)
        return AgentResponse(text=f"reply {len(self.requests)}", usage=usage)


@pytest.fixture
def model() -> Iterator[Recorder]:
    rec = Recorder()
    register_function("chatty", FunctionBackend(rec, spec="function:chatty"))
    yield rec
    _FUNCTIONS.pop("chatty", None)


def events(store: RunStore, run_id: str) -> list[Event]:
    return read_events(store.paths(run_id).events, None, 10_000).events


def opened(store: RunStore, tmp_path: Path, **budget: Any) -> ChatSession:
    return ChatSession.open(store, build_chat_request("function:chatty", str(tmp_path), budget))


def test_each_reply_is_sent_the_conversation_so_far_fenced_with_who_said_each_turn(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    chat = opened(store, tmp_path)
    anyio.run(chat.say, "what is a monad?")
    anyio.run(chat.say, "and in Python?")
    chat.close()
    first, second = (r.prompt for r in model.requests)
    assert "what is a monad?" in first and "[you]" not in first
    assert "[you]\nwhat is a monad?\n\n[function:chatty]\nreply 1" in second
    assert second.index("<<<UNTRUSTED-") < second.index("[you]") < second.index("and in Python?")
    assert [r.purpose for r in model.requests] == ["chat", "chat"]


def test_every_message_and_reply_is_an_attributed_event_and_the_run_ends_completed(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    chat = opened(store, tmp_path)
    anyio.run(chat.say, "hello")
    result = chat.close()
    kinds = [e["type"] for e in events(store, chat.run_id)]
    assert kinds == ["run_started", "message", "exchange", "run_finished"]
    reply = events(store, chat.run_id)[2]["data"]
    assert (reply["step"], reply["spec"], reply["text"]) == ("reply", "function:chatty", "reply 1")
    assert (reply["input_tokens"], reply["output_tokens"], reply["cost_usd"]) == (10, 5, 0.01)
    assert "latency" in reply and reply["host"] is None
    status = store.read_status(chat.run_id)
    assert status["state"] == "completed" and status["pid"] == os.getpid()
    assert result.usage.agent_calls == 1 and store.read_result(chat.run_id) is not None


def test_a_reopened_chat_goes_on_with_its_history_model_and_spending(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"chat": ["scripted says hi"]}))
    chat = opened(store, tmp_path)
    anyio.run(chat.say, "remember the word teapot")
    chat.switch(f"scripted:{scenario}", f"/model scripted:{scenario}")
    anyio.run(chat.say, "hi")
    chat.close()
    again = ChatSession.reopen(store, chat.run_id)
    assert again.model == f"scripted:{scenario}"
    assert [s.text for s in again.talk.turns] == [
        "remember the word teapot", "reply 1", "hi", "scripted says hi",
    ]  # fmt: skip
    assert again.usage.agent_calls == 2 and again.usage.cost_usd == pytest.approx(0.01)
    assert store.read_status(chat.run_id)["state"] == "running"
    again.switch("function:chatty", "/model function:chatty")
    anyio.run(again.say, "which word?")
    again.close()
    assert "remember the word teapot" in model.requests[-1].prompt
    assert [e["type"] for e in events(store, chat.run_id)].count("resumed") == 1


def test_a_chat_open_in_a_live_process_is_not_taken_up_twice(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    chat = opened(store, tmp_path)
    with pytest.raises(InvalidState, match="is open in process"):
        ChatSession.reopen(store, chat.run_id)
    chat.close()


def test_loopwright_resume_refuses_a_chat_and_names_chat_resume(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    chat = opened(store, tmp_path)
    chat.close()
    with pytest.raises(InvalidState, match=f"loopwright chat --resume {chat.run_id}"):
        runner.resume(store, chat.run_id)


def test_a_consult_inside_the_chat_records_each_answer_and_becomes_a_turn(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"consult": ["use a dict"]}))
    b.write_text(json.dumps({"consult": ["use a set"]}))
    chat = opened(store, tmp_path)
    specs = [f"scripted:{a}", f"scripted:{b}"]
    result = anyio.run(chat.pattern, "consult", specs, "how to dedupe?", "/consult a,b how?")
    assert result.state == "completed"
    answers = [e["data"] for e in events(store, chat.run_id) if e["type"] == "exchange"]
    assert [(x["spec"], x["text"]) for x in answers] == [
        (specs[0], "use a dict"), (specs[1], "use a set"),
    ]  # fmt: skip
    anyio.run(chat.say, "which is better?")
    chat.close()
    prompt = model.requests[-1].prompt
    assert "[you]\n/consult a,b how?" in prompt and "use a dict" in prompt and "use a set" in prompt


def test_a_delegate_inside_the_chat_is_reviewed_by_the_model_in_use_and_may_not_edit(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    chat = ChatSession.open(store, build_chat_request("scripted", str(tmp_path)))
    line = "/delegate function:chatty write a haiku"
    result = anyio.run(chat.pattern, "delegate", ["function:chatty"], "write a haiku", line)
    chat.close()
    steps = [(e["data"]["step"], e["data"]["spec"]) for e in events(store, chat.run_id)
             if e["type"] == "exchange"]  # fmt: skip
    assert steps == [("work", "function:chatty"), ("review", "scripted")]
    assert model.requests[0].may_edit is False and result.state == "completed"


def test_the_budget_counts_across_the_session_and_refuses_the_next_message(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    chat = opened(store, tmp_path, max_agent_calls=1)
    anyio.run(chat.say, "one")
    with pytest.raises(BudgetExceeded, match="max_agent_calls=1"):
        anyio.run(chat.say, "two")
    result = chat.close()
    kinds = [e["type"] for e in events(store, chat.run_id)]
    assert kinds.count("message") == 1 and "budget_exhausted" in kinds
    assert len(model.requests) == 1 and result.state == "stopped"


def test_without_model_or_budget_a_chat_takes_the_config_files_then_the_built_in_ones(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    assert build_chat_request(None, str(tmp_path)).workers == ["scripted"]
    config = tmp_path / "xdg-config" / "loopwright" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[run]\nbackend = 'function:chatty'\n[budget]\nmax_cost_usd = 1.5\n")
    request = build_chat_request(None, str(tmp_path), {"max_tokens": 99})
    assert request.workers == ["function:chatty"] and request.pattern == "chat"
    limits = request.loop.budget
    assert (limits.max_cost_usd, limits.max_tokens, limits.max_agent_calls) == (1.5, 99, 200)
    assert build_chat_request("scripted", str(tmp_path)).workers == ["scripted"]


def test_a_run_that_is_no_chat_is_not_taken_up_as_one(store: RunStore, tmp_path: Path) -> None:
    run_id = runner.create_run(store, build_request("a loop", cwd=str(tmp_path), isolate=False))
    with pytest.raises(InvalidState, match=f"run {run_id} is not a chat session"):
        ChatSession.reopen(store, run_id)
    assert store.read_status(run_id)["state"] == "queued"  # untouched


def test_a_chat_whose_process_died_is_interrupted_and_taken_up_again(
    store: RunStore, tmp_path: Path, model: Recorder
) -> None:
    chat = opened(store, tmp_path)
    anyio.run(chat.say, "before the crash")
    status = store.read_status(chat.run_id)
    status["pid"], status["pid_start"] = 2**22 + 12345, 1  # a process that is not there
    store.write_status(chat.run_id, status)
    again = ChatSession.reopen(store, chat.run_id)
    assert [s.text for s in again.talk.turns] == ["before the crash", "reply 1"]
    again.close()
    kinds = [e["type"] for e in events(store, chat.run_id)]
    assert kinds[-3:] == ["interrupted", "resumed", "run_finished"]
