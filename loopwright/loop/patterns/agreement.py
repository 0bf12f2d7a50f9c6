"""How far apart several answers are: a number loopwright measures, not a model's opinion.

The measure is the mean pairwise **word-set Jaccard distance**: each answer becomes the
set of its lower-cased words (runs of letters and digits), and two answers are
``1 - |A ∩ B| / |A ∪ B|`` apart: 0 when they use the same words, 1 when they share none.
Crude on purpose: it needs no model, costs nothing, is the same on every run, and moves
the right way when answers converge (a debate whose drafts stop changing reaches 0). It
does not see meaning: two answers that say the same thing in other words score high, so
read it as "how differently worded", and the synthesis for what actually differs.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from itertools import combinations

from pydantic import Field

from ..types import Model

MEASURE = "mean pairwise word-set Jaccard distance (0 = same words, 1 = no word shared)"

DEFAULT_CONVERGE_AT = 0.1
"""Drafts this close (mean distance) have converged: they are barely reworded."""

_WORD = re.compile(r"[^\W_]+")


class Pair(Model):
    a: int
    """1-based participant numbers of the two answers."""
    b: int
    distance: float


class Disagreement(Model):
    """The measure over the answers that came back (fewer than two: nothing to compare)."""

    measure: str = MEASURE
    mean: float | None = None
    """None when fewer than two answers came back."""
    max: float | None = None
    pairs: list[Pair] = Field(default_factory=list)


def words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


def distance(a: str, b: str) -> float:
    """``1 - |A ∩ B| / |A ∪ B|`` of the two texts' word sets; two empty texts are 0 apart."""
    wa, wb = words(a), words(b)
    union = wa | wb
    return 0.0 if not union else 1.0 - len(wa & wb) / len(union)


def disagreement(answers: Sequence[tuple[int, str]]) -> Disagreement:
    """The measure over ``answers``, each ``(participant, text)``."""
    pairs = [
        Pair(a=na, b=nb, distance=round(distance(ta, tb), 4))
        for (na, ta), (nb, tb) in combinations(answers, 2)
    ]
    if not pairs:
        return Disagreement()
    values = [p.distance for p in pairs]
    return Disagreement(mean=round(sum(values) / len(values), 4), max=max(values), pairs=pairs)


def medoid(answers: Sequence[tuple[int, str]], among: Collection[int] | None = None) -> int:
    """The participant (of ``among``, default all) whose answer is nearest all the others
    on average, ties to the first: the consensus answer, used to break a tied vote."""
    candidates = [a for a in answers if among is None or a[0] in among]
    if len(answers) == 1:
        return answers[0][0]

    def mean_distance(item: tuple[int, str]) -> float:
        return sum(distance(item[1], t) for n, t in answers if n != item[0]) / (len(answers) - 1)

    return min(candidates, key=mean_distance)[0]
