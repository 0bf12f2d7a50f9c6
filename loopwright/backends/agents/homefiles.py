"""What each coding-agent CLI needs from home inside the sandbox (``--sandbox all``).

The sandbox hides home; an agent CLI gets back only its login and settings, read-only
where the CLI works that way. Writable where it writes them as it runs: Claude Code,
Codex and Gemini CLI refresh their OAuth tokens in place and keep their state next to
them, opencode keeps its logins and sessions in its data dir and installs providers into
its cache. Anything else a CLI writes into home lands in the sandbox's empty home and is
gone after the call. A custom CLI (``cli:``) gets nothing from home.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ...process.bwrap import Mount
from ...process.env import codex_home, opencode_config_paths

__all__ = ["HOME_FILES", "home_mounts"]


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or "~").expanduser()


def _xdg(env: Mapping[str, str], name: str, default: str) -> Path:
    return Path(env.get(name) or _home(env) / default).expanduser()


def _claude(env: Mapping[str, str]) -> list[Mount]:
    config = Path(env.get("CLAUDE_CONFIG_DIR") or _home(env) / ".claude").expanduser()
    return [Mount(config, writable=True), Mount(_home(env) / ".claude.json", writable=True)]


def _codex(env: Mapping[str, str]) -> list[Mount]:
    return [Mount(codex_home(env), writable=True)]


def _gemini(env: Mapping[str, str]) -> list[Mount]:
    base = Path(env.get("GEMINI_CLI_HOME") or _home(env)).expanduser()
    return [Mount(base / ".gemini", writable=True)]


def _aider(env: Mapping[str, str]) -> list[Mount]:
    home = _home(env)
    names = (".aider.conf.yml", ".aider.model.settings.yml", ".aider.model.metadata.json")
    return [Mount(home / name) for name in names]


def _opencode(env: Mapping[str, str]) -> list[Mount]:
    configs = [Mount(p.parent) for p in opencode_config_paths(env)]
    return [
        *dict.fromkeys(configs),
        Mount(_xdg(env, "XDG_DATA_HOME", ".local/share") / "opencode", writable=True),
        Mount(_xdg(env, "XDG_CACHE_HOME", ".cache") / "opencode", writable=True),
    ]


HOME_FILES: dict[str, Callable[[Mapping[str, str]], list[Mount]]] = {
    "claude_code": _claude,
    "codex": _codex,
    "gemini_cli": _gemini,
    "aider": _aider,
    "opencode": _opencode,
}
"""Per preset: the paths in home it gets inside the sandbox."""


def home_mounts(specs: Iterable[str], env: Mapping[str, str]) -> tuple[Mount, ...]:
    """The home paths the agent CLIs named by ``specs`` (``provider:model...``) need."""
    found: dict[Path, Mount] = {}
    for spec in specs:
        provider = spec.split(":", 1)[0].split("?", 1)[0]
        paths = HOME_FILES.get(provider)
        for mount in paths(env) if paths else []:
            old = found.get(mount.path)
            if old is None or mount.writable:
                found[mount.path] = mount
    return tuple(found.values())
