"""BM25 Okapi over an inverted index, with exactly rank-bm25's scoring model.

rank-bm25's `BM25Okapi.get_scores` walks every document for every query term. Here each term's
postings sit in one flat int64 array, each posting packing the document id (high 32 bits) and
the precomputed float32 term score (low 32 bits), documents ascending within a term. A query
touches only the documents that contain its terms; the scores are the same.

`search` is exact top-k. Short queries merge their postings with one sort; long ones prune
first (threshold algorithm): a lower bound of the k-th score from each term's best postings
picks, per term, a weight cut such that a document below every cut cannot reach it, and only
the documents above some cut are scored, by binary search in every term's postings.
"""

from __future__ import annotations

import math
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

K1 = 1.5
B = 0.75
EPSILON = 0.25

_LOW = 0 if sys.byteorder == "little" else 1  # int32 half of a posting holding the weight bits
_HIGH = 1 - _LOW  # and the half holding the document id
_BINS = 16  # weight histogram bins per term, relative to the term's best weight
_PRUNE_MIN = 12_000  # postings of a query below which one sort beats pruning
_PRUNE_MAX_TERMS = 8  # presence masks of the pruned path are bytes-sized tables
_PRUNE_MAX_DOCS = 1 << 27  # document id bits left once a term tag is packed in
_LAMBDAS = np.geomspace(1e-4, 1e9, 60)  # trade-offs (postings per score unit) for the cuts
_SLACK = 1e-9  # relative margin for float rounding in bounds (only ever widens candidates)


@dataclass(frozen=True)
class Hit:
    """One scored document of a search."""

    doc: int
    score: float


