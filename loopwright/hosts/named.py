"""The model hosts the user's config file names, as one kind of thing: ``Host`` (where a
model runs, how to reach it, what it costs).

Read from the user's config file (``config.user_file``)::

    [hosts.gpu1]                        # ollama:qwen2.5-coder:32b@gpu1
    kind = "ollama"                     # or "openai": llama.cpp's llama-server, vLLM
    url = "https://gpu1.example.net"    # an openai server's root; a trailing /v1 is fine
    token_env = "GPU1_TOKEN"            # bearer token from this variable (api_key_env too),
                                        # or basic_user + basic_password_env
    usd_per_hour = 1.2                  # what the machine costs, for @pool's choice
    auto_pull = false                   # ollama: pull a missing model instead of failing

and the older tables, which keep working: ``[ollama.hosts.NAME]`` (kind ollama) and
``[openai.endpoints.NAME]`` (an OpenAI-compatible server: kind openai, ``base_url``,
``api_key_env``, ``free``). ``local`` is ``$OLLAMA_HOST`` or 127.0.0.1:11434 unless the
file names a host ``local``. Secrets are read from the environment (``*_env``); nothing
here logs a value.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from ..config import user_file
from ..errors import UserError

HostKind = Literal["ollama", "openai"]
"""What a host speaks: Ollama's native API, or OpenAI-compatible chat completions."""
HostSource = Literal["config", "rented"]
KINDS: tuple[HostKind, ...] = ("ollama", "openai")
LOCAL_OLLAMA = "http://127.0.0.1:11434"
POOL = "pool"
"""The name a spec gives to let the pool choose (``ollama:MODEL@pool``): no host has it."""
OLD_TABLES: tuple[tuple[HostKind, str, str], ...] = (
    ("ollama", "ollama", "hosts"),
    ("openai", "openai", "endpoints"),
)
"""The tables that named hosts before ``[hosts.NAME]``: still read."""
BUILT_IN_ENDPOINTS = ("openai", "openrouter")
"""Names the vendors' own APIs have (``openai:MODEL``): no ``[hosts.NAME]`` takes them."""


@dataclass(frozen=True)
class Host:
    """A place a model runs. ``url`` is its root (Ollama's base URL; where an
    OpenAI-compatible server answers ``/health``); ``api_url`` where an OpenAI-compatible
    server's ``/chat/completions`` and ``/models`` are."""

    name: str
    kind: HostKind
    url: str
    headers: dict[str, str] = field(default_factory=dict, hash=False, compare=False, repr=False)
    """The auth header(s) every request carries."""
    token: str | None = field(default=None, compare=False, repr=False)
    """The bearer token (an OpenAI-compatible server's API key), if any."""
    auth: str = "none"
    """How it authenticates: none, bearer or basic (for listings; no values)."""
    key_env: str = ""
    """The variable the token comes from, for messages."""
    usd_per_hour: float = 0.0
    auto_pull: bool = False
    free: bool = True
    """An OpenAI-compatible server's tokens cost 0 (False: unknown, as an endpoint says)."""
    source: HostSource = "config"
    created_at: float | None = None
    """Epoch seconds a rented host's billing started; None for a config host."""
    api_url: str = ""
    """An OpenAI-compatible server's API base; ``url`` + ``/v1`` when not given."""

    def __post_init__(self) -> None:
        if self.kind == "openai" and not self.api_url:
            object.__setattr__(self, "api_url", f"{self.url}/v1")


def _secret(entry: dict[str, Any], literal: str, env_key: str) -> str | None:
    env_name = entry.get(env_key)
    if isinstance(env_name, str) and env_name:
        return os.environ.get(env_name) or None
    value = entry.get(literal)
    return value if isinstance(value, str) and value else None


def _auth(entry: dict[str, Any]) -> tuple[dict[str, str], str | None, str, str]:
    """Headers, bearer token, auth kind and token variable of one table."""
    token = _secret(entry, "token", "token_env") or _secret(entry, "api_key", "api_key_env")
    key_env = str(entry.get("token_env") or entry.get("api_key_env") or "")
    user = entry.get("basic_user")
    if token:
        return {"Authorization": f"Bearer {token}"}, token, "bearer", key_env
    if isinstance(user, str) and user:
        password = _secret(entry, "basic_password", "basic_password_env") or ""
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}, None, "basic", key_env
    return {}, None, "none", key_env


def _url(where: str, value: Any, key: str = "url") -> str:
    url = str(value or "").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UserError(f"{where}: {key} must start with http:// or https://", "config")
    return url


def host_from(name: str, entry: dict[str, Any], kind: HostKind, where: str) -> Host:
    """One host of the config file; ``where`` names its table in messages."""
    endpoint = where.startswith("openai.endpoints")
    key = "base_url" if endpoint else "url"
    url = _url(where, entry.get(key), key)
    root = url.removesuffix("/v1") if kind == "openai" else url
    headers, token, auth, key_env = _auth(entry)
    return Host(
        name, kind, root, headers, token, auth, key_env,
        usd_per_hour=float(entry.get("usd_per_hour", 0.0)),
        auto_pull=bool(entry.get("auto_pull", False)),
        free=bool(entry.get("free", not endpoint)),
        api_url=url if endpoint else "",
    )  # fmt: skip


def env_ollama_url() -> str:
    """``$OLLAMA_HOST`` as a URL (scheme and Ollama's port added), else 127.0.0.1:11434."""
    value = os.environ.get("OLLAMA_HOST", "").strip()
    if not value:
        return LOCAL_OLLAMA
    if not value.startswith(("http://", "https://")):
        value = f"http://{value}"
    if value.count(":") < 2:  # no port given: Ollama's default
        value = f"{value}:11434"
    return value.rstrip("/")


def _tables(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        value = data.get(key, {})
        data = value if isinstance(value, dict) else {}
    return {n: e for n, e in data.items() if isinstance(e, dict)}


def _new_table(name: str, entry: dict[str, Any], named: set[tuple[str, str]]) -> Host:
    where = f"hosts.{name}"
    kind = entry.get("kind")
    if kind not in KINDS:
        raise UserError(f'config: {where}.kind = {kind!r}: give "ollama" or "openai"', "config")
    if name == POOL or (kind == "openai" and name in BUILT_IN_ENDPOINTS):
        raise UserError(f"config: [{where}]: {name!r} is a reserved name; pick another", "config")
    if (kind, name) in named:
        old = "ollama.hosts" if kind == "ollama" else "openai.endpoints"
        raise UserError(f"config: [{where}] and [{old}.{name}] name the same {kind} host; "
                        "keep one", "config")  # fmt: skip
    return host_from(name, entry, kind, where)


def configured_hosts(data: dict[str, Any] | None = None) -> list[Host]:
    """Every host the config file names (``data``: the parsed file, by default the user's),
    ``local`` first; ``UserError`` naming the table for a bad one. A name is unique per
    kind: ``[ollama.hosts.gpu1]`` and ``[openai.endpoints.gpu1]`` may be one machine."""
    data = user_file().data if data is None else data
    found = {("ollama", "local"): Host("local", "ollama", env_ollama_url())}
    named: set[tuple[str, str]] = set()
    for kind, table, part in OLD_TABLES:
        for name, entry in _tables(data, table, part).items():
            found[(kind, name)] = host_from(name, entry, kind, f"{table}.{part}.{name}")
            named.add((kind, name))
    for name, entry in _tables(data, "hosts").items():
        host = _new_table(name, entry, named)
        found[(host.kind, name)] = host
    return list(found.values())
