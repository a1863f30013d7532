"""Ranking: query groups -> scored passages (BM25 per group's best unit, times coverage).

A word's family (paraphrase.py) stands in for the word in the best FAMILY_POOL passages that
lack it (a few binary searches, whatever the postings). Only the passages the question's
postings touch are scored: each unit's passages are the
intersection of its terms' postings; a group's best unit per passage, the sums and the coverage
accumulate in per-thread scratch arrays (zeroed again after each question, never allocated per
question), read back over the touched ids. The arithmetic per passage is the dense one's, in
the same order, so the scores are the same to the bit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from bot.core.analyze import QueryGroup
from bot.core.index import BM25Index

MAX_CANDIDATES = 50
# Ranking multiplies BM25 by (COVERAGE_FLOOR + coverage): coverage decides close calls.
COVERAGE_FLOOR = 0.5
# A one-word unit weighing at most this (a thesaurus synonym) is a light unit.
LIGHT_WEIGHT = 0.25
# Word families (paraphrase.py) stand in for a missing word among this many best passages
# (the candidates without them, and their ties: the light-unit bound keeps exactly these).
FAMILY_POOL = MAX_CANDIDATES
# BM25 parameters of the engine's index (rank-bm25's defaults are k1 1.5, b 0.75). Passages are
# paragraphs cut at ~700 characters, so length matters less than for whole documents. Chosen
# on half of squad-es's articles (ungated hit@1 on that half: 69.9% at 1.5/0.75, 70.8% at
# 0.9/0.3, 0.7/0.3 and 0.5/0.3, 70.7% at 1.2/0.3, 70.5% at 0.7/0.2, 70.4% at 0.9/0.4) and
# measured on the other half: 72.8% -> 73.9% (all 1,354: 71.4% -> 72.5%).
BM25_K1 = 0.9
BM25_B = 0.3


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
    heavy: list[list[tuple[np.ndarray, np.ndarray]]] = []
    light: list[list[tuple[str, float]]] = []
    family: list[list[tuple[str, float]]] = []
    for g in groups:
        units = list(zip(g.units, g.unit_weights, strict=True))
        family.append([(u[0], w) for u, w in units if u in g.family])
        units = [(u, w) for u, w in units if u not in g.family]
        light.append([(u[0], w) for u, w in units if len(u) == 1 and 0 <= w <= LIGHT_WEIGHT])
        heavy.append(
            [_unit(index, u, w) for u, w in units if not (len(u) == 1 and 0 <= w <= LIGHT_WEIGHT)]
        )
    pad = _scratch(index.n_docs)
    try:
        if any(light):
            # Light units (synonyms) hold many passages but can hardly lift one into the top:
            # when the passages the heavy units hold already fill it beyond what light units
            # alone could score, only those passages need the light units (else all do).
            ceiling = _light_ceiling(index, groups, light, total_weight)
            pruned = _unit_floor(groups, heavy, total_weight) > ceiling
            if not pruned:  # the exact floor: what the heavy units alone score
                _, score, covered = _accumulate(pad, groups, heavy)
                share = covered / total_weight
                final = score * (COVERAGE_FLOOR + share) + 1e-6 * share
                pruned = _top_floor(final[covered > 0]) > ceiling
            if pruned:
                for units in heavy:
                    for d, _ in units:
                        pad.seen[d] = True
                merged = _light_merged(index, light, pad.seen)
                for units in heavy:
                    for d, _ in units:
                        pad.seen[d] = False
                found = [h + m for h, m in zip(heavy, merged, strict=True)]
            else:
                found = [
                    h + [_light(index.term_postings(t), w) for t, w in lt]
                    for h, lt in zip(heavy, light, strict=True)
                ]
        else:
            found = heavy
        docs, score, covered = _accumulate(pad, groups, found)
    except BaseException:
        pad.clear()
        raise
    keep = np.flatnonzero(covered > 0)
    docs, score, covered = docs[keep], score[keep], covered[keep]
    coverage = covered / total_weight
    # A passage that holds more of the question beats one that repeats a single word; in a
    # tiny corpus where BM25's idf is 0 for every word, coverage alone still ranks.
    final = score * (COVERAGE_FLOOR + coverage) + 1e-6 * coverage
    pool = len(final) > 4 * MAX_CANDIDATES or (any(family) and len(final) > FAMILY_POOL)
    if pool:  # the best MAX_CANDIDATES (= FAMILY_POOL) and their ties
        kth = np.partition(final, len(final) - MAX_CANDIDATES)[len(final) - MAX_CANDIDATES]
        near = np.flatnonzero(final >= kth)
        docs, final, coverage = docs[near], final[near], coverage[near]
        score, covered = score[near], covered[near]
    if any(family):
        docs, score, covered = _with_families(index, family, groups, docs, score, covered)
        coverage = covered / total_weight
        final = score * (COVERAGE_FLOOR + coverage) + 1e-6 * coverage
    order = np.lexsort((docs, -final))[:MAX_CANDIDATES]
    return [
        Ranked(d, s, c)
        for d, s, c in zip(
            docs[order].tolist(), final[order].tolist(), coverage[order].tolist(), strict=True
        )
    ]


def _with_families(
    index: BM25Index,
    family: list[list[tuple[str, float]]],
    groups: list[QueryGroup],
    docs: np.ndarray,
    score: np.ndarray,
    covered: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Let word families stand in for a missing word in some passages (the best ones).

    In a passage that holds none of a group's units, the group's best family member counts
    (its score and the group's weight); binary searches of the pool, whatever the postings.
    """
    score, covered = score.copy(), covered.copy()
    for g, members in zip(groups, family, strict=True):
        if not members:
            continue
        best = np.zeros(len(docs))
        for t, w in members:
            best = np.maximum(best, index.weights_at(t, docs) * w)
        gain = np.flatnonzero(best > 0)  # usually few: only these need the group's own units
        for unit in g.units:
            if not len(gain):
                break
            if unit not in g.family:
                held = np.logical_and.reduce([index.holding(t, docs[gain]) for t in unit])
                gain = gain[~held]
        score[gain] += best[gain]
        covered[gain] += g.weight
    return docs, score, covered


