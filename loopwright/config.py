"""Settings that come from the environment: the state dir, input limits, the sandbox."""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import UserError

MAX_GOAL_CHARS = 100_000
"""A goal longer than this is refused (it would not fit a planner prompt anyway)."""

PREVIEW_CHARS = 2_000
"""Text previews in events are cut to this many characters."""

WORKER_OUTPUT_CAP = 8 * 1024 * 1024
"""A worker's full output file stops growing past this many bytes (a marker says so)."""

LIST_LIMIT = (1, 500)
"""Runs one ``list`` shows at most (inclusive bounds; the CLI and the MCP tool agree)."""
TAIL_LINES = (0, 1000)
"""Events ``tail -n`` shows first (0: none, then follow); a tool's page holds 1 to 1000."""
PATCH_BYTES = (1000, 10_000_000)
"""The cap on a ``diff``'s patch, in bytes (the CLI and the MCP tool agree)."""


def state_dir() -> Path:
    """``$LOOPWRIGHT_HOME``, else ``$XDG_STATE_HOME/loopwright``, else ~/.local/state/loopwright."""
    home = os.environ.get("LOOPWRIGHT_HOME")
    if home:
        return Path(home).expanduser().absolute()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return (base / "loopwright").absolute()


SANDBOX_DEFAULT = "verify"
"""A run's ``--sandbox`` when neither the caller nor ``LOOPWRIGHT_SANDBOX`` says."""


def sandbox_default() -> str:
    """``$LOOPWRIGHT_SANDBOX`` (off, verify or all), else ``verify``; checked by the
    request like a caller's value."""
    return os.environ.get("LOOPWRIGHT_SANDBOX", "").strip() or SANDBOX_DEFAULT


# --- config files -------------------------------------------------------------------
# Two TOML files, both optional: the user's (provider hosts and endpoints, and run
# defaults) and a repository's ``.loopwright.toml`` (that repository's run defaults only:
# a file that came with a clone must not point backends at other hosts or keys). Every key
# is checked against SCHEMA, so a misspelt one is named with its closest match.

Kind = str
"""A leaf of ``SCHEMA``: the type its value must have."""

_RUN: dict[str, Any] = {
    "backend": "spec",
    "planner": "spec",
    "workers": "specs",
    "reviewers": "specs",
    "fallback": "spec",
    "quorum": "word",
    "verify": "commands",
    "verify_timeout": "seconds",
    "worker_timeout": "seconds",
    "concurrency": "count",
    "retries": "count0",
    "cleanup": "word",
    "sandbox": "word",
}
_BUDGET: dict[str, Any] = {
    "max_iterations": "count",
    "max_seconds": "seconds",
    "max_agent_calls": "count",
    "max_tokens": "count",
    "max_cost_usd": "usd",
}
REPO_SCHEMA: dict[str, Any] = {"run": _RUN, "budget": _BUDGET, "specialists": {"*": "spec"}}
"""What a repository's ``.loopwright.toml`` may hold."""
SCHEMA: dict[str, Any] = {
    **REPO_SCHEMA,
    "gc": {"keep_days": "days"},
    "ollama": {
        "hosts": {
            "*": {
                **dict.fromkeys(("url", "token", "token_env", "basic_user"), "text"),
                **dict.fromkeys(("basic_password", "basic_password_env"), "text"),
                "usd_per_hour": "usd",
                "auto_pull": "bool",
            }
        }
    },
    "hosts": {
        "*": {
            "kind": "word",
            **dict.fromkeys(("url", "token", "token_env", "api_key", "api_key_env"), "text"),
            **dict.fromkeys(("basic_user", "basic_password", "basic_password_env"), "text"),
            "usd_per_hour": "usd",
            "auto_pull": "bool",
        }
    },
    "openai": {
        "endpoints": {
            "*": {**dict.fromkeys(("base_url", "api_key", "api_key_env"), "text"), "free": "bool"}
        }
    },
    "anthropic": {"base_url": "text", "max_tokens": "count"},
    "tools": {"max_steps": "count"},
    "verify": {"env": "names"},
    "max_tokens": dict.fromkeys(("clarify", "plan", "work", "review", "consult"), "count"),
}
"""Every key of the user's config file; ``*`` stands for any name (a host, an endpoint)."""


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(s, str) for s in value)


_KINDS: dict[Kind, tuple[str, Any]] = {
    "text": ("a string", lambda v: isinstance(v, str)),
    "spec": ("a backend spec (a non-empty string)", lambda v: isinstance(v, str) and v.strip()),
    "word": ("a string", lambda v: isinstance(v, str)),
    "specs": ("a list of backend specs", lambda v: _strings(v) and bool(v)),
    "commands": (
        'a list of commands, each a string ("pytest -q") or an argv list',
        lambda v: isinstance(v, list) and all(isinstance(c, str) or _strings(c) for c in v),
    ),
    "names": ("a list of environment variable names", _strings),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "count": ("a whole number above 0", lambda v: _int(v) and v > 0),
    "count0": ("a whole number, 0 or more", lambda v: _int(v) and v >= 0),
    "seconds": ("a number of seconds above 0", lambda v: _number(v) and v > 0),
    "days": ("a number of days, 0 or more (0: off)", lambda v: _number(v) and v >= 0),
    "usd": ("an amount in USD, 0 or more", lambda v: _number(v) and v >= 0),
}


