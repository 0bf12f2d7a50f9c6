"""A run's defaults, in order: the caller's argument (CLI option or MCP parameter), the
repository's ``.loopwright.toml``, the user's config file, the built-in default.

``with_defaults`` fills ``build_request``'s keywords from the files; ``settings`` lists
every such value with where it came from (``loopwright config show``). A value from a file
is checked here, so an error names the file and the key, not an option nobody typed.
"""

from __future__ import annotations

import os
import shlex
from typing import Any, get_args

from ..backends.registry import check_spec
from ..config import SANDBOX_DEFAULT, layered, sandbox_default, user_file
from ..errors import UserError
from ..loop.types import Budget, LoopConfig
from ..loop.vocab import CleanupPolicy, Quorum, SandboxMode
from .request import check_tag

ARGS = {
    "run.backend": "backend",
    "run.planner": "planner",
    "run.workers": "workers",
    "run.reviewers": "reviewers",
    "run.quorum": "review_quorum",
    "run.verify": "verify",
    "run.cleanup": "cleanup",
    "run.sandbox": "sandbox",
    "run.fallback": "fallback",
}
"""Config keys that are ``build_request`` keywords of their own."""
OPTIONS = {
    "run.verify_timeout": "verify_timeout",
    "run.worker_timeout": "worker_timeout",
    "run.concurrency": "concurrency",
    "run.retries": "worker_retries",
}
"""Config keys that go into ``build_request``'s ``options`` (``LoopConfig`` fields)."""
WORDS: dict[str, Any] = {
    "run.quorum": Quorum,
    "run.cleanup": CleanupPolicy,
    "run.sandbox": SandboxMode,
}
ENV = {"run.sandbox": "LOOPWRIGHT_SANDBOX"}
"""Keys an environment variable sets too: it goes over both files (the test suite, CI)."""

Setting = tuple[Any, str]
"""A value and where it came from: ``built-in``, ``user file PATH`` or ``repo file PATH``."""


def built_in() -> dict[str, Any]:
    """The defaults when neither the caller nor a file says (from the loop's own types)."""
    loop = LoopConfig.model_fields
    found: dict[str, Any] = {
        "run.backend": "scripted",
        "run.planner": "(run.backend)",
        "run.workers": "(run.backend)",
        "run.reviewers": "(run.backend)",
        "run.fallback": "(none)",
        "run.quorum": loop["review_quorum"].default,
        "run.verify": [],
        "run.cleanup": "auto",
        "run.sandbox": SANDBOX_DEFAULT,
        **{key: loop[field].default for key, field in OPTIONS.items()},
        **{f"budget.{k}": f.default for k, f in Budget.model_fields.items()},
        "gc.keep_days": 0,
    }
    return found


def settings(cwd: str | None) -> dict[str, Setting]:
    """Every run default and where it comes from, for a run in ``cwd``."""
    found: dict[str, Setting] = {key: (value, "built-in") for key, value in built_in().items()}
    for key, (value, source) in layered(cwd).items():  # shown as given: a backend not
        found[key] = (_checked(key, value, source, specs=False), source)  # installed is fine
    for key, name in ENV.items():
        if os.environ.get(name, "").strip():
            found[key] = (os.environ[name].strip(), f"environment {name}")
    return found


