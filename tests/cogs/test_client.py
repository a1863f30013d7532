"""The client: cooldowns, channel allowlist, error handler, command sync, shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import AsyncMock

import discord
import pytest
from discord import app_commands

from bot.cogs.client import (
    ChannelNotAllowed,
    Cooldowns,
    DealBot,
    ShardedDealBot,
    make_bot,
)
from bot.cogs.ui import suggestion_key
from bot.core.answer import Engine
from bot.settings import BUNDLED_KNOWLEDGE

from .conftest import (
    CHANNEL_ID,
    GUILD_ID,
    Harness,
    MakeBot,
    interaction_payload,
    make_settings,
)

VIGENTE = "¿Hasta cuándo estará vigente el acuerdo?"

# -- cooldowns ------------------------------------------------------------------------------------


def test_cooldown_allows_the_budget_then_tells_how_long_to_wait() -> None:
    cooldowns = Cooldowns(2, 30.0)
    assert cooldowns.hit(1, now=1000.0) is None
    assert cooldowns.hit(1, now=1001.0) is None
    retry = cooldowns.hit(1, now=1002.0)
    assert retry is not None and 27.0 <= retry <= 30.0
    assert cooldowns.hit(2, now=1002.0) is None  # per user
    assert cooldowns.hit(1, now=1031.0) is None  # the window passed


def test_cooldown_memory_stays_bounded() -> None:
    cooldowns = Cooldowns(5, 30.0)
    for user in range(10_050):
        cooldowns.hit(user, now=1000.0)
    cooldowns.hit(99_999, now=1100.0)  # everyone else is idle again: they are forgotten
    assert len(cooldowns._buckets) <= 2


# -- channel allowlist ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["resumen", "fuentes", "ayuda", "estado"])
async def test_every_command_respects_the_allowlist(make_bot: MakeBot, command: str) -> None:
    harness = Harness(await make_bot(allowed_channel_ids=[42, 43]))

    call = await harness.slash(command, locale="en-US")

    assert call.ephemeral
    assert call.visible.kwargs["content"] == "I don't answer here. Ask me in: <#42> <#43>."


async def test_message_menu_respects_the_allowlist(make_bot: MakeBot) -> None:
    harness = Harness(await make_bot(allowed_channel_ids=[42]))

    call = await harness.context_menu(VIGENTE)

    assert call.ephemeral and "<#42>" in call.visible.text


async def test_autocomplete_elsewhere_never_gets_a_message(make_bot: MakeBot) -> None:
    """Discord accepts only choices for an autocomplete interaction, never a message."""
    harness = Harness(await make_bot(allowed_channel_ids=[42]))

    call = await harness.autocomplete("vigen")

    assert [s.kind for s in call.sent] == ["autocomplete"]
    assert "¿Hasta cuándo estará vigente el acuerdo?" in [c.value for c in call.choices]
    refused = await harness.slash("preguntar", pregunta=call.choices[1].value)
    assert refused.ephemeral and "<#42>" in refused.visible.text


async def test_no_allowlist_means_every_channel(harness: Harness) -> None:
    assert harness.bot.settings.allowed_channel_ids == []
    call = await harness.slash("preguntar", pregunta=VIGENTE)
    assert not call.ephemeral


# -- error handler --------------------------------------------------------------------------------


def fresh_call(harness: Harness, locale: str = "es-ES"):
    data = harness.command_data("preguntar", pregunta=VIGENTE)
    return harness._mock(interaction_payload(2, data, locale=locale))


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ChannelNotAllowed(f"<#{CHANNEL_ID}>"), f"Pregúntame en: <#{CHANNEL_ID}>."),
        (
            app_commands.CommandOnCooldown(app_commands.Cooldown(1, 60.0), 12.4),
            "podrás volver a preguntar <t:",
        ),
        (app_commands.MissingPermissions(["manage_guild"]), "solo para administradores"),
        (app_commands.NoPrivateMessage(), "solo para administradores"),
        (
            app_commands.TransformerError(
                "x" * 400, discord.AppCommandOptionType.string, app_commands.Range[str, 2, 300]
            ),
            "demasiado larga (400 caracteres; el límite es 300)",
        ),
        (app_commands.AppCommandError("boom"), "Algo ha fallado al responder"),
    ],
)
async def test_known_errors_become_short_private_messages(
    harness: Harness, error: app_commands.AppCommandError, message: str
) -> None:
    call = fresh_call(harness)

    await harness.bot.tree.on_error(call.interaction, error)

    assert len(call.responses) == 1 and call.ephemeral
    assert message in call.visible.kwargs["content"]
    assert len(call.visible.kwargs["content"]) <= 2000


def not_found(code: int) -> discord.NotFound:
    response = SimpleNamespace(status=404, reason="Not Found")
    return discord.NotFound(response, {"code": code, "message": "Unknown interaction"})


async def test_expired_interaction_error_is_only_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    call = fresh_call(harness)
    caplog.set_level(logging.WARNING)
    error = app_commands.CommandInvokeError(harness.bot.tree.get_command("ayuda"), not_found(10062))

    await harness.bot.tree.on_error(call.interaction, error)

    assert call.sent == []
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "expired" in record.getMessage() and str(call.interaction.id) in record.getMessage()


async def test_error_after_the_response_goes_in_a_followup(harness: Harness) -> None:
    call = fresh_call(harness, locale="en-US")
    await call.interaction.response.defer(ephemeral=True, thinking=True)

    await harness.bot.tree.on_error(call.interaction, app_commands.AppCommandError("late"))

    assert [s.kind for s in call.sent] == ["defer", "followup"]
    assert call.sent[-1].kwargs["ephemeral"] is True
    assert call.sent[-1].kwargs["content"].startswith("Something went wrong")


async def test_error_message_that_cannot_be_sent_is_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    call = fresh_call(harness)
    response = SimpleNamespace(status=500, reason="Server Error")
    call.interaction.response.send_message.side_effect = discord.HTTPException(response, "down")
    caplog.set_level(logging.WARNING)

    await harness.bot.tree.on_error(call.interaction, app_commands.AppCommandError("x"))

    assert any("could not show an error" in r.getMessage() for r in caplog.records)


# -- command sync ---------------------------------------------------------------------------------


@pytest.fixture
def sync_mock(monkeypatch: pytest.MonkeyPatch):
    def install(bot: DealBot) -> AsyncMock:
        mock = AsyncMock(side_effect=lambda *a, **k: list(bot.tree.get_commands()))
        monkeypatch.setattr(bot.tree, "sync", mock)
        return mock

    return install


async def test_sync_to_the_test_guild(make_bot: MakeBot, sync_mock, tmp_path: Path) -> None:
    bot = await make_bot(discord_guild_id=GUILD_ID)
    sync = sync_mock(bot)

    await bot.sync_commands()

    sync.assert_awaited_once()
    assert sync.await_args.kwargs["guild"].id == GUILD_ID
    guild_names = {c.name for c in bot.tree.get_commands(guild=discord.Object(GUILD_ID))}
    assert guild_names == {c.name for c in bot.tree.get_commands()}
    assert "Preguntar al bot" in guild_names
    assert not (tmp_path / "data" / "command-tree.sha256").exists()


async def test_global_sync_only_when_the_tree_changed(
    make_bot: MakeBot, sync_mock, tmp_path: Path
) -> None:
    bot = await make_bot()
    sync = sync_mock(bot)
    marker = tmp_path / "data" / "command-tree.sha256"

    await bot.sync_commands()
    assert sync.await_count == 1 and sync.await_args.kwargs.get("guild") is None
    assert marker.read_text().strip() == bot.tree_hash()

    await bot.sync_commands()
    assert sync.await_count == 1  # unchanged: no sync (global syncs are rate limited)

    await bot.sync_commands(force=True)
    assert sync.await_count == 2

    restarted = await make_bot()
    sync_again = sync_mock(restarted)
    await restarted.sync_commands()
    sync_again.assert_not_awaited()  # same tree after a restart


async def test_global_sync_when_a_command_changes(make_bot: MakeBot, sync_mock) -> None:
    bot = await make_bot()
    sync = sync_mock(bot)
    await bot.sync_commands()
    before = bot.tree_hash()

    bot.tree.remove_command("estado")
    assert bot.tree_hash() != before
    await bot.sync_commands()

    assert sync.await_count == 2


async def test_forced_sync_with_a_guild_syncs_globally(make_bot: MakeBot, sync_mock) -> None:
    bot = await make_bot(discord_guild_id=GUILD_ID)
    sync = sync_mock(bot)

    await bot.sync_commands(force=True)

    # Globally first, then the test guild's copies are emptied (no command shows twice).
    assert sync.await_args_list[0].kwargs.get("guild") is None
    assert sync.await_args.kwargs["guild"].id == GUILD_ID
    assert bot.tree.get_commands(guild=discord.Object(GUILD_ID)) == []


async def test_unwritable_marker_is_not_fatal(
    make_bot: MakeBot, sync_mock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the data folder should be")
    bot = await make_bot(data_dir=blocked)
    sync = sync_mock(bot)
    caplog.set_level(logging.WARNING)

    await bot.sync_commands()

    sync.assert_awaited_once()
    assert any("could not remember the synced tree" in r.getMessage() for r in caplog.records)


def test_tree_hash_is_stable(bot: DealBot) -> None:
    assert bot.tree_hash() == bot.tree_hash()
    assert len(bot.tree_hash()) == 64


# -- the bot object -------------------------------------------------------------------------------


def test_make_bot_shards_only_when_asked(tmp_path: Path, engine: Engine) -> None:
    from bot.store import MemoryStore

    plain_bot = make_bot(make_settings(tmp_path), engine, MemoryStore())
    sharded = make_bot(make_settings(tmp_path, shard_count=2), engine, MemoryStore())
    assert type(plain_bot) is DealBot
    assert isinstance(sharded, ShardedDealBot) and sharded.shard_count == 2
    assert sharded.allowed_mentions.everyone is False


def test_intents_are_minimal(bot: DealBot) -> None:
    assert bot.intents.guilds
    assert not bot.intents.message_content and not bot.intents.members


def test_suggestion_keys_resolve_to_their_question(bot: DealBot, engine: Engine) -> None:
    for q in engine.documents[0].suggested_questions:
        assert bot.engine_suggestion(suggestion_key(q)) == q
    assert bot.engine_suggestion("0" * 16) is None


async def test_shutdown_lets_inflight_answers_finish(bot: DealBot) -> None:
    finished = asyncio.Event()

    async def answering() -> None:
        bot.track()
        await asyncio.sleep(0.05)
        finished.set()

    task = asyncio.create_task(answering())
    await asyncio.sleep(0)
    await bot.shutdown(grace=2.0)

    assert finished.is_set() and task.done()
    assert bot.is_closed()


async def test_shutdown_does_not_wait_forever(bot: DealBot) -> None:
    async def stuck() -> None:
        bot.track()
        await asyncio.sleep(30)

    task = asyncio.create_task(stuck())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await bot.shutdown(grace=0.1)

    assert loop.time() - started < 2.0
    assert bot.is_closed()
    task.cancel()


async def test_a_burst_of_reloads_builds_at_most_twice(
    make_bot: MakeBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await make_bot()
    loads: list[int] = []
    real = Engine.load

    def load(*args: object, **kwargs: object) -> Engine:
        loads.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "load", load)
    # /recargar builds; four more presses while it runs share the next build.
    first = asyncio.create_task(bot.reload_knowledge())
    while not loads:
        await asyncio.sleep(0.005)
    engines = await asyncio.gather(first, *(bot.reload_knowledge() for _ in range(4)))
    assert len(loads) == 2
    assert engines[1:] == [engines[1]] * 4 and engines[0] is not engines[1]
    assert bot.engine is engines[1]


async def test_a_reload_frees_the_engine_it_replaces_and_freezes_the_new_one(
    make_bot: MakeBot,
) -> None:
    # An engine holds cycles (its caches refer back to it): only the collector frees it, and
    # one frozen at startup would never be walked again. A reload puts it back and collects.
    bot = await make_bot(Engine.load(BUNDLED_KNOWLEDGE))
    bot.prepare = AsyncMock()  # done by make_bot
    bot.sync_commands = AsyncMock()  # no Discord here
    await bot.setup_hook()
    assert gc.get_freeze_count() > 0  # the serving engine is out of the collector's walks
    replaced = weakref.ref(bot.engine)
    new = await bot.reload_knowledge()
    assert replaced() is None
    assert bot.engine is new and gc.get_freeze_count() > 0
