"""Whitespace chunks found with numpy, or by the compiled table, are exactly str.split()'s, coded
once each, in order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.core.chunks as chunks_module
import bot.core.text as text_module
from bot.core.chunks import ChunkTable
from bot.core.text import Analyzer, term_spans_python
from tests.conftest import missing

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


def compiled_table() -> bool:
    """True: the compiled table is built (a missing one fails the run when REQUIRE_COMPILED=1)."""
    if chunks_module._chunks is None:
        missing("bot/core/_chunks.c not built", "REQUIRE_COMPILED")
    return True


def check(batches: list[list[str]], *, compiled: bool = False) -> ChunkTable:
    codes = Recorder()
    table = ChunkTable(codes.__getitem__, compiled=compiled)
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


@given(_BATCHES)
def test_the_compiled_table_equals_str_split(batches: list[list[str]]) -> None:
    check(batches, compiled=compiled_table())


LONG_REPEATED_AND_EMPTY = [
    [
        "desproporcionadamente, desproporcionadamente,x desproporcionadamente,",  # 8-byte words
        "",
        "   ",
        "a" * 100,
        "a" * 100 + "b",
    ],
    ["desproporcionadamente,x desproporcionadamente, nuevo", "a" * 100, "\u00a0".join(["aé"] * 5)],
    [],
]


def test_long_repeated_and_empty_texts() -> None:
    check(LONG_REPEATED_AND_EMPTY)
    check(LONG_REPEATED_AND_EMPTY, compiled=compiled_table())


def test_the_compiled_table_grows_and_keeps_every_chunk() -> None:
    # Far more distinct chunks than its first size (65,536 slots), a code per distinct chunk,
    # and chunks with NUL bytes that only their length tells apart.
    texts = [" ".join(f"w{i * 7 + j}" for j in range(7)) for i in range(20_000)]
    texts += ["a\x00 a a\x00\x00 \x00", "\ud800 \ud800"]
    table = check([texts[:10_000], texts[10_000:]], compiled=compiled_table())
    assert table._coder is not None and table._coder.size == 140_000 + 5


def test_the_compiled_table_stays_exact_when_code_of_codes_chunks_itself() -> None:
    # code_of runs Python: here it codes other chunks through the same table (which grows),
    # even the chunk it was asked about, before it answers.
    compiled_table()
    codes: dict[str, int] = {}

    def code_of(chunk: str) -> int:
        if chunk == "b" and "x0" not in codes:
            table.codes([" ".join(f"x{i}" for i in range(70_000)) + " b"])
        return codes.setdefault(chunk, len(codes))

    table = ChunkTable(code_of, compiled=True)
    found, _ = table.codes(["a b a b x0"])
    assert found.tolist() == [codes["a"], codes["b"], codes["a"], codes["b"], codes["x0"]]
    assert table._coder is not None and table._coder.size == len(codes) == 70_002
    with pytest.raises(ValueError):
        chunks_module._chunks.Coder.__new__(chunks_module._chunks.Coder).codes([b"a"])


def test_the_compiled_table_passes_on_an_error_of_code_of() -> None:
    compiled_table()

    def code_of(chunk: str) -> int:
        if chunk == "mal":
            raise KeyError(chunk)
        return len(chunk)

    table = ChunkTable(code_of, compiled=True)
    with pytest.raises(KeyError):
        table.codes(["bien mal"])
    found, counts = table.codes(["bien bien"])  # the table is still usable
    assert found.tolist() == [4, 4] and counts.tolist() == [2]


def first_bytes(words: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """A weak hash: a chunk's first 8 bytes (still one-to-one on chunks of up to 8 bytes)."""
    return chunks_module._word(words, starts, sizes, 0)


@pytest.mark.parametrize(
    ("batches", "remembered"),
    [
        ([["a b c a", "c"], ["b d"]], 2),  # 0x61-0x63 share the sorted key's bits: b, d kept
        ([["abcdefghX abcdefghY", "abcdefghX"], ["c"]], 1),  # one hash, two long chunks: c
        ([["abcdefghX c"], ["abcdefghY", "c"]], 2),  # the table's hash, other bytes
    ],
)
def test_chunks_that_share_a_hash_are_told_apart(
    batches: list[list[str]], remembered: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each case shares a hash between different chunks; the byte checks catch it and that
    # batch goes by str.split (its chunks are not remembered in the table).
    monkeypatch.setattr(chunks_module, "_hash", first_bytes)
    assert len(check(batches)._hashes) == remembered


# -- a text's words, where they are and their terms (Analyzer.term_spans compiled) ------------

# Word characters of other scripts and categories (digits, letters without case, the
# underscore), marks and symbols that are not, and characters past the BMP.
_WORDY = st.sampled_from(
    [*"_a1ñ٣²ⅷ漢\u0301\u200d-'·", "\U0001d7d8", "\U00010400", "\U0001f600", "ǅ"]
)
_WORD_TEXT = st.lists(st.one_of(_WORDY, _CHARS, st.characters()), max_size=80).map("".join)


class Terms(dict[str, str | None]):
    """A word's term: None for words of one letter (a stopword), else the word reversed;
    records each word it is asked about as new."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def __missing__(self, word: str) -> str | None:
        self.asked.append(word)
        self[word] = None if len(word) == 1 else word[::-1]
        return self[word]


@given(st.lists(_WORD_TEXT, min_size=1, max_size=4))
def test_compiled_term_spans_are_the_regex_spans(texts: list[str]) -> None:
    assert compiled_table()
    compiled, reference = Terms(), Terms()
    for text in texts:
        found = _chunks_c().term_spans(text, compiled)
        assert found == tuple(term_spans_python(text, reference))
        assert all(text[start:end][::-1] == term for start, end, term in found)
    assert compiled.asked == reference.asked  # each new word asked once, in order


def test_compiled_term_spans_refuse_bad_arguments_and_pass_errors_on() -> None:
    assert compiled_table()
    term_spans = _chunks_c().term_spans
    for args in [("text", {"a": 1}, 3), ("text",), (b"text", {}), ("text", [("a", "b")])]:
        with pytest.raises(TypeError):
            term_spans(*args)

    class Failing(dict[str, str]):
        def __missing__(self, word: str) -> str:
            raise KeyError(word)

    with pytest.raises(KeyError):
        term_spans("bien mal", Failing(bien="bien"))
    assert term_spans("", {}) == () and term_spans(" ¿! ", {}) == ()


def test_term_spans_without_the_compiled_module_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "El acuerdo, de 2.000 millones; EE.UU. y «Stargate» — ñandú_2 Acuerdo."
    compiled = Analyzer("spanish").term_spans(text)
    monkeypatch.setattr(text_module, "_chunks", None)
    assert Analyzer("spanish").term_spans(text) == compiled
    assert [t for _s, _e, t in compiled] == Analyzer("spanish").terms(text)


def _chunks_c():  # the compiled module (compiled_table() checked it is there)
    return chunks_module._chunks
