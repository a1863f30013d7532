"""Ranking: query groups -> scored passages (BM25 per group's best unit, times coverage).

Only the passages the question's postings touch are scored: each unit's passages are the
intersection of its terms' postings, each group's the union of its units', and the sums run
over the union of the groups' (sorted ids). The arithmetic per passage is the dense one's,
in the same order, so the scores are the same to the bit.
"""

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
    per_group = [_group_best(index, g) for g in groups]
    docs, where = _union([d for d, _ in per_group])
    score = np.zeros(len(docs))
    covered = np.zeros(len(docs))
    for g, (_, best), at in zip(groups, per_group, where, strict=True):
        score[at] += best
        covered[at] += g.weight
    keep = np.flatnonzero(covered > 0)
    docs, score, covered = docs[keep], score[keep], covered[keep]
    coverage = covered / total_weight
    # A passage that holds more of the question beats one that repeats a single word; in a
    # tiny corpus where BM25's idf is 0 for every word, coverage alone still ranks.
    final = score * (COVERAGE_FLOOR + coverage) + 1e-6 * coverage
    if len(final) > 4 * MAX_CANDIDATES:
        kth = np.partition(final, len(final) - MAX_CANDIDATES)[len(final) - MAX_CANDIDATES]
        near = np.flatnonzero(final >= kth)
        docs, final, coverage = docs[near], final[near], coverage[near]
    order = np.lexsort((docs, -final))[:MAX_CANDIDATES]
    return [
        Ranked(d, s, c)
        for d, s, c in zip(
            docs[order].tolist(), final[order].tolist(), coverage[order].tolist(), strict=True
        )
    ]


def _group_best(index: BM25Index, group: QueryGroup) -> tuple[np.ndarray, np.ndarray]:
    """Return the passages holding a whole unit of the group and the best unit score of each."""
    found = [_unit(index, unit, w) for unit, w in zip(group.units, group.unit_weights, strict=True)]
    found = [(d, s) for d, s in found if len(d)]
    if not found:
        return np.zeros(0, dtype=np.int32), np.zeros(0)
    if len(found) == 1:
        docs, scores = found[0]
        return docs, np.maximum(np.zeros(len(docs)), scores)  # no unit scores below 0
    # The best unit per passage: one stable sort of all units' passages, a max per run.
    docs = np.concatenate([d for d, _ in found])
    order = np.argsort(docs, kind="stable")
    docs = docs[order]
    first = np.ones(len(docs), dtype=bool)
    np.not_equal(docs[1:], docs[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    best = np.maximum.reduceat(np.concatenate([s for _, s in found])[order], starts)
    return docs[starts], np.maximum(best, 0.0)


def _unit(index: BM25Index, unit: tuple[str, ...], w: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the passages holding every term of a unit and the unit's BM25 score in each."""
    if len(unit) == 1:  # a word alone: its postings and weights
        docs, weights = index.term_postings(unit[0])
        return docs, weights * w
    postings = [index.term_postings(t) for t in dict.fromkeys(unit)]
    docs = min((d for d, _ in postings), key=len)
    for other, _ in postings:  # phrases count whole
        if other is not docs and len(docs):
            at = np.minimum(np.searchsorted(other, docs), len(other) - 1)
            docs = docs[other[at] == docs] if len(other) else docs[:0]
    score = np.zeros(len(docs))
    for other, weights in postings:
        if len(other) == len(docs):
            score += weights * w
        else:
            score += weights[np.searchsorted(other, docs)] * w
    return docs, score


def _union(parts: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the sorted distinct ids of sorted id arrays, and where each array's ids sit."""
    if len(parts) == 1:
        return parts[0], [np.arange(len(parts[0]))]
    ids = np.concatenate(parts)
    # A stable sort merges the sorted runs (faster than sorting from scratch).
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]
    first = np.ones(len(ids), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    at = np.empty(len(ids), dtype=np.int64)
    at[order] = np.cumsum(first) - 1
    return ordered[first], np.split(at, np.cumsum([len(p) for p in parts[:-1]]))
