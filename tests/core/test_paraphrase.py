from bot.core.paraphrase import THESAURUS_PATH, Paraphraser, Thesaurus, load_thesaurus


def parsed_lines() -> dict[str, tuple[str, ...]]:
    """Parse every line of the bundled thesaurus (what loading did before the in-place search)."""
    table = {}
    for line in THESAURUS_PATH.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            stem, _, synonyms = line.partition("\t")
            table[stem] = tuple(synonyms.split())
    return table


def test_the_in_place_search_finds_every_entry_and_nothing_else() -> None:
    table = parsed_lines()
    thesaurus = load_thesaurus()
    assert len(table) > 10_000
    assert all(thesaurus.get(stem) == synonyms for stem, synonyms in table.items())
    absent = [s + "x" for s in table] + [s[:-1] for s in table] + ["", "zzzz", "ñ"]
    assert [thesaurus.get(s) for s in absent] == [table.get(s, ()) for s in absent]


def test_a_thesaurus_without_entries_finds_nothing() -> None:
    assert Thesaurus("").get("empez") == ()
    assert Thesaurus("# a header only\n").get("empez") == ()
    assert Thesaurus("# header\ncomenz\tempez inici\n").get("comenz") == ("empez", "inici")


def test_paraphrases_are_the_synonyms_the_index_holds() -> None:
    paraphraser = Paraphraser(lambda w: w, {"empez", "inici"}, Thesaurus("comenz\tempez x\n"))
    assert paraphraser.expand("comenz") == [("empez", 0.1)]
