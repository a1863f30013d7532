"""Typo repair: the filtered matcher finds what comparing every choice finds, from a cache."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.core.typos import TypoMatcher, letter_masks, max_edits, word_masks


def match_every_choice(choices: list[str], word: str, limit: int = 3) -> list[str]:
    """The matcher before the filter: rapidfuzz over every choice (the oracle)."""
    return [
        choice
        for choice, _dist, _ in process.extract(
            word, choices, scorer=OSA.distance, score_cutoff=max_edits(word), limit=limit
        )
        if choice[0] == word[0]
    ]


_letters = st.sampled_from(list("aaeeioosrnnñlcdt0é"))
_word = st.lists(_letters, min_size=1, max_size=9).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(_word, max_size=60), _word, st.integers(1, 4))
def test_same_matches_as_comparing_every_choice(choices: list[str], word: str, limit: int) -> None:
    assert TypoMatcher(choices).match(word, limit) == match_every_choice(choices, word, limit)


def test_a_typo_finds_the_word_and_its_term() -> None:
    surface = {"acuerdo": "acuerd", "acuerdos": "acuerd", "exclusividad": "exclus"}
    matcher = TypoMatcher(list(surface), surface)
    assert matcher.match("acuedro") == ["acuerd", "acuerd"]
    assert matcher.match("exclusivdad") == ["exclus"]
    assert matcher.match("zzz") == []


def test_a_repeated_word_gives_the_same_answer() -> None:
    matcher = TypoMatcher(["microsoft", "openai"])
    first = matcher.match("microsfot")
    first.append("changed by the caller")
    assert matcher.match("microsfot") == ["microsoft"]


def test_letter_masks_of_long_and_short_words_agree() -> None:
    long = "a" * 70 + "ñ"
    assert letter_masks([long])[0][0] == letter_masks(["añ"])[0][0]
    assert letter_masks(["abc", ""])[0][1] == 0


@given(st.lists(st.text(max_size=80), max_size=5))
def test_one_mask_equals_the_masks_of_many(strings: list[str]) -> None:
    once, twice = letter_masks(strings)
    assert list(zip(once.tolist(), twice.tolist(), strict=True)) == list(map(word_masks, strings))


def test_the_twice_mask_holds_the_letters_seen_twice() -> None:
    o = word_masks("o")[0]
    assert word_masks("coomentar") == (word_masks("comentar")[0], o)
    assert word_masks("comentar")[1] == 0
    assert word_masks("éí")[1] == word_masks("é")[0]  # one shared bit: two of its letters
    long = "a" * 70 + "b"
    assert word_masks(long)[1] == letter_masks([long])[1][0] == word_masks("a")[0]


def test_a_word_is_not_compared_with_choices_its_letters_held_twice_rule_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[list[str]] = []
    real = process.extract

    def spy(word: str, choices: list[str], **options: Any) -> Any:
        asked.append(list(choices))
        return real(word, choices, **options)

    monkeypatch.setattr(process, "extract", spy)
    matcher = TypoMatcher(["abcc", "aabc", "zzzzz"])
    assert matcher.match("aabbc") == ["aabc"]
    # "abcc" has the same letters, but "aabbc" holds a and b twice: two edits, past its one.
    assert asked == [["aabc"]]
