"""A ``loopwright chat`` session as a run of its own (``pattern`` ``chat``).

The session's process owns the run, as a run host owns a detached run: status
``running`` with this pid, every message, reply and pattern exchange an event of its
log, so ``status``, ``tail`` (``-f`` too) and ``cancel`` work on it. ``/quit`` ends it
``completed`` (``stopped`` after a budget stop) with a result; ``ChatSession.reopen``
takes it up again from its events (a ``resumed`` event, ``running`` again), since a
conversation can always go on. ``/consult``, ``/delegate`` and ``/debate`` run the
patterns inside the session: their exchanges are the session's events, their calls
count in the session's budget.

Budget: calls, tokens and known cost count across the whole session (and across its
reopenings); time is per exchange (``--timeout``), since a session mostly waits for
its person.

Sandbox: as a pattern run's (``sandbox`` and ``allow_network`` of its request, kept when
it is reopened): with ``all`` every backend's programs (agent CLIs, a scripted reply's
``run``) are confined by bubblewrap; ``verify`` and ``off`` leave them unconfined (a chat
has no verify commands). A session whose sandbox bubblewrap cannot give here is refused
before anything is created or taken up again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anyio

from ..backends.base import Backend, OutputWriter
from ..backends.registry import create_backend
from ..config import sandbox_default
from ..errors import BudgetExceeded, InvalidState
from ..loop.budget import BudgetTracker
from ..loop.events import EventSink
from ..loop.patterns import PatternResult, consult, debate, delegate
from ..loop.patterns.chat import Conversation, reply, summary
from ..loop.patterns.common import Exchange, PatternContext
from ..loop.types import LoopConfig, RunResult, UsageTotals
from ..loop.vocab import LIVE_STATES, EventType, RunState, SandboxMode
from ..process.runner import ProcessRunner
from .defaults import with_defaults
from .eventlog import read_events
from .pattern_request import check_backend, check_panel
from .preflight import check_sandbox
from .recorder import RunRecorder
from .request import RunRequest, check_budget, check_cwd, check_one_of
from .runner import create_run, refresh
from .startup import begin, run_runner
from .store import RunStore

OnEvent = Callable[[EventType, dict[str, Any]], None]
SESSION_SECONDS = 7 * 86400
"""A session's ``max_seconds``: its time is counted per exchange, not in total."""
RESUME_OPT_OUT = "a new chat with --sandbox off (a resumed chat keeps its sandbox)"


def build_chat_request(
    model: str | None,
    cwd: str,
    budget: dict[str, Any] | None = None,
    timeout: float | None = None,
    sandbox: str | None = None,
    allow_network: bool = False,
) -> RunRequest:
    """A chat session's request: ``model`` first (None: the config files' ``run.backend``,
    else ``scripted``), in ``cwd`` (where agent CLIs run, read only); ``budget``:
    ``max_agent_calls``, ``max_tokens``, ``max_cost_usd`` (None: the config's, else the
    built-in limits). ``sandbox`` None: as a pattern run's, ``LOOPWRIGHT_SANDBOX``, else
    the config's ``run.sandbox``, else ``verify``."""
    cwd = check_cwd(cwd)
    given = with_defaults(cwd, {"backend": model, "budget": budget or {}, "sandbox": sandbox})
    spec = check_backend(str(given.get("backend", "scripted")), "model")
    mode = str(given.get("sandbox") or sandbox_default())
    check_one_of("sandbox", mode, SandboxMode)
    limits = check_budget(**{**given["budget"], "max_seconds": SESSION_SECONDS})
    config: dict[str, Any] = {"goal": f"chat with {spec}", "cwd": cwd, "budget": limits}
    if timeout is not None:
        config["worker_timeout"] = timeout
    loop = LoopConfig(**config)
    return RunRequest(loop=loop, planner=spec, workers=[spec], reviewers=[], isolate=False,
                      pattern="chat", sandbox=mode, allow_network=allow_network)  # fmt: skip


