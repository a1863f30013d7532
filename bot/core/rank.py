"""Ranking: query groups -> scored passages (BM25 per group's best unit, times coverage).

A passage scores, per group of the question, the best of the group's units it holds (BM25
contributions), summed in group order, times (COVERAGE_FLOOR + the share of the question's
weight whose groups it holds). Only the best MAX_CANDIDATES passages (and their ties) come out.

Exact pruning (MaxScore): each group's units form two lists, its heavy units (the word, its
glossary senses) and its light ones (thesaurus synonyms), each with a bound on what it adds to a
passage (the highest weight of its terms). The passages of the rarest heavy lists, with every
other heavy list looked up there, give a floor: the MAX_CANDIDATES-th best of their scores so
far. The lists whose passages cannot reach the floor on their own, all together, are not
scanned: their passages come from the other lists, and a candidate is looked up in them only
while its bound (what it holds plus what those lists could still add) reaches the floor.
Partial scores are sums with some terms smaller, so they never exceed the final ones (floating
point addition is monotonic); the passages that remain are scored as the dense ranking scored
them, group by group in the same order, so their scores are the same to the bit.

A word's family (paraphrase.py) stands in for the word in the best FAMILY_POOL passages that
lack it (a few binary searches, whatever the postings).

When `_topk.c` is compiled (by the install, where a C compiler is found) it finds the best
passages instead of `_candidates`, document at a time over the postings (MaxScore), without a
numpy call per step: the same passages and scores to the bit (tests compare both with the
dense ranking); numpy's path stays for tiny corpora with negative scores and as the fallback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import chain, repeat
from typing import NamedTuple

import numpy as np

from bot.core.analyze import QueryGroup
from bot.core.index import BM25Index

try:
    from bot.core import _topk
except ImportError:  # not built (no C compiler at install time): numpy's path alone
    _topk = None

COMPILED = _topk is not None
_compiled_on = True  # numpy_only() turns it off for a while
_MAX_GROUPS = 64  # a bit per group (_topk.c)
_NO_IDS = np.zeros(0, dtype=np.int64)
_NO_SCORES = np.zeros(0)

MAX_CANDIDATES = 50
# Ranking multiplies BM25 by (COVERAGE_FLOOR + coverage): coverage decides close calls.
COVERAGE_FLOOR = 0.5
# A one-word unit weighing at most this (a thesaurus synonym) is a light unit.
LIGHT_WEIGHT = 0.25
# Word families (paraphrase.py) stand in for a missing word among this many best passages
# (the candidates without them, and their ties).
FAMILY_POOL = MAX_CANDIDATES
# BM25 parameters of the engine's index (rank-bm25's defaults are k1 1.5, b 0.75). Passages are
# paragraphs cut at ~700 characters, so length matters less than for whole documents. Chosen
# on half of squad-es's articles (ungated hit@1 on that half: 69.9% at 1.5/0.75, 70.8% at
# 0.9/0.3, 0.7/0.3 and 0.5/0.3, 70.7% at 1.2/0.3, 70.5% at 0.7/0.2, 70.4% at 0.9/0.4) and
# measured on the other half: 72.8% -> 73.9% (all 1,354: 71.4% -> 72.5%).
BM25_K1 = 0.9
BM25_B = 0.3
# A question whose terms have at least this many postings is ranked in two halves of the
# passages walked side by side (_topk.c; the same passages and scores); 0: never. The bench's
# 1,000 questions alternated with the walk in one piece: at 1M passages ranking p95 2.76 ->
# 1.76 ms and Engine.ask p95 3.84 -> 3.39; at 100k no change at this bar, and a lower one costs
# (starting a thread takes 40-80 us here: from 20,000 postings on, Engine.ask p50 0.70 -> 0.84).
SPLIT_POSTINGS = 65536
# The rarest heavy lists, up to this many postings (at least one list), give the first floor
# (at 1M passages, p50/p95 of rank: 4096 -> 3.1/13.9 ms, 1024 -> 2.9/12.7 ms).
SEED_POSTINGS = 1024
# ... and at least this many, or too few passages give no floor and every list is scanned.
SEED_MIN_POSTINGS = 4 * MAX_CANDIDATES
# When more postings than this are left to scan, the floor is refined: the best REFINE_PASSAGES
# of the seeds' passages get their synonyms looked up too.
REFINE_POSTINGS = 100_000
REFINE_PASSAGES = 256
# A one-word unit is looked up among the candidates by a binary search per candidate or by one
# scan of its postings against a mark per candidate (with the other units scanned), whichever
# costs less: on numpy 2, a search costs about SEARCH_KEY per candidate plus SEARCH_CALL, a scan
# SCAN_START plus SCAN_POSTING per posting (microseconds; SEARCH_CALL 5, 10, 20, 40 gave rank
# p50 0.87, 0.81, 0.80, 0.79 ms at 100k passages: a search's call costs more than it seems).
SEARCH_CALL = 20.0
SEARCH_KEY = 0.025
SCAN_START = 20.0
SCAN_POSTING = 0.009


class Ranked(NamedTuple):
    """A candidate passage: its final score and the share of the question it holds (a
    tuple: fifty are made per question, three times faster than a frozen dataclass)."""

    passage: int
    score: float
    coverage: float


# A Ranked from a (passage, score, coverage) tuple without the namedtuple's own __new__, a
# Python function: fifty in 7 instead of 11 us.
_ranked = partial(tuple.__new__, Ranked)


@dataclass(frozen=True)
class _List:
    """Some units of one group: what they add to a passage at most, and their postings."""

    group: int
    units: tuple[tuple[tuple[str, ...], float], ...]
    light: bool  # one-word units: looked up all at once
    bound: float
    size: int
    sizes: tuple[int, ...]  # postings of each unit (of a phrase: its rarest term's)


def ranking_line() -> str:
    """Return which ranking runs, for `check` and the benchmark."""
    if COMPILED:
        return "Ranking: compiled (bot/core/_topk.c, MaxScore document at a time)"
    return (
        "Ranking: numpy (bot/core/_topk.c not built: no C compiler at install; "
        "the same answers, slower on large folders)"
    )


def rank(index: BM25Index, groups: list[QueryGroup]) -> list[Ranked]:
    """Score passages: per group the best of its units (BM25 contributions), summed.

    The compiled path where it is built and applies, numpy's otherwise (or within
    `numpy_only()`); both give the same passages and scores.
    """
    total = sum(g.weight for g in groups)
    if not total or not any(g.terms for g in groups):
        return []
    if _compiled_on and _topk is not None and _fits_compiled(index, groups):
        return _rank_compiled(index, groups, total)
    lists, family = _lists(index, groups)
    with _scratch(index.n_docs) as pad:
        docs, best, held, pruned = _candidates(index, pad, groups, lists, total)
    score, covered = _sums(groups, best, held, len(docs))
    keep = np.flatnonzero(covered > 0)
    docs, score, covered = docs[keep], score[keep], covered[keep]
    held = _take(held, keep)
    coverage = covered / total
    # A passage that holds more of the question beats one that repeats a single word; in a
    # tiny corpus where BM25's idf is 0 for every word, coverage alone still ranks.
    final = _final(score, coverage)
    # Pruned passages scored below the MAX_CANDIDATES-th best: there were more than that.
    pool = pruned or len(final) > 4 * MAX_CANDIDATES or (any(family) and len(final) > FAMILY_POOL)
    if pool and len(final) > MAX_CANDIDATES:  # the best MAX_CANDIDATES (= FAMILY_POOL), ties
        kth = np.partition(final, len(final) - MAX_CANDIDATES)[len(final) - MAX_CANDIDATES]
        near = np.flatnonzero(final >= kth)
        docs, final, coverage = docs[near], final[near], coverage[near]
        score, covered = score[near], covered[near]
        held = _take(held, near)
    if any(family):
        score, covered = _with_families(index, family, groups, docs, score, covered, held)
        coverage = covered / total
        final = _final(score, coverage)
    return _best(docs, final, coverage)


def _best(docs: np.ndarray, final: np.ndarray, coverage: np.ndarray) -> list[Ranked]:
    """Return the MAX_CANDIDATES best passages, best first (ties: the lower id first)."""
    order = np.lexsort((docs, -final))[:MAX_CANDIDATES]
    return [
        Ranked(d, s, c)
        for d, s, c in zip(
            docs[order].tolist(), final[order].tolist(), coverage[order].tolist(), strict=True
        )
    ]


@contextmanager
def numpy_only() -> Iterator[None]:
    """Rank with numpy's path meanwhile, in every thread (the tests' and the benchmark's
    reference)."""
    global _compiled_on
    _compiled_on = False
    try:
        yield
    finally:
        _compiled_on = True


def _fits_compiled(index: BM25Index, groups: list[QueryGroup]) -> bool:
    """Tell whether the compiled path applies: scores and weights at least 0, 64 groups."""
    return index.nonnegative and len(groups) <= _MAX_GROUPS and all(g.nonnegative for g in groups)


class _Terms(NamedTuple):
    """A group's units as the compiled ranking takes them, in the order of the units."""

    words: list[int]  # the index's term ids of its one-word units (not its family)
    factors: list[float]
    kin: list[int]  # of its family members
    kin_factors: list[float]
    phrases: list[tuple[tuple[str, ...], float]]  # its units of several words


