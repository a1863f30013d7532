"""Typo repair: map a word the knowledge base does not know to close words it does know.

A word is compared only with the choices that can be within its edits: an optimal string
alignment distance of k or less needs lengths at most k apart (the choices are kept sorted by
length, so that is one slice), and each edit removes or adds at most one letter each way, so
the letter sets (a 32-bit mask per word) differ by at most k letters each way; counted with
the letters a word holds twice or more (a second mask), the letters one word has more of than
the other are still at most k each way (a word with two o's is two edits from any without). The
filters only drop choices that cannot match, so the result is that of comparing every choice;
rapidfuzz compares the few that remain. Repeated words come from a cache.

Where bot/core/_typos.c is built (as the ranking's C twin is), one pass in C filters a slice and
measures the distances of words up to 64 characters (the same choices and distances: numpy's
filters cost ~10 us a call); numpy's and rapidfuzz's path is the fallback, the tests' reference,
and the path of longer words.
"""

from __future__ import annotations

import numpy as np

try:
    from bot.core import _typos
except ImportError:  # not built (no C compiler at install time): numpy and rapidfuzz
    _typos = None

COMPILED = _typos is not None

CACHE_SIZE = 10_000  # words remembered per matcher (cleared when full)
COMPILED_LONGEST = 64  # longer words go to rapidfuzz (_typos.c: a bit per position)
_MASK_WIDTH = 64  # longer choices get their letter mask one by one
# Up to this length a word is repaired by a swap of its letters only: one letter changed, added
# or dropped makes another word of three letters as often as a typo ("get" is not "gpt").
SWAP_ONLY = 3


def may_repair(word: str, choice: str) -> bool:
    """Tell whether a choice within the edits may stand for a word: it shares the word's first
    letter (typos rarely hit it; an empty choice shares none) and, for a word of SWAP_ONLY
    letters or fewer, holds its letters swapped ("gtp" -> "gpt", not "get" -> "gpt")."""
    return choice[:1] == word[:1] and (len(word) > SWAP_ONLY or sorted(choice) == sorted(word))


def max_edits(word: str) -> int:
    """Return the edits a word of this length may carry (Elasticsearch's AUTO fuzziness)."""
    return 1 if len(word) < 6 else 2


