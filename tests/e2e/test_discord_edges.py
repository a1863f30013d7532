"""End to end: Discord edges the first fake did not catch (issue 10, sections 1, 3 and 6).

The real bot runs in-process against the fake Discord, which answers 400 50035 for bodies that
break Discord's rules (tests/e2e/discord_rules.py), as Discord does.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import bot.cogs.ask as ask_module
from bot.core.answer import Engine
from bot.i18n import t
from bot.logs import setup_logging
from bot.store import ServerOverrides, SqliteStore

from .bot_harness import (
    DEADLINE,
    MANAGE_GUILD,
    QUESTION,
    InProcessBot,
    custom_ids,
    is_ephemeral,
    is_loading,
    make_settings,
    message_text,
    start_in_process,
)
from .fake_discord import DEFAULT_MEMBER_PERMISSIONS, FakeDiscord

# Slash commands and the message menu: preguntar resumen fuentes ayuda estado recargar
# estadisticas configurar, "Preguntar al bot".
ALL_COMMANDS = 9

JSON = Any
ADMIN = str(int(DEFAULT_MEMBER_PERMISSIONS) | MANAGE_GUILD)


StartBot = Callable[..., Any]


@pytest.fixture
async def start_bot(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[StartBot]:
    """``await start_bot(engine, **settings)``: the real bot logged in and connected."""
    started: list[tuple[InProcessBot, SqliteStore]] = []

    async def start(engine: Engine, **overrides: Any) -> InProcessBot:
        overrides.setdefault("cooldown_questions", 1000)
        settings = make_settings(tmp_path, **overrides)
        store = SqliteStore(tmp_path / f"e2e-{len(started)}.sqlite3", "salt-for-tests")
        bot = await start_in_process(fake_discord, settings, engine, store, skip_identify_wait=True)
        started.append((bot, store))
        return bot

    try:
        yield start
    finally:
        for bot, store in started:
            await bot.stop()
            store.close()


async def interact(fake: FakeDiscord, payload: JSON) -> JSON:
    """Dispatch; wait for the accepted initial response (in time) and the message shown."""
    sent = await fake.dispatch_interaction(payload)
    callback = await fake.wait_for_callback(payload["id"], timeout=DEADLINE + 1)
    assert callback.time - sent <= DEADLINE, f"answered after {callback.time - sent:.2f} s"
    assert callback.status < 300, f"the fake refused the response: {callback.status}"
    return await fake.wait_for_message(payload["id"], timeout=5)


def many_documents(tmp_path: Path, n: int) -> Engine:
    """An engine over n documents with long titles, outlets and links (the worst /fuentes)."""
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for i in range(n):
        title = f"Documento {i:03d} " + "con un título muy largo sobre el acuerdo " * 5
        (folder / f"doc{i:03d}.md").write_text(
            "---\n"
            f"title: {title.strip()}\n"
            f"source: Diario de prueba número {i} con un nombre largo\n"
            "published: 2025-01-22\n"
            "language: es\n"
            f"url: https://example.com/noticias/2025/01/22/documento-{i:03d}-" + "x" * 80 + "\n"
            "suggested_questions:\n"
            f"  - ¿De qué trata el documento {i}?\n"
            "---\n\n"
            f"Párrafo {i} sobre el acuerdo entre Microsoft y OpenAI.\n",
            encoding="utf-8",
        )
    return Engine.load(folder)


# ---------------------------------------------------------------------- 6. /fuentes pages


@pytest.mark.parametrize("locale", ["es-ES", "en-US"])
async def test_sources_page_through_200_documents_within_discord_limits(
    fake_discord: FakeDiscord, start_bot: StartBot, tmp_path: Path, locale: str
) -> None:
    fake = fake_discord
    lang = "en" if locale == "en-US" else "es"
    engine = many_documents(tmp_path, 200)
    await start_bot(engine)
    message = await interact(fake, fake.slash_interaction("fuentes", locale=locale))
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        assert pages <= 200, "paging never ends"
        (embed,) = message["embeds"]
        assert embed["title"].startswith(t("sources_title", lang))
        assert embed["footer"]["text"] == t("sources_count", lang, n=200)
        seen += [f["name"].split()[1] for f in embed["fields"]]
        nxt = [i for i in custom_ids(message) if i.endswith(":next")]
        buttons = {c["custom_id"]: c for row in message["components"] for c in row["components"]}
        if buttons[nxt[0]].get("disabled"):
            break
        click = fake.component_interaction(nxt[0], message, locale=locale)
        message = await interact(fake, click)
        assert fake.callbacks_for(click["id"])[0].body["type"] == 7  # the same message, edited
    assert seen == [f"{i:03d}" for i in range(200)]  # every document once, in order
    assert pages > 1 and not is_ephemeral(message)
    prev = next(i for i in custom_ids(message) if i.endswith(":prev"))
    back = await interact(fake, fake.component_interaction(prev, message, locale=locale))
    assert back["embeds"][0]["fields"] != message["embeds"][0]["fields"]
    fake.assert_no_spec_violations()


async def test_sources_with_few_documents_have_no_page_buttons(
    fake_discord: FakeDiscord, start_bot: StartBot, engine: Engine
) -> None:
    await start_bot(engine)
    message = await interact(fake_discord, fake_discord.slash_interaction("fuentes"))
    assert message["components"] == [] and message["embeds"][0]["title"] == "Fuentes"


# ---------------------------------------------------------------------- 6. command sync


def puts(fake: FakeDiscord) -> list[tuple[str | None, int]]:
    """(guild id or None, command count) of every accepted command sync, in order."""
    out = []
    for r in fake.requests:
        if r.method == "PUT" and r.ok and r.template and r.template.endswith("/commands"):
            parts = r.path.split("/")
            out.append((parts[4] if "guilds" in parts else None, len(r.body)))
    return out


async def test_going_global_removes_the_test_guild_copies(
    fake_discord: FakeDiscord, start_bot: StartBot, engine: Engine
) -> None:
    fake = fake_discord
    gid = fake.guild_id
    dev = await start_bot(engine, discord_guild_id=int(gid))
    n = len(fake.commands[gid])
    assert n == len(dev.bot.tree.get_commands(type=None)) and None not in fake.commands
    await dev.stop()

    await start_bot(engine)  # production: DISCORD_GUILD_ID removed from .env
    assert puts(fake) == [(gid, n), (None, n), (gid, 0)]
    assert fake.commands[gid] == [] and len(fake.commands[None]) == n  # each command once


async def test_forced_sync_with_the_guild_still_set_removes_its_copies(
    fake_discord: FakeDiscord, start_bot: StartBot, engine: Engine
) -> None:
    fake = fake_discord
    gid = fake.guild_id
    await (await start_bot(engine, discord_guild_id=int(gid))).stop()
    bot = await start_bot(engine, discord_guild_id=int(gid))
    await bot.bot.sync_commands(force=True)  # what `python -m bot sync` does
    every = len(bot.bot.tree.get_commands(type=None))
    assert fake.commands[gid] == [] and len(fake.commands[None]) == every


async def test_another_application_with_the_same_data_folder_syncs(
    fake_discord: FakeDiscord, start_bot: StartBot, engine: Engine
) -> None:
    fake = fake_discord
    await (await start_bot(engine)).stop()
    await (await start_bot(engine)).stop()
    assert puts(fake) == [(None, ALL_COMMANDS)]  # unchanged tree, same application: no second sync

    fake.application_id = fake.snowflake()  # another bot token, same DATA_DIR
    fake.bot_user["id"] = fake.application_id
    await start_bot(engine)
    assert puts(fake) == [(None, ALL_COMMANDS), (None, ALL_COMMANDS)]
    assert any(r.path == f"/applications/{fake.application_id}/commands" for r in fake.requests)


# ---------------------------------------------------------------------- 6. threads, languages


def in_thread(fake: FakeDiscord, payload: JSON, parent_id: str) -> JSON:
    """Move an interaction into a thread (or forum post) under ``parent_id``."""
    thread_id = fake.snowflake()
    payload["channel_id"] = thread_id
    payload["channel"] = {
        "id": thread_id,
        "type": 11,
        "guild_id": payload["guild_id"],
        "parent_id": parent_id,
        "owner_id": fake.user["id"],
        "name": "hilo",
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 1,
        "member_count": 1,
        "flags": 0,
        "applied_tags": [],
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2025-01-22T10:00:00+00:00",
            "locked": False,
        },
    }
    return payload


async def test_threads_and_forum_posts_under_an_allowed_channel_are_answered(
    fake_discord: FakeDiscord, start_bot: StartBot, engine: Engine
) -> None:
    fake = fake_discord
    forum = fake.snowflake()
    await start_bot(engine, allowed_channel_ids=[int(fake.channel_id), int(forum)])
    ask = {"pregunta": "¿Hasta cuándo estará vigente el acuerdo?"}
    for parent in (fake.channel_id, forum):
        payload = in_thread(fake, fake.slash_interaction("preguntar", ask), parent)
        answer = await interact(fake, payload)
        assert "vigente hasta 2030" in message_text(answer).replace("**", "")
        assert not is_ephemeral(answer)
    elsewhere = in_thread(fake, fake.slash_interaction("preguntar", ask), fake.snowflake())
    refused = await interact(fake, elsewhere)
    assert is_ephemeral(refused) and refused["content"].startswith("Aquí no respondo")


async def test_default_lang_frames_every_command_for_other_locales(
    fake_discord: FakeDiscord, start_bot: StartBot, engine: Engine
) -> None:
    fake = fake_discord
    await start_bot(engine, default_lang="en", allowed_channel_ids=[int(fake.channel_id)])

    def slash(name: str, **kw: Any) -> JSON:
        return fake.slash_interaction(name, locale="fr", **kw)

    help_msg = await interact(fake, slash("ayuda"))
    assert help_msg["embeds"][0]["title"] == t("help_title", "en")
    summary = await interact(fake, slash("resumen"))
    assert summary["embeds"][0]["title"].startswith("Summary: ")
    sources = await interact(fake, slash("fuentes"))
    assert sources["embeds"][0]["title"] == t("sources_title", "en")
    status = await interact(fake, slash("estado"))
    assert status["embeds"][0]["title"] == t("status_title", "en")
    refused = await interact(fake, slash("fuentes", channel_id=fake.snowflake()))
    assert refused["content"].startswith("I don't answer here")
    # A Spanish-speaking user still gets Spanish.
    spanish = await interact(fake, fake.slash_interaction("ayuda", locale="es-419"))
    assert spanish["embeds"][0]["title"] == t("help_title", "es")


# ---------------------------------------------------------------------- 1. logs at DEBUG


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The bot's own logging set up at DEBUG into a buffer (root logger restored after)."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    setup_logging("DEBUG", "text", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            if handler not in saved_handlers:
                root.removeHandler(handler)
        root.setLevel(saved_level)
        logging.captureWarnings(False)


async def test_debug_logs_never_hold_user_ids_or_interaction_tokens(
    fake_discord: FakeDiscord,
    start_bot: StartBot,
    engine: Engine,
    debug_log: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_discord
    monkeypatch.setattr(ask_module, "ACK_MARGIN", ask_module.ACK_DEADLINE)  # defer: followups
    await start_bot(engine)
    user = fake.snowflake()
    ask = fake.slash_interaction("preguntar", {"pregunta": QUESTION}, user_id=user)
    answer = await interact(fake, ask)
    vote = fake.component_interaction(custom_ids(answer)[0], answer, user_id=user)
    await interact(fake, vote)

    out = debug_log.getvalue()
    # discord.py's real DEBUG lines were written: the gateway event and the webhook URL.
    assert "WebSocket Event" in out and "INTERACTION_CREATE" in out
    assert "/webhooks/" in out and "[REDACTED]" in out
    for secret in (user, ask["token"], vote["token"], fake.user["id"]):
        assert secret not in out
    for payload in (ask, vote):  # the random part alone (the fake's tokens embed the id)
        secret = payload["token"].removeprefix(f"fake-itoken-{payload['id']}-")
        assert len(secret) >= 20 and secret not in out


# ---------------------------------------------------------------- 3. buttons vs a locked store


class HeldStore(SqliteStore):
    """A SQLite store whose reads and votes wait (like a lock held by another writer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held = threading.Event()
        self.released = threading.Event()

    def _wait(self) -> None:
        if self.held.is_set():
            self.released.wait(10)  # SQLite's busy timeout

    def record_vote(
        self, question_id: int, user_id: int, vote: int, comment: str | None = None
    ) -> None:
        self._wait()
        super().record_vote(question_id, user_id, vote, comment)

    def question_text(self, question_id: int) -> str | None:
        self._wait()
        return super().question_text(question_id)

    def server_overrides(self, guild_id: int) -> ServerOverrides:
        self._wait()
        return super().server_overrides(guild_id)


async def test_buttons_answer_in_time_while_the_database_is_locked(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> None:
    fake = fake_discord
    store = HeldStore(tmp_path / "held.sqlite3", "salt-for-tests")
    settings = make_settings(tmp_path, cooldown_questions=1000)
    bot = await start_in_process(fake, settings, engine, store, skip_identify_wait=True)
    try:
        answer = await interact(
            fake, fake.slash_interaction("preguntar", {"pregunta": "microsoft openai"})
        )
        votes = [i for i in custom_ids(answer) if i.startswith("fb:up:")]
        more = [i for i in custom_ids(answer) if i.startswith("more:")]
        store.held.set()
        vote = fake.component_interaction(votes[0], answer)
        await fake.dispatch_interaction(vote)
        thinking = await fake.wait_for_message(vote["id"], lambda m: True)  # in time (fake: 3 s)
        assert is_loading(thinking) and is_ephemeral(thinking)
        page = fake.component_interaction(more[0], answer)
        busy = await interact(fake, page)  # acknowledged in time, with a short private error
        assert busy["content"] == t("err_busy", "es") and is_ephemeral(busy)
        store.released.set()
        thanks = await fake.wait_for_message(vote["id"], timeout=5)
        assert thanks["content"] == t("vote_thanks_up", "es") and is_ephemeral(thanks)
        assert store.votes(int(votes[0].split(":")[2])) == (1, 0)
    finally:
        store.released.set()
        await bot.stop()
        store.close()


# ------------------------------------- every store read before a first response, one language


@pytest.mark.fake_discord(guild_count=3)
async def test_every_store_read_before_the_first_response_is_guarded(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> None:
    fake = fake_discord
    second, third = (g["id"] for g in fake.guilds[1:])
    store = HeldStore(tmp_path / "held.sqlite3", "salt-for-tests")
    settings = make_settings(tmp_path, cooldown_questions=1000)
    bot = await start_in_process(fake, settings, engine, store, skip_identify_wait=True)
    try:
        private = await interact(
            fake,
            fake.slash_interaction("preguntar", {"pregunta": QUESTION, "privado": True}),
        )
        publish = [i for i in custom_ids(private) if i.startswith("pub:")]
        assert publish, custom_ids(private)
        store.held.set()

        # "Publicar" reads the question back: a short private error, in time.
        busy = await interact(fake, fake.component_interaction(publish[0], private))
        assert busy["content"] == t("err_busy", "es") and is_ephemeral(busy)

        # /configurar reads the server's settings: the same error, in time, nothing changed.
        change = fake.slash_interaction(
            "configurar", {"privado": True}, permissions=ADMIN, guild_id=second
        )
        refused = await interact(fake, change)
        assert refused["content"] == t("err_busy", "es") and is_ephemeral(refused)

        # A question in a server whose settings were never read: answered with the defaults.
        asked = await interact(
            fake, fake.slash_interaction("preguntar", {"pregunta": QUESTION}, guild_id=third)
        )
        assert "2030" in message_text(asked) and not is_ephemeral(asked)
    finally:
        store.released.set()
        await bot.stop()
        store.close()
    assert store_overrides(tmp_path, int(second)) == ServerOverrides()


def store_overrides(tmp_path: Path, guild_id: int) -> ServerOverrides:
    reopened = SqliteStore(tmp_path / "held.sqlite3", "salt-for-tests")
    try:
        return reopened.server_overrides(guild_id)
    finally:
        reopened.close()


async def test_every_interaction_speaks_the_servers_language(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> None:
    fake = fake_discord
    guild = fake.guilds[0]["id"]
    store = SqliteStore(tmp_path / "lang.sqlite3", "salt-for-tests")
    store.save_server_overrides(int(guild), ServerOverrides(lang="en"))
    settings = make_settings(tmp_path, cooldown_questions=1000)
    bot = await start_in_process(fake, settings, engine, store, skip_identify_wait=True)
    try:
        # A member whose locale is neither Spanish nor English, first thing after a start.
        page = fake.component_interaction("src:0:next", locale="fr", guild_id=guild)
        shown = await interact(fake, page)
        assert shown["embeds"][0]["title"] == t("sources_title", "en")
        settings_shown = await interact(
            fake,
            fake.slash_interaction("configurar", locale="fr", permissions=ADMIN, guild_id=guild),
        )
        assert settings_shown["embeds"][0]["title"] == t("cfg_title", "en")
    finally:
        await bot.stop()
        store.close()
