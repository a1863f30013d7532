"""The whitespace chunks of many texts, found and told apart with numpy (loading's inner loop).

`str.split()` over a million passages makes sixty million strings, most of them repeats ("de",
"acuerdo,"). Here the texts' UTF-8 is scanned with numpy instead: each chunk's bytes are hashed,
one sort groups equal hashes, and every chunk is checked byte for byte against the first chunk
of its group, and that one against the chunk of the same hash seen in an earlier batch. Only a
chunk never seen before becomes a Python string. A hash shared by different bytes (which the
checks catch) sends the batch through `str.split()`: the result is always exact.

Where bot/core/_chunks.c is built (as the ranking's C twin is), a hash table in C does the
same in one pass over the bytes, and numpy's path is the fallback and the tests' reference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

try:
    from bot.core import _chunks
except ImportError:  # not built (no C compiler at install time): numpy's path alone
    _chunks = None

COMPILED = _chunks is not None

# str.split()'s whitespace: single bytes in UTF-8, and these characters of two or three bytes.
_SPACE_BYTES = np.zeros(256, dtype=bool)
_SPACE_BYTES[list(b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")] = True
_WIDE = "\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))
_WIDE_TWO = [int.from_bytes(c.encode(), "big") for c in _WIDE if len(c.encode()) == 2]
_WIDE_THREE = [int.from_bytes(c.encode(), "big") for c in _WIDE if len(c.encode()) == 3]
_PAD = 8  # spaces after the last text: a chunk's 8-byte words never run past the data
_U8, _U64 = np.uint8, np.uint64
_MIX = _U64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd: multiplying by it is a bijection
_SHIFT = _U64(29)


class ChunkTable:
    """Whitespace chunk -> code, `code_of(chunk)` asked once per distinct chunk."""

    def __init__(self, code_of: Callable[[str], int], *, compiled: bool = COMPILED) -> None:
        self._code_of = code_of
        self._coder = _chunks.Coder(code_of) if compiled and _chunks is not None else None
        # The chunks seen so far, by hash (sorted): code, and where their bytes are in _store.
        self._hashes = np.zeros(0, dtype=_U64)
        self._codes = np.zeros(0, dtype=np.int32)
        self._starts = np.zeros(0, dtype=np.int64)
        self._sizes = np.zeros(0, dtype=np.int64)
        self._store = b" " * _PAD

    def codes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return the code of each whitespace chunk of the texts, and each text's chunk count.

        The same as `[code_of(c) for t in texts for c in t.split()]`, with `code_of` asked only
        about chunks it was never asked about, in order of first appearance.
        """
        encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
        if self._coder is not None:
            found, counts = self._coder.codes(encoded)
            return np.frombuffer(found, dtype=np.int32), np.frombuffer(counts, dtype=np.int64)
        data = b" ".join(encoded) + b" " * _PAD
        starts, ends = _chunk_bounds(np.frombuffer(data, dtype=_U8))
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)) + 1, out=offsets[1:])
        counts = np.diff(np.searchsorted(starts, offsets))
        found = self._group_codes(data, starts, ends)
        if found is None:  # one hash, different bytes
            found = np.asarray([self._code_of(c) for t in texts for c in t.split()], dtype=np.int32)
        return found, counts

    def _group_codes(self, data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
        """Return each chunk's code; None when two different chunks share a hash."""
        n = len(starts)
        if not n:
            return np.zeros(0, dtype=np.int32)
        words = _words(data)
        sizes = ends - starts
        hashes = _hash(words, starts, sizes)
        # One sort of (hash, position) groups equal hashes, each group's first chunk first.
        bits = _U64(max(n - 1, 1).bit_length())
        key = hashes >> bits
        key <<= bits
        key |= np.arange(n, dtype=_U64)
        key.sort()
        position = (key & ((_U64(1) << bits) - _U64(1))).astype(np.intp)
        key >>= bits
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(key[1:], key[:-1], out=new[1:])
        del key
        first = position[new]  # each group's first chunk, groups in hash order
        groups = np.empty(n, dtype=np.intp)
        groups[position] = np.cumsum(new, dtype=np.intp) - 1
        del position, new
        # Equal hashes and sizes are equal bytes for chunks of up to 8 bytes (the hash is
        # one-to-one there); longer chunks are compared 8 bytes at a time.
        rep = first[groups]
        if not (np.array_equal(hashes[rep], hashes) and np.array_equal(sizes[rep], sizes)):
            return None
        longer = np.flatnonzero(sizes > 8)
        if not _same_bytes(words, starts[longer], words, starts[rep[longer]], sizes[longer]):
            return None
        del rep, longer
        # A group seen in an earlier batch takes its code from the table (bytes checked).
        hashes = hashes[first]
        known = self._hashes
        at = np.minimum(np.searchsorted(known, hashes), max(len(known) - 1, 0))
        seen = known[at] == hashes if len(known) else np.zeros(len(first), dtype=bool)
        old, mine = at[seen], first[seen]
        longer = sizes[mine] > 8
        if not np.array_equal(sizes[mine], self._sizes[old]) or not _same_bytes(
            words, starts[mine[longer]], _words(self._store), self._starts[old[longer]],
            sizes[mine[longer]],
        ):  # fmt: skip
            return None
        group_code = np.empty(len(first), dtype=np.int32)
        group_code[seen] = self._codes[old]
        # The others are new: strings, in order of first appearance.
        fresh = np.flatnonzero(~seen)
        fresh = fresh[np.argsort(first[fresh])]
        pieces = [
            data[s:e]
            for s, e in zip(starts[first[fresh]].tolist(), ends[first[fresh]].tolist(), strict=True)
        ]
        group_code[fresh] = [self._code_of(p.decode("utf-8", "surrogatepass")) for p in pieces]
        self._remember(hashes[fresh], group_code[fresh], pieces)
        return group_code[groups]

    def _remember(self, hashes: np.ndarray, codes: np.ndarray, pieces: list[bytes]) -> None:
        """Add new chunks to the table: their hashes, codes and bytes."""
        if not pieces:
            return
        sizes = np.fromiter(map(len, pieces), np.int64, len(pieces))
        starts = len(self._store) - _PAD + np.cumsum(sizes) - sizes
        self._store = self._store[:-_PAD] + b"".join(pieces) + b" " * _PAD
        order = np.argsort(hashes)
        at = np.searchsorted(self._hashes, hashes[order])  # np.insert keeps equal ones in order
        self._hashes = np.insert(self._hashes, at, hashes[order])
        self._codes = np.insert(self._codes, at, codes[order])
        self._starts = np.insert(self._starts, at, starts[order])
        self._sizes = np.insert(self._sizes, at, sizes[order])


def _chunk_bounds(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return where each whitespace chunk of some UTF-8 starts and ends (data ends in a space)."""
    space = data == 0x20
    other = np.flatnonzero(data < 0x20)  # tab, line feed... (and control characters)
    space[other] = _SPACE_BYTES[data[other]]
    # Two- and three-byte spaces start with \xc2 or \xe1-\xe3 (as do ¿, « and —).
    lead = np.flatnonzero((data[:-2] == 0xC2) | ((data[:-2] - _U8(0xE1)) <= 2))
    if len(lead):
        code = data[lead].astype(np.int32) << 16 | data[lead + 1].astype(np.int32) << 8
        code |= data[lead + 2]
        two = lead[np.isin(code >> 8, _WIDE_TWO)]
        three = lead[np.isin(code, _WIDE_THREE)]
        for at in (two, two + 1, three, three + 1, three + 2):
            space[at] = True
    edges = np.flatnonzero(space[1:] != space[:-1]) + 1  # chunk starts and ends, alternating
    if not space[0]:
        edges = np.concatenate([[0], edges])
    return edges[0::2], edges[1::2]


def _words(data: bytes) -> np.ndarray:
    """Return the 8-byte little-endian integer starting at each byte of data (a view)."""
    return np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))


def _word(words: np.ndarray, starts: np.ndarray, sizes: np.ndarray, j: int) -> np.ndarray:
    """Return bytes 8j to 8j+7 of chunks as integers, 0xFF past a chunk's end (never UTF-8)."""
    low = (_U64(1) << (np.minimum(sizes - 8 * j, 8).astype(_U64) << _U64(3))) - _U64(1)
    found = words[starts + 8 * j]
    found &= low  # (a shift by 64 gives 0 in numpy: a full word keeps all its bytes)
    found |= ~low
    return found


def _hash(words: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Hash each chunk's bytes (one-to-one on chunks of at most 8 bytes: the checks rely on it)."""
    hashes = _word(words, starts, sizes, 0) * _MIX
    hashes ^= hashes >> _SHIFT
    longer = np.flatnonzero(sizes > 8)
    j = 1
    while len(longer):
        mixed = (hashes[longer] ^ _word(words, starts[longer], sizes[longer], j)) * _MIX
        hashes[longer] = mixed ^ (mixed >> _SHIFT)
        longer = longer[sizes[longer] > 8 * (j + 1)]
        j += 1
    return hashes


def _same_bytes(
    words: np.ndarray,
    starts: np.ndarray,
    other_words: np.ndarray,
    other_starts: np.ndarray,
    sizes: np.ndarray,
) -> bool:
    """Tell whether chunks of the same sizes hold the same bytes as their other chunks."""
    j = 0
    while len(sizes):
        found = _word(words, starts, sizes, j)
        if not np.array_equal(found, _word(other_words, other_starts, sizes, j)):
            return False
        keep = sizes > 8 * (j + 1)
        starts, other_starts, sizes = starts[keep], other_starts[keep], sizes[keep]
        j += 1
    return True
