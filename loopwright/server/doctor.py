"""``doctor``: what is installed, what is configured, what would stop a run (no secrets)."""

from __future__ import annotations

import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

import anyio

from .. import __version__
from ..config import sandbox_default, state_dir
from ..errors import ProcessError
from ..hosts.rented import unwatched_warnings
from ..process.caps import process_cap_problem
from ..process.runner import Completed, PlainRunner
from ..process.sandbox import INSTALL, sandbox_problem
from .models import Check, DoctorBackend, DoctorReply
from .state import allowed_roots, inside

VERSION_TIMEOUT = 5.0
CREDENTIALS = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OPENROUTER_API_KEY",
    "VAST_API_KEY",
)
ADVICE = [
    "Claude Code: detached runs (the default) return at once, so no timeout applies. A "
    "blocking call (detach=false) sends progress at least every 30 s, which resets the idle "
    "timeout (CLAUDE_CODE_MCP_TOOL_IDLE_TIMEOUT, 30 min on stdio); the hard limit is "
    'MCP_TOOL_TIMEOUT or the server\'s "timeout" (ms) in .mcp.json.',
    "Cline: each call is cut off after the server's network timeout (default 1 minute, up to "
    '1 hour, "timeout" in seconds in cline_mcp_settings.json): keep detach=true and poll with '
    "orchestrate_tail(wait=30).",
    "Codex: it passes the server only a few environment variables (HOME, PATH, ...): name "
    "the others (LOOPWRIGHT_HOME, API keys) in env_vars of [mcp_servers.loopwright]; "
    "tool_timeout_sec there bounds one call.",
    "Gemini CLI: a call is cut off after the server's timeout (ms; default 10 minutes, "
    "gemini mcp add --timeout): keep detach=true for longer runs.",
    "Cursor and Windsurf: keep calls short: detach=true, then orchestrate_tail(wait=30) or "
    "orchestrate_status; do not use detach=false for long runs.",
]


async def _version(argv: list[str]) -> str:
    """First line of ``argv``'s output, or why not; bounded, stdin /dev/null. A probe of
    loopwright's own, outside any run: the plain runner (short and sync, on a thread)."""

    def probe() -> Completed:
        return PlainRunner().run_sync(argv, cwd=os.getcwd(), timeout=VERSION_TIMEOUT)

    try:
        done = await anyio.to_thread.run_sync(probe)
    except (OSError, ProcessError) as exc:
        return f"cannot run: {getattr(exc.__cause__, 'strerror', None) or exc}"
    if done.timed_out:
        return f"no answer to {argv[-1]} within {VERSION_TIMEOUT:.0f}s"
    text = (done.stdout or done.stderr).decode("utf-8", "replace").strip()
    return text.splitlines()[0][:120] if text else f"exit {done.returncode}"


def _agent_binaries(rows: list[DoctorBackend]) -> None:
    """Each agent CLI's path and version (the backends' own lookup: npm package first,
    then ``--version`` with a short timeout; cached per binary)."""
    from ..backends.agents.presets import PRESETS
    from ..backends.agents.status import version

    for row in rows:
        preset = PRESETS.get(row.name)
        if preset is None:
            continue
        row.binary = shutil.which(preset.program)
        row.binary_version = (
            version(row.binary, row.name) or "version unknown"
            if row.binary
            else f"`{preset.program}` not found on PATH"
        )


def _cwd_checks(cwd: str) -> list[Check]:
    if not os.path.isabs(cwd):
        return [Check(name="cwd", ok=False, detail=f"{cwd!r} is not an absolute path")]
    path = Path(cwd).resolve()
    checks = [Check(name="cwd exists", ok=path.is_dir(), detail=str(path))]
    if path.is_dir():
        writable = os.access(path, os.R_OK | os.W_OK | os.X_OK)
        checks.append(Check(name="cwd writable", ok=writable))
        is_git = (path / ".git").exists() or any((p / ".git").exists() for p in path.parents)
        checks.append(
            Check(
                name="cwd in a git repository",
                ok=is_git,
                detail="" if is_git else "runs checkpoint with git: run git init",
            )
        )
    roots = allowed_roots()
    if roots:
        checks.append(Check(name="cwd inside LOOPWRIGHT_ALLOWED_ROOTS", ok=inside(path, roots)))
    return checks