def _terms_in(index: BM25Index, group: QueryGroup) -> _Terms:
    """Return a group's units looked up in an index, kept with the group (the analyzer keeps a
    word's group, and "pasó" has 69 units)."""
    kept = group.memo.get("rank")
    if isinstance(kept, tuple) and kept[0] is index:
        return kept[1]
    term_id = index.vocab.get
    out = _Terms([], [], [], [], [])
    kin = group.family
    for u, w in zip(group.units, group.unit_weights, strict=True):
        if len(u) > 1 and u not in kin:
            out.phrases.append((u, w))
            continue
        tid = term_id(u[0])
        if tid is None:
            continue
        if u in kin:
            out.kin.append(tid)
            out.kin_factors.append(w)
        else:
            out.words.append(tid)
            out.factors.append(w)
    group.memo["rank"] = (index, out)
    return out


def _rank_compiled(index: BM25Index, groups: list[QueryGroup], total: float) -> list[Ranked]:
    """Rank as `rank` does: the best passages found by _topk.c, then finished there (families
    added, final scores, the best first)."""
    assert _topk is not None
    spec: list[int] = []  # per term: group, kind (0: a word's postings, 1: a phrase), where
    factors: list[float] = []
    phrase_docs: list[np.ndarray] = []
    phrase_scores: list[np.ndarray] = []
    phrase_starts = [0]
    family: list[int] = []  # per family member: group, term id (groups in order)
    family_factors: list[float] = []
    for n, g in enumerate(groups):
        terms = _terms_in(index, g)
        spec += chain.from_iterable(zip(repeat(n), repeat(0), terms.words))
        factors += terms.factors
        family += chain.from_iterable(zip(repeat(n), terms.kin))
        family_factors += terms.kin_factors
        for u, w in terms.phrases:
            docs, scores = _unit(index, u, w)
            if len(docs):
                spec += (n, 1, len(phrase_docs))
                factors.append(1.0)
                phrase_docs.append(docs.astype(np.int64))
                phrase_scores.append(scores)
                phrase_starts.append(phrase_starts[-1] + len(docs))
    weights = np.asarray([g.weight for g in groups], dtype=np.float64)
    found = _topk.best_passages(
        index.offsets,
        index.packed,
        index.max_weights,
        np.asarray(spec, dtype=np.int64),
        np.asarray(factors, dtype=np.float64),
        np.asarray(phrase_starts, dtype=np.int64),
        np.concatenate(phrase_docs) if phrase_docs else _NO_IDS,
        np.concatenate(phrase_scores) if phrase_scores else _NO_SCORES,
        weights,
        float(total),
        COVERAGE_FLOOR,
        MAX_CANDIDATES,
        LIGHT_WEIGHT,
        index.n_docs,
        SPLIT_POSTINGS,
    )
    # The best passages and their ties are the family's pool (FAMILY_POOL = MAX_CANDIDATES).
    docs, final, coverage = _topk.finish(
        index.offsets,
        index.packed,
        *found,
        np.asarray(family, dtype=np.int64),
        np.asarray(family_factors, dtype=np.float64),
        weights,
        float(total),
        COVERAGE_FLOOR,
        MAX_CANDIDATES,
    )
    found = zip(
        np.frombuffer(docs, dtype=np.int64).tolist(),
        np.frombuffer(final).tolist(),
        np.frombuffer(coverage).tolist(),
        strict=True,
    )
    return list(map(_ranked, found))


