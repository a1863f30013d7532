"""Benchmark: our inverted BM25 index against rank-bm25 on a synthetic Spanish corpus.

`python -m bot bench` generates seeded passages whose words follow wordfreq's Spanish
frequencies, analyses them once (the same term lists feed both indexes), and prints build
time, memory and query latency side by side, the ratios, a correctness check, the targets, and
the cold start of `python -m bot ask`. It prints figures; it asserts nothing about time.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from bot.core.index import BM25Index
from bot.core.text import Analyzer, words

VOCAB_SIZE = 50_000
LEN_MIN, LEN_MAX = 20, 120  # passage length in words, like news paragraphs
LEN_SHAPE, LEN_SCALE = 6.0, 10.0  # gamma: mean 60 words before clipping
CHUNK = 250_000  # passages generated per numpy batch
TOP_K = 10
REPEATS = 3  # timed runs per query; each query keeps its best (the machine may be shared)
COMMON_RANKS = 300  # "common" query words: the most frequent terms of the corpus
UNKNOWN_SHARE = 0.1  # queries that also carry a word no passage has
COLD_RUNS = 5
COLD_QUESTION = "¿Hasta cuándo estará vigente el acuerdo?"
P95_TARGETS_MS = {100_000: 0.2, 1_000_000: 1.0}
BUILD_TARGET_S_PER_100K = 1.0
COLD_TARGET_S = 0.5
DASH = "—"


@dataclass(frozen=True)
class Vocabulary:
    """wordfreq's Spanish words, their sampling probabilities and index terms."""

    probs: np.ndarray  # per word
    term_of_word: np.ndarray  # per word: term id, -1 for a stopword
    terms: list[str]  # per term id: the stem


@dataclass(frozen=True)
class Corpus:
    """Generated passages as term lists, plus the flat term ids they came from."""

    docs: list[list[str]]
    term_ids: np.ndarray  # all passages' term ids, concatenated
    offsets: np.ndarray  # passage i holds term_ids[offsets[i]:offsets[i + 1]]
    words: int  # words generated (stopwords included)


@dataclass
class Row:
    """One index's figures at one corpus size."""

    build_s: float
    retained_mb: float
    peak_mb: float
    p50_ms: float
    p95_ms: float
    arrays_mb: float | None = None


def vocabulary() -> Vocabulary:
    """Return the top Spanish words with Zipf weights, stemmed once with our Analyzer."""
    import wordfreq

    analyzer = Analyzer("spanish")
    freq = wordfreq.get_frequency_dict("es")
    stems: dict[str, int] = {}
    probs: list[float] = []
    term_of_word: list[int] = []
    for word in wordfreq.top_n_list("es", VOCAB_SIZE):
        if len(words(word)) != 1:  # "ee.uu", emoji: not one token for our analyzer
            continue
        terms = analyzer.terms(word)
        probs.append(freq.get(word, 0.0) or wordfreq.word_frequency(word, "es"))
        term_of_word.append(stems.setdefault(terms[0], len(stems)) if terms else -1)
    p = np.asarray(probs)
    return Vocabulary(p / p.sum(), np.asarray(term_of_word, dtype=np.int32), list(stems))


def generate(vocab: Vocabulary, n: int, rng: np.random.Generator) -> Corpus:
    """Generate n passages of Zipf-distributed words; keep their terms (stopwords dropped)."""
    cdf = np.cumsum(vocab.probs)
    cdf /= cdf[-1]
    parts: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    n_words = 0
    for lo in range(0, n, CHUNK):
        m = min(CHUNK, n - lo)
        lengths = np.clip(np.rint(rng.gamma(LEN_SHAPE, LEN_SCALE, m)), LEN_MIN, LEN_MAX)
        lengths = lengths.astype(np.int64)
        drawn = np.searchsorted(cdf, rng.random(int(lengths.sum())), side="right")
        terms = vocab.term_of_word[np.minimum(drawn, len(cdf) - 1)]
        kept = terms >= 0
        doc = np.repeat(np.arange(m), lengths)
        parts.append(terms[kept])
        counts.append(np.bincount(doc[kept], minlength=m))
        n_words += int(lengths.sum())
    term_ids = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    offsets = np.zeros(n + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=offsets[1:])
    flat = np.asarray(vocab.terms, dtype=object)[term_ids].tolist()
    bounds = offsets.tolist()
    docs = [flat[a:b] for a, b in pairwise(bounds)]
    return Corpus(docs, term_ids, offsets, n_words)


