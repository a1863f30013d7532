"""Typo repair: the filtered matcher finds what comparing every choice finds, from a cache;
its compiled loop (bot/core/_typos.c) finds what numpy's filters and rapidfuzz find."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.core import typos as typos_module
from bot.core.typos import TypoMatcher, letter_masks, max_edits, may_repair, word_masks
from tests.conftest import missing


def compiled_loop() -> Any:
    """The compiled loop; a missing one fails the run when REQUIRE_COMPILED=1 (CI)."""
    if typos_module._typos is None:
        missing("bot/core/_typos.c not built", "REQUIRE_COMPILED")
    return typos_module._typos


both_paths = pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])


def match_every_choice(choices: list[str], word: str, limit: int = 3) -> list[str]:
    """The matcher before the filter: rapidfuzz over every choice (the oracle)."""
    return [
        choice
        for choice, _dist, _ in process.extract(
            word, choices, scorer=OSA.distance, score_cutoff=max_edits(word), limit=limit
        )
        if may_repair(word, choice)
    ]


_letters = st.sampled_from(list("aaeeioosrnnñlcdt0é"))
_word = st.lists(_letters, min_size=1, max_size=9).map("".join)


@both_paths
@settings(max_examples=400, deadline=None)
@given(choices=st.lists(_word, max_size=60), word=_word, limit=st.integers(1, 4))
def test_same_matches_as_comparing_every_choice(
    compiled: bool, choices: list[str], word: str, limit: int
) -> None:
    if compiled:
        compiled_loop()
    matcher = TypoMatcher(choices, compiled=compiled)
    assert matcher.match(word, limit) == match_every_choice(choices, word, limit)


@both_paths
def test_a_three_letter_word_is_repaired_by_a_swap_only(compiled: bool) -> None:
    if compiled:
        compiled_loop()
    matcher = TypoMatcher(["gpt", "api", "azure", "gestion"], compiled=compiled)
    assert matcher.match("gtp") == ["gpt"]  # its letters swapped: a typo
    assert matcher.match("aip") == ["api"]
    # One letter changed or added makes another word: "get" and "git" are not "gpt".
    assert matcher.match("get") == matcher.match("git") == []
    assert matcher.match("gpts") == ["gpt"]  # four letters: one edit of any kind


# Letters of one and two UTF-8 bytes, one past Latin-1 and one past the BMP: the compiled
# distance reads code points.
_wide_letters = st.sampled_from(list("aaeeoosrnñlc0éωω😀"))
_wide_word = st.lists(_wide_letters, max_size=9).map("".join)
_long_word = st.lists(_wide_letters, min_size=62, max_size=70).map("".join)
_longest_word = st.lists(_wide_letters, min_size=62, max_size=64).map("".join)  # C's longest


@st.composite
def _edited(draw: st.DrawFn, word: str) -> str:
    """The word after up to three edits: swapped neighbours, a letter dropped, added or changed."""
    letters = list(word)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(letters)))
        kind = draw(st.sampled_from(["swap", "drop", "add", "change"]))
        if kind == "swap" and at + 1 < len(letters):
            letters[at], letters[at + 1] = letters[at + 1], letters[at]
        elif kind == "drop" and at < len(letters):
            del letters[at]
        elif kind == "add":
            letters.insert(at, draw(_wide_letters))
        elif at < len(letters):
            letters[at] = draw(_wide_letters)
    return "".join(letters)


@st.composite
def _word_and_choices(draw: st.DrawFn) -> tuple[str, list[str]]:
    word = draw(st.one_of(_wide_word, _longest_word))
    near = st.one_of(_edited(word), _wide_word, _long_word)
    return word, draw(st.lists(near, max_size=40))


@settings(max_examples=300, deadline=None)
@given(_word_and_choices(), st.integers(0, 3))
def test_the_compiled_loop_finds_every_choice_within_the_edits(
    word_and_choices: tuple[str, list[str]], edits: int
) -> None:
    word, choices = word_and_choices
    # Every choice of the slice within `edits` OSA edits, with rapidfuzz's distance: the letter
    # filter drops only choices that cannot match, words of 64 letters and choices past them
    # included.
    loop = compiled_loop()
    matcher = TypoMatcher(choices, compiled=True)
    assert matcher._codes is not None
    ordered = matcher._by_length.tolist()
    mask, again = word_masks(word)
    found = loop.within(
        word, matcher._codes, matcher._starts, matcher._masks, matcher._twice, mask, again,
        0, len(ordered), edits,
    )  # fmt: skip
    every = [(OSA.distance(word, c), i) for i, c in enumerate(ordered)]
    assert found == [(d, i) for d, i in every if d <= edits]


def test_the_compiled_loop_refuses_what_would_read_out_of_bounds() -> None:
    loop = compiled_loop()
    matcher = TypoMatcher(["abc", "abd", "xyz"], compiled=True)
    codes, starts, once, twice = matcher._codes, matcher._starts, matcher._masks, matcher._twice
    mask, again = word_masks("abc")

    def within(**changed: Any) -> Any:
        given_ = {"codes": codes, "starts": starts, "once": once, "twice": twice, "lo": 0, "hi": 3}
        given_.update(changed)
        return loop.within(
            "abc", given_["codes"], given_["starts"], given_["once"], given_["twice"], mask,
            again, given_["lo"], given_["hi"], 1,
        )  # fmt: skip

    assert within() == [(0, 0), (1, 1)]
    # Any number of edits: 90 b's are 90 edits from 64 a's, within 100.
    far = TypoMatcher(["b" * 90], compiled=True)
    wide = word_masks("a" * 64)
    assert loop.within(
        "a" * 64, far._codes, far._starts, far._masks, far._twice, *wide, 0, 1, 100
    ) == [(90, 0)]
    with pytest.raises(ValueError):  # past 64 characters: the caller's fallback compares it
        loop.within("a" * 65, far._codes, far._starts, far._masks, far._twice, *wide, 0, 1, 100)
    for changed in (
        {"hi": 4},  # past the choices
        {"lo": -1},
        {"lo": 2, "hi": 1},
        {"starts": starts[:-1]},  # a choice without its end
        {"twice": twice[:-1]},
        # "abd" (within one edit: its letters are read) past the code points, or ending before
        # it starts
        {"starts": np.asarray([0, 3, 99, 9], dtype=np.int64)},
        {"starts": np.asarray([0, 3, 1, 9], dtype=np.int64)},
        {"starts": np.asarray([0, -3, 6, 9], dtype=np.int64)},
        {"codes": np.zeros(3, dtype=np.uint8)},  # not 4-byte code points
    ):
        with pytest.raises(ValueError):
            within(**changed)
    with pytest.raises(TypeError):
        loop.within(*[None] * 10)


def test_a_typo_finds_the_word_and_its_term() -> None:
    surface = {"acuerdo": "acuerd", "acuerdos": "acuerd", "exclusividad": "exclus"}
    matcher = TypoMatcher(list(surface), surface)
    assert matcher.match("acuedro") == ["acuerd", "acuerd"]
    assert matcher.match("exclusivdad") == ["exclus"]
    assert matcher.match("zzz") == []


@both_paths
@settings(max_examples=50, deadline=None)
@given(word=_long_word, choices=st.lists(_long_word, max_size=20))
def test_a_long_word_matches_as_comparing_every_choice(
    compiled: bool, word: str, choices: list[str]
) -> None:
    # Past 64 characters the compiled matcher hands the word to numpy's filters and rapidfuzz.
    if compiled:
        compiled_loop()
    edited = [word[:-1], word[1:] + word[0], word[:30] + word[31] + word[30] + word[32:]]
    choices = choices + edited
    matcher = TypoMatcher(choices, compiled=compiled)
    assert matcher.match(word, 3) == match_every_choice(choices, word, 3)


@both_paths
def test_an_empty_choice_is_never_a_match(compiled: bool) -> None:
    if compiled:
        compiled_loop()
    assert TypoMatcher(["", "a", "b"], compiled=compiled).match("a") == ["a"]


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
    matcher = TypoMatcher(["abcc", "aabc", "zzzzz"], compiled=False)
    assert matcher.match("aabbc") == ["aabc"]
    # "abcc" has the same letters, but "aabbc" holds a and b twice: two edits, past its one.
    assert asked == [["aabc"]]