def score_passages(index: BM25Index, groups: list[QueryGroup], passages: list[int]) -> list[Ranked]:
    """Score some distinct passages as `rank` scores them (the same sums: the same floats),
    whatever their rank; in the order given."""
    total = sum(g.weight for g in groups)
    docs = np.asarray(passages, dtype=np.intp)
    if not total or not len(docs):
        return [Ranked(p, 0.0, 0.0) for p in passages]
    lists, family = _lists(index, groups)
    best: list[np.ndarray | None] = [None] * len(groups)
    held: list[np.ndarray | None] = [None] * len(groups)
    with _scratch(index.n_docs) as pad:
        for x in lists:
            _add(best, held, x.group, _lookup(index, pad, x, docs))
    score, covered = _sums(groups, best, held, len(docs))
    if any(family):
        score, covered = _with_families(index, family, groups, docs, score, covered, held)
    coverage = covered / total
    final = _final(score, coverage)
    return [
        Ranked(d, s, c)
        for d, s, c in zip(docs.tolist(), final.tolist(), coverage.tolist(), strict=True)
    ]


def _lists(
    index: BM25Index, groups: list[QueryGroup]
) -> tuple[list[_List], list[list[tuple[str, float]]]]:
    """Split each group's units into its heavy and light lists (bounded) and its family."""
    lists: list[_List] = []
    family: list[list[tuple[str, float]]] = []
    # Every term's bound and count in one look-up (a question's groups hold hundreds of units).
    every = list(dict.fromkeys(t for g in groups for u in g.units for t in u))
    all_tops, all_counts = index.term_bounds(every)
    bounds = dict(zip(every, zip(all_tops.tolist(), all_counts.tolist(), strict=True), strict=True))
    for n, g in enumerate(groups):
        heavy: list[tuple[tuple[str, ...], float]] = []
        light_terms: list[str] = []
        light_weights: list[float] = []
        family.append([])
        for u, w in zip(g.units, g.unit_weights, strict=True):
            if u in g.family:
                family[-1].append((u[0], w))
            elif len(u) == 1 and 0 <= w <= LIGHT_WEIGHT:
                light_terms.append(u[0])
                light_weights.append(w)
            else:
                heavy.append((u, w))
        bound, sizes, found = 0.0, [], []
        for u, w in heavy:
            terms = tuple(dict.fromkeys(u))
            tops, counts = _bounds_of(bounds, terms)
            if not counts.all():
                continue  # a term no passage has: the unit holds nothing
            found.append((terms, w))
            # What the unit adds: its terms' weights times w (a phrase: their sum).
            bound = max(bound, float((tops * w).sum()) if w >= 0 else np.inf)
            sizes.append(int(counts.min()))
        if found:
            lists.append(_List(n, tuple(found), False, bound, sum(sizes), tuple(sizes)))
        if light_terms:
            tops, counts = _bounds_of(bounds, light_terms)
            there = counts > 0
            if there.any():
                units = tuple(
                    ((t,), w)
                    for t, w, ok in zip(light_terms, light_weights, there.tolist(), strict=True)
                    if ok
                )
                bound = float((tops * np.asarray(light_weights)).max())
                sizes = tuple(counts[there].tolist())
                lists.append(_List(n, units, True, bound, sum(sizes), sizes))
    return lists, family


