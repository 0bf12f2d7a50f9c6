"""Patterns over real HTTP backends: two models behind a stand-in Ollama on 127.0.0.1
(its documented native API), driven as a run by the registry's own adapters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopwright.runs import runner
from loopwright.runs.pattern_request import build_pattern_request
from loopwright.runs.store import RunStore

from ...backends.models.fake_ollama import FakeOllama, Server, say
from ...helpers import events_of

QUESTION = "Which queue should the service use?"


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOllama]:
    fake = FakeOllama(models={"qwen", "llama"}, chats=[say("ANSWER-ONE redis"),
                                                      say("ANSWER-TWO postgres")])  # fmt: skip
    server = Server(fake)
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    yield fake
    server.stop()


def test_a_consult_over_http_keeps_each_model_blind_and_attributes_host_and_tokens(
    store: RunStore, ollama: FakeOllama
) -> None:
    request = build_pattern_request(
        "consult", QUESTION, models=["ollama:qwen@local", "ollama:llama@local"]
    )
    run = runner.start_thread(store, request)
    assert run.wait(60)["state"] == "completed"
    result = store.read_result(run.run_id)
    assert result is not None
    answers = result["extra"]["answers"]
    assert sorted(a["text"] for a in answers) == ["ANSWER-ONE redis", "ANSWER-TWO postgres"]
    assert [(a["spec"], a["host"]) for a in answers] == [
        ("ollama:qwen@local", "local"),
        ("ollama:llama@local", "local"),
    ]
    assert all(a["input_tokens"] == 400 and a["output_tokens"] == 50 for a in answers)
    chats = ollama.bodies("/api/chat")
    assert sorted(c["model"] for c in chats) == ["llama", "qwen"]
    for chat in chats:
        sent = " ".join(str(m.get("content")) for m in chat["messages"])
        assert QUESTION in sent and "ANSWER-" not in sent
    exchanges = [e for e in events_of(store.paths(run.run_id).events) if e["type"] == "exchange"]
    calls = [e for e in events_of(store.paths(run.run_id).events) if e["type"] == "model_call"]
    assert len(exchanges) == 2 and len(calls) == 2  # the adapter's own event, per call
