"""Ranking: query groups -> scored passages (BM25 per group's best unit, times coverage)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.core.analyze import QueryGroup
from bot.core.index import BM25Index

MAX_CANDIDATES = 50
# Ranking multiplies BM25 by (COVERAGE_FLOOR + coverage): coverage decides close calls.
COVERAGE_FLOOR = 0.5


@dataclass(frozen=True)
class Ranked:
    """A candidate passage: its final score and the share of the question it holds."""

    passage: int
    score: float
    coverage: float


def rank(index: BM25Index, groups: list[QueryGroup]) -> list[Ranked]:
    """Score passages: per group the best of its units (BM25 contributions), summed."""
    total_weight = sum(g.weight for g in groups)
    if not total_weight or not any(g.terms for g in groups):
        return []
    n = index.n_docs
    score = np.zeros(n)
    covered = np.zeros(n)
    for g in groups:
        best = np.zeros(n)
        present = np.zeros(n, dtype=bool)
        for unit, w in zip(g.units, g.unit_weights, strict=True):
            whole = np.logical_and.reduce([_has(index, t) for t in unit])  # phrases count whole
            unit_score = np.where(whole, index.scores(dict.fromkeys(unit, w)), 0.0)
            np.maximum(best, unit_score, out=best)
            present |= whole
        score += best
        covered += np.where(present, g.weight, 0.0)
    candidates = np.flatnonzero(covered > 0)
    coverage = covered / total_weight
    # A passage that holds more of the question beats one that repeats a single word; in a
    # tiny corpus where BM25's idf is 0 for every word, coverage alone still ranks.
    final = score * (COVERAGE_FLOOR + coverage) + 1e-6 * coverage
    order = candidates[np.lexsort((candidates, -final[candidates]))][:MAX_CANDIDATES]
    return [Ranked(int(d), float(final[d]), float(coverage[d])) for d in order]


def _has(index: BM25Index, term: str) -> np.ndarray:
    """Return a boolean mask of the passages that contain a term."""
    mask = np.zeros(index.n_docs, dtype=bool)
    mask[index.postings(term)] = True
    return mask
