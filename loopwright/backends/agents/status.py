"""What ``doctor`` and ``list_backends`` say about each coding-agent CLI.

Found where, which version (asked with a short timeout, all CLIs at once), whether it
looks logged in or has its key, and the fix when not. Names of variables and files only:
never a secret's value.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ...errors import ProcessError
from ...process.env import (
    agent_env,
    codex_home,
    codex_model_provider,
    codex_provider_keys,
    opencode_config_paths,
)
from ...process.runner import PlainRunner
from ..spec import BackendInfo
from .presets import PRESETS, Preset

VERSION_TIMEOUT = 10.0
_versions: dict[tuple[str, float], str] = {}


NPM_PACKAGES = {
    "claude_code": "@anthropic-ai/claude-code",
    "codex": "@openai/codex",
    "opencode": "opencode-ai",
    "gemini_cli": "@google/gemini-cli",
}


def _npm_version(path: str, preset: str) -> str:
    """The version in the npm package.json next to the binary (Gemini CLI takes seconds to
    answer ``--version``; reading its package takes a millisecond)."""
    name = NPM_PACKAGES.get(preset)
    if preset == "aider":  # a pip install: the version is in its dist-info folder name
        venv = Path(os.path.realpath(path)).parent.parent
        found = sorted(venv.glob("lib/python3*/site-packages/aider_chat-*.dist-info"))
        return (
            found[-1].name.removeprefix("aider_chat-").removesuffix(".dist-info") if found else ""
        )
    if name is None:
        return ""
    here = Path(os.path.realpath(path)).parent
    for folder in (here, *list(here.parents)[:3]):
        try:
            data = json.loads((folder / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("name") == name:
            return str(data.get("version", ""))
    return ""


def version(path: str, preset: str) -> str:
    """The CLI's version: from its npm package, else ``PROGRAM --version`` (short timeout),
    cached per binary and mtime; '' when unknown."""
    try:
        key = (path, os.stat(path).st_mtime)
    except OSError:
        return ""
    if key not in _versions and _npm_version(path, preset):
        package = NPM_PACKAGES.get(preset, "aider-chat")
        _versions[key] = f"{_npm_version(path, preset)} ({package})"
    if key not in _versions:
        try:  # a probe of loopwright's own, outside any run: the plain runner
            done = PlainRunner().run_sync(
                [path, "--version"], cwd=os.getcwd(), timeout=VERSION_TIMEOUT, env=agent_env(preset)
            )
        except (OSError, ProcessError):
            return ""
        if done.timed_out:
            return ""
        lines = (done.stdout or done.stderr).decode("utf-8", "replace").strip().splitlines()
        _versions[key] = lines[-1].strip()[:80] if lines else ""
    return _versions[key]


Login = tuple[bool, str]


def _any_env(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if env.get(n)), None)


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or "~").expanduser()


def _claude(env: Mapping[str, str]) -> Login:
    name = _any_env(
        env,
        ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN",
         "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"),
    )  # fmt: skip
    if name:
        return True, f"{name} is set"
    config = Path(env.get("CLAUDE_CONFIG_DIR") or _home(env) / ".claude")
    if (config / ".credentials.json").is_file():
        return True, f"logged in ({config / '.credentials.json'} exists)"
    return False, "no login found: run `claude` once and /login, or set ANTHROPIC_API_KEY"


def _codex(env: Mapping[str, str]) -> Login:
    name = _any_env(env, ("OPENAI_API_KEY", "CODEX_API_KEY"))
    if name:
        return True, f"{name} is set"
    auth = codex_home(env) / "auth.json"
    if auth.is_file():
        return True, f"logged in ({auth} exists)"
    provider = codex_model_provider(env)
    if provider and provider != "openai":
        return True, f"uses model_provider {provider!r} from config.toml"
    keys = [k for k in codex_provider_keys(env) if env.get(k)]
    if keys:
        return True, f"a provider in config.toml has its key ({keys[0]} is set)"
    return False, "no login found: run `codex login`, or set OPENAI_API_KEY"


def _aider(env: Mapping[str, str]) -> Login:
    names = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY",
             "DEEPSEEK_API_KEY", "OLLAMA_API_BASE", "AIDER_MODEL")  # fmt: skip
    name = _any_env(env, names)
    if name:
        return True, f"{name} is set"
    if (_home(env) / ".aider.conf.yml").is_file():
        return True, "~/.aider.conf.yml exists"
    return False, (
        "no model key found: set the key for your model's provider, or use a local model "
        "with aider:ollama_chat/<model> and OLLAMA_API_BASE"
    )


def _opencode(env: Mapping[str, str]) -> Login:
    data = Path(env.get("XDG_DATA_HOME") or _home(env) / ".local" / "share")
    if (data / "opencode" / "auth.json").is_file():
        return True, "logged in (opencode auth.json exists)"
    found = next((p for p in opencode_config_paths(env) if p.is_file()), None)
    if found:
        return True, f"config {found} (its providers carry their own keys)"
    return False, "no login found: run `opencode auth login`, or set OPENCODE_CONFIG"


def _gemini(env: Mapping[str, str]) -> Login:
    name = _any_env(env, ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI"))
    if name:
        return True, f"{name} is set"
    home = Path(env.get("GEMINI_CLI_HOME") or _home(env)) / ".gemini"
    if (home / "oauth_creds.json").is_file():
        return True, f"logged in ({home / 'oauth_creds.json'} exists)"
    return False, "no login found: run `gemini` once to log in, or set GEMINI_API_KEY"


LOGINS: dict[str, Callable[[Mapping[str, str]], Login]] = {
    "claude_code": _claude,
    "codex": _codex,
    "aider": _aider,
    "opencode": _opencode,
    "gemini_cli": _gemini,
}


def preflight(preset: str, env: Mapping[str, str]) -> str | None:
    """Why a call cannot work, for a CLI that would hang instead of failing: Codex with
    no login at all retries forever."""
    if preset != "codex":
        return None
    logged_in, how = _codex(env)
    return None if logged_in else f"Codex is not logged in: {how.partition(': ')[2]}"


def _info(preset: Preset, path: str | None) -> BackendInfo:
    kind = "agent CLI"
    if path is None:
        return BackendInfo(
            preset.name,
            kind,
            False,
            reason=f"{preset.program!r} not found on PATH",
            fix=f"install it: {preset.install}",
            spec_example=preset.model_example,
        )
    found = version(path, preset.name) or "version unknown"
    logged_in, how = LOGINS[preset.name](os.environ)
    return BackendInfo(
        preset.name,
        kind,
        logged_in,  # installed but not logged in is not usable yet, like an API without a key
        reason=f"{found} at {path}; {how}",
        fix="" if logged_in else how.partition(": ")[2],
        spec_example=preset.model_example,
    )


def infos() -> list[BackendInfo]:
    """One entry per CLI preset plus ``cli`` (version checks run in parallel)."""
    paths = {name: shutil.which(p.program) for name, p in PRESETS.items()}
    with ThreadPoolExecutor(max_workers=len(PRESETS)) as pool:
        rows = list(pool.map(lambda name: _info(PRESETS[name], paths[name]), PRESETS))
    rows.append(
        BackendInfo(
            "cli",
            "template",
            True,
            reason="any program: the task by stdin, or {prompt_file}/{system_file} in the command",
            spec_example="cli:my-agent --task {prompt_file}",
        )
    )
    return rows