class TypoMatcher:
    """Close matches among a fixed list of choices (article words or index terms)."""

    def __init__(
        self,
        choices: list[str],
        to_term: dict[str, str] | None = None,
        *,
        compiled: bool = COMPILED,
    ) -> None:
        self._to_term = to_term
        lengths = np.fromiter(map(len, choices), dtype=np.int64, count=len(choices))
        self._order = np.argsort(lengths, kind="stable")  # choice ids by length
        self._lengths = lengths[self._order]
        once, twice = letter_masks(choices)
        self._masks, self._twice = once[self._order], twice[self._order]
        self._letters = np.bitwise_count(self._masks)  # distinct letters (bits) per choice
        self._by_length = np.asarray(choices, dtype=object)[self._order]
        self._cache: dict[tuple[str, int], list[str]] = {}
        self._codes: np.ndarray | None = None  # the choices' code points, in length order
        if compiled and _typos is not None:
            text = "".join(self._by_length.tolist()).encode("utf-32-le", "surrogatepass")
            self._codes = np.frombuffer(text, dtype=np.uint32)
            self._starts = np.zeros(len(choices) + 1, dtype=np.int64)
            np.cumsum(self._lengths, out=self._starts[1:])
        # The first choice at least n long, for n up to the longest + 1 (a slice without numpy).
        longest = int(self._lengths[-1]) if len(choices) else 0
        self._from_length = np.searchsorted(self._lengths, np.arange(longest + 2)).tolist()

    def match(self, word: str, limit: int = 3) -> list[str]:
        """Return up to `limit` index terms within max_edits(word) that share its first letter.

        Of the `limit` closest choices (ties in the order of the choices), those whose first
        letter is the word's: typos rarely hit the first letter.
        """
        key = (word, limit)
        found = self._cache.get(key)
        if found is None:
            found = self._match(word, limit)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = found
        return list(found)

    def clear_cache(self) -> None:
        """Forget the repaired words (the benchmark times each repair afresh)."""
        self._cache.clear()

    def _match(self, word: str, limit: int) -> list[str]:
        if not word:
            return []
        edits = max_edits(word)
        from_length = self._from_length
        top = len(from_length) - 1
        lo = from_length[min(max(len(word) - edits, 0), top)]
        hi = from_length[min(len(word) + edits + 1, top)]
        mask, again = word_masks(word)  # the word's letters, and those it holds twice
        if self._codes is not None and _typos is not None and len(word) <= COMPILED_LONGEST:
            hits = _typos.within(
                word, self._codes, self._starts, self._masks, self._twice, mask, again, lo, hi,
                edits,
            )  # fmt: skip
            order = self._order
            hits.sort(key=lambda hit: (hit[0], order[hit[1]]))
            return self._terms(word, [self._by_length[i] for _d, i in hits[:limit]])
        # Imported on first use: a cold `ask` without an unknown word never needs it (~10 ms).
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        # Letters only the choice has = its letters - shared ones; only the word's, likewise.
        shared = np.bitwise_count(self._masks[lo:hi] & np.uint32(mask))
        possible = (self._letters[lo:hi] <= shared + edits) & (shared >= mask.bit_count() - edits)
        # Of those, the ones whose letters held twice keep within the edits too.
        at = np.flatnonzero(possible) + lo
        once, twice = self._masks[at], self._twice[at]
        word_once, word_twice = np.uint32(mask), np.uint32(again)
        more = np.bitwise_count(word_once & ~once) + np.bitwise_count(word_twice & ~twice)
        fewer = np.bitwise_count(once & ~word_once) + np.bitwise_count(twice & ~word_twice)
        at = at[(more <= edits) & (fewer <= edits)]
        ids = self._order[at]
        # Every choice within the edits, then the closest `limit`, ties in the choices' order
        # (few pass: sorting them costs less than putting the candidates in that order).
        close = process.extract(
            word, self._by_length[at].tolist(), scorer=OSA.distance, score_cutoff=edits,
            limit=None,
        )  # fmt: skip
        close.sort(key=lambda found: (found[1], ids[found[2]]))
        return self._terms(word, [choice for choice, _dist, _ in close[:limit]])

    def _terms(self, word: str, closest: list[str]) -> list[str]:
        """Return the closest choices that may repair the word, as index terms."""
        to_term = self._to_term
        return [
            to_term[choice] if to_term is not None else choice
            for choice in closest
            if may_repair(word, choice)
        ]


def letter_masks(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return per string its 32-bit letter mask (a-z, ñ and digits own a bit, the rest share
    four) and the mask of the bits it holds twice or more."""
    once = np.zeros(len(strings), dtype=np.uint32)
    twice = np.zeros(len(strings), dtype=np.uint32)
    short = [i for i, s in enumerate(strings) if len(s) <= _MASK_WIDTH]
    if short:
        width = max(1, max(len(strings[i]) for i in short))
        points = np.asarray([strings[i] for i in short], dtype=f"<U{width}").view(np.uint32)
        bits = _bits(points.reshape(len(short), width))
        seen = np.zeros(len(short), dtype=np.uint32)
        again = np.zeros(len(short), dtype=np.uint32)
        for column in bits.T:  # letter by letter: a bit seen before is held twice
            again |= seen & column
            seen |= column
        once[short], twice[short] = seen, again
    for i, s in enumerate(strings):
        if len(s) > _MASK_WIDTH:
            once[i], twice[i] = word_masks(s)
    return once, twice


def word_masks(word: str) -> tuple[int, int]:
    """Return one string's letter mask and the bits of it that two or more of its characters
    set (as letter_masks does, without numpy)."""
    seen = again = 0
    for c in word:
        bit = _bit(ord(c))
        again |= seen & bit
        seen |= bit
    return seen, again


def _bit(p: int) -> int:
    """Return a code point's one-bit mask (0 for NUL, the padding of fixed-width strings)."""
    if 97 <= p <= 122:
        return 1 << (p - 97)
    if p == 0xF1:
        return 1 << 26
    if 48 <= p <= 57:
        return 1 << 27
    return 1 << (28 + p % 4) if p else 0


def _bits(points: np.ndarray) -> np.ndarray:
    """Map code points to one-bit masks (0 for the padding of fixed-width strings)."""
    digit = (points >= 48) & (points <= 57)
    bit = np.where(digit, 27, 28 + points % 4)
    bit = np.where(points == 0xF1, 26, bit)  # ñ
    bit = np.where((points >= 97) & (points <= 122), points - 97, bit)
    out = np.left_shift(np.uint32(1), bit.astype(np.uint32))
    out[points == 0] = 0
    return out
