"""Whether a backend is available is found out, not assumed: an Ollama host must answer,
and an endpoint of the config file makes ``openai`` usable without OPENAI_API_KEY."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from loopwright.backends.registry import list_backends

from .models.fake_ollama import FakeOllama, Server


@pytest.fixture(autouse=True)
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LOOPWRIGHT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{closed_port()}")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: a connection there is refused at once


def available() -> dict[str, bool]:
    return {b.name: b.available for b in list_backends()}


def test_ollama_is_available_only_while_a_host_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    info = next(b for b in list_backends() if b.name == "ollama")
    assert not info.available and "no answer" in info.reason and "ollama serve" in info.fix
    server = Server(FakeOllama(models={"coder"}))
    try:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        assert available()["ollama"]
    finally:
        server.stop()


def test_openai_counts_an_endpoint_of_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not available()["openai"]
    config = tmp_path / "config.toml"
    config.write_text('[openai.endpoints.vllm]\nbase_url = "http://127.0.0.1:8000/v1"\n')
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(config))
    info = next(b for b in list_backends() if b.name == "openai")
    assert info.available and "endpoints: vllm=http://127.0.0.1:8000/v1" in info.reason