def _bounds_of(
    bounds: dict[str, tuple[float, int]], terms: tuple[str, ...] | list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Return the terms' bounds and posting counts, as arrays (from _lists' one look-up)."""
    return np.asarray([bounds[t][0] for t in terms]), np.asarray([bounds[t][1] for t in terms])


def _final(score: np.ndarray | float, share: np.ndarray | float) -> np.ndarray | float:
    """Return the final score of passages from their BM25 sums and the share they hold."""
    return score * (COVERAGE_FLOOR + share) + 1e-6 * share


def _take(arrays: list[np.ndarray | None], at: np.ndarray) -> list[np.ndarray | None]:
    """Return each group's array at some candidates (None stays None: the group holds none)."""
    return [a[at] if a is not None else None for a in arrays]


def _ceiling(bound: np.ndarray | float, share: np.ndarray | float) -> np.ndarray | float:
    """Return more than the final score of a passage adding at most `bound` over `share`."""
    return _final(bound, share) * (1 + 1e-9) + 1e-12


def _candidates(
    index: BM25Index,
    pad: _Scratch,
    groups: list[QueryGroup],
    lists: list[_List],
    total: float,
) -> tuple[np.ndarray, list[np.ndarray | None], list[np.ndarray | None], bool]:
    """Return the passages that may reach the top, each group's best unit there, and if held.

    The last value tells whether passages were left out (they score below the top).
    """
    weights = [g.weight for g in groups]
    floor = -np.inf
    seeds: list[_List] = []
    done: set[int] = set()  # the lists counted in best and held
    safe = index.nonnegative and all(w >= 0 for w in weights)
    if safe and sum(lst.size for lst in lists) > MAX_CANDIDATES:
        for lst in sorted((x for x in lists if not x.light), key=lambda x: x.size):
            held = sum(x.size for x in seeds)
            if held >= SEED_MIN_POSTINGS and held + lst.size > SEED_POSTINGS:
                break
            seeds.append(lst)
        docs, best, held = _scatter(index, pad, groups, seeds)
        done = {id(x) for x in seeds}
        if len(docs) >= MAX_CANDIDATES:
            # The seeds' passages with every heavy list: the best passages hold several words.
            for x in lists:
                if not x.light and id(x) not in done:
                    _add(best, held, x.group, _lookup(index, pad, x, docs))
                    done.add(id(x))
            floor = _floor(groups, best, held, len(docs), total)
    skipped = _skippable(lists, weights, total, floor)
    if seeds and sum(x.size for x in lists) - sum(x.size for x in skipped) > REFINE_POSTINGS:
        # Much to scan: the seeds' best passages with their synonyms too raise the floor.
        floor = max(floor, _refined_floor(index, groups, lists, docs, best, held, total))
        skipped = _skippable(lists, weights, total, floor)
    left = {id(x) for x in skipped}
    scanned = [x for x in lists if id(x) not in left]
    if not seeds or not {id(x) for x in scanned} <= {id(x) for x in seeds}:
        docs, best, held = _scatter(index, pad, groups, scanned)
        done = {id(x) for x in scanned}
    rest = sorted((x for x in lists if id(x) not in done), key=lambda x: -x.bound)
    for k, x in enumerate(rest):
        if len(docs) > MAX_CANDIDATES:
            near, floor = _prune(groups, best, held, len(docs), rest[k:], floor, total)
            if len(near) < len(docs):
                docs = docs[near]
                best, held = _take(best, near), _take(held, near)
        _add(best, held, x.group, _lookup(index, pad, x, docs))
    return docs, best, held, bool(skipped)


