"""End to end: asking by mention, by replying to an answer and in DMs, on the fake Discord.

The fake delivers MESSAGE_CREATE the way Discord does for a bot without the Message Content
intent (content only when the message mentions the bot, is a DM or is the bot's own), and
validates every message the bot posts against the OpenAPI spec.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.answer import Engine
from bot.i18n import t
from bot.settings import ServerConfig
from bot.store import SqliteStore

from .bot_harness import (
    MANAGE_GUILD,
    QUESTION,
    QUOTE,
    InProcessBot,
    custom_ids,
    make_settings,
    message_text,
    start_in_process,
)
from .fake_discord import (
    DEFAULT_MEMBER_PERMISSIONS,
    EPHEMERAL,
    INTENT_MESSAGE_CONTENT,
    FakeDiscord,
)

JSON = Any
SANITY = 10.0  # seconds: the generous bound the other e2e waits use
COOLDOWN_HEAD = t("err_cooldown_at", "es", when="").rstrip(".")
ADMIN = str(int(DEFAULT_MEMBER_PERMISSIONS) | MANAGE_GUILD)


async def start(
    fake: FakeDiscord, engine: Engine, tmp_path: Path, **settings: Any
) -> tuple[InProcessBot, SqliteStore]:
    store = SqliteStore(tmp_path / "e2e.sqlite3", "salt-for-tests")
    values = {"cooldown_questions": 1000, **settings}
    bot = await start_in_process(
        fake, make_settings(tmp_path, **values), engine, store, skip_identify_wait=True
    )
    return bot, store


@pytest.fixture
async def running(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> AsyncIterator[InProcessBot]:
    bot, store = await start(fake_discord, engine, tmp_path)
    try:
        yield bot
    finally:
        await bot.stop()
        store.close()


def plain(text: str) -> str:
    return text.replace("**", "").replace("\\", "")


async def answer_to(fake: FakeDiscord, msg: JSON, timeout: float = SANITY) -> JSON:
    """Wait for the bot's reply to a message."""
    return await fake.wait_until(
        lambda: (fake.replies_to(msg["id"]) or [None])[0], timeout, f"a reply to {msg['id']}"
    )


async def quiet(fake: FakeDiscord, seconds: float = 0.3) -> None:
    """Give the bot time to (wrongly) answer something it must ignore."""
    await asyncio.sleep(seconds)


def posts(fake: FakeDiscord) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.path.startswith("/channels/")]


