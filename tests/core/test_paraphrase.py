"""Spanish paraphrase: the thesaurus searched in place; word families from the index's terms."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import REPO, doc_text, write_knowledge

from bot.core import analyze as analyze_module
from bot.core.answer import Engine
from bot.core.paraphrase import (
    FAMILY_WEIGHT,
    MAX_FAMILY,
    THESAURUS_PATH,
    Paraphraser,
    Thesaurus,
    load_thesaurus,
)
from bot.core.rank import rank

REPORT = "El laboratorio publicó su análisis de las aguas del río en marzo."
OTHER = "El laboratorio abrió una nueva sede junto al puerto en marzo."


def test_a_family_is_the_terms_sharing_all_but_the_last_letter() -> None:
    vocab = {"signif", "signific", "significativ", "signo", "analisis", "2020", "20201"}
    para = Paraphraser(lambda w: w, vocab, thesaurus={})
    assert para.family("signif") == ("signific", "significativ")  # closest in length first
    assert para.family("analiz") == ("analisis",)  # "anali": a stem of 6 keeps 5 letters
    assert para.family("sign") == ()  # shorter than 5 letters: no family
    assert para.family("2020") == ()  # numbers have none


def test_a_family_keeps_its_closest_members() -> None:
    vocab = {f"interes{'a' * n}" for n in range(1, 10)}
    para = Paraphraser(lambda w: w, vocab, thesaurus={})
    assert para.family("interes") == tuple(f"interes{'a' * n}" for n in range(1, MAX_FAMILY + 1))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = write_knowledge(
        tmp_path_factory.mktemp("lab"),
        {"lab.md": doc_text("El laboratorio", f"{OTHER}\n\n{REPORT}")},
    )
    return Engine.load(folder)


def test_a_derivation_stands_in_for_a_word_the_text_lacks(lab: Engine) -> None:
    # "analizó" is nowhere in the text; "análisis" is (Snowball: "analiz" vs "analisis").
    groups = lab.analyze("¿Qué analizó el laboratorio?")
    verb = next(g for g in groups if g.surface == "analizo")
    assert ("analisis",) in verb.family
    assert dict(zip(verb.units, verb.unit_weights, strict=True))[("analisis",)] == FAMILY_WEIGHT
    ranked = rank(lab.index, groups)
    assert lab.passages[ranked[0].passage].text == REPORT
    assert ranked[0].coverage == pytest.approx(1.0)  # the family holds the verb's place
    assert ranked[1].coverage < 1.0


def test_a_family_counts_only_where_the_word_itself_is_missing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    signed = "El laboratorio explica qué significa cada cifra del informe."
    meaning = "El significado de las cifras del laboratorio cambió en abril."
    folder = write_knowledge(
        tmp_path_factory.mktemp("signed"),
        {"lab.md": doc_text("El laboratorio", f"{OTHER}\n\n{meaning}\n\n{signed}")},
    )
    engine = Engine.load(folder)
    groups = engine.analyze("significa laboratorio")  # "signif"; "significado": "signific"
    assert ("signific",) in groups[0].family
    plain = [
        replace(
            g,
            units=tuple(u for u in g.units if u not in g.family),
            unit_weights=tuple(
                w for u, w in zip(g.units, g.unit_weights, strict=True) if u not in g.family
            ),
            family=frozenset(),
        )
        for g in groups
    ]
    with_family = {engine.passages[r.passage].text: r for r in rank(engine.index, groups)}
    without = {engine.passages[r.passage].text: r for r in rank(engine.index, plain)}
    assert with_family[signed] == without[signed]  # the word is there: its family adds nothing
    assert with_family[meaning].score > without[meaning].score  # it stands in for the word
    assert with_family[meaning].coverage == pytest.approx(1.0)
    assert without[meaning].coverage < 1.0
    assert with_family[OTHER] == without[OTHER]


def test_a_word_asked_again_gets_the_same_group_and_a_typo_is_repaired_again(
    lab: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = lab.analyze("¿Qué analizó el laboratorio?")
    again = lab.analyze("analizó el laboratorio")
    assert [g.surface for g in again] == ["analizo", "laboratorio"]
    assert again[0] is next(g for g in first if g.surface == "analizo")  # kept, not rebuilt
    assert rank(lab.index, again) == rank(lab.index, [g for g in first if g.surface != "que"])
    # A typo's group is not kept: the repair runs each time the typo cache is cleared (the
    # benchmark times it so), and finds the same words.
    matcher = lab.analyzer._article_words
    repairs: list[str] = []
    real = matcher._match
    monkeypatch.setattr(matcher, "_match", lambda w, n: repairs.append(w) or real(w, n))
    typo = []
    for _ in range(2):
        matcher.clear_cache()
        typo.append(lab.analyze("laboratrio"))
    assert repairs == ["laboratrio", "laboratrio"]
    assert typo[0] == typo[1] and typo[0][0].corrected
    assert "laboratrio" not in lab.analyzer._word_groups


def test_the_kept_groups_are_bounded(lab: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze_module, "WORD_GROUPS", 2)
    monkeypatch.setattr(lab.analyzer, "_word_groups", {})
    for word in ["laboratorio", "aguas", "sede", "puerto", "marzo"]:  # all in the text
        lab.analyze(word)
        assert len(lab.analyzer._word_groups) <= 2
    assert list(lab.analyzer._word_groups) == ["marzo"]  # cleared when full, then kept


def parsed_lines() -> dict[str, tuple[str, ...]]:
    """Parse every line of the bundled thesaurus (what loading did before the in-place search)."""
    table = {}
    for line in THESAURUS_PATH.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            stem, _, synonyms = line.partition("\t")
            table[stem] = tuple(synonyms.split())
    return table


@pytest.mark.parametrize("parse_after", [0, 10**9], ids=["parsed", "searched"])
def test_the_thesaurus_finds_every_entry_and_nothing_else(parse_after: int) -> None:
    """Searched in place (a one-shot question) or parsed into a table (after PARSE_AFTER
    lookups): the same synonyms for every stem, and none for stems it lacks."""
    table = parsed_lines()
    thesaurus = Thesaurus(THESAURUS_PATH.read_text(encoding="utf-8"), parse_after)
    assert len(table) > 10_000
    assert all(thesaurus.get(stem) == synonyms for stem, synonyms in table.items())
    absent = [s + "x" for s in table] + [s[:-1] for s in table] + ["", "zzzz", "ñ"]
    assert [thesaurus.get(s) for s in absent] == [table.get(s, ()) for s in absent]
    assert thesaurus.get("zzzz", ("none",)) == ("none",)
    loaded = load_thesaurus()  # the bundled file as the engine reads it
    assert all(loaded.get(stem) == synonyms for stem, synonyms in list(table.items())[:1000])


def test_the_thesaurus_is_parsed_once_it_is_asked_often() -> None:
    thesaurus = Thesaurus("# header\ncomenz\tempez inici\n", parse_after=2)
    assert thesaurus.get("comenz") == ("empez", "inici") and thesaurus.get("x") == ()
    assert thesaurus._table is None  # two searches in place
    assert thesaurus.get("comenz") == ("empez", "inici") and thesaurus._table is not None


@pytest.mark.parametrize("parse_after", [0, 10**9], ids=["parsed", "searched"])
def test_a_thesaurus_without_entries_finds_nothing(parse_after: int) -> None:
    assert Thesaurus("", parse_after).get("empez") == ()
    assert Thesaurus("# a header only\n", parse_after).get("empez") == ()
    found = Thesaurus("# header\ncomenz\tempez inici\n", parse_after).get("comenz")
    assert found == ("empez", "inici")


def test_paraphrases_are_the_synonyms_the_index_holds() -> None:
    paraphraser = Paraphraser(lambda w: w, {"empez", "inici"}, Thesaurus("comenz\tempez x\n"))
    assert paraphraser.expand("comenz") == [("empez", 0.1)]


class _Unlisted(set):
    """A vocabulary that may be asked about a term but not listed."""

    def __iter__(self):
        raise AssertionError("the vocabulary was listed again")


def test_a_warm_paraphraser_neither_parses_nor_sorts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # `ask -` warms the engine before forking its workers: they inherit the thesaurus's table
    # and the vocabulary in order instead of each building its own.
    vocab = _Unlisted({"empez", "inici", "comienz", "comienzo"})
    thesaurus = Thesaurus("comenz\tempez x\n", parse_after=0)
    paraphraser = Paraphraser(lambda w: w, vocab, thesaurus)
    cold = Paraphraser(lambda w: w, {"empez", "inici", "comienz", "comienzo"}, thesaurus)
    expected = [cold.expand("comenz"), cold.family("comienz")]
    monkeypatch.setattr(_Unlisted, "__iter__", set.__iter__)
    paraphraser.warm()
    monkeypatch.undo()
    monkeypatch.setattr(Thesaurus, "parse", lambda self: pytest.fail("parsed again"))
    assert [paraphraser.expand("comenz"), paraphraser.family("comienz")] == expected


def test_a_stream_loads_a_warm_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.__main__ import load_engine
    from bot.settings import Settings

    fresh = Thesaurus(THESAURUS_PATH.read_text(encoding="utf-8"))  # not parsed by other tests
    monkeypatch.setattr("bot.core.paraphrase.load_thesaurus", lambda: fresh)
    settings = Settings(_env_file=None, translator="off", meaning="off")
    engine = load_engine(REPO / "knowledge", settings, many=True)
    monkeypatch.setattr(Thesaurus, "parse", lambda self: pytest.fail("parsed after loading"))
    for n in range(300):  # more than PARSE_AFTER thesaurus lookups
        engine.ask(f"¿Qué dice sobre palabra{n} y el comienzo del acuerdo?")
