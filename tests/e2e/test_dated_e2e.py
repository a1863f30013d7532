"""End to end: /resumen of one document, picked through autocomplete (issue 12)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.answer import Engine

from . import discord_rules
from .bot_harness import DEADLINE, InProcessBot, make_settings, start_in_process
from .fake_discord import FakeDiscord

JSON = Any
LONG = "Un título larguísimo sobre la revisión del acuerdo entre Microsoft y OpenAI " * 3


@pytest.fixture
async def running(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[InProcessBot]:
    """The real bot over three dated documents, one with a title over 100 characters."""
    folder = tmp_path / "knowledge"
    folder.mkdir()
    docs = [
        ("viejo", "Microsoft y OpenAI firman su primer acuerdo", "2019-07-22"),
        ("largo", LONG.strip(), "2025-10-28"),
        ("nuevo", "Balance del acuerdo entre Microsoft y OpenAI", "2026-04-21"),
    ]
    for doc_id, title, day in docs:
        (folder / f"{doc_id}.md").write_text(
            f"---\ntitle: {title}\nsource: Diario {doc_id}\npublished: {day}\nlanguage: es\n"
            f"---\n\nPárrafo de {doc_id} sobre el acuerdo entre Microsoft y OpenAI.\n",
            encoding="utf-8",
        )
    settings = make_settings(tmp_path, cooldown_questions=1000)
    bot = await start_in_process(
        fake_discord, settings, Engine.load(folder), None, skip_identify_wait=True
    )
    try:
        yield bot
    finally:
        await bot.stop()


async def interact(fake: FakeDiscord, payload: JSON, *, message: bool = True) -> JSON:
    """Dispatch; wait for the accepted initial response (in time) and, if asked, the message."""
    sent = await fake.dispatch_interaction(payload)
    callback = await fake.wait_for_callback(payload["id"], timeout=DEADLINE + 1)
    assert callback.time - sent <= DEADLINE
    if not message:
        return callback.body
    return await fake.wait_for_message(payload["id"], timeout=5)


def test_the_fake_refuses_a_choice_value_over_100_characters() -> None:
    body = {"type": 8, "data": {"choices": [{"name": "x", "value": "v" * 101}]}}
    template = "/interactions/{interaction_id}/{interaction_token}/callback"
    found = discord_rules.problems("POST", template, body)
    assert [(p, c) for p, c, _ in found] == [
        (("data", "choices", 0, "value"), "BASE_TYPE_MAX_LENGTH")
    ]


async def test_summary_of_a_document_picked_by_autocomplete(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    typed = fake.autocomplete_interaction("resumen", "documento", "acuerdo")
    body = await interact(fake, typed, message=False)
    choices = body["data"]["choices"]
    assert [c["name"][:10] for c in choices] == ["21/04/2026", "28/10/2025", "22/07/2019"]
    assert choices[1]["value"] == "largo"  # the title is too long to be a choice's value
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
    for choice, expected in zip(choices, ("nuevo", "largo", "viejo"), strict=True):
        shown = await interact(
            fake, fake.slash_interaction("resumen", {"documento": choice["value"]})
        )
        text = " ".join(f["value"] for e in shown["embeds"] for f in e.get("fields", []))
        assert f"Párrafo de {expected} " in text and f"Diario {expected}" in text
    sources = await interact(fake, fake.slash_interaction("fuentes"))
    days = [f["value"].split(" · ")[1] for f in sources["embeds"][0]["fields"]]
    assert days == ["22/07/2019", "28/10/2025", "21/04/2026"]  # a timeline, oldest first
    fake.assert_no_spec_violations()