def _add(
    best: list[np.ndarray | None],
    held: list[np.ndarray | None],
    g: int,
    found: tuple[np.ndarray, np.ndarray],
) -> None:
    """Count a list's best unit and holding in its group's (the best of both, either held)."""
    b, h = found
    best[g] = b if best[g] is None else np.maximum(best[g], b)
    held[g] = h if held[g] is None else held[g] | h


def _refined_floor(
    index: BM25Index,
    groups: list[QueryGroup],
    lists: list[_List],
    docs: np.ndarray,
    best: list[np.ndarray | None],
    held: list[np.ndarray | None],
    total: float,
) -> float:
    """Return the floor of the seeds' passages with their light lists looked up at the best few.

    The best REFINE_PASSAGES passages by their heavy lists get every list counted (a binary
    search per word); the others keep their heavy lists' scores (below their own).
    """
    score, covered = _sums(groups, best, held, len(docs))
    final = _final(score, covered / total)
    if len(final) <= REFINE_PASSAGES:
        top = np.arange(len(final))
    else:
        top = np.argpartition(final, len(final) - REFINE_PASSAGES)[-REFINE_PASSAGES:]
    at = docs[top]
    best, held = _take(best, top), _take(held, top)
    for x in lists:
        if x.light:
            _add(best, held, x.group, index.best_at([(u[0], w) for u, w in x.units], at))
    score[top], covered[top] = _sums(groups, best, held, len(at))
    return _floor_of(score, covered, total)


def _skippable(lists: list[_List], weights: list[float], total: float, floor: float) -> list[_List]:
    """Return lists whose passages, holding nothing else, stay below the floor: not scanned.

    The longest first, while all together stay below it: a passage that only they hold adds
    per group at most its lists' highest bound, and the weight of those groups.
    """
    skipped: list[_List] = []
    top: dict[int, float] = {}
    for lst in sorted(lists, key=lambda x: -x.size):
        tried = {**top, lst.group: max(top.get(lst.group, 0.0), lst.bound)}
        share = sum(weights[g] for g in tried) / total
        if _ceiling(sum(tried.values()), share) < floor:
            skipped.append(lst)
            top = tried
    return skipped


