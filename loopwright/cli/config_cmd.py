"""``loopwright config show`` (registered in ``cli.commands``): every run default with
where it came from (``runs.defaults``)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ..config import REPO_SCHEMA, repo_file, user_config_path, user_file
from ..runs.defaults import settings
from .output import out


def cmd_config(args: argparse.Namespace) -> int:
    cwd = os.path.abspath(args.cwd or os.getcwd())
    user, repo = user_file(), repo_file(cwd)
    found = settings(cwd)
    others = sorted(_tables(user.data))
    if args.json:
        out(json.dumps({
            "user_file": str(user.path) if user.path else None,
            "repo_file": str(repo.path) if repo.path else None,
            "settings": {k: {"value": v, "source": s} for k, (v, s) in found.items()},
            "other_tables": others,
        }))  # fmt: skip
        return 0
    out(f"user file: {user.path or f'none ({user_config_path()} does not exist)'}")
    out(f"repo file: {repo.path or f'none (no .loopwright.toml at the repository of {cwd})'}")
    out("precedence: an option you give > repo file > user file > built-in\n")
    width = max(len(k) for k in found)
    for key, (value, source) in found.items():
        out(f"{key:<{width}}  {_shown(value):<24} {source}")
    if others:
        out(f"\nalso in the user file: {', '.join(f'[{t}]' for t in others)}")
    return 0


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(" ".join(v) if isinstance(v, list) else str(v) for v in value) or "(none)"
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _tables(data: dict[str, Any], prefix: str = "") -> list[str]:
    """The user file's tables besides the run defaults (hosts, endpoints, tools, ...)."""
    found: list[str] = []
    for key, value in data.items():
        if not isinstance(value, dict) or (not prefix and key in (*REPO_SCHEMA, "gc")):
            continue
        inner = _tables(value, f"{prefix}{key}.")
        found += inner or [f"{prefix}{key}"]
    return found