def _accumulate(
    pad: _Scratch,
    groups: list[QueryGroup],
    found: list[list[tuple[np.ndarray, np.ndarray]]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the passages some unit holds, the sum of their groups' best units, the weight."""
    touched: list[np.ndarray] = []
    for g, units in zip(groups, found, strict=True):
        units = [(d.astype(np.intp), s) for d, s in units if len(d)]
        if not units:
            continue
        if len(units) == 1:
            ids, best = units[0][0], np.maximum(units[0][1], 0.0)  # no unit scores below 0
        else:
            # The best unit per passage: a running max in the scratch array.
            for d, s in units:
                pad.best[d] = np.maximum(pad.best[d], s)
            ids = np.concatenate([d for d, _ in units])
            best = pad.best[ids]
            pad.best[ids] = 0.0
        # `a[ids] += v` with a repeated id adds its v once: the sum over the group's union.
        pad.score[ids] += best
        pad.covered[ids] += g.weight
        touched.append(ids)
    if not touched:
        return np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0)
    ids = np.concatenate(touched) if len(touched) > 1 else touched[0]
    # Distinct ids without a scan of every passage: the last position written for an id wins.
    at = np.arange(len(ids))
    pad.slot[ids] = at
    docs = ids[pad.slot[ids] == at]
    score, covered = pad.score[docs], pad.covered[docs]
    pad.score[docs] = 0.0  # leave the scratch arrays as found: zeros
    pad.covered[docs] = 0.0
    return docs, score, covered


def _top_floor(final: np.ndarray) -> float:
    """Return the MAX_CANDIDATES-th best of some scores (-inf when there are fewer)."""
    if len(final) < MAX_CANDIDATES:
        return -np.inf
    return float(np.partition(final, len(final) - MAX_CANDIDATES)[len(final) - MAX_CANDIDATES])


def _unit_floor(
    groups: list[QueryGroup], heavy: list[list[tuple[np.ndarray, np.ndarray]]], total: float
) -> float:
    """Return at most the MAX_CANDIDATES-th best final score, from one unit's passages alone."""
    floor = -np.inf
    for g, units in zip(groups, heavy, strict=True):
        share = g.weight / total
        for docs, scores in units:
            if len(docs) >= MAX_CANDIDATES and share > 0:
                least = _top_floor(np.maximum(scores, 0.0))  # a passage scores its best unit
                floor = max(floor, least * (COVERAGE_FLOOR + share) + 1e-6 * share)
    return floor


def _light_ceiling(
    index: BM25Index,
    groups: list[QueryGroup],
    light: list[list[tuple[str, float]]],
    total_weight: float,
) -> float:
    """Return more than the final score of any passage that only light units hold."""
    # A group's best unit counts at least 0 (scores below are clipped), so each adds >= 0.
    best = sum(max(0.0, *[w * index.max_weight(t) for t, w in lt]) if lt else 0.0 for lt in light)
    share = sum(g.weight for g, lt in zip(groups, light, strict=True) if lt) / total_weight
    return (best * (COVERAGE_FLOOR + share) + 1e-6 * share) * (1 + 1e-9) + 1e-12


def _light_merged(
    index: BM25Index, light: list[list[tuple[str, float]]], among: np.ndarray
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per group, the passages (among some) a light unit holds and the best light unit's score."""
    flat = [(t, w, g) for g, lt in enumerate(light) for t, w in lt]
    docs, weights, which = index.postings_of([t for t, _, _ in flat], among)
    out: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in light]
    if not len(docs):
        return out
    scores = weights * np.array([w for _, w, _ in flat])[which]
    group = np.array([g for _, _, g in flat], dtype=np.intp)[which]
    order = np.lexsort((docs, group))
    docs, group = docs[order], group[order]
    first = np.ones(len(docs), dtype=bool)
    first[1:] = (docs[1:] != docs[:-1]) | (group[1:] != group[:-1])
    starts = np.flatnonzero(first)
    best = np.maximum.reduceat(scores[order], starts)
    docs, group = docs[starts], group[starts]
    bounds = np.searchsorted(group, np.arange(len(light) + 1))
    for g in range(len(light)):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        if hi > lo:
            out[g].append((docs[lo:hi], best[lo:hi]))
    return out


def _light(postings: tuple[np.ndarray, np.ndarray], w: float) -> tuple[np.ndarray, np.ndarray]:
    """Return a one-term unit's passages and its score in each (as `_unit`)."""
    docs, weights = postings
    return docs, weights * w


class _Scratch:
    """Per-passage accumulators reused across questions (zeros between uses)."""

    def __init__(self, n: int) -> None:
        """Allocate the arrays for n passages."""
        self.n = n
        self.best = np.zeros(n)
        self.score = np.zeros(n)
        self.covered = np.zeros(n)
        self.seen = np.zeros(n, dtype=bool)
        self.slot = np.zeros(n, dtype=np.intp)  # scratch positions: read only where written

    def clear(self) -> None:
        """Zero every array (after an interrupted question)."""
        for a in (self.best, self.score, self.covered, self.seen):
            a.fill(0)


_local = threading.local()


def _scratch(n: int) -> _Scratch:
    """Return this thread's scratch arrays for an index of n passages."""
    pad = getattr(_local, "pad", None)
    if pad is None or pad.n < n:
        pad = _local.pad = _Scratch(n)
    return pad


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