async def test_a_mention_is_answered_as_a_reply_like_preguntar(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    # The bot asks for no privileged intent: Discord still sends it the mention's content.
    (identify,) = fake.identify_payloads
    assert not identify["intents"] & INTENT_MESSAGE_CONTENT
    msg = fake.user_message(QUESTION)
    await fake.dispatch_message(msg)
    reply = await answer_to(fake, msg)
    assert reply["channel_id"] == fake.channel_id
    assert reply["embeds"][0]["title"] == f"{t('question', 'es')}: {QUESTION}"
    assert QUOTE in plain(message_text(reply))
    ids = custom_ids(reply)
    assert [i.split(":")[:2] for i in ids] == [["fb", "up"], ["fb", "down"], ["del", "1"]]
    assert ids[2].endswith(f":{fake.user['id']}")  # the asker may delete it
    (post,) = posts(fake)
    assert post.body["allowed_mentions"]["parse"] == [] and post.spec_errors is None
    assert str(post.body["message_reference"]["message_id"]) == msg["id"]

    # Its own answer came back as MESSAGE_CREATE (as on Discord): never answered.
    await quiet(fake)
    assert len(posts(fake)) == 1

    # The asker deletes the answer with 🗑️ (through the interaction, no channel permission).
    delete = fake.component_interaction(ids[2], reply)
    await fake.dispatch_interaction(delete)
    await fake.wait_until(
        lambda: reply["id"] not in fake.channel_messages[fake.channel_id], SANITY, "deletion"
    )
    fake.assert_no_spec_violations()


async def test_a_message_that_does_not_address_the_bot_is_never_read(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    msg = fake.user_message(QUESTION, mention=False)
    await fake.dispatch_message(msg)
    await quiet(fake)
    assert posts(fake) == []
    # Discord sent the event without its text (no Message Content intent).
    (event,) = [
        f.payload["d"]
        for f in fake.gateway_log
        if f.payload.get("t") == "MESSAGE_CREATE" and f.payload["d"]["id"] == msg["id"]
    ]
    assert event["content"] == "" and msg["content"] == QUESTION


async def test_a_reply_to_an_answer_asks_a_follow_up_with_the_previous_question(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    first = fake.user_message("¿Qué duración tiene el acuerdo?")
    await fake.dispatch_message(first)
    answer = await answer_to(fake, first)

    follow = fake.user_message("¿y eso hasta cuándo?", mention=False, reply_to=answer)
    await fake.dispatch_message(follow)
    reply = await answer_to(fake, follow)
    title = plain(reply["embeds"][0]["title"])
    # Which question was understood: the follow-up plus the words carried over.
    assert title.startswith(f"{t('question', 'es')}: ¿y eso hasta cuándo?")
    assert "duración, acuerdo" in title
    assert QUOTE in plain(message_text(reply))
    fake.assert_no_spec_violations()


async def test_a_dm_is_answered_without_a_mention(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    msg = fake.user_message(QUESTION, mention=False, dm=True)
    await fake.dispatch_message(msg)
    reply = await answer_to(fake, msg)
    assert reply["channel_id"] == msg["channel_id"] and "guild_id" not in reply
    assert QUOTE in plain(message_text(reply))


async def test_a_replayed_message_is_answered_once(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    msg = fake.user_message(QUESTION)
    await fake.dispatch_message(msg)
    await answer_to(fake, msg)
    await fake.dispatch_message(msg)  # the same event again (a replay after a reconnect)
    await fake.close_gateway(4000)  # a real reconnect: RESUME replays what was missed
    await fake.wait_until(lambda: fake.resumes >= 1 and fake.ready_connection(), SANITY, "resume")
    await fake.dispatch_message(msg)
    await quiet(fake)
    assert len(fake.replies_to(msg["id"])) == 1


async def test_bots_and_webhooks_are_never_answered(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    other_bot = fake._user(fake.snowflake(), "another-bot", bot=True)
    msg = fake.user_message(QUESTION, author=other_bot)
    await fake.dispatch_message(msg)
    await quiet(fake)
    assert posts(fake) == []


async def test_an_empty_mention_gets_a_hint(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    msg = fake.user_message("")
    await fake.dispatch_message(msg)
    reply = await answer_to(fake, msg)
    assert reply["content"] == t("mention_hint", "es")


@pytest.mark.fake_discord(validate=True)
async def test_mentions_in_bursts_of_50_are_answered_once_quickly(
    fake_discord: FakeDiscord,
    engine: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every mention from a different user (default cooldown); latency is printed, not asserted."""
    fake = fake_discord
    bot, store = await start(fake, engine, tmp_path, cooldown_questions=5)
    questions = [q for q in engine.suggested_questions] or [QUESTION]
    latencies: list[float] = []
    total, burst = 500, 50
    try:
        for start_at in range(0, total, burst):
            msgs = [
                fake.user_message(questions[n % len(questions)], user_id=str(20_000 + n))
                for n in range(start_at, start_at + burst)
            ]
            sent = {}
            for m in msgs:
                sent[m["id"]] = await fake.dispatch_message(m)
            await fake.wait_until(
                lambda msgs=msgs: all(fake.replies_to(m["id"]) for m in msgs),
                SANITY,
                "a burst of answers",
            )
            posted = {
                str(r.body["message_reference"]["message_id"]): r.time
                for r in posts(fake)
                if isinstance(r.body, dict) and r.body.get("message_reference")
            }
            for m in msgs:
                (reply,) = fake.replies_to(m["id"])
                assert reply["embeds"], reply  # an answer, not an error
                latencies.append(posted[m["id"]] - sent[m["id"]])
        await asyncio.sleep(0.2)  # a late duplicate would show up here
        asked = [
            m
            for m in fake.channel_messages[fake.channel_id].values()
            if m["author"]["id"] != fake.bot_user["id"]
        ]
        assert len(asked) == total
        assert all(len(fake.replies_to(m["id"])) == 1 for m in asked)  # each answered once
    finally:
        await bot.stop()
        store.close()
    cuts = statistics.quantiles(latencies, n=100)
    assert len(latencies) == total and max(latencies) < SANITY
    with capsys.disabled():
        print(
            f"\n[mentions] {total} mentions in bursts of {burst}: MESSAGE_CREATE->reply POST "
            f"p50={cuts[49] * 1000:.1f} ms p95={cuts[94] * 1000:.1f} ms "
            f"max={max(latencies) * 1000:.1f} ms"
        )


# ---------------------------------------------------------------------- /configurar


async def slash(fake: FakeDiscord, name: str, options: JSON = None, **kw: Any) -> JSON:
    """Run a slash command; return the message the bot showed."""
    payload = fake.slash_interaction(name, options, **kw)
    await fake.dispatch_interaction(payload)
    await fake.wait_for_callback(payload["id"], timeout=SANITY)
    return await fake.wait_for_message(payload["id"], timeout=SANITY)


def fields(message: JSON) -> dict[str, str]:
    return {f["name"]: f["value"] for e in message["embeds"] for f in e.get("fields") or []}


@pytest.mark.fake_discord(guild_count=2)
async def test_each_server_configures_channels_threads_mentions_and_privacy(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> None:
    fake = fake_discord
    first, second = (g["id"] for g in fake.guilds)
    general = fake.guilds[0]["channels"][0]
    asking = {**general, "id": fake.snowflake(), "name": "preguntas", "position": 1}
    fake.guilds[0]["channels"].append(asking)
    bot, store = await start(fake, engine, tmp_path)
    try:
        shown = await slash(
            fake,
            "configurar",
            {"canales": f"<#{asking['id']}>", "hilos": True},
            permissions=ADMIN,
            guild_id=first,
        )
        assert shown["flags"] & EPHEMERAL
        rows = fields(shown)
        assert rows[t("cfg_channels", "es")] == f"<#{asking['id']}>"
        assert rows[t("cfg_threads", "es")] == t("yes", "es")

        # Outside the allowed channel: mentions are ignored, /preguntar says where to ask.
        ignored = fake.user_message(QUESTION, guild_id=first)
        await fake.dispatch_message(ignored)
        refused = await slash(fake, "preguntar", {"pregunta": QUESTION}, guild_id=first)
        assert refused["content"] == t("err_channel", "es", channels=f"<#{asking['id']}>")

        # In it: the answer opens a thread named after the question.
        asked = fake.user_message(QUESTION, guild_id=first, channel_id=asking["id"])
        await fake.dispatch_message(asked)
        thread = await fake.wait_until(lambda: fake.threads.get(asked["id"]), SANITY, "thread")
        assert thread["name"] == QUESTION and thread["parent_id"] == asking["id"]
        (answer,) = await fake.wait_until(
            lambda: fake.thread_messages(thread["id"]), SANITY, "the answer in the thread"
        )
        assert QUOTE in plain(message_text(answer))
        # A follow-up in the thread counts as the allowed parent channel; no second thread.
        follow = fake.user_message(
            "¿y eso?", mention=False, reply_to=answer, guild_id=first, channel_id=thread["id"]
        )
        await fake.dispatch_message(follow)
        reply = await answer_to(fake, follow)
        assert reply["channel_id"] == thread["id"] and len(fake.threads) == 1

        # The other server is untouched: answers in place, in any channel, no thread.
        status = await slash(fake, "estado", guild_id=second)
        assert fields(status)[t("cfg_channels", "es")] == t("every_channel", "es")
        elsewhere = fake.user_message(QUESTION, guild_id=second)
        await fake.dispatch_message(elsewhere)
        await answer_to(fake, elsewhere)
        assert len(fake.threads) == 1

        # It turns mentions off and makes answers private; the first server still answers.
        await slash(
            fake,
            "configurar",
            {"menciones": False, "privado": True},
            permissions=ADMIN,
            guild_id=second,
        )
        muted = fake.user_message(QUESTION, guild_id=second)
        await fake.dispatch_message(muted)
        private = await slash(fake, "preguntar", {"pregunta": QUESTION}, guild_id=second)
        assert private["flags"] & EPHEMERAL and QUOTE in plain(message_text(private))
        public = await slash(
            fake, "preguntar", {"pregunta": QUESTION, "privado": False}, guild_id=second
        )
        assert not public["flags"] & EPHEMERAL
        again = fake.user_message(QUESTION, guild_id=first, channel_id=asking["id"])
        await fake.dispatch_message(again)
        await fake.wait_until(lambda: fake.threads.get(again["id"]), SANITY, "second thread")
        await quiet(fake)
        assert fake.replies_to(ignored["id"]) == [] and fake.replies_to(muted["id"]) == []

        # Its language for members whose locale is neither Spanish nor English.
        await slash(fake, "configurar", {"idioma": "en"}, permissions=ADMIN, guild_id=second)
        french = await slash(fake, "fuentes", locale="fr", guild_id=second)
        assert french["embeds"][0]["title"] == t("sources_title", "en")
        spanish = await slash(fake, "fuentes", locale="es-ES", guild_id=second)
        assert spanish["embeds"][0]["title"] == t("sources_title", "es")
        elsewhere_fr = await slash(
            fake, "fuentes", locale="fr", guild_id=first, channel_id=asking["id"]
        )
        assert elsewhere_fr["embeds"][0]["title"] == t("sources_title", "es")  # DEFAULT_LANG

        # Back to the defaults, kept across a restart (SQLite).
        await slash(fake, "configurar", {"restablecer": True}, permissions=ADMIN, guild_id=first)
    finally:
        await bot.stop()
        store.close()
    reopened = SqliteStore(tmp_path / "e2e.sqlite3", "salt-for-tests")
    try:
        assert reopened.server_overrides(int(first)).apply(ServerConfig()) == ServerConfig()
        assert reopened.server_overrides(int(second)).mentions is False
    finally:
        reopened.close()
    fake.assert_no_spec_violations()


# ---------------------------------------------------------------------- edits and limits


async def test_an_edit_that_adds_the_mention_is_answered_only_within_a_minute(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    fresh = fake.user_message("hola", mention=False)
    await fake.dispatch_message(fresh)
    await quiet(fake)
    await fake.dispatch_edit(fresh, QUESTION)
    reply = await answer_to(fake, fresh)
    assert QUOTE in plain(message_text(reply))
    await fake.dispatch_edit(fresh, QUESTION + " ")  # edited again: still answered once

    old = fake.user_message("hola", mention=False, age=90)
    await fake.dispatch_message(old)
    await quiet(fake)
    await fake.dispatch_edit(old, QUESTION)
    await quiet(fake)
    assert fake.replies_to(old["id"]) == [] and len(fake.replies_to(fresh["id"])) == 1


async def test_mentions_share_the_cooldown_and_limits_of_preguntar(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> None:
    fake = fake_discord
    bot, store = await start(fake, engine, tmp_path, cooldown_questions=1, cooldown_seconds=60)
    try:
        too_long = fake.user_message("¿" + "a" * 400 + "?")
        await fake.dispatch_message(too_long)
        error = await answer_to(fake, too_long)
        assert error["content"] == t("err_too_long", "es", n=402, limit=300)
        first = fake.user_message(QUESTION)
        await fake.dispatch_message(first)
        assert (await answer_to(fake, first))["embeds"]
        # The same user on /preguntar: the budget is shared.
        refused = await slash(fake, "preguntar", {"pregunta": QUESTION})
        assert refused["content"].startswith(COOLDOWN_HEAD) and ":R>" in refused["content"]
        second = fake.user_message(QUESTION)
        await fake.dispatch_message(second)
        cooldown = await answer_to(fake, second)
        assert cooldown["content"].startswith(COOLDOWN_HEAD) and ":R>" in cooldown["content"]
    finally:
        await bot.stop()
        store.close()


# ---------------------------------------------------------------------- user installs


@pytest.mark.parametrize("where", ["server without the bot", "group DM"])
async def test_a_user_installed_app_answers_where_the_bot_is_no_member(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path, where: str
) -> None:
    fake = fake_discord
    # A channel allowlist and private-by-default answers configured for the bot's own servers
    # do not reach a server that never added the bot.
    bot, store = await start(
        fake, engine, tmp_path, allowed_channel_ids=[fake.channel_id], answers_private=False
    )
    try:
        group_dm = where == "group DM"
        payload = fake.slash_interaction(
            "preguntar", {"pregunta": QUESTION}, user_install=True, group_dm=group_dm
        )
        assert payload["authorizing_integration_owners"] == {"1": fake.user["id"]}
        assert payload.get("guild_id") not in {g["id"] for g in fake.guilds}
        await fake.dispatch_interaction(payload)
        answer = await fake.wait_for_message(payload["id"], timeout=SANITY)
        assert QUOTE in plain(message_text(answer)) and not answer["flags"] & EPHEMERAL
        # Everything went through the interaction: no channel request needing membership.
        assert posts(fake) == [] and fake.unknown_routes == []
        vote = fake.component_interaction(
            custom_ids(answer)[0], answer, user_install=True, channel_id=payload["channel_id"]
        )
        await fake.dispatch_interaction(vote)
        thanks = await fake.wait_for_message(vote["id"], timeout=SANITY)
        assert thanks["content"] == t("vote_thanks_up", "es")
        # Commands that need the server's install are not offered there.
        for admin in ("configurar", "estadisticas", "recargar"):
            with pytest.raises(AssertionError, match="not offered to user installs"):
                fake.slash_interaction(admin, user_install=True, group_dm=group_dm)
    finally:
        await bot.stop()
        store.close()
    fake.assert_no_spec_violations()


async def test_help_links_the_synced_commands(
    fake_discord: FakeDiscord, running: InProcessBot
) -> None:
    fake = fake_discord
    ids = {c["name"]: c["id"] for c in fake.commands[None]}
    member = await slash(fake, "ayuda")
    admin = await slash(fake, "ayuda", permissions=ADMIN)
    assert f"</preguntar:{ids['preguntar']}>" in member["embeds"][0]["description"]
    assert f"</configurar:{ids['configurar']}>" not in message_text(member)
    assert f"</configurar:{ids['configurar']}>" in message_text(admin)
    assert t("help_mentions_title", "es") in fields(member)


async def test_a_follow_up_pages_and_chains_as_understood(
    fake_discord: FakeDiscord, running: InProcessBot, engine: Engine
) -> None:
    fake = fake_discord
    first = fake.user_message("¿Qué duración tiene el acuerdo?")
    await fake.dispatch_message(first)
    answer = await answer_to(fake, first)
    follow = fake.user_message("¿y eso?", mention=False, reply_to=answer)
    await fake.dispatch_message(follow)
    reply = await answer_to(fake, follow)
    understood = "¿y eso? (duración, acuerdo)"
    assert engine.ask(understood).answered
    # A reply to the follow-up's answer leans on what was understood, not on "¿y eso?".
    again = fake.user_message("¿y Microsoft?", mention=False, reply_to=reply)
    await fake.dispatch_message(again)
    chained = await answer_to(fake, again)
    assert "duración, acuerdo" in plain(chained["embeds"][0]["title"])
