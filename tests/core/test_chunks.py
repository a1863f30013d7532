"""Whitespace chunks found with numpy are exactly str.split()'s, coded once each, in order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.core.chunks as chunks_module
from bot.core.chunks import ChunkTable

# Every character str.split() treats as whitespace, and neighbours that share their first
# UTF-8 byte (¿ and « start with \xc2 like U+00A0; — and “ with \xe2\x80 like U+2003).
SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]
_CHARS = st.sampled_from(
    [*SPACES, *"aé¿«—“…ñ.,\x00\x01\x7f\ud800", "\U0001f600", "\u2010", "\u205e", "\u3001"]
)
_TEXT = st.lists(st.one_of(_CHARS, st.characters()), max_size=60).map("".join)
_BATCHES = st.lists(st.lists(_TEXT, max_size=6), min_size=1, max_size=4)


class Recorder(dict[str, int]):
    """A code per chunk (its order of first sight) that records every chunk it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def __missing__(self, chunk: str) -> int:
        self.asked.append(chunk)
        self[chunk] = len(self)
        return self[chunk]


def check(batches: list[list[str]]) -> ChunkTable:
    codes = Recorder()
    table = ChunkTable(codes.__getitem__)
    expected = Recorder()
    for texts in batches:
        found, counts = table.codes(texts)
        split = [t.split() for t in texts]
        assert found.tolist() == [expected[c] for chunks in split for c in chunks]
        assert counts.tolist() == [len(chunks) for chunks in split]
    # Asked once per distinct chunk, in order of first appearance.
    assert codes.asked == expected.asked
    return table


def test_the_whitespace_list_is_str_split_s() -> None:
    found = {c for c in SPACES}
    assert {chr(b) for b in range(128) if chunks_module._SPACE_BYTES[b]} == {
        c for c in found if c < "\x80"
    }
    wide = {c.encode() for c in found if c >= "\x80"}
    assert wide == {c.encode() for c in chunks_module._WIDE}


@given(_BATCHES)
def test_chunks_and_codes_equal_str_split(batches: list[list[str]]) -> None:
    check(batches)


def test_long_repeated_and_empty_texts() -> None:
    word = "desproporcionadamente,"  # three 8-byte words
    check(
        [
            [f"{word} {word}x {word}", "", "   ", "a" * 100, "a" * 100 + "b"],
            [f"{word}x {word} nuevo", "a" * 100, "\u00a0".join(["aé"] * 5)],
            [],
        ]
    )


def test_a_hash_shared_by_different_chunks_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every chunk hashes the same: the byte checks catch it, and the batch goes by str.split.
    monkeypatch.setattr(chunks_module, "_hash", lambda words, starts, sizes, head: head * 0)
    table = check([["uno dos uno", "tres dos"], ["dos cuatro", "uno"]])
    assert len(table._hashes) == 0  # no batch went through the hashes


def test_a_hash_shared_with_an_earlier_batch_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Within a batch the hashes differ, but "b" hashes like "a" of the batch before.
    a, b = np.frombuffer(b"a" + b"\xff" * 7 + b"b" + b"\xff" * 7, dtype="<u8")

    def collide(
        words: np.ndarray, starts: np.ndarray, sizes: np.ndarray, head: np.ndarray
    ) -> np.ndarray:
        return np.where(head == b, a, head)

    monkeypatch.setattr(chunks_module, "_hash", collide)
    table = check([["a c"], ["c b", "b"]])
    assert len(table._hashes) == 2  # the second batch went by str.split
