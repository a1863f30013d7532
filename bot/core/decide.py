"""Answer or decline: the one place that says why a question was declined."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.analyze import QueryGroup
from bot.core.rank import Ranked

# Share of the question's content (idf-weighted) the best passage must exceed to answer.
MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class Decision:
    """Whether to answer, and how sure the engine is (0-1)."""

    answer: bool
    confidence: float


def decide(groups: list[QueryGroup], ranked: list[Ranked]) -> Decision:
    """Answer when the best passage holds more than half of the question's content."""
    coverage = ranked[0].coverage if ranked else 0.0
    return Decision(bool(ranked) and covers(coverage), round(coverage, 3))


def covers(coverage: float) -> bool:
    """Tell whether a passage holds enough of the question to answer it (more than half)."""
    return coverage > MIN_COVERAGE + 1e-9  # 1e-9: "exactly half" computed in floating point
