"""Ranking over the postings equals the dense ranking it replaced, to the bit; answers too."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import missing
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.core import rank as rank_module
from bot.core.analyze import QueryGroup
from bot.core.answer import Engine
from bot.core.index import BM25Index
from bot.core.rank import (
    COVERAGE_FLOOR,
    FAMILY_POOL,
    MAX_CANDIDATES,
    Ranked,
    rank,
    score_passages,
)
from bot.core.text import AnalyzedTexts, Analyzer, words
from bot.core.typos import TypoMatcher, max_edits, may_repair

TESTS = Path(__file__).resolve().parents[1]
# Every equality with the dense ranking holds on both paths: the compiled one (_topk.c, where
# built: CI requires it) and numpy's.
both_paths = pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])


def rank_on(compiled: bool, index: BM25Index, groups: list[QueryGroup]) -> list[Ranked]:
    """Rank on the compiled path (where built) or, within numpy_only(), on numpy's."""
    if compiled:
        return rank(index, groups)
    with rank_module.numpy_only():
        return rank(index, groups)


REPO = TESTS.parent
SQUAD_SAMPLE = TESTS / "data" / "squad_es_sample"


# -- the oracle: the ranking before it scored only the postings (dense arrays per term) ----


def rank_dense(index: BM25Index, groups: list[QueryGroup]) -> list[Ranked]:
    """Score every passage: per group the best of its units (BM25 contributions), summed."""
    total_weight = sum(g.weight for g in groups)
    if not total_weight or not any(g.terms for g in groups):
        return []
    n = index.n_docs
    score = np.zeros(n)
    covered = np.zeros(n)
    families = []
    for g in groups:
        best = np.zeros(n)
        present = np.zeros(n, dtype=bool)
        for unit, w in zip(g.units, g.unit_weights, strict=True):
            if unit in g.family:
                continue
            whole = np.logical_and.reduce([_has(index, t) for t in unit])  # phrases count whole
            unit_score = np.where(whole, index.scores(dict.fromkeys(unit, w)), 0.0)
            np.maximum(best, unit_score, out=best)
            present |= whole
        score += best
        covered += np.where(present, g.weight, 0.0)
        family = [(u[0], w) for u, w in zip(g.units, g.unit_weights, strict=True) if u in g.family]
        families.append((g, present, family))
    candidates = np.flatnonzero(covered > 0)
    if any(f for _, _, f in families):
        # A word's family stands in for it in the best FAMILY_POOL passages that lack it.
        share = covered[candidates] / total_weight
        final = score[candidates] * (COVERAGE_FLOOR + share) + 1e-6 * share
        pool = candidates
        if len(final) > FAMILY_POOL:
            kth = np.sort(final)[len(final) - FAMILY_POOL]
            pool = candidates[final >= kth]
        gains = []
        for g, present, family in families:
            if not family:
                continue
            best = np.zeros(n)
            for t, w in family:
                np.maximum(best, np.where(_has(index, t), index.scores({t: w}), 0.0), out=best)
            gain = np.zeros(n, dtype=bool)
            gain[pool] = ~present[pool] & (best[pool] > 0)
            gains.append((gain, best, g.weight))
        for gain, best, weight in gains:
            score[gain] += best[gain]
            covered[gain] += weight
    coverage = covered / total_weight
    final = score * (COVERAGE_FLOOR + coverage) + 1e-6 * coverage
    order = candidates[np.lexsort((candidates, -final[candidates]))][:MAX_CANDIDATES]
    return [Ranked(int(d), float(final[d]), float(coverage[d])) for d in order]


def _has(index: BM25Index, term: str) -> np.ndarray:
    mask = np.zeros(index.n_docs, dtype=bool)
    mask[index.postings(term)] = True
    return mask


# -- the same candidates on real questions -------------------------------------------------


def questions(*paths: Path) -> list[str]:
    return [json.loads(line)["q"] for p in paths for line in p.read_text().splitlines() if line]


def assert_same_ranking(engine: Engine, question: str, compiled: bool) -> None:
    groups = [g for g in engine.analyze(question) if not g.meta]
    ranked = rank_on(compiled, engine.index, groups)
    assert ranked == rank_dense(engine.index, groups), question


