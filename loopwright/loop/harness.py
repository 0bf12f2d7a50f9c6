"""The harness: intake -> plan -> work -> verify -> review -> decide, repeated.

Control flow, budgets, retries and the gate live here; model judgement lives in the
backends and the prompt templates of ``prompts``. The harness reports through an
``EventSink`` and never touches the run directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio

from ..backends.base import (
    AgentRequest,
    AgentResponse,
    Backend,
    JsonSchema,
    Purpose,
    ReviewFacts,
    WorkItem,
)
from ..errors import BudgetExceeded, LoopwrightError, PlanError, UserError, unwrapped
from ..hosts.routing import PerformanceSource
from ..process.runner import PlainRunner, ProcessRunner
from . import prompts as P
from . import roles as R
from . import schemas
from .budget import BudgetTracker
from .events import EventSink
from .history import Refs, iteration_event, verify_event
from .pause import PauseGate, through_limits
from .recall import Memory, Recollection
from .review import gate, panel_split
from .route import Router
from .types import (
    KEEP_HISTORY,
    IterationRecord,
    LoopConfig,
    LoopState,
    Question,
    RunResult,
    Subgoal,
    TaskResult,
    Verdict,
    VerifyResult,
)
from .verify import run_verify
from .vocab import EventType, RunState, backend_event
from .work import run_subgoals
from .workspace import LoopWorkspace

T = TypeVar("T")


@dataclass
class Roles:
    """The backend bound to each role. The clarifier defaults to the planner."""

    planner: Backend
    workers: list[Backend]
    reviewers: list[Backend]
    clarifier: Backend | None = None
    specialists: dict[str, Backend] = field(default_factory=dict)
    """Tag -> the backend that does the subgoals the plan tags so (``route``)."""


class Harness:
    def __init__(
        self,
        config: LoopConfig,
        roles: Roles,
        sink: EventSink,
        state: LoopState | None = None,
        workspace: LoopWorkspace | None = None,
        pauses: PauseGate | None = None,
        runner: ProcessRunner | None = None,
        performance: PerformanceSource | None = None,
        memory: Memory | None = None,
    ) -> None:
        if not roles.workers or not roles.reviewers:
            raise UserError("at least one worker and one reviewer backend are needed", "roles")
        self.config = config
        self.roles = roles
        self.sink = sink
        self.state = state or LoopState()
        self.workspace = workspace
        self.budget = BudgetTracker(config.budget, self.state.usage, self.state.elapsed)
        self.pauses = pauses or PauseGate(sink)
        self.runner = runner or PlainRunner()
        """Starts the verify commands (the run's runner; the plain one when none is given)."""
        self.router = Router(
            config, roles.workers, performance, lambda m: self._emit("warning", {"message": m}),
            roles.specialists,
        )  # fmt: skip
        """Which worker takes each subgoal, from the card ``performance`` gives."""
        self.recollection = Recollection(memory, lambda t, d: self._emit(t, d))
        """Lessons of past runs for the clarifier and planner (none without ``memory``)."""
        self._last_seq: dict[str, int] = {}
        """The seq of the latest event of each type (``iteration_finished`` refers to them)."""

    @property
    def criteria(self) -> list[str]:
        return self.state.criteria or []

    # --- the loop -------------------------------------------------------------------
    async def run(self) -> RunResult:
        try:
            if not await self._intake():
                return self._result("needs_input", "clarifying questions need answers")
            while True:
                iteration = self.state.iterations + 1
                self.budget.check_before_iteration(iteration)
                with self.budget.limits():  # max_seconds, and max_cost_usd while holding
                    record = await self._iteration(iteration)
                self.state.iterations = iteration
                self.state.history = [*self.state.history[1 - KEEP_HISTORY :], record]
                if record.passed:
                    return self._result("completed", "success criteria met")
        except BudgetExceeded as exc:
            self._emit("budget_exhausted", {"limit": exc.limit, "message": str(exc)})
            return self._result("stopped", f"budget: {exc}")
        except LoopwrightError as exc:
            self._emit("error", {"message": str(exc), "kind": type(exc).__name__})
            return self._result("failed", str(exc), error=str(exc))

    async def _iteration(self, iteration: int) -> IterationRecord:
        c, ws = self.config, self.workspace
        if ws is not None:
            await ws.begin_iteration(iteration)
        subgoals = await self._plan(iteration)
        self._phase("work", iteration)
        dirs = await ws.subgoal_dirs(iteration, subgoals) if ws is not None else {}
        finished: dict[str, int] = {}
        worked = results = await run_subgoals(self, iteration, subgoals, dirs, finished)
        if ws is not None and dirs:
            results = await ws.merge_subgoals(iteration, worked)
        self._phase("verify", iteration)
        self._emit("verify_started", {"commands": c.verify_commands}, iteration)
        verify = await run_verify(
            c.verify_commands, c.cwd, c.verify_timeout, self.runner, c.verify_env
        )
        self._emit("verify_finished", verify_event(verify), iteration)
        if self.router.wants_outcomes():
            outcomes = self.router.outcomes(subgoals, results, verify)
            self._emit("outcomes", {"subgoals": outcomes}, iteration)
        self._phase("review", iteration)
        verdicts = await self._review(iteration, results, verify)
        passed, reasons = gate(results, verify, verdicts, c.review_quorum)
        record = IterationRecord(
            iteration=iteration,
            subgoals=subgoals,
            results=results,
            verify=verify,
            verdicts=verdicts,
            passed=passed,
        )
        self._phase("decide", iteration)
        seqs = self._last_seq
        refs = Refs(seqs["plan"], finished, seqs["verify_finished"], seqs["review"])
        data = iteration_event(record, reasons, refs, worked)
        self._emit("iteration_finished", data, iteration)
        if ws is not None:
            subject = "criteria met" if passed else "; ".join(reasons)
            await ws.checkpoint(iteration, subject, "complete" if passed else "incomplete")
        return record

    # --- phases ---------------------------------------------------------------------
    async def _intake(self) -> bool:
        """Settle criteria and questions. False when the run must wait for answers."""
        st, c = self.state, self.config
        if st.criteria is not None:
            return not (st.questions and not st.answers and c.questions != "auto")
        criteria, questions = list(c.success_criteria), list[Question]()
        if not criteria or c.questions != "auto":
            self._phase("intake", 0)
            clarifier = self.roles.clarifier or self.roles.planner
            prompt = P.clarifier_prompt(c.goal, criteria) + await self._lessons()
            try:
                drafted, questions = await self._ask_json(
                    clarifier, "clarify", P.CLARIFIER_SYSTEM, prompt, 0, R.parse_intake,
                    schemas.INTAKE,
                )  # fmt: skip
            except PlanError as exc:
                self._emit("warning", {"message": f"intake failed, going on without it: {exc}"})
                drafted = []
            criteria = criteria or drafted or [f"The goal is achieved: {c.goal[:300]}"]
        st.criteria = criteria
        st.questions = questions
        self._emit("intake", {"criteria": criteria, "drafted": not c.success_criteria})
        if not questions:
            return True
        self._emit("questions", {"questions": [q.model_dump() for q in questions]})
        if c.questions == "auto":
            st.answers = {q.id: q.default or "use your best judgement" for q in questions}
            self._emit("answers", {"answers": st.answers, "assumed": True})
            return True
        return False

    async def _plan(self, iteration: int) -> list[Subgoal]:
        self._phase("plan", iteration)
        c, st = self.config, self.state
        extra_system, card = self.router.planner_extra()
        system = P.planner_system(c.max_subgoals) + extra_system
        prompt = P.planner_prompt(c.goal, self.criteria, st.answers, st.history)
        prompt += await self._lessons()
        prompt = [card, *prompt] if card else prompt  # measured by loopwright: first
        workers = list(self.router.by_spec) if self.router.active else None
        subgoals = await self._ask_json(
            self.roles.planner,
            "plan",
            system,
            prompt,
            iteration,
            lambda text: R.parse_plan(text, c.max_subgoals),
            schemas.plan(c.max_subgoals, workers, self.router.tags()),
        )
        subgoals = self.router.check(subgoals)
        self._emit("plan", {"subgoals": [s.model_dump() for s in subgoals]}, iteration)
        return subgoals

    async def _lessons(self) -> P.Parts:
        return [*await self.recollection.parts(self.config.goal, self.config.success_criteria)]

    async def _review(
        self, iteration: int, results: list[TaskResult], verify: list[VerifyResult]
    ) -> list[Verdict]:
        changed = await self.workspace.changed_files() if self.workspace else None
        prompt = P.reviewer_prompt(self.config.goal, self.criteria, results, verify, changed)
        facts = ReviewFacts(
            verify_passed=all(v.passed for v in verify),
            verify_failed=tuple(" ".join(v.argv) for v in verify if not v.passed),
            subgoals_failed=tuple(r.title for r in results if r.status != "ok"),
        )
        verdicts: list[Verdict | None] = [None] * len(self.roles.reviewers)

        async def one(n: int, backend: Backend) -> None:
            try:
                verdicts[n] = await self._ask_json(
                    backend,
                    "review",
                    P.REVIEWER_SYSTEM,
                    prompt,
                    iteration,
                    lambda text: R.parse_verdict(text, backend.spec),
                    schemas.VERDICT,
                    facts,
                )
            except PlanError as exc:
                verdicts[n] = Verdict(complete=False, issues=[str(exc)], reviewer=backend.spec)

        # Always a task group, even for one reviewer: a budget stop raised inside comes
        # out of ``unwrapped()`` as itself whatever the number of reviewers.
        with unwrapped():
            async with anyio.create_task_group() as tg:
                for n, backend in enumerate(self.roles.reviewers):
                    tg.start_soon(one, n, backend)
        done = [v for v in verdicts if v is not None]
        data = {"verdicts": [v.model_dump() for v in done], "quorum": self.config.review_quorum,
                "disagreement": panel_split(done)}  # fmt: skip
        self._emit("review", data, iteration)
        return done

    # --- calls ----------------------------------------------------------------------
    async def call(
        self,
        backend: Backend,
        purpose: Purpose,
        system: str,
        prompt: str,
        iteration: int,
        *,
        may_edit: bool = False,
        schema: JsonSchema | None = None,
        work: WorkItem | None = None,
        facts: ReviewFacts | None = None,
        output_name: str | None = None,
        cwd: str | None = None,
    ) -> AgentResponse:
        """One budgeted backend call. Backend exceptions become a failed response."""
        self.budget.start_call()
        output = self.sink.open_output(output_name) if output_name else None
        timeout = max(0.001, min(self.config.worker_timeout, self.budget.remaining_seconds()))
        request = AgentRequest(
            purpose,
            system,
            prompt,
            cwd or self.config.cwd,
            timeout,
            emit=self.budget.through(
                lambda type, data: self._emit(backend_event(type), data, iteration)
            ),
            output=output,
            may_edit=may_edit,
            response_schema=schema,
            tokens_left=self._tokens_left(),
            cost_left=self.config.budget.max_cost_usd - self.state.usage.cost_usd,
            iteration=iteration,
            work=work,
            facts=facts,
        )
        started = time.monotonic()
        try:
            # a usage limit pauses the run until it resets, then the same call runs again
            response = await through_limits(backend, request, self.pauses, self.budget, iteration)
        except (UserError, BudgetExceeded):
            raise
        except Exception as exc:  # a backend bug must not crash the loop
            response = AgentResponse(text="", ok=False, error=f"{type(exc).__name__}: {exc}")
        finally:
            if output is not None:
                output.close()
        response.duration = response.duration or time.monotonic() - started
        if output is not None and response.output_path is None:
            response.output_path = output.path
        self.budget.record(response.usage)
        return response

    def _tokens_left(self) -> int:
        """For backends that loop inside one call (API tool loops) to stay in budget."""
        return self.config.budget.max_tokens - self.state.usage.tokens

    async def _ask_json(
        self,
        backend: Backend,
        purpose: Purpose,
        system: str,
        prompt: P.Parts,
        iteration: int,
        parse: Callable[[str], T],
        schema: JsonSchema,
        facts: ReviewFacts | None = None,
    ) -> T:
        """Call with ``prompt`` rendered (its untrusted text fenced) and ``schema`` as the
        response schema (APIs with constrained output keep to it), parse; on a bad reply
        ask once for a repair, then raise ``PlanError``."""
        response = await self.call(
            backend, purpose, system, P.render(prompt), iteration, schema=schema, facts=facts
        )
        problem = _problem(response, parse)
        if isinstance(problem, str):
            repair = P.render(P.repair_prompt(prompt, response.text, problem))
            response = await self.call(
                backend, purpose, system, repair, iteration, schema=schema, facts=facts
            )
            problem = _problem(response, parse)
            if isinstance(problem, str):
                raise PlanError(
                    f"{R.ROLE_NAMES[purpose]} ({backend.spec}) gave no usable reply after one "
                    f"repair: {problem}; it said {R.quote(response.text)}"
                )
        value: T = problem.value
        return value

    # --- reporting ------------------------------------------------------------------
    def _emit(self, type: EventType, data: dict[str, Any], iteration: int | None = None) -> None:
        it = self.state.iterations if iteration is None else iteration
        self._last_seq[type] = self.sink.emit(type, it, data)

    def _phase(self, phase: str, iteration: int) -> None:
        self.sink.phase(phase, iteration, self.state.usage)

    def _result(self, state: RunState, reason: str, error: str | None = None) -> RunResult:
        for ended in self.budget.release():  # the run's end releases the hosts it held
            self._emit("host_released", ended.event())
        h = self.state.history
        last = h[-1] if h else None
        questions: list[Question] = self.state.questions if state == "needs_input" else []
        return RunResult(
            state=state,
            stop_reason=reason,
            iterations=self.state.iterations,
            criteria=self.criteria,
            summary=summary_line(state, reason, self.state.iterations),
            last_results=last.results if last else [],
            verify=last.verify if last else [],
            verdicts=last.verdicts if last else [],
            questions=questions,
            usage=self.state.usage,
            duration=round(self.budget.elapsed(), 3),
            error=error,
            cwd=self.config.cwd,
        )


@dataclass
class _Parsed:
    value: Any


def _problem(response: AgentResponse, parse: Callable[[str], Any]) -> _Parsed | str:
    if not response.ok:
        return f"the call failed: {response.error or 'no reason given'}"
    try:
        return _Parsed(parse(response.text))
    except ValueError as exc:
        return str(exc)


def summary_line(state: str, reason: str, iterations: int) -> str:
    """The one-line summary of a run's end (also used for ends outside the harness)."""
    return f"{state} after {iterations} iteration(s): {reason}"
