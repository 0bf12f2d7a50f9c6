"""The registry: every provider module is a ``Provider``; backends declare capabilities."""

from __future__ import annotations

import pytest

from loopwright.backends.agents.backend import CliAgent
from loopwright.backends.agents.presets import PRESETS
from loopwright.backends.base import AgentRequest, Backend, Capabilities
from loopwright.backends.models.http import on_this_machine
from loopwright.backends.registry import PROVIDERS, check_spec, create_backend, list_backends
from loopwright.backends.scripted import FunctionBackend, ScriptedBackend
from loopwright.errors import UnknownBackend


def test_every_provider_module_checks_creates_and_lists_its_backends() -> None:
    for load in set(PROVIDERS.values()):
        module = load()
        assert callable(module.check) and callable(module.create) and callable(module.infos)
    listed = {info.name for info in list_backends()}
    assert set(PROVIDERS) | {"scripted", "function"} <= listed


def test_an_unknown_provider_is_refused_naming_the_available_ones() -> None:
    with pytest.raises(UnknownBackend, match="unknown backend 'futurebot:m'; available: scripted"):
        check_spec("futurebot:m")


def test_model_apis_declare_structured_output_and_where_they_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    assert create_backend("ollama:m").capabilities == Capabilities(
        tools=True, streaming=True, structured_output=True, edits_files=True, local=True
    )
    openai = create_backend("openai:gpt-4.1").capabilities
    assert openai.structured_output and openai.tools and not openai.local
    assert not create_backend("anthropic:claude-sonnet-4-6").capabilities.local
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")  # llama.cpp's server
    assert create_backend("openai:qwen").capabilities.local
    monkeypatch.setenv("OLLAMA_HOST", "http://gpu.example.net:11434")
    assert not create_backend("ollama:m").capabilities.local


def test_agent_clis_edit_and_stream_but_have_no_constrained_output() -> None:
    agent = CliAgent("claude_code", preset=PRESETS["claude_code"])
    assert agent.capabilities == Capabilities(tools=True, streaming=True, edits_files=True)


def test_the_built_in_backends_run_here_and_say_what_they_do() -> None:
    assert ScriptedBackend().capabilities == Capabilities(edits_files=True, local=True)
    answer_only = Capabilities(local=True)
    backend = FunctionBackend(lambda r: "ok", capabilities=answer_only)
    assert backend.capabilities is answer_only and isinstance(backend, Backend)
    assert FunctionBackend(lambda r: "ok").capabilities.edits_files


async def test_a_scripted_backend_keys_its_queues_by_the_files_role_names() -> None:
    s = ScriptedBackend({"planner": ["the plan"], "reviewer": ["the verdict"]})
    asked = [
        await s.run(AgentRequest(purpose, "", "Goal:\nx", ".", 5)) for purpose in ("plan", "review")
    ]
    assert [r.text for r in asked] == ["the plan", "the verdict"]
    consulted = await s.run(AgentRequest("consult", "", "what now?", ".", 5))
    assert consulted.ok and consulted.text == "what now?"  # no key for it: the prompt echoed


def test_loopback_urls_are_on_this_machine() -> None:
    assert on_this_machine("http://127.0.0.1:11434") and on_this_machine("http://localhost:8000")
    assert on_this_machine("http://[::1]:8080/v1") and on_this_machine("127.0.0.1:11434")
    assert not on_this_machine("https://api.openai.com/v1")
    assert not on_this_machine("http://10.0.0.5:11434")