def _prune(
    groups: list[QueryGroup],
    best: list[np.ndarray | None],
    held: list[np.ndarray | None],
    n: int,
    rest: list[_List],
    floor: float,
    total: float,
) -> tuple[np.ndarray, float]:
    """Return which candidates may still reach the floor (raised by them) if `rest` is added.

    A group's contribution is its best unit: a list can raise it to the list's bound at most,
    and adds the group's weight only where the group is not held yet.
    """
    score, covered = _sums(groups, best, held, n)
    floor = max(floor, _floor_of(score, covered, total))
    top: dict[int, float] = {}
    for x in rest:
        top[x.group] = max(top.get(x.group, 0.0), x.bound)
    for g, add in top.items():
        b, h = best[g], held[g]
        if b is None or h is None:
            score = score + add
            covered = covered + groups[g].weight
        else:
            score = score + np.maximum(add - b, 0.0)
            covered = covered + np.where(h, 0.0, groups[g].weight)
    return np.flatnonzero(_ceiling(score, covered / total) >= floor), floor


def _floor(
    groups: list[QueryGroup],
    best: list[np.ndarray | None],
    held: list[np.ndarray | None],
    n: int,
    total: float,
) -> float:
    """Return at most the MAX_CANDIDATES-th best final score, from some groups' units alone.

    A passage's score adds its groups' contributions in group order, each at least what some
    of its units give: the same sums with some terms smaller are no larger (floating point
    addition is monotonic), so these scores are below the passages' own.
    """
    if n < MAX_CANDIDATES:
        return -np.inf
    return _floor_of(*_sums(groups, best, held, n), total)


def _floor_of(score: np.ndarray, covered: np.ndarray, total: float) -> float:
    """Return the MAX_CANDIDATES-th best final score of some passages (-inf: fewer)."""
    some = covered > 0
    final = _final(score[some], covered[some] / total)
    if len(final) < MAX_CANDIDATES:
        return -np.inf
    return float(np.partition(final, len(final) - MAX_CANDIDATES)[len(final) - MAX_CANDIDATES])