class BM25Index:
    """Inverted BM25 index; `search` equals rank-bm25 `BM25Okapi.get_scores` on the same corpus."""

    def __init__(
        self,
        corpus: Iterable[Sequence[str]],
        *,
        k1: float = K1,
        b: float = B,
        epsilon: float = EPSILON,
    ) -> None:
        docs = corpus if isinstance(corpus, Sequence) else list(corpus)
        vocab: defaultdict[str, int] = defaultdict()
        vocab.default_factory = vocab.__len__  # a new term gets the next id
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        term_ids = np.fromiter(
            map(vocab.__getitem__, chain.from_iterable(docs)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        self._build(term_ids, lengths, list(vocab), k1, b, epsilon)

    @classmethod
    def from_term_ids(
        cls,
        term_ids: np.ndarray,
        lengths: np.ndarray,
        terms: Sequence[str],
        *,
        k1: float = K1,
        b: float = B,
        epsilon: float = EPSILON,
    ) -> BM25Index:
        """Build from the flat term ids of all documents (`terms[id]`) and each one's length."""
        if len(set(terms)) != len(terms):
            raise ValueError("terms must be distinct")
        lengths = np.asarray(lengths, dtype=np.int64)
        term_ids = np.asarray(term_ids, dtype=np.int64)
        if int(lengths.sum()) != len(term_ids):
            raise ValueError("lengths must add up to the number of term ids")
        if len(term_ids) and not 0 <= int(term_ids.min()) <= int(term_ids.max()) < len(terms):
            raise ValueError("term ids out of range")
        self = cls.__new__(cls)
        self._build(term_ids, lengths, list(terms), k1, b, epsilon)
        return self

    def _build(
        self,
        term_ids: np.ndarray,
        lengths: np.ndarray,
        terms: list[str],
        k1: float,
        b: float,
        epsilon: float,
    ) -> None:
        self.k1, self.b, self.epsilon = k1, b, epsilon
        n = self.n_docs = len(lengths)
        # One sort of (term, doc) keys groups the postings by term, documents ascending.
        key = term_ids * max(n, 1) + np.repeat(np.arange(n, dtype=np.int64), lengths)
        key.sort()
        first = np.ones(len(key), dtype=bool)
        np.not_equal(key[1:], key[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        tf = np.diff(starts, append=len(key)).astype(np.float64)
        key = key[starts]
        term = key // max(n, 1)
        doc = key - term * max(n, 1)
        del key, first, starts
        df = np.bincount(term, minlength=len(terms))
        if len(df) and not df.all():  # from_term_ids: drop terms no document uses
            used = df > 0
            term = (np.cumsum(used) - 1)[term]
            terms = [t for t, u in zip(terms, used.tolist(), strict=True) if u]
            df = df[used]
        self.vocab: dict[str, int] = {t: i for i, t in enumerate(terms)}
        self.df = df
        self._offsets = np.zeros(len(df) + 1, dtype=np.int64)
        np.cumsum(df, out=self._offsets[1:])
        self.avgdl = float(lengths.sum()) / n if n else 0.0
        self.idf = self._idf(df)
        doc_len = lengths.astype(np.float64)
        norm = k1 * (1 - b + b * doc_len / self.avgdl) if self.avgdl else doc_len
        weights = (self.idf[term] * (tf * (k1 + 1) / (tf + norm[doc]))).astype(np.float32)
        self._nonneg = bool(len(weights) == 0 or weights.min() >= 0)
        self._packed = (doc << 32) | weights.view(np.uint32).astype(np.int64)
        # Per term: best weight, and how many postings reach each 1/16 of it (pruning plans).
        self._maxw = (
            np.maximum.reduceat(weights, self._offsets[:-1])
            if len(weights)
            else np.zeros(0, np.float32)
        )
        scale = np.divide(_BINS, self._maxw, out=np.zeros(len(df)), where=self._maxw > 0)
        bins = np.minimum(weights * scale[term], _BINS - 1).astype(np.int64)
        np.maximum(bins, 0, out=bins)
        hist = np.bincount(term * _BINS + bins, minlength=len(df) * _BINS).reshape(-1, _BINS)
        reach = np.zeros((len(df), _BINS + 1), dtype=np.int32)
        reach[:, :_BINS] = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
        self._reach = reach

    def _idf(self, df: np.ndarray) -> np.ndarray:
        """Compute rank-bm25's idf: log((N-n+0.5)/(n+0.5)), negatives floored at eps*mean."""
        n = self.n_docs
        distinct, where = np.unique(df, return_inverse=True)
        logs = [math.log(n - d + 0.5) - math.log(d + 0.5) for d in distinct.tolist()]
        idf = np.asarray(logs, dtype=np.float64)[where]
        if len(idf):
            eps = self.epsilon * (float(np.cumsum(idf)[-1]) / len(idf))  # sequential, like it
            idf[idf < 0] = eps
        return idf

    def unseen_idf(self) -> float:
        """Return the idf a term found in no document would have (the rarest possible)."""
        return math.log(self.n_docs + 0.5) - math.log(0.5) if self.n_docs else 0.0

    def term_idf(self, term: str) -> float | None:
        """Return a term's idf, or None when the term is not in the vocabulary."""
        tid = self.vocab.get(term)
        return None if tid is None else float(self.idf[tid])

    def _segment(self, tid: int) -> np.ndarray:
        return self._packed[self._offsets[tid] : self._offsets[tid + 1]]

    def postings(self, term: str) -> np.ndarray:
        """Return the sorted ids of the documents that contain a term."""
        tid = self.vocab.get(term)
        if tid is None:
            return np.zeros(0, dtype=np.int32)
        return self._segment(tid).view(np.int32)[_HIGH::2]

    def contains(self, term: str, doc: int) -> bool:
        """Tell whether a document contains a term."""
        tid = self.vocab.get(term)
        if tid is None or not 0 <= doc < self.n_docs:
            return False
        seg = self._segment(tid)
        i = int(np.searchsorted(seg, doc << 32))
        return i < len(seg) and int(seg[i]) >> 32 == doc

    def scores(self, query: Mapping[str, float] | Sequence[str]) -> np.ndarray:
        """Return the dense score array for a query (terms, or term -> weight)."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        for term, w in _weighted(query).items():
            tid = self.vocab.get(term)
            if tid is None:
                continue
            seg = self._segment(tid)
            out[seg >> 32] += _weights_of(seg) * w
        return out

    def search(self, query: Mapping[str, float] | Sequence[str], k: int = 10) -> list[Hit]:
        """Return the top-k documents with a positive score, best first (ties: lower id)."""
        spans = [
            (tid, w)
            for term, w in _weighted(query).items()
            if w and (tid := self.vocab.get(term)) is not None
        ]
        if not spans or k <= 0:
            return []
        tids = [t for t, _ in spans]
        w = spans[0][1]
        if not self._nonneg or w < 0 or any(x != w for _, x in spans):
            return _top(*self._merge_weighted(spans), k)
        if (
            len(tids) <= _PRUNE_MAX_TERMS
            and self.n_docs < _PRUNE_MAX_DOCS
            and int(self.df[tids].sum()) >= _PRUNE_MIN
        ):
            hits = self._search_pruned(tids, w, k)
            if hits is not None:
                return hits
        return _top(*self._merge(tids, w), k)

    def _merge(self, tids: list[int], w: float) -> tuple[np.ndarray, np.ndarray]:
        """Sum every posting of the terms per document (summands ascending, see `_exact`)."""
        keys = np.concatenate([self._segment(t) for t in tids])
        if len(tids) > 1:
            keys.sort()  # by document, then by weight: the weight bits order like the floats
        vals = _weights_of(keys)
        if w != 1.0:
            vals *= w
        if len(tids) == 1:
            return keys >> 32, vals
        docs = keys.view(np.int32)[_HIGH::2]
        first = np.ones(len(keys), dtype=bool)
        np.not_equal(docs[1:], docs[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        return docs[starts], np.add.reduceat(vals, starts)

    def _merge_weighted(self, spans: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Sum per document with a weight per term (summands in query order)."""
        docs = np.concatenate([self._segment(t) >> 32 for t, _ in spans])
        vals = np.concatenate([_weights_of(self._segment(t)) * w for t, w in spans])
        order = np.argsort(docs, kind="stable")
        docs, vals = docs[order], vals[order]
        first = np.ones(len(docs), dtype=bool)
        np.not_equal(docs[1:], docs[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        return docs[starts], np.add.reduceat(vals, starts)

    def _exact(self, tids: list[int], w: float, docs: np.ndarray) -> np.ndarray:
        """Score sorted documents by binary search; summands ascending, as `_merge` adds them."""
        parts = np.zeros((len(tids), len(docs)))
        keys = docs << 32
        for i, tid in enumerate(tids):
            seg = self._segment(tid)
            pos = np.searchsorted(seg, keys)
            np.minimum(pos, len(seg) - 1, out=pos)
            found = seg[pos]
            parts[i] = np.where(found >> 32 == docs, _weights_of(found), 0.0)
        if w != 1.0:
            parts *= w
        parts.sort(axis=0)
        total = parts[0].copy()
        for row in parts[1:]:
            total += row  # leading zeros (absent terms) add nothing
        return total

    def _above(self, tid: int, cut: float) -> np.ndarray:
        """Return the postings of a term whose weight is at least `cut` (float32 compare)."""
        seg = self._segment(tid)
        if cut <= 0:
            return seg
        low = seg.view(np.float32)[_LOW::2]
        return seg[np.flatnonzero(low >= np.float32(cut * (1 - 1e-6)))]

    def _search_pruned(self, tids: list[int], w: float, k: int) -> list[Hit] | None:
        """Exact top-k touching few documents; None when pruning cannot work for the query."""
        reach = self._reach[tids]
        maxw = self._maxw[tids].astype(np.float64)
        # 1. A lower bound of the k-th best score: the exact scores of each term's best postings.
        seed_bin = np.maximum((reach[:, :_BINS] >= k).sum(axis=1) - 1, 0)
        seeds = _distinct(
            np.concatenate(
                [
                    self._above(t, m * s / _BINS) >> 32
                    for t, m, s in zip(tids, maxw.tolist(), seed_bin.tolist(), strict=True)
                ]
            )
        )
        if len(seeds) < k:
            return None
        seed_scores = self._exact(tids, w, seeds)
        theta = float(np.partition(seed_scores, len(seeds) - k)[len(seeds) - k])
        if theta <= 0:
            return None
        # 2. Per term a cut t_j with sum(t_j) < theta: a document below every cut scores less
        #    than theta. Among the cuts at 1/16 steps of each best weight, minimise the
        #    postings kept, for each trade-off lambda, and keep the best feasible plan.
        cuts = maxw[:, None] * w * (np.arange(_BINS + 1) / _BINS)  # cut _BINS drops the term
        cost = reach[:, :, None] + _LAMBDAS[None, None, :] * cuts[:, :, None]
        plan = cost.argmin(axis=1)  # (terms, lambdas)
        rows = np.arange(len(tids))[:, None]
        budget = cuts[rows, plan].sum(axis=0)
        kept = reach[rows, plan].sum(axis=0)
        feasible = budget < theta * (1 - 1e-6)
        if not feasible.any():
            return None
        choice = plan[:, int(np.argmin(np.where(feasible, kept, np.iinfo(np.int64).max)))]
        cut = cuts[np.arange(len(tids)), choice]
        # 3. Gather the postings above the cuts, tagged by term; per document a partial sum and
        #    which terms it was seen in. Its upper bound adds the cut of every term it missed.
        tagged = [
            ((seg >> 32) << 36) | (j << 32) | (seg & 0xFFFFFFFF)
            for j, (t, c, s) in enumerate(zip(tids, cut.tolist(), choice.tolist(), strict=True))
            if s < _BINS and len(seg := self._above(t, c / w)) > 0
        ]
        if not tagged:
            return None
        keys = np.concatenate(tagged)
        keys.sort()
        docs = keys >> 36
        first = np.ones(len(keys), dtype=bool)
        np.not_equal(docs[1:], docs[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        partial = np.add.reduceat(_weights_of(keys) * w, starts)
        seen = np.bitwise_or.reduceat(1 << ((keys >> 32) & 15), starts)
        bits = (np.arange(1 << len(tids))[:, None] >> np.arange(len(tids))) & 1
        missed = (1 - bits) @ cut
        upper = partial + missed[seen]
        if len(partial) >= k:
            theta = max(theta, float(np.partition(partial, len(partial) - k)[len(partial) - k]))
        cand = docs[starts[upper >= theta * (1 - _SLACK)]]
        return _top(cand, self._exact(tids, w, cand), k)

    def memory_bytes(self) -> int:
        """Return the bytes held by the index arrays (the vocabulary dict not included)."""
        return int(
            self._packed.nbytes
            + self._offsets.nbytes
            + self.idf.nbytes
            + self.df.nbytes
            + self._maxw.nbytes
            + self._reach.nbytes
        )


def _weights_of(packed: np.ndarray) -> np.ndarray:
    """Return the float64 weights of packed postings."""
    return packed.view(np.float32)[_LOW::2].astype(np.float64)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Return the sorted distinct values (np.unique without its overhead)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _top(docs: np.ndarray, totals: np.ndarray, k: int) -> list[Hit]:
    """Return the k best positive (doc, total) pairs, ties broken by the lower doc id."""
    n = len(totals)
    if k < n:
        kth = np.partition(totals, n - k)[n - k]
        cand = np.flatnonzero(totals >= kth)
    else:
        cand = np.arange(n)
    best = cand[np.lexsort((docs[cand], -totals[cand]))[:k]]
    return [
        Hit(d, s) for d, s in zip(docs[best].tolist(), totals[best].tolist(), strict=True) if s > 0
    ]


def _weighted(query: Mapping[str, float] | Sequence[str]) -> dict[str, float]:
    if isinstance(query, Mapping):
        return {t: float(w) for t, w in query.items()}
    return {t: float(c) for t, c in Counter(query).items()}
