"""Rendering within Discord's limits: huge knowledge, arbitrary questions, visible cuts."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import discord
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.cogs import ui
from bot.cogs.client import DealBot
from bot.cogs.views import FeedbackButton, MoreButton, SuggestionButton
from bot.core.answer import Engine
from bot.settings import BUNDLED_KNOWLEDGE

from .conftest import USER_ID, Call, Harness, MakeBot, plain, problems, squash

ENGINE = Engine.load(BUNDLED_KNOWLEDGE)

# -- payload_problems -----------------------------------------------------------------------------


def embed(**kwargs: object) -> discord.Embed:
    return discord.Embed(**kwargs)


def test_a_valid_payload_has_no_problems() -> None:
    e = embed(title="t" * 256, description="d" * 4096)
    e.add_field(name="n", value="v" * 1024)
    e.set_footer(text="f" * 600)
    assert ui.payload_problems("c" * 2000, [e]) == []
    assert ui.payload_problems(None, []) == []


@pytest.mark.parametrize(
    ("content", "embeds", "problem"),
    [
        ("c" * 2001, [], "content 2001 > 2000"),
        (None, [embed(description="d")] * 11, "11 embeds > 10"),
        (None, [embed(description="d" * 4000), embed(description="d" * 2001)], "embeds total"),
        (None, [embed(title="t" * 257)], "title too long"),
        (None, [embed(description="d" * 4097)], "description 4097 > 4096"),
        (None, [embed().set_footer(text="f" * 2049)], "footer too long"),
    ],
)
def test_each_broken_limit_is_reported(
    content: str | None, embeds: list[discord.Embed], problem: str
) -> None:
    assert any(p.startswith(problem) for p in ui.payload_problems(content, embeds))


def test_field_limits_are_reported() -> None:
    many = embed()
    for i in range(26):
        many.add_field(name=str(i), value="v")
    assert "too many fields" in ui.payload_problems(None, [many])
    long_value = embed().add_field(name="n", value="v" * 1025)
    assert "field too long" in ui.payload_problems(None, [long_value])
    long_name = embed().add_field(name="n" * 257, value="v")
    assert "field too long" in ui.payload_problems(None, [long_name])
    empty = embed().add_field(name="n", value=" ")
    assert "empty field" in ui.payload_problems(None, [empty])


def test_component_limits_are_reported() -> None:
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="l" * 81, custom_id="x" * 101))
    found = ui.payload_problems(None, [], view)
    assert "custom_id 101 > 100" in found and "label 81 > 80" in found


def test_component_limits_are_reported_for_persistent_buttons() -> None:
    """Persistent buttons wrap a Button (DynamicItem): their labels count too."""
    button = SuggestionButton("0" * 16, "?")
    button.item.label = "l" * 81
    view = discord.ui.View()
    view.add_item(button)
    assert "label 81 > 80" in ui.payload_problems(None, [], view)


# -- cutting text ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(text=st.text(min_size=0, max_size=3000), limit=st.integers(min_value=10, max_value=1500))
def test_split_words_keeps_every_character_and_marks_cuts(text: str, limit: int) -> None:
    chunks = ui.split_words(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert all(c.endswith(ui.ELLIPSIS) for c in chunks[:-1])
    if len(text) <= limit:
        assert chunks == [text]
    rebuilt = "".join(c.removesuffix(ui.ELLIPSIS) for c in chunks[:-1]) + chunks[-1]
    assert "".join(rebuilt.split()) == "".join(text.split())


def test_split_words_cuts_between_words() -> None:
    text = " ".join(f"palabra{i}" for i in range(200))
    chunks = ui.split_words(text, 100)
    words = set(text.split())
    for chunk in chunks:
        assert all(w in words for w in chunk.removesuffix(ui.ELLIPSIS).split())


def test_shorten_marks_the_cut_visibly() -> None:
    assert ui.shorten("corto", 80) == "corto"
    text = "una frase bastante larga " * 10
    cut = ui.shorten(text, 40)
    assert len(cut) <= 40 and cut.endswith("…")
    kept = cut.removesuffix("…")
    assert text.startswith(kept) and text[len(kept)] == " "  # cut between words


# -- huge knowledge -------------------------------------------------------------------------------

WORDS = "el acuerdo vigente de microsoft y openai sobre capacidad de cómputo en la nube".split()
OTHER = "la alianza vigente entre openai y microsoft para investigar en el acuerdo".split()


def sentence(words: list[str], size: int = 3000) -> str:
    """One sentence of exactly `size` characters, ending in a period."""
    out = ""
    for word in itertools.cycle(words):
        if len(out) + len(word) + 2 > size:
            break
        out = f"{out} {word}" if out else word
    return out.ljust(size - 1, "a") + "."


def huge_folder(tmp_path: Path, make_knowledge: Callable, make_doc: Callable) -> Path:
    title = ("Título larguísimo de una noticia muy extensa " * 10)[:300].strip()
    questions = tuple(
        (f"¿Pregunta número {i} sobre el cómputo en la nube " + "muy larga " * 30)[:249] + "?"
        for i in range(10)
    )
    fillers = "\n\n".join(
        f"Relleno sobre {w} número {i}." for i, w in enumerate("gato perro casa mesa silla".split())
    )
    body = f"{sentence(WORDS)}\n\n{sentence(OTHER)}\n\nPárrafo corto sobre Stargate.\n\n{fillers}"
    doc = make_doc(title=title, body=body, suggested=questions, source="S" * 200)
    return make_knowledge(tmp_path, {"huge.md": doc}, templates=True)


@pytest.fixture
async def huge(tmp_path: Path, make_knowledge: Callable, make_doc: Callable, make_bot: MakeBot):
    folder = huge_folder(tmp_path, make_knowledge, make_doc)
    engine = Engine.load(folder)
    assert max(len(p.text) for p in engine.passages) == 3000
    assert len(engine.documents[0].title) == 300
    assert all(len(q) == 250 for q in engine.documents[0].suggested_questions)
    return Harness(await make_bot(engine_=engine, knowledge_dir=folder, top_k=10))


def merged_blocks(call: Call) -> list[str]:
    """The blocks of an answer's descriptions, with pieces split over '…' joined again."""
    pieces = "\n\n".join(e.description or "" for e in call.visible.embeds).split("\n\n")
    blocks: list[str] = []
    carry = ""
    for piece in pieces:
        piece = f"{carry} {piece}" if carry else piece
        if piece.endswith(ui.ELLIPSIS) and "\n— " not in piece:
            carry = piece.removesuffix(ui.ELLIPSIS)
            continue
        carry = ""
        blocks.append(piece)
    assert not carry, "the last piece promises a continuation that never comes"
    return blocks


