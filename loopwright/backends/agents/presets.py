"""Headless command lines for each coding-agent CLI (pinned versions in REAL_CLIENTS.md).

A preset turns one request into an ``Invocation``: argv, the bytes for stdin (or None for
/dev/null), fixed environment values and the stream reader to use. Prompts never travel
as one giant argv string: they go by stdin or a file in the call's private temp dir.

Permission modes: a worker gets a safe default that lets the agent edit files in its
working dir (Claude Code ``acceptEdits``, Codex ``--sandbox workspace-write``, Gemini CLI
``auto_edit``, aider edits by design, opencode ``edit: allow``); ``skip_permissions=true``
switches to the CLI's full bypass. A call that may not edit (``may_edit`` false: planner,
reviewer) runs read-only.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from ...errors import UserError
from ..base import AgentRequest

ARGV_PROMPT_MAX = 64 * 1024
"""Longer prompts go by stdin or a file (one argv string dies at 128 KiB)."""
DEFAULT_IDLE = 600.0


@dataclass(frozen=True)
class Options:
    """Spec options after ``?``: ``claude_code:sonnet?skip_permissions=true&idle_timeout=900``."""

    skip_permissions: bool = False
    idle_timeout: float | None = DEFAULT_IDLE
    env: tuple[str, ...] = ()
    """Extra environment variable names passed on to the CLI."""
    args: tuple[str, ...] = ()
    """Extra CLI arguments (shell-quoted in the spec, appended to the preset's)."""


OPTION_NAMES = ("skip_permissions", "idle_timeout", "env", "args")


def parse_options(query: str, field_name: str) -> Options:
    values: dict[str, object] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key == "skip_permissions":
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise UserError(
                    f"{field_name}: skip_permissions={value!r}: use true or false", field_name
                )
            values[key] = value.lower() in ("true", "1", "yes")
        elif key == "idle_timeout":
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if seconds < 0:
                raise UserError(
                    f"{field_name}: idle_timeout={value!r}: seconds >= 0 (0 turns it off)",
                    field_name,
                ) from None
            values[key] = seconds or None
        elif key == "env":
            values[key] = tuple(n for n in value.split(",") if n)
        elif key == "args":
            try:
                values[key] = tuple(shlex.split(value))
            except ValueError as exc:
                raise UserError(f"{field_name}: args={value!r}: {exc}", field_name) from exc
        else:
            raise UserError(
                f"{field_name}: unknown option {key!r}; allowed: {', '.join(OPTION_NAMES)}",
                field_name,
            )
    return Options(**values)  # type: ignore[arg-type]


@dataclass
class Invocation:
    argv: list[str]
    stdin: bytes | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    name: str
    program: str
    reader: str
    install: str
    model_example: str
    build: Callable[[AgentRequest, str, Options, Path], Invocation]


def _write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)
    return str(path)


def _joined(request: AgentRequest) -> str:
    """System prompt and prompt as one message, for CLIs without a system-prompt flag."""
    if not request.system.strip():
        return request.prompt
    return f"{request.system.strip()}\n\n---\n\n{request.prompt}"


def _worker(request: AgentRequest) -> bool:
    """A call that may edit gets the edit permission mode; any other one runs read-only."""
    return request.may_edit


def claude(request: AgentRequest, model: str, opts: Options, tmp: Path) -> Invocation:
    # no session files: a worker's transcript is in its output file, not the user's history
    argv = ["claude", "-p", "--output-format", "stream-json", "--verbose"]
    argv.append("--no-session-persistence")
    if opts.skip_permissions:
        argv.append("--dangerously-skip-permissions")
    else:  # dontAsk: anything not allowed outright is denied, nothing waits for a human
        argv += ["--permission-mode", "acceptEdits" if _worker(request) else "dontAsk"]
    if request.system.strip():
        argv += ["--append-system-prompt-file", _write(tmp, "system.md", request.system)]
    if model:
        argv += ["--model", model]
    return Invocation([*argv, *opts.args], request.prompt.encode())


def codex(request: AgentRequest, model: str, opts: Options, tmp: Path) -> Invocation:
    argv = ["codex", "exec", "--json", "--skip-git-repo-check", "--ephemeral", "--color", "never"]
    if opts.skip_permissions:
        argv.append("--dangerously-bypass-approvals-and-sandbox")
    else:
        argv += ["--sandbox", "workspace-write" if _worker(request) else "read-only"]
    if model:
        argv += ["-m", model]
    argv += [*opts.args, "-"]  # "-": the prompt is read from stdin
    return Invocation(argv, _joined(request).encode())