def with_defaults(cwd: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` (``build_request``'s keywords, None meaning not given; ``budget`` and
    ``options`` dicts likewise) with the files' values filled in where the caller gave none."""
    out = {**given, "budget": dict(given.get("budget") or {})}
    out["options"] = dict(given.get("options") or {})
    out["specialists"] = dict(given.get("specialists") or {})  # a caller's tag goes first
    for key, (value, source) in layered(cwd).items():
        section, name = key.split(".", 1)
        if section == "gc" or os.environ.get(ENV.get(key, ""), "").strip():
            continue
        if section == "specialists":
            if name not in out["specialists"]:
                out["specialists"][name] = _checked(key, value, source)
            continue
        where, field = (
            (out["budget"], name)
            if section == "budget"
            else (out["options"], OPTIONS[key])
            if key in OPTIONS
            else (out, ARGS[key])
        )
        if where.get(field) is None:  # checked only when used: an argument goes over it
            where[field] = _checked(key, value, source)
    return {k: v for k, v in out.items() if v is not None}  # build_request's own defaults


def pattern_sandbox(cwd: str | None, given: str | None) -> str | None:
    """A pattern run's (consult, delegate, debate) ``sandbox``, as a loop run's: the
    caller's, else ``LOOPWRIGHT_SANDBOX`` (None here: ``build_pattern_request`` reads it),
    else the files' ``run.sandbox`` (a repository's only stricter), else None."""
    if given is not None or os.environ.get(ENV["run.sandbox"], "").strip():
        return given
    found = layered(cwd).get("run.sandbox")
    return None if found is None else str(_checked("run.sandbox", *found))


def pattern_fallback(cwd: str | None, given: str | None) -> str | None:
    """A pattern run's ``fallback`` spec, as a loop run's: the caller's, else the files'
    ``run.fallback`` (checked: a repository's may not name a ``cli`` backend), else None."""
    if given is not None:
        return given
    found = layered(cwd).get("run.fallback")
    return None if found is None else str(_checked("run.fallback", *found))


SANDBOX_ORDER: tuple[str, ...] = get_args(SandboxMode)
"""From loosest to strictest (the Literal's order): a repository's file may only move a
run to the right."""


def _repo_may_not(key: str, value: Any) -> str | None:
    """Why a repository's own file may not set ``key`` to ``value`` (None: it may).

    The repository is what the run works on, so its file is untrusted: it may make the
    sandbox stricter, never looser, and may not name a ``cli`` backend (any program)."""
    if key == "run.sandbox":
        floor = user_file().data.get("run", {}).get("sandbox") or sandbox_default()
        known = floor in SANDBOX_ORDER and value in SANDBOX_ORDER
        if known and SANDBOX_ORDER.index(value) < SANDBOX_ORDER.index(floor):
            return (
                f"a repository may make the sandbox stricter than {floor!r}, not "
                "looser; pass --sandbox (MCP sandbox) or set it in your own config"
            )
    if key in (
        "run.backend",
        "run.planner",
        "run.workers",
        "run.reviewers",
        "run.fallback",
    ) or key.startswith("specialists."):
        specs = value if isinstance(value, list) else [value]
        if any(str(spec).split(":", 1)[0].strip() == "cli" for spec in specs):
            return (
                "a repository may not name a cli backend (it runs any program); "
                "pass it with --worker/--backend or set it in your own config"
            )
    return None


def _checked(key: str, value: Any, source: str, specs: bool = True) -> Any:
    """A file's value as ``build_request`` takes it, refused naming the file and key
    (``specs`` False: backend specs as they are, not checked)."""
    if specs and source.startswith("repo file") and (why := _repo_may_not(key, value)):
        raise UserError(f"{source}: {key} = {value!r}: {why}", "config")
    try:
        if key in WORDS and value not in get_args(WORDS[key]):
            raise UserError(f"allowed are {', '.join(get_args(WORDS[key]))}")
        if specs and key in ("run.backend", "run.planner", "run.fallback"):
            return check_spec(value, key)
        if specs and key in ("run.workers", "run.reviewers"):
            return [check_spec(spec, key) for spec in value]
        if key.startswith("specialists."):
            check_tag(key.removeprefix("specialists."))
            return check_spec(value, key) if specs else value
        if key == "run.verify":
            return [shlex.split(c) if isinstance(c, str) else c for c in value]
    except (UserError, ValueError) as exc:
        why = str(exc).removeprefix(f"{key}: ")
        raise UserError(f"{source}: {key} = {value!r}: {why}", "config") from exc
    return value


def keep_days(cwd: str | None = None) -> float:
    """``gc.keep_days`` of the user's file (a repository's file has no ``[gc]``); 0: off."""
    value = layered(cwd).get("gc.keep_days", (0, ""))[0]
    return float(value)
