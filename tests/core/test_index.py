"""BM25Index: top-k ids and scores equal rank-bm25's BM25Okapi.get_scores, on every path."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from bot.core.index import BM25Index, Hit


def reference(scores: np.ndarray, k: int) -> tuple[list[int], list[float]]:
    """Top-k positive documents of dense scores, best first, ties by the lower id."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    top = [int(d) for d in order[: max(k, 0)] if scores[d] > 0]
    return top, [float(scores[d]) for d in top]


# The index stores each term score as float32: sums that cancel out near zero can differ from
# rank-bm25's float64 by a few 1e-8, past allclose's default absolute tolerance.
ATOL = 1e-6


def assert_same(hits: list[Hit], scores: np.ndarray, k: int) -> None:
    """The same top-k as rank-bm25: the same ids in the same order, except that two documents
    whose float64 scores differ by less than ATOL (a tie in float32) may come in either order."""
    ids, expected = reference(scores, k)
    got = [h.doc for h in hits]
    assert np.allclose([h.score for h in hits], expected, atol=ATOL)
    assert len(set(got)) == len(got)
    for doc, want, hit in zip(ids, expected, hits, strict=True):
        assert hit.doc == doc or abs(scores[hit.doc] - want) <= ATOL, (got, ids)


def zipf_corpus(rng: np.random.Generator, n_docs: int, n_terms: int) -> list[list[str]]:
    """Documents of 0-40 terms drawn from a Zipf-like vocabulary (common terms repeat)."""
    p = 1 / np.arange(1, n_terms + 1) ** rng.uniform(0.6, 1.4)
    p /= p.sum()
    return [
        [f"t{x}" for x in rng.choice(n_terms, int(rng.integers(0, 41)), p=p)] for _ in range(n_docs)
    ]