class ShowingSink:
    """The run's recorder, with each event also seen by the conversation (``see``) and
    shown to the person (``on_event``)."""

    def __init__(self, recorder: RunRecorder, see: OnEvent) -> None:
        self.recorder = recorder
        self.see = see
        self.on_event: OnEvent | None = None

    def emit(self, type: EventType, iteration: int, data: dict[str, Any]) -> int:
        seq = self.recorder.emit(type, iteration, data)
        self.see(type, data)
        if self.on_event is not None:
            self.on_event(type, data)
        return seq

    def phase(self, phase: str, iteration: int, usage: UsageTotals) -> None:
        self.recorder.phase(phase, iteration, usage)

    def open_output(self, name: str) -> OutputWriter | None:
        return None

    def kept_output(self, name: str) -> str | None:
        return None

    def paused(self, resume_at: float | None) -> None:
        pass


class ChatSession:
    """One chat session's run: what was said, the model in use, the budget left."""

    def __init__(self, store: RunStore, run_id: str, recorder: RunRecorder) -> None:
        self.store, self.run_id = store, run_id
        self.request = RunRequest.model_validate(store.read_request(run_id))
        events = read_events(store.paths(run_id).events, None, 1_000_000).events
        self.talk = Conversation.of(events, self.request.workers[0])
        self.sink = ShowingSink(recorder, self.talk.see)
        self.usage = UsageTotals.from_dict(recorder.status.get("usage") or {})
        self.stop_reason = ""
        self.cancelled_by = "person"
        """Who cancels an exchange under way (its ``cancelled`` event's ``by``)."""
        self._backends: dict[str, Backend] = {}

    @classmethod
    def open(cls, store: RunStore, request: RunRequest) -> ChatSession:
        """A new session (its run created and taken by this process); refused, nothing
        created, when its sandbox cannot work here."""
        check_sandbox(request)
        run_id = create_run(store, request)
        return cls(store, run_id, begin(store, run_id, resume=False))

    @classmethod
    def reopen(cls, store: RunStore, run_id: str) -> ChatSession:
        """An earlier session taken up again, with its sandbox: refused when it is no
        chat, another process has it open, or its sandbox cannot work here."""
        request = store.read_request(run_id)
        if request.get("pattern") != "chat":
            raise InvalidState(f"run {run_id} is not a chat session", "resume")
        check_sandbox(RunRequest.model_validate(request), RESUME_OPT_OUT)
        status = refresh(store, run_id)  # a session whose process died: interrupted
        if status["state"] in LIVE_STATES:
            raise InvalidState(
                f"chat {run_id} is open in process {status.get('pid')}; quit it there first",
                "resume",
            )
        return cls(store, run_id, begin(store, run_id, resume=True))

    # --- what the REPL asks ------------------------------------------------------------
    @property
    def model(self) -> str:
        return self.talk.model

    def backend(self, spec: str) -> Backend:
        """The backend of ``spec``, made once per session (its state, e.g. a scripted
        queue, lasts as long as the session)."""
        spec = check_backend(spec, "model")
        if spec not in self._backends:
            self._backends[spec] = create_backend(spec, runner=self._runner(spec))
        return self._backends[spec]

    def switch(self, spec: str, line: str) -> str:
        """Talk to ``spec`` from now on (checked first: an unknown spec changes nothing)."""
        spec = self.backend(spec).spec
        self._command("model", spec, line)
        return spec

    async def say(self, text: str, on_text: Callable[[str], None] | None = None) -> Exchange:
        """The person's ``text`` to the model in use, with the conversation so far."""
        backend = self.backend(self.model)
        ctx = self._context()
        try:
            answer = await reply(ctx, backend, list(self.talk.turns), text, on_text)
        except BudgetExceeded as exc:
            self._budget_stop(exc)
            raise
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                self._emit("cancelled", {"by": self.cancelled_by, "step": "reply",
                                        "spec": backend.spec})  # fmt: skip
                self._progress()
            raise
        self._progress()
        return answer

    async def pattern(self, name: str, specs: Sequence[str], text: str, line: str) -> PatternResult:
        """``/consult``, ``/debate`` (``specs``: the panel) or ``/delegate`` (one spec; the
        model in use reviews, and nothing is edited) inside the session."""
        specs = check_panel("debate" if name == "debate" else "consult", list(specs), "models")
        backends = [self.backend(s) for s in specs]
        ctx = self._context()
        try:
            if name == "consult":
                result: PatternResult = await consult(text, backends, ctx=ctx)
            elif name == "debate":
                result = await debate(text, backends, ctx=ctx)
            else:
                reviewer = self.backend(self.model)
                result = await delegate(text, backends[0], reviewer=reviewer, may_edit=False,
                                        ctx=ctx)  # fmt: skip
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                self._emit("cancelled", {"by": self.cancelled_by, "step": name})
                self._progress()
            raise
        if result.state == "stopped" and result.stop_reason.startswith("budget"):
            self.stop_reason = result.stop_reason
        by = f"{name} of {', '.join(specs)}"
        self._command(name, ",".join(specs), line, state=result.state, by=by,
                      summary=summary(result))  # fmt: skip
        return result

    def close(self, cancelled: bool = False, reason: str = "the person quit") -> RunResult:
        """End the session: ``run_finished``, the result, ``completed`` for ``reason``
        (``stopped`` when a budget stopped an exchange; ``cancelled`` when ``loopwright
        cancel`` ended it)."""
        state: RunState = (
            "cancelled" if cancelled else "stopped" if self.stop_reason else "completed"
        )
        reason = "cancelled" if cancelled else self.stop_reason or reason
        turns = sum(1 for s in self.talk.turns if s.speaker == "you")
        result = RunResult(
            run_id=self.run_id, state=state, stop_reason=reason, iterations=0,
            summary=f"chat {state}: {turns} message(s), last model {self.model}",
            usage=self.usage, cwd=self.request.loop.cwd,
            extra={"pattern": "chat", "model": self.model},
        )  # fmt: skip
        recorder = self.sink.recorder
        usage = self.usage.as_dict()
        self._emit("run_finished", {"state": state, "stop_reason": reason, "usage": usage,
                                    "summary": result.summary})  # fmt: skip
        self.store.write_result(self.run_id, result)
        recorder.set_state(state, phase="done", usage=usage, error=None)
        recorder.close()
        return result

    def spent(self) -> dict[str, UsageTotals]:
        """Calls, tokens and known cost of every exchange of the session, per spec."""
        per: dict[str, UsageTotals] = {}
        for event in read_events(self.store.paths(self.run_id).events, None, 1_000_000).events:
            if event["type"] != "exchange":
                continue
            d = event["data"]
            u = per.setdefault(str(d.get("spec")), UsageTotals())
            u.agent_calls += 1
            u.input_tokens += int(d.get("input_tokens") or 0)
            u.output_tokens += int(d.get("output_tokens") or 0)
            if d.get("cost_usd") is None:
                u.unknown_cost_calls += 1
            else:
                u.cost_usd += float(d["cost_usd"])
        return per

    # --- inside ------------------------------------------------------------------------
    def _runner(self, spec: str) -> ProcessRunner:
        """What starts ``spec``'s programs: a run's backend runner for the session's
        sandbox, with ``spec``'s login files when it is confined."""
        r = self.request
        return run_runner({"sandbox": r.sandbox, "allow_network": r.allow_network,
                           "workers": [spec]}).backends  # fmt: skip

    def _context(self) -> PatternContext:
        """A context per exchange: the session's usage, this exchange's time."""
        budget = BudgetTracker(self.request.loop.budget, self.usage)
        sink: EventSink = self.sink
        return PatternContext(sink, budget, self.request.loop.cwd, self.request.loop.worker_timeout)

    def _emit(self, type: EventType, data: dict[str, Any]) -> None:
        self.sink.emit(type, 0, data)

    def _command(self, name: str, args: str, line: str, **more: Any) -> None:
        data = {"name": name, "args": args, "line": line, **more}
        self._emit("command", data)
        self._progress()

    def _budget_stop(self, exc: BudgetExceeded) -> None:
        self.stop_reason = f"budget: {exc}"
        self._emit("budget_exhausted", {"limit": exc.limit, "message": str(exc)})
        self._progress()

    def _progress(self) -> None:
        self.sink.recorder.phase("chat", 0, self.usage)
        self.sink.recorder.flush()
