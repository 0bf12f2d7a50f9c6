"""Coding-agent CLIs as backends: Claude Code, Codex, aider, opencode, Gemini CLI, any program.

Specs: ``claude_code[:model]``, ``codex[:model]``, ``aider[:model]``,
``opencode[:provider/model]``, ``gemini_cli[:model]``, each with optional ``?options``
(``skip_permissions``, ``idle_timeout``, ``env``, ``args``; see ``agent_presets``), and
``cli:TEMPLATE`` for any other program (see ``agent_template``).

Each call runs the CLI headless in the request's working dir, in its own process group,
with an allowlisted environment (``agent_env``), streams its output to the worker's output
file and its tool uses, edits, commands and messages to the run's events, and judges
success from the stream (``agent_streams``), never from the exit code alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ...errors import ProcessError, UserError
from ...process.env import agent_env
from ...process.runner import Piece, PlainRunner, ProcessResult, ProcessRunner
from ..base import AgentRequest, AgentResponse, Capabilities, Usage
from ..spec import Spec
from ..usage_limits import reset_note
from .common import Outcome, Reporter, StreamReader
from .custom import Template, load_template
from .presets import PRESETS, Invocation, Options, Preset, parse_options
from .status import infos as infos
from .status import preflight
from .streams import READERS

__all__ = ["CliAgent", "check", "create", "infos"]

PROCESS_CAP = 16 * 1024
"""What the runner keeps in memory: the readers see every line, the file gets it all."""
LINE_MAX = 4 * 1024 * 1024
"""One stream-json event may be long (a tool result with a whole file); held whole up to this."""
_IDLE = (
    "{} printed nothing for {:g} s and was stopped "
    "(idle timeout; change it with the spec option idle_timeout=SECONDS)"
)
_SLOW = "{} did not finish within {:g} s and was stopped"


class CliAgent:
    """One preset (or template) bound to a model and options.

    No constrained output: a ``response_schema`` is ignored, the prompt asks for the
    shape and the caller repairs."""

    capabilities = Capabilities(tools=True, streaming=True, edits_files=True)

    def __init__(
        self,
        spec: str,
        *,
        preset: Preset | None = None,
        model: str = "",
        options: Options | None = None,
        template: Template | None = None,
        runner: ProcessRunner | None = None,
    ) -> None:
        self.spec = spec
        self.preset = preset
        self.model = model
        self.options = options or Options()
        self.template = template
        self.runner = runner or PlainRunner()
        """Starts the CLI (the run's runner; the plain one when none is given)."""
        if preset is not None:
            self.name, self.program, self.reader = preset.name, preset.program, preset.reader
            self.idle_timeout = self.options.idle_timeout
        elif template is not None:
            self.name, self.program, self.reader = "cli", template.program, template.format
            self.idle_timeout = template.idle_timeout
        else:
            raise UserError("a CLI backend needs a preset or a template", "backend")

    def _invocation(self, request: AgentRequest, tmp: Path) -> Invocation:
        if self.preset is not None:
            return self.preset.build(request, self.model, self.options, tmp)
        assert self.template is not None
        return self.template.build(request, tmp)

    def _env(self, invocation: Invocation, tmp: Path) -> dict[str, str]:
        extra = self.options.env if self.preset else (self.template.env if self.template else ())
        fixed = {**invocation.env, "TMPDIR": str(tmp)}
        return agent_env(self.name, model=self.model, extra=extra, fixed=fixed)

    async def run(self, request: AgentRequest) -> AgentResponse:
        started = time.monotonic()
        out = request.output
        program = shutil.which(self.program)
        blocked = _missing(self.program, self.preset) if program is None else None
        blocked = blocked or preflight(self.name, os.environ)
        if program is None or blocked:
            return self._failed(str(blocked), started, out)
        reader = READERS[self.reader](Reporter(request.emit))
        reader.denials_fail = request.may_edit
        if self.template is not None:
            reader.name = Path(self.program).name

        def on_line(line: str) -> None:
            if out is not None:  # a piece of a long line: the line goes on in the next
                out.write(line if isinstance(line, Piece) else line + "\n")
            reader.feed(line)

        try:
            result = await self._spawn(program, request, on_line)
        except ProcessError as exc:
            return self._failed(f"{self.name}: {exc}", started, out)
        outcome = self._judged(reader, result, request.timeout)
        duration = time.monotonic() - started
        self._model_call(request, outcome, duration)
        return AgentResponse(
            text=outcome.text,
            ok=outcome.ok,
            error=None if outcome.ok else outcome.error,
            usage=Usage(outcome.input_tokens, outcome.output_tokens, outcome.cost_usd),
            duration=duration,
            output_path=out.path if out is not None else None,
            usage_limit=None if outcome.ok else outcome.usage_limit,
        )

    def _judged(self, reader: StreamReader, result: ProcessResult, timeout: float) -> Outcome:
        """A CLI we stopped failed whatever it printed; a usage limit says when it resets."""
        outcome = reader.finish(None if result.timed_out else result.exit_code)
        if result.idle_timed_out or result.timed_out:
            outcome.ok, outcome.usage_limit = False, None
        if result.idle_timed_out:
            outcome.error = _IDLE.format(self.name, self.idle_timeout)
        elif result.timed_out:
            outcome.error = _SLOW.format(self.name, timeout)
        elif outcome.usage_limit is not None:
            limit = outcome.usage_limit
            when = reset_note(limit.resume_at)
            outcome.error = f"{self.name} usage limit, {when}: {limit.message}"
        return outcome

    async def _spawn(
        self, program: str, request: AgentRequest, on_line: Callable[[str], None]
    ) -> ProcessResult:
        """Run the CLI in the request's cwd with a private temp dir, removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="loopwright-agent-") as tmp:
            invocation = self._invocation(request, Path(tmp))
            return await self.runner.run(
                [program, *invocation.argv[1:]],
                cwd=request.cwd,
                timeout=request.timeout,
                env=self._env(invocation, Path(tmp)),
                stdin=invocation.stdin,
                on_line=on_line,
                cap=PROCESS_CAP,
                idle_timeout=self.idle_timeout,
                max_line=LINE_MAX,
            )

    def _model_call(self, request: AgentRequest, outcome: Outcome, duration: float) -> None:
        if request.emit is None:
            return
        request.emit(
            "model_call",
            {
                "provider": self.name,
                "model": self.model or outcome.model or "default",
                "input_tokens": outcome.input_tokens,
                "output_tokens": outcome.output_tokens,
                "cost_usd": outcome.cost_usd,
                "latency": round(duration, 3),
                "turns": outcome.turns,
                "files_edited": outcome.edits[:50],
                "ok": outcome.ok,
            },
        )

    def _failed(self, error: str, started: float, out: object) -> AgentResponse:
        path = getattr(out, "path", None)
        duration = time.monotonic() - started
        return AgentResponse("", False, error, Usage(0, 0, 0.0), duration, path)


def _missing(program: str, preset: Preset | None) -> str:
    fix = f"install it: {preset.install}" if preset else "install it or fix the cli command"
    return f"{program!r} is not on PATH; {fix} (loopwright looks it up on its own PATH)"


def _split_model(spec: Spec, field: str) -> tuple[str, Options]:
    if spec.host:
        raise UserError(
            f"{field}: {spec.provider} runs on this machine; '@{spec.host}' is not supported",
            field,
        )
    model, _, query = spec.model.partition("?")
    options = parse_options(query, field)
    if spec.provider == "opencode" and model and "/" not in model:
        raise UserError(
            f"{field}: opencode models are provider/model, "
            "e.g. opencode:anthropic/claude-sonnet-4-5",
            field,
        )
    return model.strip(), options


def check(spec: Spec, field: str) -> str:
    """Validate ``spec`` without side effects; the program must be on PATH."""
    if spec.provider == "cli":
        template = load_template(spec.model, field)
        if shutil.which(template.program) is None:
            raise UserError(f"{field}: {_missing(template.program, None)}", field)
        return f"cli:{template.source}"
    preset = PRESETS.get(spec.provider)
    if preset is None:
        raise UserError(f"{field}: unknown coding-agent CLI {spec.provider!r}", field)
    model, _ = _split_model(spec, field)
    if shutil.which(preset.program) is None:
        raise UserError(f"{field}: {_missing(preset.program, preset)}", field)
    query = spec.model.partition("?")[2]
    if query:
        return f"{spec.provider}:{model}?{query}"
    return f"{spec.provider}:{model}" if model else spec.provider


def create(spec: Spec, *, runner: ProcessRunner | None = None) -> CliAgent:
    normalised = check(spec, "backend")
    if spec.provider == "cli":
        template = load_template(spec.model, "backend")
        return CliAgent(normalised, template=template, runner=runner)
    model, options = _split_model(spec, "backend")
    preset = PRESETS[spec.provider]
    return CliAgent(normalised, preset=preset, model=model, options=options, runner=runner)