@both_paths
def test_same_ranking_on_the_bundled_article_questions(engine: Engine, compiled: bool) -> None:
    asked = questions(*sorted((REPO / "eval").glob("*.jsonl"))) + list(engine.suggested_questions)
    assert len(asked) > 50
    for q in asked:
        assert_same_ranking(engine, q, compiled)


@both_paths
def test_same_ranking_on_a_squad_es_sample(compiled: bool) -> None:
    engine = Engine.load(SQUAD_SAMPLE / "knowledge")
    asked = questions(SQUAD_SAMPLE / "questions.jsonl")
    assert len(asked) == 150
    answered = 0
    for q in asked:
        assert_same_ranking(engine, q, compiled)
        answered += bool(rank_on(compiled, engine.index, engine.analyze(q)))
    assert answered > 100  # the sample exercises the ranking, not only empty results


# -- the same candidates on generated corpora and queries ----------------------------------

TERMS = [f"t{i}" for i in range(12)]
_docs = st.lists(st.lists(st.sampled_from(TERMS), max_size=8), min_size=1, max_size=40)
_unit = st.lists(st.sampled_from([*TERMS, "unseen"]), min_size=1, max_size=3).map(tuple)
_group = st.builds(
    lambda units, weights, weight: QueryGroup(
        "w", tuple(units), tuple(weights[: len(units)]), weight, known=True
    ),
    st.lists(_unit, min_size=0, max_size=3, unique=True),
    st.lists(st.sampled_from([1.0, 0.8, 0.5]), min_size=3, max_size=3),
    st.floats(min_value=0.01, max_value=10.0),
)


@both_paths
@settings(max_examples=300, deadline=None)
@given(_docs, st.lists(_group, min_size=1, max_size=5))
def test_same_ranking_on_generated_corpora(
    compiled: bool, docs: list[list[str]], groups: list[QueryGroup]
) -> None:
    index = BM25Index(docs)
    assert rank_on(compiled, index, groups) == rank_dense(index, groups)


@settings(max_examples=200, deadline=None)
@given(_docs, st.lists(_group, min_size=1, max_size=5))
def test_any_passage_scores_as_ranking_scores_it(
    docs: list[list[str]], groups: list[QueryGroup]
) -> None:
    """The meaning pool brings in passages BM25 ranked low or not at all (decide.py): they get
    the very score and coverage ranking gives them, and a passage holding nothing scores 0."""
    index = BM25Index(docs)
    ranked = {r.passage: r for r in rank_dense(index, groups)}
    everyone = list(range(len(docs)))[::-1]  # any order
    for scored in score_passages(index, groups, everyone):
        if scored.passage in ranked:
            assert scored == ranked[scored.passage]
        elif scored.coverage == 0:
            assert scored.score == 0


@both_paths
def test_ranking_keeps_at_most_the_best_candidates(compiled: bool) -> None:
    docs = [["a", "b"] if i % 3 else ["a"] for i in range(500)]
    index = BM25Index(docs)
    group = QueryGroup("a", (("a",), ("b",)), (1.0, 0.8), 1.0, known=True)
    ranked = rank_on(compiled, index, [group])
    assert len(ranked) == MAX_CANDIDATES
    assert ranked == rank_dense(index, [group])
    assert all(r.coverage == 1.0 for r in ranked)


_light_group = st.builds(
    lambda units, weights, weight: QueryGroup(
        "w", tuple(units), tuple(weights[: len(units)]), weight, known=True
    ),
    st.lists(_unit, min_size=0, max_size=4, unique=True),
    st.lists(st.sampled_from([1.0, 0.8, 0.1, 0.07]), min_size=4, max_size=4),
    st.floats(min_value=0.01, max_value=10.0),
)
_many_docs = st.lists(st.lists(st.sampled_from(TERMS), max_size=6), min_size=60, max_size=160)


@both_paths
@settings(max_examples=200, deadline=None)
@given(_many_docs, st.lists(_light_group, min_size=1, max_size=4))
def test_same_ranking_with_synonym_units(
    compiled: bool, docs: list[list[str]], groups: list[QueryGroup]
) -> None:
    # Light (synonym) units are looked up only where they can matter: more passages than the
    # candidates kept, so that both the bounded and the full lookup run.
    index = BM25Index(docs)
    assert rank_on(compiled, index, groups) == rank_dense(index, groups)


