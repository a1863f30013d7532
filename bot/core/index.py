"""BM25 Okapi over an inverted index, with exactly rank-bm25's scoring model.

rank-bm25's `BM25Okapi.get_scores` walks every document for every query term. Here each term's
postings sit in one flat int64 array, each posting packing the document id (high 32 bits) and
the precomputed float32 term score (low 32 bits), documents ascending within a term. A query
touches only the documents that contain its terms; the scores are the same.

`search` is exact top-k: one sort of the query's postings groups them by document. Most
documents hold one query term, so only the few that hold several are summed; the k-th best of
those bounds the k-th score, and of the single-term documents only the ones at or above it count.
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
_CHUNK = 1 << 20  # postings per batch of the build steps (bounds the temporaries)
_SLACK = 1e-6  # relative margin on a float32 threshold (only ever widens the candidates)


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
            dtype=np.int32,
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
        term_ids = np.asarray(term_ids)
        if term_ids.dtype.kind not in "iu":
            raise ValueError("term ids must be integers")
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
        # (In place where it can: a million passages make tens of millions of postings.)
        key = term_ids.astype(np.int64)
        key <<= 32
        key |= np.repeat(np.arange(n, dtype=np.int32), lengths)
        key.sort()
        term, doc, tf = _split_keys(key)
        del key
        df = np.bincount(term, minlength=len(terms))
        if len(df) and not df.all():  # from_term_ids: drop terms no document uses
            used = df > 0
            term = (np.cumsum(used) - 1).astype(np.int32)[term]
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
        # rank-bm25's term score, in float64 as it computes it, stored as float32 (by chunks).
        weights = np.empty(len(term), dtype=np.float32)
        for lo in range(0, len(term), _CHUNK):
            t, d = term[lo : lo + _CHUNK], doc[lo : lo + _CHUNK]
            f = tf[lo : lo + _CHUNK].astype(np.float64)
            weights[lo : lo + _CHUNK] = self.idf[t] * (f * (k1 + 1) / (f + norm[d]))
        del term, tf
        self._nonneg = bool(len(weights) == 0 or weights.min() >= 0)
        packed = doc.astype(np.int64)
        del doc
        packed <<= 32
        packed |= weights.view(np.uint32)
        self._packed = packed
        # Each term's highest weight (its postings are runs of `weights`).
        self._max_weight = (
            np.maximum.reduceat(weights, self._offsets[:-1]).astype(np.float64)
            if len(weights)
            else np.zeros(0)
        )

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
        docs = self._segment(tid).view(np.int32)[_HIGH::2]
        docs.flags.writeable = False  # a view into the index
        return docs

    def term_postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the sorted ids of the documents holding a term and its score in each."""
        tid = self.vocab.get(term)
        if tid is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
        seg = self._segment(tid)
        return seg.view(np.int32)[_HIGH::2], _weights_of(seg)

    def weights_at(self, term: str, docs: np.ndarray) -> np.ndarray:
        """Return a term's score in each of some documents (0 where it is absent)."""
        return self.weights_holding(term, docs)[0]

    def weights_holding(self, term: str, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return a term's score in each of some documents (0 where absent) and where it is."""
        out = np.zeros(len(docs))
        seg, at, hit = self._find(term, docs)
        if len(at):
            out[hit] = _weights_of(seg[at[hit]])
        return out, hit

    def best_at(
        self, terms: Sequence[tuple[str, float]], docs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the highest of several terms' scores times factors (from 0) in each of some
        documents, and whether any of the terms is there; a binary search per term."""
        best = np.zeros(len(docs))
        held = np.zeros(len(docs), dtype=bool)
        keys = np.asarray(docs, dtype=np.int64) << 32  # shifted once for every term
        for term, w in terms:
            tid = self.vocab.get(term)
            if tid is None or not len(docs):
                continue
            seg = self._segment(tid)
            at, hit = _locate(seg, keys)
            np.maximum(best, np.where(hit, _weights_of(seg[at]) * w, 0.0), out=best)
            held |= hit
        return best, held

    def term_bounds(self, terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return each term's highest score in any document and its document count (0: none)."""
        tids = np.asarray([self.vocab.get(t, -1) for t in terms], dtype=np.intp)
        found = tids >= 0
        tids = np.maximum(tids, 0)
        return (
            np.where(found, self._max_weight[tids] if len(self.df) else 0.0, 0.0),
            np.where(found, self.df[tids] if len(self.df) else 0, 0),
        )

    @property
    def packed(self) -> np.ndarray:
        """Every posting, term by term: document << 32 | its float32 score's bits (read only)."""
        return self._packed

    @property
    def offsets(self) -> np.ndarray:
        """Where each term's postings start in `packed`, then where the last ends (read only)."""
        return self._offsets

    @property
    def max_weights(self) -> np.ndarray:
        """Each term's highest score in any document, as float64 (read only)."""
        return self._max_weight

    @property
    def nonnegative(self) -> bool:
        """Tell whether every stored score is at least 0 (idf can be negative in tiny corpora)."""
        return self._nonneg

    def holding(self, term: str, docs: np.ndarray) -> np.ndarray:
        """Tell which of some documents contain a term."""
        return self._find(term, docs)[2]

    def _find(self, term: str, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return a term's postings, where each document would be in them, and if it is."""
        tid = self.vocab.get(term)
        if tid is None or not len(docs):
            return self._packed[:0], np.zeros(0, dtype=np.intp), np.zeros(len(docs), dtype=bool)
        seg = self._segment(tid)
        return seg, *_locate(seg, np.asarray(docs, dtype=np.int64) << 32)

    def weighted_postings(
        self, terms: Sequence[tuple[str, float]], among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return several terms' postings at once: documents and each term's score times its factor.

        Documents repeat when several terms hold them; with `among` (a bool per document) only
        the documents d with among[d] are returned.
        """
        vocab = self.vocab
        found = [(self._segment(tid), w) for t, w in terms if (tid := vocab.get(t)) is not None]
        if not found:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        packed = np.concatenate([seg for seg, _ in found]) if len(found) > 1 else found[0][0]
        docs = packed.view(np.int32)[_HIGH::2]
        if among is not None:
            pick = among[docs].nonzero()[0]
            # Each picked posting's term: the first whose postings end after it.
            ends = np.cumsum([len(seg) for seg, _ in found])
            factors = np.asarray([w for _, w in found])[np.searchsorted(ends, pick, side="right")]
            return docs[pick].astype(np.intp), _weights_of(packed[pick]) * factors
        factors = np.repeat([w for _, w in found], [len(seg) for seg, _ in found])
        return docs.astype(np.intp), _weights_of(packed) * factors

    def contains(self, term: str, doc: int) -> bool:
        """Tell whether a document contains a term."""
        tid = self.vocab.get(term)
        if tid is None or not 0 <= doc < self.n_docs:
            return False
        seg = self._segment(tid)
        i = int(np.searchsorted(seg, int(doc) << 32))
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
        w = spans[0][1]
        if not self._nonneg or w < 0 or any(x != w for _, x in spans):
            return _top(*self._merge_weighted(spans), k)
        keys = np.concatenate([self._segment(t) for t, _ in spans])
        if len(spans) > 1:
            # By document, then weight (its bits order like the floats). Timsort merges two or
            # three sorted runs faster than quicksort sorts them; more runs, it is slower.
            keys.sort(kind="stable" if len(spans) <= 3 else "quicksort")
        return _top(*_candidates(keys, w, k), k)

    def _merge_weighted(self, spans: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Sum per document with a weight per term, in query order."""
        docs = np.concatenate([self._segment(t) >> 32 for t, _ in spans])
        vals = np.concatenate([_weights_of(self._segment(t)) * w for t, w in spans])
        order = np.argsort(docs, kind="stable")
        docs, vals = docs[order], vals[order]
        more = np.flatnonzero(docs[1:] == docs[:-1]) + 1
        first = np.ones(len(docs), dtype=bool)
        first[more] = False
        starts = np.flatnonzero(first)
        group = (np.cumsum(first) - 1)[more]
        return docs[starts], _fold_groups(vals, starts, more, group)

    def memory_bytes(self) -> int:
        """Return the bytes held by the index arrays (the vocabulary dict not included)."""
        return int(self._packed.nbytes + self._offsets.nbytes + self.idf.nbytes + self.df.nbytes)


def _split_keys(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From sorted term << 32 | doc keys, return each distinct key's term, doc and count.

    By chunks into int32 arrays: a million passages make tens of millions of keys, and int64
    temporaries of that length would add to the peak memory of loading.
    """
    total = len(key)
    distinct = 0
    for lo in range(0, total, _CHUNK):  # first pass: how many distinct keys
        distinct += int(np.count_nonzero(_key_starts(key, lo)))
    term = np.empty(distinct, dtype=np.int32)
    doc = np.empty(distinct, dtype=np.int32)
    tf = np.empty(distinct, dtype=np.int32)
    at, last = 0, 0
    for lo in range(0, total, _CHUNK):
        starts = np.flatnonzero(_key_starts(key, lo)) + lo
        if not len(starts):
            continue
        found = key[starts]
        end = at + len(starts)
        term[at:end] = found >> 32
        doc[at:end] = found & 0xFFFFFFFF
        if at:
            tf[at - 1] = starts[0] - last  # the previous chunk's last key ends here
        tf[at : end - 1] = np.diff(starts)
        at, last = end, int(starts[-1])
    if at:
        tf[at - 1] = total - last
    return term, doc, tf


def _key_starts(key: np.ndarray, lo: int) -> np.ndarray:
    """Tell which keys of the chunk at `lo` differ from the key before them (the first does)."""
    chunk = key[lo : lo + _CHUNK]
    first = np.empty(len(chunk), dtype=bool)
    if len(chunk):
        first[0] = lo == 0 or key[lo - 1] != chunk[0]
        np.not_equal(chunk[1:], chunk[:-1], out=first[1:])
    return first


def _locate(seg: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return where documents (as doc << 32 keys) would be in a term's postings, and if they are.

    The postings are sorted by document (their high half): a binary search each.
    """
    at = seg.searchsorted(keys)
    np.minimum(at, len(seg) - 1, out=at)
    return at, (seg[at] >> 32) == (keys >> 32)


def _weights_of(packed: np.ndarray) -> np.ndarray:
    """Return the float64 weights of packed postings."""
    return packed.view(np.float32)[_LOW::2].astype(np.float64)


def _fold_groups(
    vals: np.ndarray, starts: np.ndarray, more: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """Sum runs of `vals` left to right: run i opens at starts[i]; more[j] adds to group[j]."""
    totals = vals[starts].astype(np.float64)
    if len(more):
        rank = more - starts[group]
        for r in range(1, int(rank.max()) + 1):
            at = rank == r
            totals[group[at]] += vals[more[at]]
    return totals


def _candidates(keys: np.ndarray, w: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """From postings sorted by (doc, weight), return documents and totals holding the top k.

    A document's total adds its weights left to right, ascending. The k-th best total of the
    documents with several postings bounds the k-th score from below, so a document with a
    single posting matters only when its weight reaches that bound.
    """
    docs = keys.view(np.int32)[_HIGH::2]
    low = keys.view(np.float32)[_LOW::2]
    # joined[i]: posting i continues the document of posting i - 1 (same high half, so the
    # xor is below 2**32); the two ends stay False.
    joined = np.zeros(len(keys) + 1, dtype=bool)
    np.less(keys[1:] ^ keys[:-1], 1 << 32, out=joined[1:-1])
    more = joined.nonzero()[0]
    if not len(more):
        return docs, low * np.float64(w)
    opens = ~joined[more - 1]  # the first continuation of each document with several
    starts = more[opens] - 1
    group = opens.cumsum() - 1
    multi = _fold_groups(low if w == 1.0 else low.astype(np.float64) * w, starts, more, group)
    if len(multi) >= k:
        theta = np.partition(multi, len(multi) - k)[len(multi) - k]
        single = (low >= np.float32(theta / w * (1 - _SLACK))).nonzero()[0]
        single = single[~(joined[single] | joined[single + 1])]
    else:
        single = (~(joined[:-1] | joined[1:])).nonzero()[0]
    return (
        np.concatenate([docs[single], docs[starts]]),
        np.concatenate([low[single] * np.float64(w), multi]),
    )


def _top(docs: np.ndarray, totals: np.ndarray, k: int) -> list[Hit]:
    """Return the k best positive (doc, total) pairs, ties broken by the lower doc id."""
    n = len(totals)
    if n > 4 * k:
        kth = np.partition(totals, n - k)[n - k]
        keep = (totals >= kth).nonzero()[0]
        docs, totals = docs[keep], totals[keep]
    best = np.lexsort((docs, -totals))[:k]
    return [
        Hit(d, s) for d, s in zip(docs[best].tolist(), totals[best].tolist(), strict=True) if s > 0
    ]


def _weighted(query: Mapping[str, float] | Sequence[str]) -> dict[str, float]:
    if isinstance(query, Mapping):
        return {t: float(w) for t, w in query.items()}
    weights = dict.fromkeys(query, 1.0)
    if len(weights) < len(query):  # repeated terms weigh their count
        weights = {t: float(c) for t, c in Counter(query).items()}
    return weights
