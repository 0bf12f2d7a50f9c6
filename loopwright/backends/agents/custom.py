"""The ``cli`` backend's command template: any program as a worker.

``cli:TEMPLATE`` is a command line (shell-quoted, never run by a shell) with optional
placeholders, or ``cli:/path/agent.toml`` for more settings::

    cli:my-agent --yes --file {prompt_file}
    cli:my-agent --system {system_file} --task {prompt_file}
    cli:my-agent --headless                 # no file placeholder: the task goes on stdin

``{prompt_file}`` is a file holding the task (with the system prompt in front unless
``{system_file}`` is used too), ``{system_file}`` the system prompt, ``{cwd}`` the working
dir. A TOML file has ``command`` (a string or a list), and optionally ``format`` (``text``,
or ``claude``/``codex``/``opencode``/``gemini``/``aider`` to read a known stream),
``env`` (names of environment variables to pass on) and ``idle_timeout`` (seconds).
"""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ...errors import UserError
from ..base import AgentRequest
from .presets import DEFAULT_IDLE, Invocation, _joined, _write
from .streams import READERS


@dataclass(frozen=True)
class Template:
    command: tuple[str, ...]
    format: str = "text"
    env: tuple[str, ...] = ()
    idle_timeout: float | None = DEFAULT_IDLE
    source: str = ""

    @property
    def program(self) -> str:
        return self.command[0]

    def build(self, request: AgentRequest, tmp: Path) -> Invocation:
        text = " ".join(self.command)
        split = "{system_file}" in text
        task = request.prompt if split else _joined(request)
        values = {"{cwd}": request.cwd}
        if "{prompt_file}" in text:
            values["{prompt_file}"] = _write(tmp, "prompt.md", task)
        if split:
            values["{system_file}"] = _write(tmp, "system.md", request.system)
        argv = []
        for arg in self.command:
            for key, value in values.items():
                arg = arg.replace(key, value)
            argv.append(arg)
        stdin = None if "{prompt_file}" in text else task.encode()
        return Invocation(argv, stdin)


def _fail(field: str, message: str) -> UserError:
    return UserError(f"{field}: {message}", field)


def _split(command: object, field: str) -> tuple[str, ...]:
    if isinstance(command, str):
        try:
            parts = shlex.split(command)
        except ValueError as exc:
            raise _fail(field, f"cli command {command!r} does not parse: {exc}") from exc
    elif isinstance(command, list) and all(isinstance(a, str) for a in command):
        parts = list(command)
    else:
        raise _fail(field, "cli command must be a string or a list of strings")
    if not parts or not parts[0].strip():
        raise _fail(field, "cli needs a command, e.g. cli:'my-agent --task {prompt_file}'")
    return tuple(parts)


def load_template(rest: str, field: str) -> Template:
    """``rest`` is what follows ``cli:``: a command template or a path to a TOML file."""
    rest = rest.strip()
    path = Path(rest).expanduser()
    if rest.endswith(".toml") and " " not in rest:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise _fail(field, f"cli config {rest!r} unreadable: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise _fail(field, f"cli config {rest!r} is not valid TOML: {exc}") from exc
        return _from_table(data, field, str(path.resolve()))
    return Template(_split(rest, field), source=rest)


def _from_table(data: dict[str, object], field: str, source: str) -> Template:
    unknown = set(data) - {"command", "format", "env", "idle_timeout"}
    if unknown:
        raise _fail(field, f"cli config: unknown key(s) {sorted(unknown)}")
    fmt = data.get("format", "text")
    if fmt not in READERS:
        raise _fail(field, f"cli config: format {fmt!r}; allowed: {', '.join(READERS)}")
    env = data.get("env", [])
    if not isinstance(env, list) or not all(isinstance(n, str) for n in env):
        raise _fail(field, "cli config: env must be a list of variable names")
    idle = data.get("idle_timeout", DEFAULT_IDLE)
    if not isinstance(idle, int | float) or idle < 0:
        raise _fail(field, "cli config: idle_timeout must be seconds >= 0 (0: off)")
    return Template(
        _split(data.get("command"), field), str(fmt), tuple(env), float(idle) or None, source
    )