@pytest.mark.parametrize("seed", range(8))
def test_search_equals_rank_bm25(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_terms = int(rng.integers(5, 300))
    corpus = zipf_corpus(rng, int(rng.integers(1, 1500)), n_terms)
    corpus.append(["t0", "t1"])  # at least one term
    ref = BM25Okapi(corpus)
    index = BM25Index(corpus)
    assert index.n_docs == len(corpus)
    queries: list[list[str]] = [[], ["unknown"], ["t0"], ["t0", "t0", "t1"]]
    for _ in range(60):
        # Up to 9 terms, duplicates allowed, some beyond the vocabulary (unknown).
        size = int(rng.integers(1, 10))
        queries.append([f"t{x}" for x in rng.integers(0, n_terms + 5, size)])
    for query in queries:
        expected = ref.get_scores(query)
        assert np.allclose(index.scores(query), expected)
        for k in (1, 3, 10, len(corpus) + 5):  # k beyond the matching documents too
            assert_same(index.search(query, k), expected, k)


@settings(max_examples=200, deadline=None)
@given(
    corpus=st.lists(st.lists(st.sampled_from("abcdef"), max_size=8), min_size=1, max_size=12),
    query=st.lists(st.sampled_from("abcdefgh"), max_size=6),
    k=st.integers(min_value=1, max_value=15),
)
def test_tiny_corpora(corpus: list[list[str]], query: list[str], k: int) -> None:
    """Tiny corpora hit the corner cases: negative idf floored at eps, empty documents."""
    if not any(corpus):
        assert BM25Index(corpus).search(query, k) == []
        return
    expected = BM25Okapi(corpus).get_scores(query)
    index = BM25Index(corpus)
    assert np.allclose(index.scores(query), expected, atol=ATOL)
    assert_same(index.search(query, k), expected, k)


def test_weights() -> None:
    rng = np.random.default_rng(11)
    corpus = zipf_corpus(rng, 800, 60)
    ref = BM25Okapi(corpus)
    index = BM25Index(corpus)
    per_term = {t: ref.get_scores([t]) for t in ("t0", "t1", "t5", "t30", "nope")}
    for weights in (
        {"t0": 2.0, "t5": 2.0},  # one weight for all, not 1
        {"t0": 0.5, "t5": 3.0, "t30": 1.0},
        {"t1": 1.0, "t30": -0.5},  # negative weights lower the sum
        {"t5": 0.0, "nope": 4.0},  # nothing left to score
    ):
        expected = sum(w * per_term[t] for t, w in weights.items())
        assert np.allclose(index.scores(weights), expected)
        assert_same(index.search(weights, 10), expected, 10)
    # Duplicates in a term list weigh like counts.
    assert index.search(["t5", "t5", "t1"]) == index.search({"t5": 2.0, "t1": 1.0})


def test_no_hits() -> None:
    index = BM25Index([["a", "b"], ["b", "c"]])
    assert index.search([]) == []
    assert index.search(["zzz"]) == []
    assert index.search(["a"], k=0) == []
    assert BM25Index([]).search(["a"]) == []
    assert BM25Index([[], []]).search(["a"]) == []


def test_lookups() -> None:
    corpus = [["ley", "acuerdo", "ley"], ["acuerdo"], [], ["openai", "acuerdo"]]
    index = BM25Index(iter(corpus))  # any iterable
    ref = BM25Okapi(corpus)
    assert set(index.vocab) == {"ley", "acuerdo", "openai"}
    assert index.postings("acuerdo").tolist() == [0, 1, 3]
    assert index.postings("nada").tolist() == []
    assert index.contains("ley", 0)
    assert not index.contains("ley", 1)
    assert not index.contains("nada", 0)
    assert not index.contains("ley", 99)
    assert index.term_idf("nada") is None
    for term in index.vocab:
        assert index.term_idf(term) == pytest.approx(ref.idf[term])
    assert index.unseen_idf() > max(ref.idf.values())
    assert index.memory_bytes() > 0


def test_from_term_ids_matches_constructor() -> None:
    rng = np.random.default_rng(3)
    terms = [f"w{i}" for i in range(50)] + ["never"]  # "never" is in no document
    lengths = rng.integers(0, 30, 400)
    ids = rng.integers(0, 50, int(lengths.sum()))
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    corpus = [[terms[i] for i in ids[a:b]] for a, b in pairwise(bounds)]
    built = BM25Index.from_term_ids(ids, lengths, terms)
    plain = BM25Index(corpus)
    assert "never" not in built.vocab
    assert set(built.vocab) == set(plain.vocab)
    for query in (["w0", "w1"], ["w7"], ["w3", "w3", "w49", "never"]):
        assert built.search(query, 20) == plain.search(query, 20)
        assert np.array_equal(built.scores(query), plain.scores(query))
    with pytest.raises(ValueError):
        BM25Index.from_term_ids(ids, lengths + 1, terms)
    with pytest.raises(ValueError):
        BM25Index.from_term_ids(ids, lengths, ["x"] * len(terms))


def test_negative_idf_floor() -> None:
    """Terms in most documents get rank-bm25's eps floor, negative when the mean idf is."""
    corpus = [["a", "b"], ["a", "b"], ["a", "c"]]
    ref = BM25Okapi(corpus)
    index = BM25Index(corpus)
    assert ref.idf["a"] < 0 and index.term_idf("a") == pytest.approx(ref.idf["a"])
    for query in (["a", "c"], ["a"], ["b", "c", "c"]):
        expected = ref.get_scores(query)
        assert np.allclose(index.scores(query), expected)
        assert_same(index.search(query, 5), expected, 5)


@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
def test_building_by_small_chunks_changes_nothing(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A million passages build in chunks; postings of one term and document (a repeated term)
    # and of one term straddle their edges here.
    rng = np.random.default_rng(chunk)
    corpus = [*zipf_corpus(rng, 120, 30), [], ["t0", "t0", "t0"]]
    whole = BM25Index(corpus)
    monkeypatch.setattr("bot.core.index._CHUNK", chunk)
    chunked = BM25Index(corpus)
    assert np.array_equal(chunked._packed, whole._packed)
    assert np.array_equal(chunked._offsets, whole._offsets)
    assert chunked.vocab == whole.vocab
    for term in ("t0", "t1", "t29"):
        assert np.allclose(chunked.scores([term]), BM25Okapi(corpus).get_scores([term]))