def assert_quotes_are_whole_or_visibly_cut(call: Call, engine: Engine) -> int:
    """Every quote shown is a passage verbatim, or a prefix cut at a word with a '…'."""
    texts = [p.text for p in engine.passages]
    quotes = 0
    for block in merged_blocks(call):
        if not block.startswith("> "):
            continue
        quote, _, citation = block.partition("\n— ")
        assert citation, f"a quote without its citation: {block[:80]!r}"
        read = plain(quote)
        if read in texts:
            quotes += 1
            continue
        assert read.endswith(ui.ELLIPSIS), f"silently cut: {read[-60:]!r}"
        prefix = read.removesuffix(ui.ELLIPSIS).rstrip()
        full = next((t for t in texts if squash(t).startswith(prefix)), None)
        assert full is not None, f"not a quote of the article: {prefix[:80]!r}"
        assert squash(full)[len(prefix)] == " ", "cut in the middle of a word"
        quotes += 1
    for e in call.visible.embeds:
        fields = [f.value for f in e.fields if f.name.startswith(("Resumen", "Summary"))]
        assert all(v.endswith(ui.ELLIPSIS) for v in fields[:-1])
    return quotes


@pytest.mark.parametrize("question", ["acuerdo vigente", "vigente", "microsoft openai cómputo"])
@pytest.mark.parametrize("locale", ["es-ES", "en-US"])
async def test_huge_passages_fit_and_are_quoted(huge: Harness, question: str, locale: str) -> None:
    call = await huge.slash("preguntar", pregunta=question, locale=locale)

    assert problems(call) == []
    assert len(call.responses) == 1
    answer = huge.bot.engine.ask(question, k=10)
    assert answer.answered
    shown = assert_quotes_are_whole_or_visibly_cut(call, huge.bot.engine)
    assert shown >= 1, "the answer quotes nothing"
    more = [
        c
        for c in call.visible.kwargs["view"].children
        if isinstance(c, MoreButton) and c.item.label == "▶" and not c.item.disabled
    ]
    if shown < len(answer.passages):
        pages = "página 1/" if locale == "es-ES" else "page 1/"
        assert more, f"{len(answer.passages) - shown} passages cannot be reached"
        assert pages in call.visible.text


async def test_huge_passages_can_be_paged_through(huge: Harness) -> None:
    question = "acuerdo vigente"
    texts = {p.text for p in huge.bot.engine.ask(question, k=10).passages}
    call = await huge.slash("preguntar", pregunta=question)
    reached = set()
    for _ in range(10):
        for block in merged_blocks(call):
            if block.startswith("> "):
                read = plain(block.partition("\n— ")[0])
                reached |= {t for t in texts if squash(t).startswith(read.rstrip("…").rstrip())}
        view = call.visible.kwargs.get("view")
        more = [
            c
            for c in (view.children if view else ())
            if isinstance(c, MoreButton) and c.item.label == "▶" and not c.item.disabled
        ]
        if not more:
            break
        call = await huge.press(view, more[0].custom_id)
        assert problems(call) == []
    assert reached == texts


