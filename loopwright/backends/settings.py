"""Provider settings: environment variables and the user's config file.

The file is ``$LOOPWRIGHT_CONFIG``, else ``$XDG_CONFIG_HOME/loopwright/config.toml`` (read
and key-checked by ``loopwright.config``)::

    [hosts.gpu1]                        # ollama:qwen2.5-coder:32b@gpu1 (hosts.named)
    kind = "ollama"                     # or "openai" (llama-server, vLLM: openai:M@gpu1)
    url = "https://gpu1.example.net"
    token_env = "GPU1_TOKEN"

    [ollama.hosts.gpu2]                 # the older table of an Ollama host, still read
    url = "https://gpu1.example.net"
    token_env = "GPU1_TOKEN"            # bearer token read from this env var
    # or: basic_user = "me", basic_password_env = "GPU1_PASSWORD"
    usd_per_hour = 1.2                  # optional: cost of calls by their duration
    auto_pull = false                   # pull a missing model instead of failing

    [openai.endpoints.vllm]             # openai:Qwen/Qwen2.5-Coder-32B@vllm
    base_url = "http://127.0.0.1:8000/v1"
    api_key_env = "VLLM_KEY"            # optional
    free = true                         # local server: cost 0 instead of unknown

    [tools]
    max_steps = 40                      # tool-loop steps per worker call

    [verify]
    env = ["DATABASE_URL"]              # variables verify commands get besides the
                                        # allowlist (each run's --verify-env adds more)

    [max_tokens]                        # output cap per model turn, by purpose
    plan = 4096                         # (defaults: clarify 1024, plan 4096, work 8192,
    work = 8192                         #  review 2048, consult 4096)

Secrets are only ever read from the environment (``*_env`` names one); a literal
``token``/``api_key`` is accepted but discouraged. Nothing here logs a value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import user_config_path, user_file
from ..errors import UserError
from ..hosts.named import Host, configured_hosts
from ..hosts.pool import find_host
from ..process.env import ENV_NAME

OPENAI_URL = "https://api.openai.com/v1"
OPENROUTER_URL = "https://openrouter.ai/api/v1"


@dataclass(frozen=True)
class OllamaHost:
    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict, hash=False)
    usd_per_hour: float = 0.0
    auto_pull: bool = False
    auth: str = "none"
    """How it authenticates: none, bearer or basic (for doctor and models; no values)."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    key_env: str = ""
    free: bool = False


def config_path() -> Path:
    """The user's config file (``config.user_config_path``)."""
    return user_config_path()


def load_file() -> dict[str, Any]:
    """The user's config file, parsed and its keys checked (``config.user_file``); ``{}``
    when there is none; ``UserError`` when it is broken or ``LOOPWRIGHT_CONFIG`` names a
    missing file."""
    return user_file().data


def _table(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        value = data.get(key, {})
        data = value if isinstance(value, dict) else {}
    return data


def as_ollama_host(h: Host) -> OllamaHost:
    """An Ollama host of the pool as the ``OllamaHost`` the Ollama backend calls."""
    return OllamaHost(h.name, h.url, h.headers, h.usd_per_hour, h.auto_pull, h.auth)


def ollama_hosts(data: dict[str, Any] | None = None) -> dict[str, OllamaHost]:
    """Named Ollama hosts of the config file (``[hosts.NAME]`` of kind ollama and
    ``[ollama.hosts.NAME]``); ``local`` is ``$OLLAMA_HOST`` or 127.0.0.1:11434 unless
    configured."""
    data = load_file() if data is None else data
    return {h.name: as_ollama_host(h) for h in configured_hosts(data) if h.kind == "ollama"}


def ollama_host(name: str | None, field_name: str = "backend") -> OllamaHost:
    """The Ollama host ``name`` (``local`` for None) of the pool: the config file's or a
    rented one."""
    host = find_host(name or "local", "ollama", field_name)
    return as_ollama_host(host)


def as_endpoint(host: Host) -> Endpoint:
    """An OpenAI-compatible pool host as the endpoint ``openai_compat`` calls."""
    return Endpoint(host.name, host.api_url, host.token, host.key_env, host.free)


def endpoints(data: dict[str, Any] | None = None) -> dict[str, Endpoint]:
    """OpenAI-compatible endpoints: ``openai``, ``openrouter`` and the config file's
    (``[openai.endpoints.NAME]`` and ``[hosts.NAME]`` of kind openai)."""
    found = {
        "openai": Endpoint(
            "openai",
            os.environ.get("OPENAI_BASE_URL", OPENAI_URL).rstrip("/"),
            os.environ.get("OPENAI_API_KEY") or None,
            "OPENAI_API_KEY",
        ),
        "openrouter": Endpoint(
            "openrouter",
            OPENROUTER_URL,
            os.environ.get("OPENROUTER_API_KEY") or None,
            "OPENROUTER_API_KEY",
        ),
    }
    for h in configured_hosts(load_file() if data is None else data):
        if h.kind == "openai":
            found[h.name] = as_endpoint(h)
    return found


def verify_env(data: dict[str, Any] | None = None) -> list[str]:
    """``[verify] env``: names of the variables every run's verify commands get besides
    the allowlist (names only; the values stay in the environment)."""
    data = load_file() if data is None else data
    names = _table(data, "verify").get("env", [])
    if not isinstance(names, list) or not all(
        isinstance(n, str) and ENV_NAME.fullmatch(n) for n in names
    ):
        raise UserError(
            f"[verify] env = {names!r}: give a list of environment variable names", "config"
        )
    return names


def tool_steps(data: dict[str, Any] | None = None) -> int:
    data = load_file() if data is None else data
    value = _table(data, "tools").get("max_steps", 40)
    return max(1, int(value))