def make_queries(
    vocab: Vocabulary, corpus: Corpus, n_docs: int, count: int, rng: np.random.Generator
) -> list[list[str]]:
    """Return questions of 2-6 terms: one or two common ones plus rarer, mid-frequency ones."""
    ctf = np.bincount(corpus.term_ids[: corpus.offsets[n_docs]], minlength=len(vocab.terms))
    present = int((ctf > 0).sum())
    by_freq = np.argsort(-ctf, kind="stable")[:present]
    n_common = min(max(2, min(COMMON_RANKS, present // 20)), present)
    queries: list[list[str]] = []
    for i in range(count):
        n = min(int(rng.integers(2, 7)), present)
        common = min(int(rng.integers(1, 3)), max(n - 1, 1))
        picked = [int(r) for r in rng.choice(n_common, size=common, replace=False)]
        # Rarer words: log-uniform over the remaining frequency ranks, so mid-frequency ones
        # (a few hundred to a few thousand passages) come up most.
        n = min(n, common + present - n_common)
        while len(picked) < n:
            rank = min(int(np.exp(rng.uniform(np.log(n_common), np.log(present)))), present - 1)
            if rank not in picked:
                picked.append(rank)
        query = [vocab.terms[int(by_freq[r])] for r in picked]
        if rng.random() < UNKNOWN_SHARE:
            query.insert(int(rng.integers(0, len(query) + 1)), f"zzqx{i}")  # in no passage
        queries.append(query)
    return queries


def traced(build: Callable[[], Any]) -> tuple[Any, float, float]:
    """Build under tracemalloc; return the object, MB still allocated after, and MB at peak."""
    gc.collect()
    tracemalloc.start()
    try:
        obj = build()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return obj, current / 1e6, peak / 1e6


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Return fn's result and its wall time in seconds."""
    gc.collect()
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def latencies(
    run: Callable[[list[str]], Any], queries: list[list[str]]
) -> tuple[list[Any], np.ndarray]:
    """Warm up once, then time each query REPEATS times; return results and best times (ms)."""
    results = [run(q) for q in queries]
    best = np.full(len(queries), np.inf)
    for _ in range(REPEATS):
        for i, q in enumerate(queries):
            start = time.perf_counter()
            results[i] = run(q)
            best[i] = min(best[i], time.perf_counter() - start)
    return results, best * 1e3


def reference_top(scores: np.ndarray, k: int) -> tuple[list[int], list[float]]:
    """Return the top-k positive scores of a dense array, ties broken by the lower id."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        kth = np.partition(scores[positive], len(positive) - k)[len(positive) - k]
        positive = positive[scores[positive] >= kth]
    order = positive[np.lexsort((positive, -scores[positive]))][:k]
    return order.tolist(), scores[order].tolist()


def measure(
    build: Callable[[], Any],
    run: Callable[[Any, list[str]], Any],
    queries: list[list[str]],
) -> tuple[Row, Any, list[Any]]:
    """Time a build, build again under tracemalloc, then time each query: the same for both."""
    model, build_s = timed(build)
    del model
    model, retained, peak = traced(build)
    results, lat = latencies(lambda q: run(model, q), queries)
    return Row(build_s, retained, peak, *np.percentile(lat, [50, 95]).tolist()), model, results


def bench_ours(docs: Sequence[list[str]], queries: list[list[str]]) -> tuple[Row, list[Any]]:
    """Build, measure and query our index."""
    row, index, hits = measure(
        lambda: BM25Index(docs), lambda index, q: index.search(q, k=TOP_K), queries
    )
    row.arrays_mb = index.memory_bytes() / 1e6
    return row, hits


def bench_reference(docs: Sequence[list[str]], queries: list[list[str]]) -> tuple[Row, list[Any]]:
    """Build, measure and query rank-bm25's BM25Okapi (scores + argpartition top-k)."""
    from rank_bm25 import BM25Okapi

    def run(model: BM25Okapi, q: list[str]) -> tuple[np.ndarray, np.ndarray]:
        scores = model.get_scores(q)
        k = min(TOP_K, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        return scores, top[np.lexsort((top, -scores[top]))]

    row, _model, results = measure(lambda: BM25Okapi(docs), run, queries)
    return row, [reference_top(scores, TOP_K) for scores, _ in results]


def compare(ours: list[Any], ref: list[tuple[list[int], list[float]]]) -> tuple[int, str]:
    """Count queries whose top-k ids and scores agree; describe the first disagreement."""
    equal, first = 0, ""
    for i, (hits, (ids, scores)) in enumerate(zip(ours, ref, strict=True)):
        got_ids = [h.doc for h in hits]
        got_scores = [h.score for h in hits]
        if got_ids == ids and np.allclose(got_scores, scores):
            equal += 1
        elif not first:
            first = f"query {i}: ours {got_ids[:5]}… vs rank-bm25 {ids[:5]}…"
    return equal, first


def cold_start(root: Path) -> tuple[float | None, float, str]:
    """Median wall time of `python -m bot ask ...` and of a bare `python -c pass` (seconds)."""

    def median_of(args: list[str]) -> tuple[float | None, str]:
        times: list[float] = []
        for _ in range(COLD_RUNS):
            start = time.perf_counter()
            done = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                return None, (done.stderr.strip().splitlines() or ["?"])[-1]
        return statistics.median(times), ""

    ask, error = median_of([sys.executable, "-m", "bot", "ask", COLD_QUESTION])
    bare, _ = median_of([sys.executable, "-c", "pass"])
    return ask, bare or 0.0, error


def _fmt(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def _ratio(ref: float | None, ours: float) -> str:
    if ref is None or ours <= 0:
        return DASH
    return f"{ref / ours:,.0f}x" if ref / ours >= 100 else f"{ref / ours:.1f}x"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine_lines() -> list[str]:
    """Describe the machine and the library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = getattr(os, "sched_getaffinity", None)
    nproc = len(affinity(0)) if affinity else os.cpu_count()
    return [
        f"machine: nproc {nproc}, {cpu}, {platform.system()} {platform.machine()}",
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"rank-bm25 {metadata.version('rank-bm25')}, wordfreq {metadata.version('wordfreq')}",
    ]


def run_bench(sizes: list[int], queries: int, ref_max: int, seed: int) -> int:
    """Run the benchmark at each corpus size and print the figures; return the exit code."""
    sizes = sorted({s for s in sizes if s > 0})
    if not sizes or queries < 1:
        print("error: give at least one corpus size and one query", file=sys.stderr)
        return 2
    print("\n".join(machine_lines()))
    rng = np.random.default_rng(seed)
    (vocab, corpus), gen_s = timed(lambda: _corpus(rng, max(sizes)))
    n_terms = len(corpus.term_ids)
    print(
        f"corpus: seed {seed}, {max(sizes):,} passages generated in {gen_s:.1f} s from "
        f"{len(vocab.probs):,} wordfreq words ({len(vocab.terms):,} stems); "
        f"{corpus.words / max(sizes):.1f} words and {n_terms / max(sizes):.1f} index terms "
        f"per passage; each size uses the first passages"
    )
    print(
        f"queries: {queries} per size, 2-6 terms (1-2 of the {COMMON_RANKS} most frequent, "
        f"the rest log-uniform by frequency rank), {UNKNOWN_SHARE:.0%} with an unknown word; "
        f"top-{TOP_K}"
    )
    print(
        f"latency: warm, each query's best of {REPEATS} runs, then p50/p95 over the queries; "
        f"ours search(q, k={TOP_K}), rank-bm25 get_scores(q) + argpartition top-{TOP_K}"
    )
    print(
        "memory: tracemalloc (Python and numpy allocations) over the build: retained = still "
        "held after it (the index), peak = its high-water mark; arrays = ours memory_bytes()"
    )
    print()
    header = (
        f"{'passages':>10}  {'index':<10}  {'build s':>8}  {'arrays MB':>9}  "
        f"{'retained MB':>11}  {'peak MB':>8}  {'p50 ms':>8}  {'p95 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    results: dict[int, tuple[Row, Row | None]] = {}
    checks: list[str] = []
    for n in sizes:
        docs = corpus.docs[:n]
        qs = make_queries(vocab, corpus, n, queries, np.random.default_rng([seed, n]))
        ours, hits = bench_ours(docs, qs)
        ref: Row | None = None
        if n <= ref_max:
            ref, ref_top = bench_reference(docs, qs)
            equal, first = compare(hits, ref_top)
            verdict = "equal" if equal == len(qs) else "DIFFERENT"
            checks.append(
                f"correctness {n:,}: top-{TOP_K} ids and scores {verdict} to rank-bm25 on "
                f"{equal}/{len(qs)} queries (ids exact, scores np.allclose, ties by lower id)"
                + (f"; {first}" if first else "")
            )
        else:
            checks.append(f"correctness {n:,}: rank-bm25 not run (above --ref-max {ref_max:,})")
        results[n] = (ours, ref)
        _print_rows(n, ours, ref)
        gc.collect()
    print()
    print("\n".join(checks))
    print()
    _print_targets(sizes, results)
    return 0


def _corpus(rng: np.random.Generator, n: int) -> tuple[Vocabulary, Corpus]:
    vocab = vocabulary()
    return vocab, generate(vocab, n, rng)


def _print_rows(n: int, ours: Row, ref: Row | None) -> None:
    size = f"{n:,}"
    print(
        f"{size:>10}  {'ours':<10}  {ours.build_s:>8.3f}  {_fmt(ours.arrays_mb, 1):>9}  "
        f"{ours.retained_mb:>11.1f}  {ours.peak_mb:>8.1f}  {ours.p50_ms:>8.3f}  "
        f"{ours.p95_ms:>8.3f}"
    )
    if ref is None:
        print(
            f"{size:>10}  {'rank-bm25':<10}  {DASH:>8}  {DASH:>9}  {DASH:>11}  {DASH:>8}  "
            f"{DASH:>8}  {DASH:>8}  (not run: above --ref-max)"
        )
        return
    print(
        f"{size:>10}  {'rank-bm25':<10}  {ref.build_s:>8.3f}  {DASH:>9}  "
        f"{ref.retained_mb:>11.1f}  {ref.peak_mb:>8.1f}  {ref.p50_ms:>8.3f}  {ref.p95_ms:>8.3f}"
    )
    print(
        f"{size:>10}  {'ratio':<10}  {_ratio(ref.build_s, ours.build_s):>8}  {'':>9}  "
        f"{_ratio(ref.retained_mb, ours.retained_mb):>11}  {_ratio(ref.peak_mb, ours.peak_mb):>8}  "
        f"{_ratio(ref.p50_ms, ours.p50_ms):>8}  {_ratio(ref.p95_ms, ours.p95_ms):>8}"
        "  (rank-bm25 / ours)"
    )


def _print_targets(sizes: list[int], results: dict[int, tuple[Row, Row | None]]) -> None:
    print("targets:")
    for n, limit in P95_TARGETS_MS.items():
        if n in results:
            p95 = results[n][0].p95_ms
            print(f"  p95 <= {limit} ms at {n:,}: {p95:.3f} ms  {_verdict(p95 <= limit)}")
        else:
            print(f"  p95 <= {limit} ms at {n:,}: not measured (size not run)")
    for n in sizes:
        build = results[n][0].build_s
        limit = BUILD_TARGET_S_PER_100K * n / 100_000
        print(
            f"  build <= {BUILD_TARGET_S_PER_100K} s per 100k passages at {n:,} "
            f"(<= {limit:.2f} s): {build:.3f} s  {_verdict(build <= limit)}"
        )
    root = Path(__file__).resolve().parents[1]
    ask, bare, error = cold_start(root)
    if ask is None:
        print(f"  cold start `python -m bot ask`: failed ({error})  MISS")
        return
    print(
        f'  cold start `python -m bot ask "{COLD_QUESTION}"` (median of {COLD_RUNS}, wall): '
        f"{ask:.3f} s vs target {COLD_TARGET_S} s  {_verdict(ask <= COLD_TARGET_S)}; "
        f"bare `python -c pass`: {bare:.3f} s (ask / bare: {_ratio(ask, bare)})"
    )
