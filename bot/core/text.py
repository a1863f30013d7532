"""Spanish text analysis: accent folding (ñ kept), stopwords, Snowball stemming, sentences."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import Stemmer
from stop_words import get_stop_words
from stopwords import get_stopwords

from bot.core.chunks import ChunkTable

try:
    from bot.core import _chunks
except ImportError:  # not built (no C compiler at install time): term_spans_python
    _chunks = None

WORD_RE = re.compile(r"\w+", re.UNICODE)
_COMBINING_TILDE = "\u0303"


def fold(text: str) -> str:
    """Lowercase and strip accents, keeping ñ distinct from n."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    if _UNSAFE.search(folded) is None:  # every character folds on its own: one table pass
        return folded.translate(_FOLD_TABLE)
    return fold_slow(folded)


def fold_slow(text: str) -> str:
    """Fold character by character (decomposed input, marks after other letters, any script)."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    kept = []
    for i, ch in enumerate(decomposed):
        if unicodedata.category(ch) == "Mn":
            if ch == _COMBINING_TILDE and i > 0 and decomposed[i - 1] == "n":
                kept.append(ch)
            continue
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


# Latin letters, Latin-1 punctuation and general punctuation hold no combining mark and
# compose with no neighbour, so each folds alone; any other character takes fold_slow.
_UNSAFE = re.compile("[^\x00-\u024f\u2000-\u206f]")
_FOLD_TABLE = {
    c: f
    for c in range(0x80, 0x2070)
    if (c < 0x250 or c >= 0x2000) and (f := fold_slow(chr(c))) != chr(c)
}


def words(text: str) -> list[str]:
    """Split text into folded word tokens (numbers and acronyms included)."""
    return WORD_RE.findall(fold(text))


def word_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield (start, end, folded word) for each word of the original text."""
    for m in WORD_RE.finditer(text):
        yield m.start(), m.end(), fold(m.group())


INTERROGATIVE_FORMS = ("cuánta", "cuántos", "cuántas")


@lru_cache(maxsize=4)
def stopwords(language: str) -> frozenset[str]:
    """Return the folded stopwords of "es" (stop-words' list) or "en" (Snowball's list)."""
    source = get_stop_words("es") if language == "es" else get_stopwords("english")
    if language == "es":
        # The list has "cuanto" but not its other forms: no interrogative is content.
        source = [*source, *INTERROGATIVE_FORMS]
    return frozenset(w for entry in source for w in words(entry))


class Analyzer:
    """Turns text into index terms: fold, drop stopwords, stem (digits are kept as is)."""

    def __init__(self, language: str = "spanish", keep: frozenset[str] = frozenset()) -> None:
        self._stemmer = Stemmer.Stemmer(language)
        self._stemmer.maxCacheSize = 0  # ours (self._cache) is in front; its purges cost more
        # `keep`: words a stopword list drops although they carry content ("tiempo").
        self._stop = stopwords("es" if language == "spanish" else "en") - keep
        self._cache: dict[str, str] = {}
        self._token_terms = _TokenTerms(self)

    def is_stopword(self, word: str) -> bool:
        """Tell whether a folded word is a stopword."""
        return word in self._stop

    def stem(self, word: str) -> str:
        """Stem one folded word; numbers and words with digits are kept whole."""
        cached = self._cache.get(word)
        if cached is None:
            digits = not word.isalpha() and any(c.isdigit() for c in word)
            cached = word if digits else self._stemmer.stemWord(word)
            if len(self._cache) < 200_000:
                self._cache[word] = cached
        return cached

    def terms(self, text: str) -> list[str]:
        """Return the index terms of a text, in order, duplicates kept."""
        folded = text.casefold()
        if not folded.isascii() and _UNSAFE.search(folded) is not None:
            folded = fold_slow(folded)  # else its words fold one by one (in the token cache)
        found = map(self._token_terms.__getitem__, WORD_RE.findall(folded))
        return [t for t in found if t is not None]

    def term_spans(self, text: str) -> tuple[tuple[int, int, str], ...]:
        """Return (start, end, index term) for each content word of the original text."""
        if _chunks is not None:  # compiled: a passage read for the first time costs ~4x less
            return _chunks.term_spans(text, self._token_terms)
        return tuple(term_spans_python(text, self._token_terms))

    def _learn(self, surface: dict[str, str]) -> None:
        """Seed the token and stem caches with what a bulk analysis found (folded content word
        -> its term; a folded word is a token of its own) and with the stopwords: a passage
        read again for a quote or a decision does not fold and stem its words a second time
        (1,000 questions streamed at 100k passages: 21,455 tokens analysed again -> 6,135)."""
        for word in self._stop:
            self._token_terms.setdefault(word, None)
        room = max(0, _TOKEN_CACHE_SIZE - len(self._token_terms))  # the cache's own bound
        for word, term in itertools.islice(surface.items(), room):
            self._token_terms.setdefault(word, term)
            self._cache.setdefault(word, term)

    def analyze_all(self, texts: Iterable[str]) -> AnalyzedTexts:
        """Analyse many texts in bulk: each distinct word is folded, filtered and stemmed once."""
        # Whitespace never joins two words, and folding never crosses it: each distinct
        # chunk ("Acuerdo,") is analysed once, and numpy finds the chunks of each batch.
        codes = _ChunkCodes(self)
        table = ChunkTable(codes.__getitem__)
        parts: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) == _BATCH:
                parts.append(codes.flush(*table.codes(batch), lengths))
                batch = []
        parts.append(codes.flush(*table.codes(batch), lengths))
        self._learn(codes.surface)
        return AnalyzedTexts(
            term_ids=np.concatenate(parts),
            lengths=np.concatenate(lengths),
            terms=list(codes.terms),
            surface=codes.surface,
        )


