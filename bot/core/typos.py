"""Typo repair: map a word the knowledge base does not know to close words it does know."""

from __future__ import annotations

from rapidfuzz import process
from rapidfuzz.distance import OSA


def max_edits(word: str) -> int:
    """Return the edits a word of this length may carry (Elasticsearch's AUTO fuzziness)."""
    return 1 if len(word) < 6 else 2


class TypoMatcher:
    """Close matches among a fixed list of choices (article words or index terms)."""

    def __init__(self, choices: list[str], to_term: dict[str, str] | None = None) -> None:
        self._choices = choices
        self._to_term = to_term

    def match(self, word: str, limit: int = 3) -> list[str]:
        """Return up to `limit` index terms within max_edits(word) that share its first letter."""
        found: list[str] = []
        for choice, _dist, _ in process.extract(
            word, self._choices, scorer=OSA.distance, score_cutoff=max_edits(word), limit=limit
        ):
            if choice[0] == word[0]:  # typos rarely hit the first letter
                found.append(self._to_term[choice] if self._to_term is not None else choice)
        return found