_zipf_terms = st.lists(
    st.integers(min_value=0, max_value=60).map(lambda i: f"t{min(i, 11) if i > 20 else i % 12}"),
    max_size=10,
)
_big_docs = st.lists(_zipf_terms, min_size=200, max_size=400)


@settings(max_examples=60, deadline=None)
@given(_big_docs, st.lists(_light_group, min_size=1, max_size=5))
def test_same_ranking_where_lists_are_pruned(
    docs: list[list[str]], groups: list[QueryGroup]
) -> None:
    # Hundreds of passages and a skewed vocabulary (t11 is in most of them): rare lists give
    # the floor, common ones are only looked up among the candidates (both paths).
    index = BM25Index(docs)
    dense = rank_dense(index, groups)
    assert rank(index, groups) == dense
    assert rank_on(False, index, groups) == dense
    with pytest.MonkeyPatch.context() as patch:  # the floor refined with synonyms, every time
        patch.setattr(rank_module, "REFINE_POSTINGS", 0)
        patch.setattr(rank_module, "REFINE_PASSAGES", 20)
        assert rank_on(False, index, groups) == dense


def test_synonyms_looked_up_among_the_word_passages_rank_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "a" is in 120 passages, its synonym "s" in 60 others: they cannot pass the 50 best of
    # "a", yet the synonym "c" (of "b") counts where "a" is.
    docs = [["a", "b"] if i % 4 == 1 else ["a", "a", "a", "c"] for i in range(120)]
    docs += [["s"] if i % 2 else ["c"] for i in range(120)] + [["z"]] * 400
    index = BM25Index(docs)
    groups = [
        QueryGroup("a", (("a",), ("s",)), (1.0, 0.1), 2.0, known=True),
        QueryGroup("b", (("b",), ("c",)), (1.0, 0.1), 1.0, known=True),
    ]
    looked_up = []
    real = rank_module._lookup
    monkeypatch.setattr(rank_module, "_lookup", lambda *a: looked_up.append(a[2]) or real(*a))
    ranked = rank_on(False, index, groups)
    # Both synonyms are looked up among the passages of the words, not scanned.
    assert [(x.group, x.light) for x in looked_up] == [(0, True), (1, True)]
    assert ranked == rank_dense(index, groups) == rank(index, groups)
    assert len(ranked) == MAX_CANDIDATES


def test_synonyms_that_can_reach_the_top_alone_count_everywhere_the_others_nearby(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "s" (a heavier synonym of the rare "b") can lift a passage of its own into the top, so it
    # is looked up in every passage; "c" (of the common "a") cannot, so only where "a" or "s"
    # is. The ranking is the dense one all the same.
    docs = [["a", "x", "x"]] * 120 + [["b", "a"]] * 5 + [["s", "s", "s"]] * 40
    docs += [["c"]] * 60 + [["z"]] * 400
    index = BM25Index(docs)
    groups = [
        QueryGroup("a", (("a",), ("c",)), (1.0, 0.1), 1.0, known=True),
        QueryGroup("b", (("b",), ("s",)), (1.0, 0.25), 4.0, known=True),
    ]
    lookups = []
    real = rank_module._lookup

    def spy(index: BM25Index, pad: object, lst: object, docs: np.ndarray) -> object:
        lookups.append((lst.group, lst.light, len(docs)))
        return real(index, pad, lst, docs)

    monkeypatch.setattr(rank_module, "_lookup", spy)
    ranked = rank_on(False, index, groups)
    # "c" is looked up only where "a" or "s" is (125 + 40 passages); "s" is scanned.
    assert lookups == [(0, True, 165)]
    assert ranked == rank_dense(index, groups) == rank(index, groups)
    assert len(ranked) == MAX_CANDIDATES


# -- the compiled path itself -----------------------------------------------------------------


def compiled_kernel() -> object:
    """The compiled ranking; a missing one fails the run when REQUIRE_COMPILED=1 (CI)."""
    if rank_module._topk is None:
        missing(rank_module.ranking_line(), "REQUIRE_COMPILED")
    return rank_module._topk


def test_the_ranking_line_says_which_path_runs() -> None:
    line = rank_module.ranking_line()
    assert ("compiled" in line) == rank_module.COMPILED
    assert os.environ.get("REQUIRE_COMPILED") != "1" or rank_module.COMPILED, line


def test_the_compiled_ranking_refuses_what_would_read_out_of_bounds() -> None:
    topk = compiled_kernel()
    index = BM25Index([["a", "b"], ["b"], ["c"]])
    tid = index.vocab["b"]

    def call(spec: list[int], factors: list[float], *, n_docs: int = index.n_docs) -> object:
        return topk.best_passages(
            index.offsets, index.packed, index.max_weights,
            np.asarray(spec, dtype=np.int64), np.asarray(factors),
            np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0),
            np.ones(1), 1.0, COVERAGE_FLOOR, MAX_CANDIDATES, 0.25, n_docs, 0,
        )  # fmt: skip

    kinds = ["i8", "f8", "f8", "u8"]
    found = [
        np.frombuffer(b, dtype=t) for b, t in zip(call([0, 0, tid], [1.0]), kinds, strict=True)
    ]
    at = np.argsort(found[0])
    docs, score, covered, mask = (a[at].tolist() for a in found)
    assert docs == [0, 1] and covered == [1.0, 1.0] and mask == [1, 1]
    assert score == [index.weights_at("b", np.asarray([0, 1])).tolist()[i] for i in (0, 1)]
    for spec, factors in [
        ([0, 0, len(index.vocab)], [1.0]),  # a term id past the vocabulary
        ([0, 0, -1], [1.0]),
        ([1, 0, tid], [1.0]),  # a group that does not exist
        ([0, 1, 0], [1.0]),  # a phrase that was not given
        ([0, 2, tid], [1.0]),  # no such kind
        ([0, 0, tid], [-1.0]),  # negative: the bounds would not hold
        ([0, 0, tid, 0], [1.0]),  # not three numbers per term
        ([0, 0, tid], [1.0, 1.0]),
    ]:
        with pytest.raises(ValueError):
            call(spec, factors)
    with pytest.raises(ValueError):
        call([0, 0, tid], [1.0], n_docs=1)  # passage 1 past the passages said
    with pytest.raises(TypeError):
        topk.best_passages(*[None] * 15)


