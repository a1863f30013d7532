"""The editable bilingual glossary: English -> Spanish terms, Spanish synonyms, framing words."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bot.core.errors import KnowledgeError
from bot.core.knowledge import SAFE_LOADER, compose_bounded, read_regular
from bot.core.text import Analyzer, words
from bot.core.typos import TypoMatcher

MAX_PHRASE_WORDS = 4
SECTIONS = ("version", "en", "es", "framing", "keep", "metadata")
# How people ask, in any folder: framing words and words kept from the stopword list.
QUESTION_WORDS_PATH = Path(__file__).resolve().parent / "data" / "question_words.yaml"


@dataclass(frozen=True)
class Glossary:
    """Phrase maps keyed by stemmed word tuples; values are Spanish phrases."""

    english: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    spanish: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    framing_es: frozenset[str] = frozenset()
    framing_en: frozenset[str] = frozenset()
    keep_es: frozenset[str] = frozenset()
    # One-word entries as written (folded) -> their key, to match typos of them.
    words_en: dict[str, tuple[str, ...]] = field(default_factory=dict)
    words_es: dict[str, tuple[str, ...]] = field(default_factory=dict)
    metadata_es: frozenset[str] = frozenset()
    metadata_en: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        """Return the number of entries."""
        return len(self.english) + len(self.spanish)


class GlossaryTypos:
    """The glossary entry a misspelt one-word key stands for ("agremeent" -> agreement), with
    the article words' typo rule (TypoMatcher): English keys first, then Spanish ones."""

    def __init__(self, glossary: Glossary) -> None:
        g = glossary
        self._sections = [
            (TypoMatcher(list(keys)), keys, table)
            for keys, table in ((g.words_en, g.english), (g.words_es, g.spanish))
        ]

    def entry(self, word: str) -> tuple[str, ...]:
        """Return the Spanish phrases of the closest one-word key, or () when none is close."""
        for matcher, keys, table in self._sections:
            for close in matcher.match(word, limit=1):
                if keys[close] in table:
                    return table[keys[close]]
        return ()


def load_glossary(path: Path, es: Analyzer, en: Analyzer) -> Glossary:
    """Load a glossary file; a missing file is an empty glossary, a broken one an error."""
    framing, keep = question_words()
    framing_es = frozenset(es.stem(w) for w in framing["es"])
    framing_en = frozenset(en.stem(w) for w in framing["en"])
    if not path.exists() and not path.is_symlink():
        return Glossary(framing_es=framing_es, framing_en=framing_en, keep_es=frozenset(keep))
    try:
        text = read_regular(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KnowledgeError([f"{path}:1: cannot read the glossary: {exc}"]) from exc
    try:
        node, loader = compose_bounded(text)  # no aliases, bounded depth: bounded work
        try:
            duplicates = _duplicate_keys(path, node)
            if duplicates:
                raise KnowledgeError(duplicates)
            data = loader.construct_document(node) if node is not None else {}
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(filter(None, [getattr(exc, "context", None), exc.problem]))  # type: ignore[attr-defined]
        raise KnowledgeError([f"{path}:{line}: invalid YAML: {problem or exc}"]) from exc
    if not isinstance(data, dict):
        raise KnowledgeError([f"{path}:1: the glossary must be a mapping with 'en' and 'es'"])
    problems = _unknown_sections(path, node)
    english = _phrase_map(path, data.get("en") or {}, en, "en", problems)
    spanish = _phrase_map(path, data.get("es") or {}, es, "es", problems)
    lists = {}
    for name in ("framing", "keep", "metadata"):
        section = data.get(name) or {}
        if not isinstance(section, dict) or not all(isinstance(v, list) for v in section.values()):
            problems.append(f"{path}:1: '{name}' must map 'es' and 'en' to lists of words")
            section = {}
        lists[name] = {
            lang: [w for item in section.get(lang) or [] for w in words(str(item))]
            for lang in ("es", "en")
        }
    if problems:
        raise KnowledgeError(problems)
    return Glossary(
        english=english,
        spanish=spanish,
        words_en=_one_word_keys(data.get("en"), en),
        words_es=_one_word_keys(data.get("es"), es),
        framing_es=framing_es | {es.stem(w) for w in lists["framing"]["es"]},
        framing_en=framing_en | {en.stem(w) for w in lists["framing"]["en"]},
        keep_es=frozenset([*keep, *lists["keep"]["es"]]),
        metadata_es=frozenset(es.stem(w) for w in lists["metadata"]["es"]),
        metadata_en=frozenset(en.stem(w) for w in lists["metadata"]["en"]),
    )


@lru_cache(maxsize=1)
def question_words() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Return the framing words ("es", "en") and the kept Spanish words of every folder."""
    data = yaml.load(QUESTION_WORDS_PATH.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    framing = {
        lang: tuple(w for item in data["framing"][lang] for w in words(str(item)))
        for lang in ("es", "en")
    }
    return framing, tuple(w for item in data["keep"]["es"] for w in words(str(item)))


def _one_word_keys(section: object, analyzer: Analyzer) -> dict[str, tuple[str, ...]]:
    if not isinstance(section, dict):
        return {}
    out = {}
    for key in section:
        tokens = words(str(key))
        if len(tokens) == 1:
            out[tokens[0]] = (analyzer.stem(tokens[0]),)
    return out


def _unknown_sections(path: Path, node: yaml.Node | None) -> list[str]:
    """List top-level keys the glossary does not know (a typo would silently drop a section)."""
    if not isinstance(node, yaml.MappingNode):
        return []
    known = ", ".join(SECTIONS)
    return [
        f"{path}:{key.start_mark.line + 1}: unknown section {key.value!r} (known: {known})"
        for key, _ in node.value
        if not isinstance(key, yaml.ScalarNode) or key.value not in SECTIONS
    ]


def _duplicate_keys(path: Path, node: yaml.Node | None) -> list[str]:
    """List keys defined twice in one mapping (YAML would silently keep the last one)."""
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if isinstance(key, yaml.ScalarNode) and key.value in seen:
                problems.append(
                    f"{path}:{line}: duplicate key {key.value!r} (first on line {seen[key.value]})"
                )
            elif isinstance(key, yaml.ScalarNode):
                seen[key.value] = line
            problems.extend(_duplicate_keys(path, value))
    return problems


def _phrase_map(
    path: Path, section: object, analyzer: Analyzer, name: str, problems: list[str]
) -> dict[tuple[str, ...], tuple[str, ...]]:
    if not isinstance(section, dict):
        problems.append(f"{path}:1: '{name}' must be a mapping of phrase -> list of phrases")
        return {}
    out: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key, values in section.items():
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            problems.append(f"{path}:1: '{name}.{key}' must be a list of non-empty strings")
            continue
        stems = tuple(analyzer.stem(w) for w in words(str(key)))
        if not stems or len(stems) > MAX_PHRASE_WORDS:
            problems.append(f"{path}:1: '{name}.{key}' must have 1 to {MAX_PHRASE_WORDS} words")
            continue
        out[stems] = tuple(dict.fromkeys([*out.get(stems, ()), *values]))
    return out