@dataclass(frozen=True)
class ConfigFile:
    """A parsed, checked config file; ``path`` None when there is none."""

    kind: Literal["user", "repo"]
    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """Where a value from it came from, as ``config show`` says it."""
        return f"{self.kind} file {self.path}"


_notices: dict[str, None] = {}


def notices() -> list[str]:
    """Warnings about the config files read so far (each once), then forgotten."""
    found = list(_notices)
    _notices.clear()
    return found


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/loopwright``, else ``~/.config/loopwright``."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return (base / "loopwright").absolute()


def legacy_config_path() -> Path:
    """Where the user's config sat before: ``<state dir>/loopwright.toml`` (still read)."""
    return state_dir() / "loopwright.toml"


def user_config_path() -> Path:
    """``$LOOPWRIGHT_CONFIG``, else ``config_dir()/config.toml``."""
    given = os.environ.get("LOOPWRIGHT_CONFIG")
    return Path(given).expanduser().absolute() if given else config_dir() / "config.toml"


def user_file() -> ConfigFile:
    """The user's config file, checked. ``LOOPWRIGHT_CONFIG`` naming a missing file is a
    ``UserError``; with neither file, an empty one. The old place is read, with a notice,
    while the new one does not exist."""
    path = user_config_path()
    if os.environ.get("LOOPWRIGHT_CONFIG"):
        if not path.is_file():
            raise UserError(
                f"LOOPWRIGHT_CONFIG={os.environ['LOOPWRIGHT_CONFIG']!r}: no such file", "config"
            )
    elif not path.exists():
        legacy = legacy_config_path()
        if not legacy.exists():
            return ConfigFile("user")
        _notices[
            f"the config file {legacy} is in its old place: move it to {path} (the old place "
            "is read while the new one does not exist)"
        ] = None
        path = legacy
    return ConfigFile("user", path, _checked(path, SCHEMA))


def repo_root(cwd: str | Path) -> Path | None:
    """The top of the git work tree holding ``cwd`` (a folder with ``.git``), if any."""
    here = Path(cwd).expanduser().absolute()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def repo_file(cwd: str | Path | None) -> ConfigFile:
    """``.loopwright.toml`` at the root of the repository holding ``cwd``, checked."""
    root = repo_root(cwd) if cwd else None
    path = root / ".loopwright.toml" if root else None
    if path is None or not path.is_file():
        return ConfigFile("repo")
    return ConfigFile("repo", path, _checked(path, REPO_SCHEMA))


def _checked(path: Path, schema: dict[str, Any]) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"config {path}: unreadable: {exc.strerror}", "config") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"config {path}: not valid TOML: {exc}", "config") from exc
    check_keys(data, schema, path)
    return data


def check_keys(data: dict[str, Any], schema: dict[str, Any], path: Path, prefix: str = "") -> None:
    """Refuse a key ``schema`` does not know (naming the closest one it does) and a value
    of the wrong type, with the file and the key's full name."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        spec = schema.get(key, schema.get("*"))
        if spec is None:
            raise UserError(f"config {path}: unknown key {name}{_hint(key, schema, prefix, path)}",
                            "config")  # fmt: skip
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise UserError(f"config {path}: {name} must be a table ([{name}])", "config")
            check_keys(value, spec, path, f"{name}.")
            continue
        what, ok = _KINDS[spec]
        if not ok(value):
            raise UserError(f"config {path}: {name} = {value!r}: give {what}", "config")


def _hint(key: str, schema: dict[str, Any], prefix: str, path: Path) -> str:
    known = [k for k in schema if k != "*"]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {prefix}{close[0]}?"
    if not prefix and key in SCHEMA:  # a user-file section in a repository's file
        return f"; [{key}] belongs in the user config ({user_config_path()}), not a repository's"
    return f"; known: {', '.join(known)}" if known else ""


def layered(cwd: str | Path | None) -> dict[str, tuple[Any, str]]:
    """The run defaults the files give (``"run.verify"`` -> (value, source)): the
    repository's file over the user's. A caller's own argument goes over both."""
    found: dict[str, tuple[Any, str]] = {}
    for f in (user_file(), repo_file(cwd)):
        for section in (*REPO_SCHEMA, "gc"):
            for key, value in f.data.get(section, {}).items():
                found[f"{section}.{key}"] = (value, f.source)
    return found
