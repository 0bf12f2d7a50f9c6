"""Patterns: the ways models work together beside the loop, each an async function over
backends (passed in), an event sink and a budget, so each runs as a run.

- ``consult``: one question to several backends in parallel; attributed answers, their
  measured disagreement, an optional synthesis.
- ``delegate``: a task to one backend, reviewed by the caller's backend.
- ``debate``: blind drafts, bounded rounds of critique and revision, a judge or a vote.

A resumed run hands delegate and debate its log (``Earlier``): what it holds is not asked
again.
"""

from __future__ import annotations

from .agreement import Disagreement, disagreement
from .common import (
    Exchange,
    PatternContext,
    PatternOptions,
    PatternResult,
    context,
    pattern_context,
    run_pattern,
)
from .consult import ConsultResult, consult
from .debate import DebateResult, Pick, Round, debate
from .delegate import DelegateResult, DelegateWorkspace, delegate
from .earlier import Earlier

__all__ = [
    "ConsultResult",
    "DebateResult",
    "DelegateResult",
    "DelegateWorkspace",
    "Disagreement",
    "Earlier",
    "Exchange",
    "PatternContext",
    "PatternOptions",
    "PatternResult",
    "Pick",
    "Round",
    "consult",
    "context",
    "debate",
    "delegate",
    "disagreement",
    "pattern_context",
    "run_pattern",
]
