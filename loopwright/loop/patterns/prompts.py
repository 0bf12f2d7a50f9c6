"""The patterns' prompts. Another model's text (an answer, a draft, a delegate's report, a
diff) always goes in a fenced block under loopwright's label (``loop.prompts.render``);
loopwright's own measurements come first. The caller's question or task is the
instruction and stays plain.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...backends.base import JsonSchema
from ..prompts import FENCE_RULE, Parts, Quote
from .agreement import Disagreement

CONSULT_SYSTEM = """You are one of several consultants asked the same question, each on
their own. Answer it yourself: clearly, with your reasoning and the caveats that matter.
Do not edit any file."""

SYNTHESIZER_SYSTEM = f"""You compare independent answers to one question and write a
synthesis in three parts, each headed by its name on its own line:
Agreement: where the answers agree.
Disagreement: where they differ, naming the answers by number.
Synthesis: the best answer you can give from them.
{FENCE_RULE}"""

DEBATER_SYSTEM = f"""You take part in a debate among several models on one question.
Answer in your own words and from your own judgement; change your answer only when an
argument convinces you, never to agree for its own sake. Do not edit any file.
{FENCE_RULE}"""

JUDGE_SYSTEM = f"""You judge the final drafts of a debate. Pick the draft that answers
the question best (correct, complete, clear). Reply with JSON only:
{{"pick": <draft number>, "reason": "..."}}.
{FENCE_RULE}"""

DELEGATE_REVIEWER_SYSTEM = f"""You review work a delegate did for a task. Reply with JSON
only: {{"complete": true|false, "score": 0.0-1.0, "issues": ["..."], "next_steps": ["..."]}}.
complete is true only if the work does the whole task.
{FENCE_RULE}"""

NO_CHANGE = "NO CHANGE"

REVISION: JsonSchema = {
    "title": "revision",
    "type": "object",
    "properties": {
        "critique": {"type": "string", "description": "what is wrong or missing in the drafts"},
        "changed": {"type": "boolean", "description": "false to keep your draft as it is"},
        "answer": {"type": "string", "description": "your full answer after this round"},
    },
    "required": ["critique", "changed", "answer"],
}

PICK: JsonSchema = {
    "title": "pick",
    "type": "object",
    "properties": {
        "pick": {"type": "integer", "minimum": 1},
        "reason": {"type": "string"},
    },
    "required": ["pick", "reason"],
}

Drafts = Sequence[tuple[int, str]]
"""``(participant, text)`` of each draft, participants numbered from 1."""


def consult_prompt(question: str) -> str:
    return f"Question:\n{question}"


def synthesis_prompt(
    question: str, answers: Sequence[tuple[int, str, str]], measured: Disagreement
) -> Parts:
    """``answers`` as ``(participant, spec, text)``."""
    mean = "n/a" if measured.mean is None else f"{measured.mean:.2f}"
    facts = f"Measured by loopwright: {len(answers)} answer(s); their {measured.measure} is {mean}."
    parts: Parts = [facts, f"Question:\n{question}"]
    parts += [Quote(f"Answer {n}, by {spec} (quoted):", text) for n, spec, text in answers]
    parts.append("Write the synthesis: Agreement, Disagreement, Synthesis.")
    return parts


def draft_prompt(question: str) -> str:
    return (
        f"Question:\n{question}\n\nWrite your answer. You will see the other participants' "
        "answers only after this round."
    )


def revision_prompt(question: str, round: int, own: int, drafts: Drafts) -> Parts:
    """What participant ``own`` sees in a revision round: its draft and the others'."""
    mine = next(text for n, text in drafts if n == own)
    parts: Parts = [f"Round {round} of the debate. Question:\n{question}"]
    parts.append(Quote("Your current draft (quoted):", mine))
    parts += [Quote(f"Draft of participant {n} (quoted):", t) for n, t in drafts if n != own]
    parts.append(
        "Critique the other drafts and your own, then revise yours. Reply with JSON only: "
        '{"critique": "...", "changed": true|false, "answer": "your full answer"}. '
        'Set "changed" to false, with your draft as the answer, when nothing convinced you '
        f"to change it (a reply of just {NO_CHANGE} means the same)."
    )
    return parts


def pick_prompt(question: str, drafts: Drafts, voter: int | None = None) -> Parts:
    """The judge's prompt, or a vote's (``voter``: the participant voting)."""
    who = f"You are participant {voter}; vote for the best draft. " if voter else ""
    parts: Parts = [f"Question:\n{question}"]
    parts += [Quote(f"Draft {n} (quoted):", text) for n, text in drafts]
    numbers = ", ".join(str(n) for n, _ in drafts)
    parts.append(f'{who}Reply with JSON only: {{"pick": one of {numbers}, "reason": "..."}}.')
    return parts


def delegate_review_prompt(
    task: str, ok: bool, report: str, error: str | None, patch: str | None
) -> Parts:
    """Measured facts first; then the task, the delegate's report and the changes, fenced."""
    if patch is None:
        changes = "no diff: the work was not done in a git worktree"
    elif not patch:
        changes = "the delegate changed no file"
    else:
        changes = f"the diff below adds {_added(patch)} and removes {_removed(patch)} line(s)"
    facts = [
        "Measured by loopwright:",
        f"- the delegate's call {'succeeded' if ok else 'FAILED'}",
        f"- {changes}",
    ]
    parts: Parts = ["\n".join(facts), Quote("Task (quoted):", task)]
    said = report if ok else f"{error or ''}\n{report}".strip()
    parts.append(Quote(f"The delegate's {'report' if ok else 'error'} (quoted):", said))
    if patch:
        parts.append(Quote("The changes, as a diff from where it began (quoted):", patch))
    return parts


def restarted_task(task: str, changed: int) -> str:
    """The task again, after an attempt that was interrupted with ``changed`` files changed
    (a loopwright fact, not the attempt's words)."""
    return (
        f"{task}\n\n(From loopwright: an earlier attempt at this task was interrupted "
        f"before it finished. The working directory already holds its changes to {changed} "
        "file(s); look at them and go on from there rather than starting over.)"
    )


def _added(patch: str) -> int:
    return sum(
        1 for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++")
    )


def _removed(patch: str) -> int:
    return sum(
        1 for line in patch.splitlines() if line.startswith("-") and not line.startswith("---")
    )
