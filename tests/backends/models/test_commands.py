"""``loopwright models`` and ``loopwright ollama profile|pull`` against a fake host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.backends.models.ollama_api import record_profile
from loopwright.backends.settings import OllamaHost
from loopwright.cli.commands import main

from .fake_ollama import FakeOllama, Server


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Server]:
    s = Server(FakeOllama(models={"qwen2.5-coder:7b", "llama3.2:3b"}))
    monkeypatch.setenv("OLLAMA_HOST", s.url)
    cfg = tmp_path / "loopwright.toml"
    cfg.write_text('[ollama.hosts.down]\nurl = "http://127.0.0.1:9"\n')
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(cfg))
    yield s
    s.stop()


def test_models_lists_each_ollama_host_and_says_which_is_down(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "ollama", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["ollama@local"]["models"] == ["llama3.2:3b", "qwen2.5-coder:7b"]
    assert found["ollama@local"]["version"] == "0.9.0"
    assert (
        "Ollama not reachable at http://127.0.0.1:9 (host 'down')" in found["ollama@down"]["error"]
    )
    assert main(["models", "ollama"]) == 0
    text = capsys.readouterr().out
    assert f"ollama@local ({server.url}, Ollama 0.9.0):\n  llama3.2:3b\n" in text


def test_models_reports_a_missing_key_instead_of_failing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["models", "anthropic"]) == 1
    assert capsys.readouterr().out.strip() == "anthropic: ANTHROPIC_API_KEY not set"


def test_ollama_profile_summarises_recorded_calls(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ollama", "profile"]) == 0
    assert "no Ollama calls recorded yet" in capsys.readouterr().out
    host = OllamaHost("gpu1", "http://x")
    for tps in (40.0, 60.0):
        record_profile(host, "qwen", {"gen_tps": tps, "prompt_tps": 900.0, "load_duration": 2e9,
                                      "total_duration": 5e9, "num_ctx": 32768,
                                      "context_length": 131072, "version": "0.9.0"})  # fmt: skip
    assert main(["ollama", "profile", "qwen", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["calls"], row["gen_tps"], row["load_s"], row["num_ctx"]) == (2, 50.0, 2.0, 32768)
    assert main(["ollama", "profile"]) == 0
    assert "gpu1       qwen" in capsys.readouterr().out


def test_ollama_pull_prints_progress(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ollama", "pull", "phi4"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "pulling manifest", "downloading 50%", "downloading 100%", "success"]  # fmt: skip


async def test_ollama_health_has_a_row_per_host_for_doctor(server: Server) -> None:
    from loopwright.backends.discovery import ollama_health

    rows = await ollama_health()
    assert [r["name"] for r in rows] == ["ollama host down", "ollama host local"]
    assert rows[1]["ok"] and "Ollama 0.9.0, 2 model(s)" in rows[1]["detail"]
    assert not rows[0]["ok"] and "not reachable" in rows[0]["detail"]
