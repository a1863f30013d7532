"""BM25 Okapi over an inverted index, with exactly rank-bm25's scoring model.

rank-bm25's `BM25Okapi.get_scores` walks every document for every query term. Here each term's
postings (documents and precomputed term scores) sit in flat numpy arrays, so a query touches
only the documents that contain its terms; the scores are the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

K1 = 1.5
B = 0.75
EPSILON = 0.25


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
        self.k1, self.b, self.epsilon = k1, b, epsilon
        vocab: dict[str, int] = {}
        doc_ids: list[int] = []
        term_ids: list[int] = []
        tfs: list[int] = []
        lengths: list[int] = []
        for d, doc in enumerate(corpus):
            lengths.append(len(doc))
            for term, tf in Counter(doc).items():
                tid = vocab.setdefault(term, len(vocab))
                term_ids.append(tid)
                doc_ids.append(d)
                tfs.append(tf)
        self.vocab = vocab
        self.n_docs = len(lengths)
        doc_len = np.asarray(lengths, dtype=np.float64)
        self.avgdl = float(doc_len.mean()) if self.n_docs else 0.0
        tids = np.asarray(term_ids, dtype=np.int64)
        order = np.argsort(tids, kind="stable")  # postings grouped by term, docs ascending
        self._docs = np.asarray(doc_ids, dtype=np.int32)[order]
        tf = np.asarray(tfs, dtype=np.float64)[order]
        df = np.bincount(tids, minlength=len(vocab))
        self.df = df
        self._offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=self._offsets[1:])
        self.idf = self._idf(df)
        norm = k1 * (1 - b + b * doc_len[self._docs] / self.avgdl) if self.n_docs else 0.0
        term_of_posting = tids[order]
        weights = self.idf[term_of_posting] * (tf * (k1 + 1) / (tf + norm))
        self._weights = weights.astype(np.float32)

    def _idf(self, df: np.ndarray) -> np.ndarray:
        """Compute rank-bm25's idf: log((N-n+0.5)/(n+0.5)), negatives floored at eps*mean."""
        n = self.n_docs
        idf = np.log(n - df + 0.5) - np.log(df + 0.5)
        if len(idf):
            eps = self.epsilon * (float(idf.sum()) / len(idf))
            idf[idf < 0] = eps
        return idf

    def unseen_idf(self) -> float:
        """Return the idf a term found in no document would have (the rarest possible)."""
        return math.log(self.n_docs + 0.5) - math.log(0.5) if self.n_docs else 0.0

    def term_idf(self, term: str) -> float | None:
        """Return a term's idf, or None when the term is not in the vocabulary."""
        tid = self.vocab.get(term)
        return None if tid is None else float(self.idf[tid])

    def postings(self, term: str) -> np.ndarray:
        """Return the sorted ids of the documents that contain a term."""
        tid = self.vocab.get(term)
        if tid is None:
            return self._docs[:0]
        return self._docs[self._offsets[tid] : self._offsets[tid + 1]]

    def contains(self, term: str, doc: int) -> bool:
        """Tell whether a document contains a term."""
        docs = self.postings(term)
        i = int(np.searchsorted(docs, doc))
        return i < len(docs) and int(docs[i]) == doc

    def scores(self, query: Mapping[str, float] | Sequence[str]) -> np.ndarray:
        """Return the dense score array for a query (terms, or term -> weight)."""
        weighted = _weighted(query)
        out = np.zeros(self.n_docs, dtype=np.float64)
        for term, w in weighted.items():
            tid = self.vocab.get(term)
            if tid is None:
                continue
            lo, hi = self._offsets[tid], self._offsets[tid + 1]
            out[self._docs[lo:hi]] += w * self._weights[lo:hi]
        return out

    def search(self, query: Mapping[str, float] | Sequence[str], k: int = 10) -> list[Hit]:
        """Return the top-k documents with a positive score, best first (ties: lower id)."""
        weighted = _weighted(query)
        spans = []
        for term, w in weighted.items():
            tid = self.vocab.get(term)
            if tid is not None and w:
                spans.append((self._offsets[tid], self._offsets[tid + 1], w))
        if not spans or k <= 0:
            return []
        if len(spans) == 1:
            lo, hi, w = spans[0]
            docs = self._docs[lo:hi]
            totals = self._weights[lo:hi].astype(np.float64) * w
        else:
            docs_all = np.concatenate([self._docs[lo:hi] for lo, hi, _ in spans])
            vals = np.concatenate(
                [self._weights[lo:hi].astype(np.float64) * w for lo, hi, w in spans]
            )
            docs, inverse = np.unique(docs_all, return_inverse=True)
            totals = np.bincount(inverse, weights=vals, minlength=len(docs))
        if k < len(docs):
            top = np.argpartition(-totals, k - 1)[:k]
        else:
            top = np.arange(len(docs))
        order = np.lexsort((docs[top], -totals[top]))
        return [Hit(int(docs[top[i]]), float(totals[top[i]])) for i in order if totals[top[i]] > 0]

    def memory_bytes(self) -> int:
        """Return the bytes held by the index arrays (the vocabulary dict not included)."""
        return int(
            self._docs.nbytes
            + self._weights.nbytes
            + self._offsets.nbytes
            + self.idf.nbytes
            + self.df.nbytes
        )


def _weighted(query: Mapping[str, float] | Sequence[str]) -> dict[str, float]:
    if isinstance(query, Mapping):
        return {t: float(w) for t, w in query.items()}
    return {t: float(c) for t, c in Counter(query).items()}