def git_common_dir(start: str) -> Path | None:
    """The repository's shared git dir for ``start`` (a worktree's points to its main repo)."""
    here = Path(start)
    for folder in (here, *here.parents):
        dotgit = folder / ".git"
        if dotgit.is_dir():
            return dotgit
        if dotgit.is_file():
            text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
            gitdir = (folder / text.removeprefix("gitdir:").strip()).resolve()
            common = gitdir / "commondir"
            if common.is_file():
                return (gitdir / common.read_text(encoding="utf-8").strip()).resolve()
            return gitdir
    return None


def exclude_aider_files(cwd: str) -> bool:
    """Keep aider's caches (``.aider.tags.cache.v4/``) out of checkpoint commits; False
    when ``cwd`` is in no git repository.

    aider would add ``.aider*`` to .gitignore itself, which edits a tracked file; the
    repository's own ``info/exclude`` is the place for a tool's local files."""
    common = git_common_dir(cwd)
    if common is None:
        return False
    exclude = common / "info" / "exclude"
    try:
        text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if ".aider*" not in text.splitlines():
            exclude.parent.mkdir(parents=True, exist_ok=True)
            sep = "" if not text or text.endswith("\n") else "\n"
            exclude.write_text(f"{text}{sep}.aider*\n", encoding="utf-8")
    except OSError:
        pass  # a read-only repository: aider still works, its cache may show as untracked
    return True


def aider(request: AgentRequest, model: str, opts: Options, tmp: Path) -> Invocation:
    in_git = exclude_aider_files(request.cwd)
    argv = [
        "aider", "--message-file", _write(tmp, "message.md", _joined(request)),
        "--yes-always", "--no-check-update", "--analytics-disable", "--no-show-model-warnings",
        "--no-pretty", "--no-fancy-input", "--no-detect-urls", "--no-show-release-notes",
        # the loop makes the checkpoint commits; aider's files stay out of the worktree
        "--no-auto-commits", "--no-dirty-commits", "--no-gitignore",
        "--chat-history-file", str(tmp / "chat.md"), "--input-history-file", str(tmp / "input"),
    ]  # fmt: skip
    if not in_git:  # else aider, told yes to everything, makes a repository here
        argv.append("--no-git")
    if not opts.skip_permissions:  # --yes-always would run whatever command the model suggests
        argv.append("--no-suggest-shell-commands")
    if not _worker(request):
        argv += ["--chat-mode", "ask"]
    if model:
        argv += ["--model", model]
    return Invocation([*argv, *opts.args], None, {"LITELLM_LOCAL_MODEL_COST_MAP": "True"})


def opencode(request: AgentRequest, model: str, opts: Options, tmp: Path) -> Invocation:
    argv = ["opencode", "run", "--format", "json"]
    if model:
        argv += ["-m", model]
    if opts.skip_permissions:
        argv.append("--auto")
    if not _worker(request):
        argv += ["--agent", "plan"]
    argv += opts.args
    message = _joined(request)
    if len(message.encode()) > ARGV_PROMPT_MAX:
        path = _write(tmp, "task.md", message)
        argv += ["-f", path, "Carry out the task in the attached file task.md."]
    else:  # a leading "-" would read as a flag
        argv.append("\n" + message if message.startswith("-") else message)
    env = {}
    if _worker(request) and not os.environ.get("OPENCODE_CONFIG_CONTENT"):
        env["OPENCODE_CONFIG_CONTENT"] = json.dumps({"permission": {"edit": "allow"}})
    return Invocation(argv, None, env)


def gemini(request: AgentRequest, model: str, opts: Options, tmp: Path) -> Invocation:
    # -p is appended to stdin: the task goes by stdin, -p only says to do it now
    argv = ["gemini", "-o", "stream-json", "-p", "Carry out the task above now."]
    if opts.skip_permissions:
        argv.append("--yolo")
    else:
        argv += ["--approval-mode", "auto_edit" if _worker(request) else "plan"]
    if model:
        argv += ["-m", model]
    return Invocation([*argv, *opts.args], _joined(request).encode())


PRESETS: dict[str, Preset] = {
    "claude_code": Preset(
        "claude_code", "claude", "claude",
        "npm install -g @anthropic-ai/claude-code@2.1.330", "claude_code:sonnet", claude,
    ),
    "codex": Preset(
        "codex", "codex", "codex", "npm install -g @openai/codex@0.169.0", "codex:gpt-5.5", codex
    ),
    "aider": Preset(
        "aider", "aider", "aider",
        "pipx install aider-chat==0.86.2 (its own venv: its pins clash with other tools)",
        "aider:ollama_chat/qwen2.5-coder", aider,
    ),
    "opencode": Preset(
        "opencode", "opencode", "opencode", "npm install -g opencode-ai@1.18.33",
        "opencode:anthropic/claude-sonnet-4-5", opencode,
    ),
    "gemini_cli": Preset(
        "gemini_cli", "gemini", "gemini", "npm install -g @google/gemini-cli@0.61.0",
        "gemini_cli:gemini-2.5-pro", gemini,
    ),
}  # fmt: skip
