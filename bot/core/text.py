"""Spanish text analysis: accent folding (ñ kept), stopwords, Snowball stemming, sentences."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import Stemmer
from stop_words import get_stop_words
from stopwords import get_stopwords

WORD_RE = re.compile(r"\w+", re.UNICODE)
_COMBINING_TILDE = "\u0303"


def fold(text: str) -> str:
    """Lowercase and strip accents, keeping ñ distinct from n."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    kept = []
    for i, ch in enumerate(decomposed):
        if unicodedata.category(ch) == "Mn":
            if ch == _COMBINING_TILDE and i > 0 and decomposed[i - 1] == "n":
                kept.append(ch)
            continue
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


def words(text: str) -> list[str]:
    """Split text into folded word tokens (numbers and acronyms included)."""
    return WORD_RE.findall(fold(text))


def word_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield (start, end, folded word) for each word of the original text."""
    for m in WORD_RE.finditer(text):
        yield m.start(), m.end(), fold(m.group())


@lru_cache(maxsize=4)
def stopwords(language: str) -> frozenset[str]:
    """Return the folded stopwords of "es" (stop-words' list) or "en" (Snowball's list)."""
    source = get_stop_words("es") if language == "es" else get_stopwords("english")
    return frozenset(w for entry in source for w in words(entry))


class Analyzer:
    """Turns text into index terms: fold, drop stopwords, stem (digits are kept as is)."""

    def __init__(self, language: str = "spanish", keep: frozenset[str] = frozenset()) -> None:
        self._stemmer = Stemmer.Stemmer(language)
        # `keep`: words a stopword list drops although they carry content ("tiempo").
        self._stop = stopwords("es" if language == "spanish" else "en") - keep
        self._cache: dict[str, str] = {}

    def is_stopword(self, word: str) -> bool:
        """Tell whether a folded word is a stopword."""
        return word in self._stop

    def stem(self, word: str) -> str:
        """Stem one folded word; numbers and words with digits are kept whole."""
        cached = self._cache.get(word)
        if cached is None:
            cached = word if any(c.isdigit() for c in word) else self._stemmer.stemWord(word)
            if len(self._cache) < 200_000:
                self._cache[word] = cached
        return cached

    def terms(self, text: str) -> list[str]:
        """Return the index terms of a text, in order, duplicates kept."""
        return [self.stem(w) for w in words(text) if w not in self._stop]


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
