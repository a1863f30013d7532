"""Derive bot/core/data/thesaurus_es.tsv from the Spanish MyThes thesaurus (LibreOffice/Debian).

    apt-get install mythes-es   # Debian: /usr/share/mythes/th_es_ES_v2.dat
    python scripts/build_thesaurus.py [/usr/share/mythes/th_es_ES_v2.dat]

Keeps one-word entries and their first one-word synonyms (MAX_SYNONYMS, the first meanings
first), accents folded (ñ kept), and writes them as index terms (Snowball Spanish stems, the
analyzer's), one line per stem: `stem<TAB>stem stem ...`. Stemming here keeps loading cheap:
the bot reads the table as it is. Regenerate after changing the analyzer's stemmer.
Source: "Sinónimos en español" thesaurus by Marcelo Garrone, LGPL-2.1 (see
bot/core/data/THESAURUS_LICENSE).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.paraphrase import MAX_SYNONYMS  # noqa: E402
from bot.core.text import Analyzer, fold  # noqa: E402

SOURCE = Path("/usr/share/mythes/th_es_ES_v2.dat")
TARGET = ROOT / "bot" / "core" / "data" / "thesaurus_es.tsv"


def parse(path: Path) -> dict[str, list[str]]:
    """Read a MyThes .dat file: `word|n` then n lines `-|syn|syn...`."""
    lines = path.read_bytes().splitlines()
    encoding = lines[0].decode("ascii").strip().lower().replace("iso8859", "iso-8859")
    table: dict[str, list[str]] = {}
    i = 1
    while i < len(lines):
        word, _, count = lines[i].decode(encoding).rpartition("|")
        meanings = lines[i + 1 : i + 1 + int(count)]
        i += 1 + int(count)
        key = fold(word.strip())
        if " " in key or not key.isalpha():
            continue
        syns = table.setdefault(key, [])
        for meaning in meanings:
            for syn in meaning.decode(encoding).split("|")[1:]:
                s = fold(syn.strip())
                if s.isalpha() and s != key and s not in syns:
                    syns.append(s)
    return {k: v for k, v in table.items() if v}


def by_stem(table: dict[str, list[str]]) -> dict[str, list[str]]:
    """Key the synonyms by stem: each entry's first MAX_SYNONYMS, as stems, merged in order."""
    stem = Analyzer("spanish").stem
    out: dict[str, list[str]] = {}
    for word, syns in table.items():
        own = stem(word)
        merged = out.setdefault(own, [])
        for syn in syns[:MAX_SYNONYMS]:
            term = stem(syn)
            if term != own and term not in merged:
                merged.append(term)
    return {k: v for k, v in out.items() if v}


def main() -> int:
    """Write the derived table."""
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    table = by_stem(parse(source))
    header = (
        f"# Derived from {source.name} (mythes-es; Marcelo Garrone, LGPL-2.1) by "
        "scripts/build_thesaurus.py: one-word entries, their first one-word synonyms, as "
        "Snowball Spanish stems (stem<TAB>synonym stems).\n"
    )
    body = "".join(f"{k}\t{' '.join(v)}\n" for k, v in sorted(table.items()))
    TARGET.write_text(header + body, encoding="utf-8")
    print(f"{len(table)} entries -> {TARGET} ({TARGET.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