async def test_huge_knowledge_every_other_payload_fits(huge: Harness) -> None:
    calls = [
        await huge.slash("preguntar", pregunta="¿Cuál es la capital de Francia?"),
        await huge.slash("preguntar", pregunta="Stargate", privado=True),
        await huge.slash("resumen"),
        await huge.slash("resumen", locale="en-GB"),
        await huge.slash("fuentes"),
        await huge.slash("ayuda"),
        await huge.slash("estado"),
        await huge.slash("estadisticas", permissions=str(1 << 5)),
        await huge.context_menu("¿Qué dice del cómputo en la nube? " * 20),
    ]
    not_covered = calls[0].visible.kwargs["view"]
    suggestion = next(c for c in not_covered.children if isinstance(c, SuggestionButton))
    calls.append(await huge.press(not_covered, suggestion.custom_id))
    feedback = next(
        c for c in calls[1].visible.kwargs["view"].children if isinstance(c, FeedbackButton)
    )
    calls.append(await huge.press(calls[1].visible.kwargs["view"], feedback.custom_id))
    for call in calls:
        assert problems(call) == [], call.visible.text[:200]
        assert len(call.responses) == 1
        for button in call.visible.kwargs.get("view", discord.ui.View()).children:
            label = getattr(button, "item", button).label or ""
            assert len(label) <= ui.LABEL_MAX
            assert not label or label.endswith("…") or len(label) < ui.LABEL_MAX
    labels = [c.item.label for c in not_covered.children if isinstance(c, SuggestionButton)]
    assert labels and all(label.endswith("…") for label in labels)
    summary = calls[2]
    assert assert_quotes_are_whole_or_visibly_cut(summary, huge.bot.engine) >= 1


async def test_huge_autocomplete_respects_choice_limits(huge: Harness) -> None:
    for typed in ["", "cómputo", "pregunta número 3", "n" * 300]:
        call = await huge.autocomplete(typed)
        assert len(call.choices) <= 25
        assert all(1 <= len(c.name) <= 100 and len(c.value) <= 100 for c in call.choices)


# -- arbitrary questions --------------------------------------------------------------------------

NASTY = [
    "@everyone",
    "@here",
    "<@123>",
    f"<@{USER_ID}>",
    f"<@!{USER_ID}>",
    f"<@&{USER_ID}>",
    "**x**",
    "`y`",
    "```z```",
    "__u__",
    "~~s~~",
    "||spoiler||",
    "> cita",
    "# título",
    "- lista",
    "[enlace](https://example.org)",
    "\\",
    "vigente",
    "acuerdo",
    "Microsoft",
    "¿",
    "\u200b",
    "\n",
]
QUESTIONS = st.one_of(
    st.text(min_size=0, max_size=400),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=30).map(" ".join),
)
_users = itertools.count(1)


def mention_free(text: str) -> bool:
    """True when no @everyone, @here or user/role mention survives in the text."""
    return discord.utils.escape_mentions(text) == text


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(question=QUESTIONS)
async def test_any_question_gets_a_valid_answer_or_a_short_error(
    harness: Harness, question: str
) -> None:
    call = await harness.slash("preguntar", pregunta=question, user_id=USER_ID + next(_users))

    assert len(call.responses) == 1
    assert problems(call) == []
    visible = call.visible
    event("answer" if visible.embeds else "error")
    if visible.embeds:
        assert not call.ephemeral
        title = visible.embeds[0].title
        assert title.startswith("Pregunta: ")
    else:
        assert call.ephemeral
        assert 0 < len(visible.kwargs["content"]) <= 200
    for sent in call.shown:
        assert mention_free(sent.text), sent.text
    if visible.embeds and "@everyone" in question and len(question) < 100:
        assert "@\u200beveryone" in visible.embeds[0].title


def test_the_bot_never_pings_by_default(bot: DealBot) -> None:
    mentions = bot.allowed_mentions
    assert mentions is not None
    assert (mentions.everyone, mentions.users, mentions.roles, mentions.replied_user) == (
        False,
        False,
        False,
        False,
    )


def test_mentions_in_rendered_text_are_neutralized() -> None:
    text = f"@everyone @here <@{USER_ID}> <@!{USER_ID}> <@&{USER_ID}> **x** `y`"
    escaped = ui.escape(text)
    assert mention_free(escaped)
    assert "@\u200beveryone" in escaped and "\\*\\*x\\*\\*" in escaped and "\\`y\\`" in escaped


@pytest.mark.parametrize("offset", [0, 3, 6])
def test_long_question_pages_stay_within_limits(offset: int) -> None:
    question = ("microsoft openai acuerdo " * 20)[:300]
    answer = ENGINE.ask(question, k=10, offset=offset)

    embeds, shown = ui.answer_page(answer, "es")

    assert ui.payload_problems(None, embeds) == []
    assert shown == len(answer.passages)
    assert len(embeds[0].title) <= ui.TITLE_MAX
    if offset and answer.passages:
        assert embeds[0].title.endswith(f"Pasajes {offset + 1}–{offset + shown}")


def test_a_declined_answer_never_shows_its_candidates() -> None:
    answer = ENGINE.ask("¿Quién es el presidente de Francia?")
    assert not answer.answered and answer.candidates
    embeds = ui.answer_embeds(answer, "es")
    text = "\n".join(str(e.to_dict()) for e in embeds)
    for c in answer.candidates:
        assert c.text[:60] not in text
        assert ui.escape(c.text)[:60] not in text
