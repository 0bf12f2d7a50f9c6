"""The environment a child gets: an allowlist (``allowlisted_env``), shared by verify commands,
the tool loop's commands and coding-agent CLIs; a CLI adds its own settings
(``agent_env``), a verify command the names the user passed (``--verify-env``).

Nothing else of ours is passed on (a GitHub token or another vendor's key in loopwright's
environment stays here). Names only are ever reported, never values.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

BASE = frozenset(
    [
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TERM",
        "TZ",
        "TMPDIR",
        "COLUMNS",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_STATE_HOME",
        "XDG_RUNTIME_DIR",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        "NVM_DIR",
        "NVM_BIN",
        "PYENV_ROOT",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        # where toolchains live, so a test suite finds them
        "JAVA_HOME",
        "GOPATH",
        "GOROOT",
        "GOMODCACHE",
        "CARGO_HOME",
        "RUSTUP_HOME",
        # how the user wants Python to behave: a verify must not litter the worktree
        # with __pycache__ when the user said not to (it would land in the checkpoint)
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "PYTHONIOENCODING",
    ]
)
BASE_PREFIXES = ("LC_",)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What the name of a variable the user lets through (``--verify-env``) must look like."""

PREFIXES: dict[str, tuple[str, ...]] = {
    "claude_code": (
        "ANTHROPIC_", "CLAUDE_", "DISABLE_", "MCP_", "ENABLE_TOOL_SEARCH", "IS_SANDBOX",
        "MAX_THINKING_TOKENS", "BASH_DEFAULT_TIMEOUT_MS", "BASH_MAX_TIMEOUT_MS",
    ),
    "codex": ("CODEX_", "OPENAI_"),
    "aider": (
        "AIDER_", "OPENAI_", "ANTHROPIC_", "OLLAMA_", "LITELLM_", "OPENROUTER_", "GEMINI_",
        "DEEPSEEK_", "GROQ_", "MISTRAL_", "XAI_", "AZURE_", "COHERE_", "VERTEXAI_",
    ),
    "opencode": ("OPENCODE_",),
    "gemini_cli": ("GEMINI_", "GOOGLE_"),
    "cli": (),
}  # fmt: skip

FIXED: dict[str, dict[str, str]] = {
    "claude_code": {"DISABLE_AUTOUPDATER": "1"},
    "codex": {},
    "aider": {},
    "opencode": {"OPENCODE_DISABLE_AUTOUPDATE": "true"},
    # no self-relaunch (it would leave a child behind), the worktree is ours to trust
    "gemini_cli": {"GEMINI_CLI_NO_RELAUNCH": "true", "GEMINI_CLI_TRUST_WORKSPACE": "true"},
    "cli": {},
}
_CLOUD = ("AWS_", "CLOUD_ML_REGION", "VERTEX_", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_")
_OPENCODE_REF = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def codex_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("CODEX_HOME") or Path(env.get("HOME", "~")) / ".codex").expanduser()


def codex_config(env: Mapping[str, str]) -> dict[str, object]:
    try:
        return tomllib.loads((codex_home(env) / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def codex_model_provider(env: Mapping[str, str]) -> str | None:
    provider = codex_config(env).get("model_provider")
    return provider if isinstance(provider, str) else None


def codex_provider_keys(env: Mapping[str, str]) -> list[str]:
    """The ``env_key`` of every provider in the user's Codex config (names, not values)."""
    data = codex_config(env)
    providers = data.get("model_providers")
    if not isinstance(providers, dict):
        return []
    return [
        str(p["env_key"]) for p in providers.values() if isinstance(p, dict) and p.get("env_key")
    ]


def opencode_config_paths(env: Mapping[str, str]) -> list[Path]:
    home = Path(env.get("HOME", "~")).expanduser()
    xdg = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    paths = [xdg / "opencode" / "opencode.json", xdg / "opencode" / "opencode.jsonc"]
    if env.get("OPENCODE_CONFIG"):
        paths.insert(0, Path(env["OPENCODE_CONFIG"]).expanduser())
    return paths


def opencode_refs(env: Mapping[str, str], model: str) -> list[str]:
    """Env names opencode needs: ``{env:NAME}`` in its configs and the model's provider key."""
    names: list[str] = []
    for path in opencode_config_paths(env):
        try:
            names += _OPENCODE_REF.findall(path.read_text(encoding="utf-8"))
        except OSError:
            continue
    provider = model.partition("/")[0].upper().replace("-", "_")
    if provider:
        names += [k for k in env if k.startswith(provider + "_")]
    if provider == "GOOGLE":
        names += ["GOOGLE_GENERATIVE_AI_API_KEY", "GEMINI_API_KEY"]
    return names


def allowlisted_env(
    names: Iterable[str] = (),
    prefixes: tuple[str, ...] = (),
    *,
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The allowlisted environment every child starts from: the ``BASE`` names and
    ``LC_*`` from ``source`` (default ``os.environ``), plus the ``names`` and ``prefixes``
    the caller adds. A verify command gets this with the names the user passed."""
    src = os.environ if source is None else source
    allowed = BASE.union(names)
    starts = BASE_PREFIXES + prefixes
    return {k: v for k, v in src.items() if k in allowed or k.startswith(starts)}


def agent_env(
    preset: str,
    *,
    model: str = "",
    extra: Iterable[str] = (),
    fixed: Mapping[str, str] | None = None,
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for one call of ``preset``: allowlisted names from ``source``
    (default ``os.environ``), ``extra`` names the user allowed, then ``fixed`` values."""
    src = os.environ if source is None else source
    prefixes = PREFIXES.get(preset, ())
    if preset == "claude_code" and (
        src.get("CLAUDE_CODE_USE_BEDROCK") or src.get("CLAUDE_CODE_USE_VERTEX")
    ):
        prefixes += _CLOUD
    names = set(extra)
    if preset == "codex":
        names.update(codex_provider_keys(src))
    elif preset == "opencode":
        names.update(opencode_refs(src, model))
    env = allowlisted_env(names, prefixes, source=src)
    for key, value in FIXED.get(preset, {}).items():
        env.setdefault(key, value)
    env.update(fixed or {})
    return env