def _sums(
    groups: list[QueryGroup],
    best: list[np.ndarray | None],
    held: list[np.ndarray | None],
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Add the groups' contributions and weights in group order (as the dense ranking did)."""
    score = np.zeros(n)
    covered = np.zeros(n)
    for g, b, h in zip(groups, best, held, strict=True):
        if h is None:
            continue
        score += b  # 0 where the group is absent: adding 0.0 changes no sum
        covered += np.where(h, g.weight, 0.0)
    return score, covered


def _postings(index: BM25Index, lst: _List) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return the passages of a list's units, each unit's score there, and if they are distinct."""
    if lst.light:
        docs, scores = index.weighted_postings([(u[0], w) for u, w in lst.units])
        return docs, scores, len(lst.units) == 1
    if len(lst.units) == 1:
        docs, scores = _unit(index, *lst.units[0])
        return docs, scores, True
    # Words all at once (years standing for "año" are a thousand units), phrases one by one.
    found = [index.weighted_postings([(u[0], w) for u, w in lst.units if len(u) == 1])]
    found += [_unit(index, u, w) for u, w in lst.units if len(u) > 1]
    return np.concatenate([d for d, _ in found]), np.concatenate([s for _, s in found]), False


def _scatter(
    index: BM25Index, pad: _Scratch, groups: list[QueryGroup], lists: list[_List]
) -> tuple[np.ndarray, list[np.ndarray | None], list[np.ndarray | None]]:
    """Return the passages some list holds, each group's best unit there (from 0), and if held."""
    per_group: list[list[tuple[np.ndarray, np.ndarray, bool]]] = [[] for _ in groups]
    for lst in lists:
        found = _postings(index, lst)
        if len(found[0]):
            per_group[lst.group].append(found)
    touched = [d for found in per_group for d, _, _ in found]
    best: list[np.ndarray | None] = [None] * len(groups)
    held: list[np.ndarray | None] = [None] * len(groups)
    if not touched:
        return np.zeros(0, dtype=np.intp), best, held
    ids = (np.concatenate(touched) if len(touched) > 1 else touched[0]).astype(np.intp, copy=False)
    # Distinct ids without a scan of every passage: the last position written for an id wins.
    at = np.arange(len(ids))
    pad.slot[ids] = at
    docs = ids[pad.slot[ids] == at]
    pad.slot[docs] = np.arange(len(docs))  # each passage's place among the candidates
    for g, found in enumerate(per_group):
        if not found:
            continue
        if len(found) == 1:
            gid, vals, distinct = found[0]
        else:
            gid = np.concatenate([d for d, _, _ in found])
            vals = np.concatenate([s for _, s, _ in found])
            distinct = False
        where = pad.slot[gid]
        b = np.zeros(len(docs))
        if distinct:
            b[where] = np.maximum(vals, 0.0)
        else:
            np.maximum.at(b, where, vals)  # the best unit per passage, from 0
        h = np.zeros(len(docs), dtype=bool)
        h[where] = True
        best[g], held[g] = b, h
    return docs, best, held


def _lookup(
    index: BM25Index, pad: _Scratch, lst: _List, docs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return a list's best unit (from 0) in each of some distinct passages, and if it holds any.

    A one-word unit is searched for the passages (a binary search each) or its postings are
    scanned against a mark per passage, whichever costs less; phrases are searched term by term.
    """
    search = SEARCH_CALL + SEARCH_KEY * len(docs)
    words = [(u[0], w, n) for (u, w), n in zip(lst.units, lst.sizes, strict=True) if len(u) == 1]
    scanned = [(t, w) for t, w, n in words if SCAN_POSTING * n <= search]
    scan = SCAN_START + SCAN_POSTING * sum(n for _, _, n in words if SCAN_POSTING * n <= search)
    if scan >= search * len(scanned):
        scanned = []  # searching each of these words costs less than starting a scan
    picked = {t for t, _ in scanned}
    best, held = index.best_at([(t, w) for t, w, _ in words if t not in picked], docs)
    if scanned:
        pad.seen[docs] = True  # one scan of the postings against a mark per passage
        try:
            d, s = index.weighted_postings(scanned, pad.seen)
        finally:
            pad.seen[docs] = False
        pad.slot[docs] = np.arange(len(docs))
        where = pad.slot[d]
        np.maximum.at(best, where, s)
        held[where] = True
    for unit, w in lst.units:
        if len(unit) == 1:
            continue
        hit = np.ones(len(docs), dtype=bool)
        score = np.zeros(len(docs))
        for t in unit:  # as _unit computes it: the terms' weights in order
            weights, there = index.weights_holding(t, docs)
            hit &= there
            score += weights * w
        np.maximum(best, np.where(hit, score, 0.0), out=best)
        held |= hit
    return best, held


def _with_families(
    index: BM25Index,
    family: list[list[tuple[str, float]]],
    groups: list[QueryGroup],
    docs: np.ndarray,
    score: np.ndarray,
    covered: np.ndarray,
    held: list[np.ndarray | None],
) -> tuple[np.ndarray, np.ndarray]:
    """Let word families stand in for a missing word in some passages (the best ones).

    In a passage that holds none of a group's units, the group's best family member counts
    (its score and the group's weight); binary searches of the pool, whatever the postings.
    """
    score, covered = score.copy(), covered.copy()
    for g, members, h in zip(groups, family, held, strict=True):
        if not members:
            continue
        best, _ = index.best_at(members, docs)
        gain = best > 0
        if h is not None:
            gain &= ~h
        score[gain] += best[gain]
        covered[gain] += g.weight
    return score, covered


class _Scratch:
    """Per-passage arrays reused across questions (marks cleared after each use)."""

    def __init__(self, n: int) -> None:
        """Allocate the arrays for n passages."""
        self.n = n
        self.seen = np.zeros(n, dtype=bool)
        self.slot = np.zeros(n, dtype=np.intp)  # scratch positions: read only where written

    def clear(self) -> None:
        """Clear every mark (after an interrupted question)."""
        self.seen.fill(False)


_local = threading.local()


@contextmanager
def _scratch(n: int) -> Iterator[_Scratch]:
    """Lend this thread's scratch arrays for an index of n passages (their marks cleared when
    the work is interrupted)."""
    pad = getattr(_local, "pad", None)
    if pad is None or pad.n < n:
        pad = _local.pad = _Scratch(n)
    try:
        yield pad
    except BaseException:
        pad.clear()
        raise


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