def term_spans_python(
    text: str, token_terms: dict[str, str | None]
) -> Iterator[tuple[int, int, str]]:
    """Yield Analyzer.term_spans's spans (the reference of its compiled twin)."""
    term_of = token_terms.__getitem__
    for m in WORD_RE.finditer(text):
        term = term_of(m.group())
        if term is not None:
            yield m.start(), m.end(), term


class _TokenTerms(dict[str, str | None]):
    """Word token -> its index term (None for a stopword), computed once per distinct token."""

    def __init__(self, analyzer: Analyzer) -> None:
        super().__init__()
        self.analyzer = analyzer

    def __missing__(self, token: str) -> str | None:
        word = fold(token)
        term = None if self.analyzer.is_stopword(word) else self.analyzer.stem(word)
        if len(self) < _TOKEN_CACHE_SIZE:
            self[token] = term
        return term


_TOKEN_CACHE_SIZE = 200_000


@dataclass(frozen=True)
class AnalyzedTexts:
    """Index terms of many texts: flat term ids, each text's length, and the words behind."""

    term_ids: np.ndarray  # int32, all texts' terms concatenated (stopwords dropped)
    lengths: np.ndarray  # int64, terms per text
    terms: list[str]  # term id -> index term, in order of first use
    surface: dict[str, str]  # folded content word -> its index term, in order of first use


_BATCH = 10_000  # texts per numpy batch in analyze_all (bounds the temporaries)
_PUNCTUATION = ".,;:!?¿¡()[]«»\"'“”‘’…-–—"  # no word character among them
_DROP = -1  # chunk code: no content word ("de", "—")
_MANY = -2  # chunk codes _MANY - i: several words ("2.000", "ee.uu."), the terms in many[i]


class _ChunkCodes(dict[str, int]):
    """Whitespace chunk -> its term id, computed on first sight of each distinct chunk."""

    def __init__(self, analyzer: Analyzer) -> None:
        super().__init__()
        self.analyzer = analyzer
        self.terms: dict[str, int] = {}  # term -> id, in order of first use
        self.surface: dict[str, str] = {}
        self.many: list[np.ndarray] = []

    def __missing__(self, chunk: str) -> int:
        # "Acuerdo," holds the words of "acuerdo": punctuation around a word is no word.
        bare = chunk.casefold().strip(_PUNCTUATION)
        code = self.get(bare) if bare != chunk else None
        if code is None:
            code = self._analyse(bare)
        self[chunk] = code
        return code

    def _analyse(self, chunk: str) -> int:
        ids = [self.term_id(w) for w in words(chunk)]
        ids = [i for i in ids if i != _DROP]
        if not ids:
            code = _DROP
        elif len(ids) == 1:
            code = ids[0]
        else:
            code = _MANY - len(self.many)
            self.many.append(np.asarray(ids, dtype=np.int32))
        self[chunk] = code
        return code

    def term_id(self, word: str) -> int:
        """Return a folded word's term id, or _DROP for a stopword."""
        if self.analyzer.is_stopword(word):
            return _DROP
        term = self.surface.get(word)
        if term is None:
            term = self.surface[word] = self.analyzer.stem(word)
        return self.terms.setdefault(term, len(self.terms))

    def flush(self, codes: np.ndarray, counts: np.ndarray, lengths: list[np.ndarray]) -> np.ndarray:
        """Turn a batch's chunk codes into term ids; append each text's length to `lengths`."""
        sizes = (codes >= 0).astype(np.int64)
        many = np.flatnonzero(codes <= _MANY)
        extra = [self.many[_MANY - int(c)] for c in codes[many].tolist()]
        sizes[many] = [len(e) for e in extra]
        ends = np.cumsum(sizes)
        chunk_ends = np.cumsum(counts)
        text_ends = np.concatenate([[0], ends])[chunk_ends]
        lengths.append(np.diff(text_ends, prepend=0))
        ids = np.repeat(codes, sizes)
        for at, terms in zip((ends[many] - sizes[many]).tolist(), extra, strict=True):
            ids[at : at + len(terms)] = terms
        return ids


# Abbreviations that end with a period inside Spanish and English news sentences.
_ABBREVIATIONS = frozenset(
    [
        "sr",
        "sra",
        "srta",
        "dr",
        "dra",
        "ud",
        "uds",
        "etc",
        "pag",
        "p",
        "ej",
        "vs",
        "no",
        "num",
        "art",
        "cap",
        "dept",
        "av",
        "avda",
        "ene",
        "feb",
        "mar",
        "abr",
        "may",
        "jun",
        "jul",
        "ago",
        "sep",
        "sept",
        "oct",
        "nov",
        "dic",
        "jan",
        "apr",
        "aug",
        "dec",
        "mr",
        "mrs",
        "ms",
        "inc",
        "corp",
        "ltd",
        "co",
        "st",
        "jr",
    ]
)
_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”’)]*\s+(?=[\"'«“‘¿¡(]?[A-ZÁÉÍÓÚÑÜ0-9])")


def sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences of a text, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        before = text[start : m.start()].rsplit(maxsplit=1)
        last = before[-1].rstrip(".").casefold() if before else ""
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()) or "." in last:
            continue
        end = m.end()
        spans.append((start, len(text[:end].rstrip())))
        start = end
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans
