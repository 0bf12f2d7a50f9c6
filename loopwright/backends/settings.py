"""Provider settings: environment variables and the user's config file.

The file is ``$LOOPWRIGHT_CONFIG``, else ``$XDG_CONFIG_HOME/loopwright/config.toml`` (read
and key-checked by ``loopwright.config``)::

    [ollama.hosts.gpu1]                 # ollama:qwen2.5-coder:32b@gpu1
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

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import user_config_path, user_file
from ..errors import UserError
from ..process.env import ENV_NAME

LOCAL_OLLAMA = "http://127.0.0.1:11434"
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


def _secret(entry: dict[str, Any], literal: str, env_key: str) -> str | None:
    env_name = entry.get(env_key)
    if isinstance(env_name, str) and env_name:
        return os.environ.get(env_name) or None
    value = entry.get(literal)
    return value if isinstance(value, str) and value else None


def _host(name: str, entry: dict[str, Any]) -> OllamaHost:
    url = str(entry.get("url", "")).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UserError(f"ollama host {name!r}: url must start with http:// or https://", "config")
    headers, auth = {}, "none"
    token = _secret(entry, "token", "token_env")
    user = entry.get("basic_user")
    if token:
        headers["Authorization"], auth = f"Bearer {token}", "bearer"
    elif isinstance(user, str) and user:
        password = _secret(entry, "basic_password", "basic_password_env") or ""
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"], auth = f"Basic {pair}", "basic"
    return OllamaHost(
        name,
        url,
        headers,
        usd_per_hour=float(entry.get("usd_per_hour", 0.0)),
        auto_pull=bool(entry.get("auto_pull", False)),
        auth=auth,
    )


def _env_ollama_url() -> str:
    value = os.environ.get("OLLAMA_HOST", "").strip()
    if not value:
        return LOCAL_OLLAMA
    if not value.startswith(("http://", "https://")):
        value = f"http://{value}"
    if value.count(":") < 2:  # no port given: Ollama's default
        value = f"{value}:11434"
    return value.rstrip("/")


def ollama_hosts(data: dict[str, Any] | None = None) -> dict[str, OllamaHost]:
    """Named hosts; ``local`` is ``$OLLAMA_HOST`` or 127.0.0.1:11434 unless configured."""
    data = load_file() if data is None else data
    hosts = {"local": OllamaHost("local", _env_ollama_url())}
    for name, entry in _table(data, "ollama", "hosts").items():
        if isinstance(entry, dict):
            hosts[name] = _host(name, entry)
    return hosts


def ollama_host(name: str | None, field_name: str = "backend") -> OllamaHost:
    hosts = ollama_hosts()
    host = hosts.get(name or "local")
    if host is None:
        raise UserError(
            f"{field_name}: no Ollama host named {name!r}; known: {', '.join(hosts)} "
            f"(add [ollama.hosts.{name}] with a url to {config_path()})",
            field_name,
        )
    return host


def endpoints(data: dict[str, Any] | None = None) -> dict[str, Endpoint]:
    """OpenAI-compatible endpoints: ``openai``, ``openrouter`` and the configured ones."""
    data = load_file() if data is None else data
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
    for name, entry in _table(data, "openai", "endpoints").items():
        if not isinstance(entry, dict):
            continue
        url = str(entry.get("base_url", "")).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise UserError(f"endpoint {name!r}: base_url must be an http(s) URL", "config")
        key_env = str(entry.get("api_key_env", ""))
        key = _secret(entry, "api_key", "api_key_env")
        found[name] = Endpoint(name, url, key, key_env, bool(entry.get("free", False)))
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
