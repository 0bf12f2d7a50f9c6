"""The gate: verify results, subgoal results and reviewer verdicts decide completion."""

from __future__ import annotations

from typing import Any

from .types import TaskResult, Verdict, VerifyResult
from .vocab import Quorum


def quorum_met(verdicts: list[Verdict], policy: Quorum) -> bool:
    if not verdicts:
        return False
    yes = sum(v.complete for v in verdicts)
    if policy == "all":
        return yes == len(verdicts)
    if policy == "any":
        return yes > 0
    return yes * 2 > len(verdicts)


def gate(
    results: list[TaskResult], verify: list[VerifyResult], verdicts: list[Verdict], policy: Quorum
) -> tuple[bool, list[str]]:
    """(passed, reasons it did not pass)."""
    reasons = []
    failed_verify = [" ".join(v.argv) for v in verify if not v.passed]
    if failed_verify:
        reasons.append(f"verify failed: {', '.join(failed_verify)}")
    failed = [r.title for r in results if r.status != "ok"]
    if failed:
        reasons.append(f"{len(failed)} subgoal(s) failed: {', '.join(failed)}")
    if not quorum_met(verdicts, policy):
        yes = sum(v.complete for v in verdicts)
        reasons.append(f"review: {yes}/{len(verdicts)} say complete (quorum {policy})")
    return not reasons, reasons


def panel_split(verdicts: list[Verdict]) -> dict[str, Any]:
    """How a blind panel's reviewers differed in one iteration (the ``review`` event's
    ``disagreement``): who said complete and who not, and how far apart their scores were.
    ``split`` is true when the panel did not agree on complete."""
    yes = [v.reviewer for v in verdicts if v.complete]
    no = [v.reviewer for v in verdicts if not v.complete]
    scores = [v.score for v in verdicts]
    spread = round(max(scores) - min(scores), 4) if scores else 0.0
    return {"split": bool(yes and no), "complete": yes, "incomplete": no, "score_spread": spread}