def _state_checks(home: Path) -> list[Check]:
    probe = home if home.exists() else next((p for p in home.parents if p.exists()), Path("/"))
    ok = os.access(probe, os.W_OK | os.X_OK)
    return [Check(name="state dir writable", ok=ok, detail=str(home))]


async def _ollama_hosts() -> list[Check]:
    """Informational (a machine without Ollama is fine): each host's answer, bounded."""
    from ..backends.discovery import ollama_health

    try:
        rows = await ollama_health(timeout=2.0)
    except Exception as exc:  # a probe must never break doctor
        return [Check(name="ollama hosts", ok=False, detail=f"{type(exc).__name__}: {exc}")]
    return [Check(name=str(r["name"]), ok=bool(r["ok"]), detail=str(r["detail"])) for r in rows]


def _rented_check() -> Check:
    """Whether every rented host still running has a living keeper (else it is paid for
    and nobody will destroy it)."""
    try:
        found = unwatched_warnings()
    except (OSError, ValueError) as exc:
        return Check(name="rented hosts watched", ok=False, detail=f"store unreadable: {exc}")
    detail = "; ".join(found) or "every rented host still running has its keeper"
    return Check(name="rented hosts watched", ok=not found, detail=detail)


async def _orphans_check() -> Check:
    """Whether Vast.ai runs an instance loopwright created but does not know (bounded;
    without VAST_API_KEY nothing is asked)."""
    from ..hosts.vast_orphans import orphan_warnings

    name = "no unknown Vast.ai instances"
    if not os.environ.get("VAST_API_KEY", "").strip():
        return Check(name=name, ok=True, detail="VAST_API_KEY is not set: Vast.ai not asked")
    found = await orphan_warnings()
    detail = "; ".join(found) or "every instance labelled by loopwright is in the store"
    return Check(name=name, ok=not found, detail=detail)


def _sandbox_check() -> Check:
    """Whether bubblewrap confines a command here (a real sandboxed ``true``), and what
    that means for runs given the configured default."""
    name, mode = "sandbox (bubblewrap)", sandbox_default()
    why = sandbox_problem()
    if why is None:
        cap = process_cap_problem()
        detail = f"commands can be confined here; runs default to --sandbox {mode}"
        return Check(name=name, ok=True, detail=f"{detail}; {cap}" if cap else detail)
    fix = f"install bubblewrap ({INSTALL}), or opt out with --sandbox off"
    if mode == "off":
        return Check(name=name, ok=True, detail=f"{why}; runs default to --sandbox off here")
    return Check(
        name=name,
        ok=False,
        detail=f"{why}: runs with --sandbox verify or all (the default: {mode}) are refused; {fix}",
    )


async def report(cwd: str | None) -> DoctorReply:
    from ..backends.registry import list_backends

    found = await anyio.to_thread.run_sync(list_backends)  # may import SDKs or probe
    rows = [DoctorBackend.model_validate(b.as_dict()) for b in found]
    await anyio.to_thread.run_sync(_agent_binaries, rows)
    git = await _version(["git", "--version"]) if shutil.which("git") else "git not found"
    home = state_dir()
    checks = _state_checks(home) + (_cwd_checks(cwd) if cwd else [])
    checks.append(Check(name="git available", ok=shutil.which("git") is not None, detail=git))
    checks.append(await anyio.to_thread.run_sync(_sandbox_check))
    checks.append(await anyio.to_thread.run_sync(_rented_check))
    checks.append(await _orphans_check())
    return DoctorReply(
        ollama_hosts=await _ollama_hosts(),
        versions={
            "python": sys.version.split()[0],
            "loopwright": __version__,
            "mcp": metadata.version("mcp"),
            "git": git,
        },
        state_dir=str(home),
        backends=rows,
        checks=checks,
        credentials={name: bool(os.environ.get(name)) for name in CREDENTIALS},
        allowed_roots=[str(r) for r in allowed_roots()],
        advice=ADVICE,
    )
