"""The synced command payload: Spanish defaults, English for en-US/en-GB, Discord's name rules."""

from __future__ import annotations

import re
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.cogs.client import DealBot
from bot.cogs.translator import ENGLISH, Translator

try:
    import regex

    _NAME = regex.compile(r"^[-_\p{L}\p{N}]{1,32}$")

    def valid_name(name: str) -> bool:
        return bool(_NAME.match(name)) and name == name.lower()

except ImportError:  # pragma: no cover - `regex` is not a test dependency

    def valid_name(name: str) -> bool:
        return (
            1 <= len(name) <= 32
            and name == name.lower()
            and all(c.isalnum() or c in "-_" for c in name)
        )


SPANISH_TO_ENGLISH = {
    "preguntar": "ask",
    "resumen": "summary",
    "fuentes": "sources",
    "ayuda": "help",
    "estado": "status",
    "recargar": "reload",
    "estadisticas": "stats",
    "configurar": "configure",
    "Preguntar al bot": "Ask the bot",
}
ENGLISH_LOCALES = ("en-US", "en-GB")
SPANISH_LOCALES = ("es-ES", "es-419")


async def payloads(bot: DealBot) -> dict[str, dict[str, Any]]:
    cmds = [
        *bot.tree.get_commands(type=discord.AppCommandType.chat_input),
        *bot.tree.get_commands(type=discord.AppCommandType.message),
    ]
    out = {}
    for cmd in cmds:
        out[cmd.name] = await cmd.get_translated_payload(bot.tree, Translator())
    return out


def options(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(payload.get("options") or [])


async def test_spanish_names_with_english_localizations(bot: DealBot) -> None:
    synced = await payloads(bot)

    assert set(synced) == set(SPANISH_TO_ENGLISH)
    for spanish, english in SPANISH_TO_ENGLISH.items():
        payload = synced[spanish]
        assert payload["name"] == spanish
        names = payload["name_localizations"]
        for locale in ENGLISH_LOCALES:
            assert names[locale] == english, (spanish, locale)
        for locale in SPANISH_LOCALES:
            assert names[locale] == spanish, (spanish, locale)


async def test_option_names_are_translated(bot: DealBot) -> None:
    synced = await payloads(bot)

    ask = {o["name"]: o for o in options(synced["preguntar"])}
    assert set(ask) == {"pregunta", "privado"}
    assert ask["pregunta"]["name_localizations"]["en-US"] == "question"
    assert ask["pregunta"]["name_localizations"]["en-GB"] == "question"
    assert ask["privado"]["name_localizations"]["en-US"] == "private"
    assert ask["privado"]["name_localizations"]["en-GB"] == "private"
    assert ask["pregunta"]["name_localizations"]["es-419"] == "pregunta"
    assert ask["pregunta"]["required"] and ask["pregunta"]["autocomplete"]
    assert (ask["pregunta"]["min_length"], ask["pregunta"]["max_length"]) == (2, 300)
    stats = {o["name"]: o for o in options(synced["estadisticas"])}
    assert stats["dias"]["name_localizations"]["en-GB"] == "days"
    assert (stats["dias"]["min_value"], stats["dias"]["max_value"]) == (1, 365)


async def test_descriptions_are_localized_and_within_limits(bot: DealBot) -> None:
    synced = await payloads(bot)

    for name, payload in synced.items():
        if payload["type"] != 1:
            assert "description" not in payload or not payload["description"]
            continue
        items = [payload, *options(payload)]
        for item in items:
            assert 1 <= len(item["description"]) <= 100, (name, item["description"])
            english = item["description_localizations"]
            assert english["en-US"] == english["en-GB"] == ENGLISH[item["description"]]
            assert english["es-ES"] == english["es-419"] == item["description"]
            assert all(1 <= len(v) <= 100 for v in english.values())


async def test_only_english_and_spanish_locales_are_localized(bot: DealBot) -> None:
    synced = await payloads(bot)

    for payload in synced.values():
        assert set(payload["name_localizations"]) == {*ENGLISH_LOCALES, *SPANISH_LOCALES}


async def test_admin_commands_need_manage_server_and_a_guild(bot: DealBot) -> None:
    synced = await payloads(bot)

    for name in ("recargar", "estadisticas"):
        assert str(synced[name]["default_member_permissions"]) == str(1 << 5)
        assert synced[name]["contexts"] == [0]  # guilds only
    for name in ("preguntar", "resumen", "fuentes", "ayuda", "estado", "Preguntar al bot"):
        assert synced[name]["default_member_permissions"] is None


async def test_every_name_follows_discord_rules(bot: DealBot) -> None:
    synced = await payloads(bot)

    for name, payload in synced.items():
        names = [payload["name"], *payload["name_localizations"].values()]
        for option in options(payload):
            names += [option["name"], *option["name_localizations"].values()]
        if payload["type"] == discord.AppCommandType.message.value:
            assert all(1 <= len(n) <= 32 for n in names), names
            continue
        bad = [n for n in names if not valid_name(n)]
        assert not bad, (name, bad)


def test_every_english_entry_is_used_and_none_is_missing(bot: DealBot) -> None:
    used: set[str] = set()
    for cmd in bot.tree.walk_commands():
        used.add(cmd.name)
        if isinstance(cmd, app_commands.Command):
            used.add(cmd.description)
            for param in cmd.parameters:
                used |= {param.name, param.description}
    for menu in bot.tree.get_commands(type=discord.AppCommandType.message):
        used.add(menu.name)
    assert used == set(ENGLISH)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (discord.Locale.american_english, "ask"),
        (discord.Locale.british_english, "ask"),
        (discord.Locale.spain_spanish, "preguntar"),
        (discord.Locale.latin_american_spanish, "preguntar"),
        (discord.Locale.french, None),
        (discord.Locale.brazil_portuguese, None),
    ],
)
async def test_translate_per_locale(locale: discord.Locale, expected: str | None) -> None:
    context = app_commands.TranslationContext(
        app_commands.TranslationContextLocation.command_name, None
    )
    text = app_commands.locale_str("preguntar")

    assert await Translator().translate(text, locale, context) == expected


def test_english_names_are_valid_too() -> None:
    for spanish, english in ENGLISH.items():
        if spanish == spanish.lower() and " " not in spanish and len(spanish) <= 32:
            assert valid_name(english), english
    assert re.fullmatch(r"[\w ]{1,32}", ENGLISH["Preguntar al bot"])
