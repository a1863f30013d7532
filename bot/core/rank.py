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
        found = _with_light(index, pad, groups, heavy, light) if any(light) else heavy
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
    """Return the passages some unit holds, the sum of their groups' best units, the weight.

    Each group's arrays are its units' passages and scores, a passage at most once per unit;
    a group's light units come as one array, where a passage repeats once per synonym.
    """
    touched: list[np.ndarray] = []
    for g, units in zip(groups, found, strict=True):
        many = len(units) > 1 or len(g.units) > 1  # several units: passages may repeat
        units = [(d, s) for d, s in units if len(d)]
        if not units:
            continue
        if not many:
            ids, best = units[0][0].astype(np.intp), np.maximum(units[0][1], 0.0)  # clip at 0
        else:
            # The best unit per passage: one running max (from 0) in the scratch array.
            ids = np.concatenate([d for d, _ in units]).astype(np.intp, copy=False)
            np.maximum.at(pad.best, ids, np.concatenate([s for _, s in units]))
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


def _with_light(
    index: BM25Index,
    pad: _Scratch,
    groups: list[QueryGroup],
    heavy: list[list[tuple[np.ndarray, np.ndarray]]],
    light: list[list[tuple[str, float]]],
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Add each group's light units to its heavy ones where they can change the top.

    Light units (synonyms) hold many passages but add little: to a group at most its best
    synonym's score. The heavy units alone give a floor (the MAX_CANDIDATES-th best score);
    a passage holding only light units of some groups scores at most their ceiling. The light
    units of the groups that, all together, stay below the floor are looked up only among the
    passages that something else holds; the other groups' light units count everywhere.
    """
    total = sum(g.weight for g in groups)
    lift = [max(0.0, float(index.max_weights(lt).max())) if lt else 0.0 for lt in light]
    order = sorted(
        (g for g, lt in enumerate(light) if lt),
        key=lambda g: _ceiling(groups, [g], lift, total),
    )
    floor = _unit_floor(groups, heavy, total)
    if _ceiling(groups, order, lift, total) >= floor:  # the exact floor: heavy units alone
        _, score, covered = _accumulate(pad, groups, heavy)
        share = covered / total
        final = score * (COVERAGE_FLOOR + share) + 1e-6 * share
        floor = max(floor, _top_floor(final[covered > 0]))
    below = 0
    while below < len(order) and _ceiling(groups, order[: below + 1], lift, total) < floor:
        below += 1
    everywhere = set(order[below:])
    full = _light_merged(index, [lt if g in everywhere else [] for g, lt in enumerate(light)])
    held = [d for units in (*heavy, *full) for d, _ in units]
    for d in held:
        pad.seen[d] = True
    try:
        rest = [lt if g not in everywhere else [] for g, lt in enumerate(light)]
        near = _light_merged(index, rest, pad.seen)
    finally:
        for d in held:
            pad.seen[d] = False
    return [h + f + n for h, f, n in zip(heavy, full, near, strict=True)]


def _ceiling(
    groups: list[QueryGroup], light_groups: list[int], lift: list[float], total: float
) -> float:
    """Return more than the final score of a passage that only these groups' light units hold."""
    best = sum(lift[g] for g in light_groups)
    share = sum(groups[g].weight for g in light_groups) / total
    return (best * (COVERAGE_FLOOR + share) + 1e-6 * share) * (1 + 1e-9) + 1e-12


def _light_merged(
    index: BM25Index, light: list[list[tuple[str, float]]], among: np.ndarray | None = None
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per group, the passages (among some, or all) its light units hold, with their scores."""
    return [[index.weighted_postings(lt, among)] if lt else [] for lt in light]


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
    terms = list(dict.fromkeys(unit))
    docs = min((index.postings(t) for t in terms), key=len)
    for t in terms:  # phrases count whole: the passages that hold every term
        docs = docs[index.holding(t, docs)]
    score = np.zeros(len(docs))
    for t in terms:
        score += index.weights_at(t, docs) * w
    return docs, score