def test_the_compiled_finish_counts_families_and_refuses_members_out_of_range() -> None:
    topk = compiled_kernel()
    index = BM25Index([["a", "b"], ["b"], ["c"]])
    a, b = index.vocab["a"], index.vocab["b"]

    def finish(docs: list[int], mask: list[int], family: list[int], factors: list[float]) -> list:
        n = len(docs)
        found = topk.finish(
            index.offsets, index.packed, np.asarray(docs, dtype=np.int64), np.ones(n),
            np.full(n, 0.5), np.asarray(mask, dtype=np.uint64), np.asarray(family, dtype=np.int64),
            np.asarray(factors), np.asarray([0.5, 0.5]), 1.0, COVERAGE_FLOOR, 2,
        )  # fmt: skip
        kinds = ["i8", "f8", "f8"]
        return [np.frombuffer(x, dtype=t).tolist() for x, t in zip(found, kinds, strict=True)]

    # Group 1 lacks a unit in passages 0 and 2 (bit 1 clear); "a" is in passage 0 only, so
    # passage 0 gains a's weight and group 1's half; passage 1 holds the group (bit set).
    docs, final, coverage = finish([2, 0, 1], [1, 1, 3], [1, a], [1.0])
    assert docs[0] == 0 and coverage == [1.0, 0.5]
    gained = 1 + index.weights_at("a", np.asarray([0]))[0]
    assert final[0] == gained * (COVERAGE_FLOOR + 1.0) + 1e-6
    assert docs[1] == 1  # ties (1.0, 0.5) go by passage: 1 before 2; only k = 2 come back
    for family in ([2, a], [-1, a], [1, 99], [1, a, 0, b]):  # a group or term out of range,
        with pytest.raises(ValueError):  # or groups out of order
            finish([0], [0], family, [1.0] * (len(family) // 2))
    with pytest.raises(ValueError):
        finish([0, 1], [0], [], [])  # fewer masks than passages
    with pytest.raises(TypeError):
        topk.finish(*[None] * 12)


@settings(max_examples=100, deadline=None)
@given(_big_docs, st.lists(_light_group, min_size=1, max_size=5))
def test_the_compiled_ranking_in_two_halves_ranks_the_same(
    docs: list[list[str]], groups: list[QueryGroup]
) -> None:
    # Every question walked in two halves of the passages, side by side, each pruning below the
    # higher of the two's k-th best so far: still the dense ranking (ties included).
    compiled_kernel()
    index = BM25Index(docs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rank_module, "SPLIT_POSTINGS", 1)
        assert rank(index, groups) == rank_dense(index, groups)


def test_the_squad_es_sample_ranked_in_two_halves_ranks_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled_kernel()
    engine = Engine.load(SQUAD_SAMPLE / "knowledge")
    assert engine.index.n_docs > 128  # two halves of at least a word of bits each
    monkeypatch.setattr(rank_module, "SPLIT_POSTINGS", 1)
    for q in questions(SQUAD_SAMPLE / "questions.jsonl"):
        assert_same_ranking(engine, q, compiled=True)


@both_paths
def test_a_group_ranked_in_two_indexes_is_looked_up_in_each(compiled: bool) -> None:
    # What ranking keeps with a group (its terms' ids) belongs to one index: the same group
    # object asked of another folder is looked up there.
    first = BM25Index([["a", "b"], ["b", "c"], ["c"]] + [["x"]] * 10)
    second = BM25Index([["c"], ["z", "c"], ["c", "a"], ["b"]] + [["y"]] * 10)  # other ids
    assert first.vocab["a"] != second.vocab["a"] and first.nonnegative and second.nonnegative
    group = QueryGroup("a", (("a",), ("c",), ("b", "c")), (1.0, 0.1, 0.8), 1.0, known=True)
    for index in (first, second, first):
        assert rank_on(compiled, index, [group]) == rank_dense(index, [group])


def test_questions_from_many_threads_rank_as_one_does(engine: Engine) -> None:
    # The compiled path runs without the GIL: threads share the index, not their work.
    asked = questions(*sorted((REPO / "eval").glob("*.jsonl")))
    groups = [[g for g in engine.analyze(q) if not g.meta] for q in asked]
    alone = [rank(engine.index, g) for g in groups]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda g: rank(engine.index, g), groups * 4))
    assert together == alone * 4


def slow_analyze_all(self: Analyzer, texts: Iterable[str]) -> AnalyzedTexts:
    """Analyse text by text, as loading did before the bulk analysis (an oracle)."""
    content = [[w for w in words(t) if not self.is_stopword(w)] for t in texts]
    terms = list(dict.fromkeys(self.stem(w) for ws in content for w in ws))
    ids = {t: i for i, t in enumerate(terms)}
    return AnalyzedTexts(
        term_ids=np.asarray([ids[self.stem(w)] for ws in content for w in ws], dtype=np.int32),
        lengths=np.asarray([len(ws) for ws in content], dtype=np.int64),
        terms=terms,
        surface={w: self.stem(w) for ws in content for w in ws},
    )


def slow_match(self: TypoMatcher, word: str, limit: int = 3) -> list[str]:
    """Compare a word with every choice, as typo repair did before its filter (an oracle)."""
    choices = [""] * len(self._order)  # in the order given (the matcher keeps them by length)
    for at, i in enumerate(self._order.tolist()):
        choices[i] = self._by_length[at]
    found = process.extract(
        word, choices, scorer=OSA.distance, score_cutoff=max_edits(word), limit=limit
    )
    to_term = self._to_term
    return [to_term[c] if to_term else c for c, _, _ in found if may_repair(word, c)]


def answers(folder: Path, asked: list[str]) -> list[dict]:
    engine = Engine.load(folder)
    return [engine.ask(q).to_dict() for q in asked]


def test_answers_equal_those_of_the_slow_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bulk loading, sparse ranking and filtered typo repair change no answer: the same engine
    # with the slow paths (text-by-text analysis, dense ranking, every-choice typo matching)
    # answers the squad-es sample and the bundled article's questions the same, to the score.
    cases = [
        (SQUAD_SAMPLE / "knowledge", questions(SQUAD_SAMPLE / "questions.jsonl")),
        (REPO / "knowledge", questions(*sorted((REPO / "eval").glob("*.jsonl")))),
    ]
    fast = [answers(folder, asked) for folder, asked in cases]
    monkeypatch.setattr(Analyzer, "analyze_all", slow_analyze_all)
    monkeypatch.setattr(TypoMatcher, "match", slow_match)
    monkeypatch.setattr("bot.core.answer.rank", rank_dense)
    slow = [answers(folder, asked) for folder, asked in cases]
    assert sum(a["answered"] for a in slow[0]) > 50
    assert fast == slow
