"""Harness: the real bot, cog and CommandTree, with spec'd mocks for Discord's HTTP side."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest
from discord import app_commands

from bot.cogs.client import DealBot
from bot.core.answer import Engine
from bot.settings import BUNDLED_KNOWLEDGE, Settings
from bot.store import MemoryStore

_counter = itertools.count()


class _Ids:
    """Snowflakes of "now", so interaction ages are real (Discord's 3 s deadline)."""

    def __next__(self) -> int:
        return discord.utils.time_snowflake(discord.utils.utcnow()) + next(_counter) % 4096


_ids = _Ids()
APP_ID = 424242424242424242
GUILD_ID = 515151515151515151
CHANNEL_ID = 616161616161616161
USER_ID = 717171717171717171
OWNER_ID = 818181818181818181  # the application's owner (Developer Portal)


@dataclass
class Sent:
    """One thing the bot sent for an interaction."""

    kind: str  # "send_message", "defer", "followup", "edit_message", "autocomplete"
    kwargs: dict[str, Any]

    @property
    def embeds(self) -> list[discord.Embed]:
        return list(
            self.kwargs.get("embeds") or ([self.kwargs["embed"]] if "embed" in self.kwargs else [])
        )

    @property
    def text(self) -> str:
        """Everything a user reads: content, titles, descriptions, fields, footers, labels."""
        parts = [self.kwargs.get("content") or ""]
        for e in self.embeds:
            parts += [e.title or "", e.description or ""]
            parts += [f"{f.name}\n{f.value}" for f in e.fields]
            parts.append(e.footer.text or "" if e.footer else "")
        view = self.kwargs.get("view")
        if view is not None:
            parts += [getattr(getattr(c, "item", c), "label", "") or "" for c in view.children]
        return "\n".join(parts)


@dataclass
class Call:
    """A mocked interaction and what the bot did with it."""

    interaction: discord.Interaction
    sent: list[Sent] = field(default_factory=list)
    # Protocol violations (a second response, a followup before the ack). They are also raised
    # where they happen, but the bot's error handler may swallow them: the harness checks here.
    violations: list[str] = field(default_factory=list)

    @property
    def responses(self) -> list[Sent]:
        return [
            s
            for s in self.sent
            if s.kind in ("send_message", "defer", "edit_message", "autocomplete", "send_modal")
        ]

    @property
    def visible(self) -> Sent:
        """The message the user ends up seeing (the response, or the followup after a defer)."""
        shown = [s for s in self.sent if s.kind in ("send_message", "followup", "edit_message")]
        assert shown, f"nothing was shown: {self.sent}"
        return shown[-1]

    @property
    def choices(self) -> list[app_commands.Choice[str]]:
        """The autocomplete choices the bot offered."""
        (sent,) = [s for s in self.sent if s.kind == "autocomplete"]
        return list(sent.kwargs.get("choices") or sent.kwargs["_args"][0])

    @property
    def shown(self) -> list[Sent]:
        """Every message payload the bot sent (responses and followups)."""
        return [s for s in self.sent if s.kind in ("send_message", "followup", "edit_message")]

    @property
    def ephemeral(self) -> bool:
        """Whether the message the user sees is only visible to them."""
        visible = self.visible
        if visible.kind == "followup":
            defer = next(s for s in self.sent if s.kind == "defer")
            return bool(defer.kwargs.get("ephemeral")) and bool(visible.kwargs.get("ephemeral"))
        return bool(visible.kwargs.get("ephemeral"))


def _user(user_id: int) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": f"user{user_id % 1000}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
    }


def message_payload(*, author_id: int, content: str) -> dict[str, Any]:
    """Return a MESSAGE object shaped like Discord's, in the test channel."""
    return {
        "id": str(next(_ids)),
        "channel_id": str(CHANNEL_ID),
        "author": _user(author_id),
        "content": content,
        "timestamp": "2025-01-22T10:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
    }


def interaction_payload(
    itype: int,
    data: dict[str, Any],
    *,
    locale: str = "es-ES",
    user_id: int = USER_ID,
    permissions: str = "0",
    message: dict[str, Any] | None = None,
    guild_id: int = GUILD_ID,
) -> dict[str, Any]:
    """Return an INTERACTION_CREATE payload shaped like Discord's."""
    payload: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": str(APP_ID),
        "type": itype,
        "token": f"tok{next(_ids)}",
        "version": 1,
        "locale": locale,
        "guild_locale": "es-ES",
        "guild_id": str(guild_id),
        "channel_id": str(CHANNEL_ID),
        "channel": {
            "id": str(CHANNEL_ID),
            "type": 0,
            "guild_id": str(guild_id),
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        },
        "member": {
            "user": _user(user_id),
            "roles": [],
            "permissions": permissions,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        },
        "app_permissions": "0",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "context": 0,
        "attachment_size_limit": 8_388_608,
        "data": data,
    }
    if message is not None:
        payload["message"] = message
    return payload


class Harness:
    """Builds interactions and feeds them to the real tree and view store."""

    def __init__(self, bot: DealBot) -> None:
        self.bot = bot

    def _mock(self, payload: dict[str, Any]) -> Call:
        interaction = discord.Interaction(data=payload, state=self.bot._connection)
        call = Call(interaction)
        done = {"value": False}
        response = MagicMock(spec=discord.InteractionResponse)
        response.is_done.side_effect = lambda: done["value"]

        def responder(kind: str) -> AsyncMock:
            async def record(*args: Any, **kwargs: Any) -> None:
                if done["value"]:
                    call.violations.append(f"second response ({kind}) to one interaction")
                    raise AssertionError(call.violations[-1])
                done["value"] = True
                if args:
                    kwargs["_args"] = args
                call.sent.append(Sent(kind, kwargs))

            return AsyncMock(side_effect=record)

        response.send_message = responder("send_message")
        response.defer = responder("defer")
        response.edit_message = responder("edit_message")
        response.autocomplete = responder("autocomplete")
        response.send_modal = responder("send_modal")
        followup = MagicMock(spec=discord.Webhook)

        async def follow(*args: Any, **kwargs: Any) -> MagicMock:
            if not done["value"]:
                call.violations.append("followup before the interaction was acknowledged")
                raise AssertionError(call.violations[-1])
            call.sent.append(Sent("followup", kwargs))
            return MagicMock(spec=discord.WebhookMessage)

        followup.send = AsyncMock(side_effect=follow)
        interaction._cs_response = response  # type: ignore[attr-defined]
        interaction._cs_followup = followup  # type: ignore[attr-defined]
        return call

    def command_data(self, name: str, **options: Any) -> dict[str, Any]:
        types = {str: 3, bool: 5, int: 4}
        return {
            "id": str(next(_ids)),
            "name": name,
            "type": 1,
            "options": [
                {"name": k, "type": types[type(v)], "value": v} for k, v in options.items()
            ],
        }

    async def slash(
        self,
        name: str,
        *,
        locale: str = "es-ES",
        user_id: int = USER_ID,
        permissions: str = "0",
        guild_id: int = GUILD_ID,
        setup: Callable[[Call], None] | None = None,
        **options: Any,
    ) -> Call:
        """Run a slash command; `setup(call)` may adjust the mocks before the bot sees it."""
        call = self._mock(
            interaction_payload(
                2,
                self.command_data(name, **options),
                locale=locale,
                user_id=user_id,
                permissions=permissions,
                guild_id=guild_id,
            )
        )
        if setup is not None:
            setup(call)
        await self.run(call)
        return call

    async def run(self, call: Call) -> None:
        """Feed an interaction to the tree the way discord.py does, then check the protocol."""
        tree = self.bot.tree
        try:
            await tree._call(call.interaction)
        except app_commands.AppCommandError as exc:  # as CommandTree._from_interaction does
            await tree._dispatch_error(call.interaction, exc)
        self.check(call)

    @staticmethod
    def check(call: Call) -> None:
        """What must hold for every interaction: one response, every payload within limits."""
        assert not call.violations, call.violations
        assert problems(call) == [], problems(call)

    async def autocomplete(self, typed: str, *, locale: str = "es-ES") -> Call:
        """Type `typed` in /preguntar's question option; the choices are in `call.choices`."""
        data = self.command_data("preguntar")
        data["options"] = [{"name": "pregunta", "type": 3, "value": typed, "focused": True}]
        call = self._mock(interaction_payload(4, data, locale=locale))
        await self.run(call)
        return call

    async def context_menu(
        self,
        content: str,
        *,
        locale: str = "es-ES",
        user_id: int = USER_ID,
        embeds: list[dict[str, Any]] | None = None,
    ) -> Call:
        """Use the message menu "Preguntar al bot" on a message with `content` (and embeds)."""
        message = message_payload(author_id=999, content=content)
        message["embeds"] = embeds or []
        msg_id = message["id"]
        data = {
            "id": str(next(_ids)),
            "name": "Preguntar al bot",
            "type": 3,
            "target_id": msg_id,
            "resolved": {"messages": {msg_id: message}},
        }
        call = self._mock(interaction_payload(2, data, locale=locale, user_id=user_id))
        await self.run(call)
        return call

    async def press(
        self,
        view: discord.ui.View,
        custom_id: str,
        *,
        locale: str = "es-ES",
        user_id: int = USER_ID,
        ephemeral: bool = False,
        permissions: str = "0",
    ) -> Call:
        """Press a button of a message the bot sent (its components come from `view`)."""
        message = message_payload(author_id=APP_ID, content="")
        message["components"] = view.to_components()
        message["flags"] = 1 << 6 if ephemeral else 0
        data = {"custom_id": custom_id, "component_type": 2}
        payload = interaction_payload(
            3, data, locale=locale, user_id=user_id, message=message, permissions=permissions
        )
        call = self._mock(payload)
        store = self.bot._connection._view_store
        failures = _ErrorLogs()
        ui_log = logging.getLogger("discord.ui")
        ui_log.addHandler(failures)
        try:
            before = asyncio.all_tasks()
            store.dispatch_view(2, custom_id, call.interaction)
            # DynamicItem callbacks run as tasks: wait for them (and what they start) to finish.
            for _ in range(10):
                pending = asyncio.all_tasks() - before - {asyncio.current_task()}
                pending = {t for t in pending if not t.done()}
                if not pending:
                    break
                await asyncio.wait(pending, timeout=5)
        finally:
            ui_log.removeHandler(failures)
        assert not failures.messages, failures.messages
        self.check(call)
        return call


async def submit_modal(
    harness: Harness,
    modal: discord.ui.Modal,
    values: dict[str, str],
    *,
    user_id: int = USER_ID,
    locale: str = "es-ES",
) -> Call:
    """Submit a modal the bot showed, with its text inputs filled in."""
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": child.custom_id, "value": v}]}
        for child, v in zip(modal.children, values.values(), strict=False)
    ]
    data = {"custom_id": modal.custom_id, "components": rows}
    call = harness._mock(interaction_payload(5, data, user_id=user_id, locale=locale))
    for child, value in zip(modal.children, values.values(), strict=False):
        child._value = value  # type: ignore[attr-defined]
    await modal.on_submit(call.interaction)
    harness.check(call)
    return call


class _ErrorLogs(logging.Handler):
    """Collects the errors discord.py logs (and swallows) for a button callback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.getMessage()} {record.exc_info and record.exc_info[1]!r}")


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: bundled knowledge, a temp data dir, no .env file."""
    values: dict[str, Any] = {"knowledge_dir": BUNDLED_KNOWLEDGE, "data_dir": tmp_path / "data"}
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load(BUNDLED_KNOWLEDGE)


async def new_bot(settings: Settings, engine: Engine, store: Any = None) -> DealBot:
    """Return a prepared bot (cog, buttons, translator) that never connects to Discord."""
    client = DealBot(settings, engine, store if store is not None else MemoryStore(salt="test"))
    client._connection.user = discord.ClientUser(
        state=client._connection, data={**_user(APP_ID), "bot": True}
    )
    client._connection.application_id = APP_ID
    client.owner_id = OWNER_ID  # as discord.py learns it from the application info
    await client.prepare()
    return client


@pytest.fixture
async def bot(tmp_path: Path, engine: Engine) -> AsyncIterator[DealBot]:
    client = await new_bot(make_settings(tmp_path), engine)
    yield client
    await client.close()


MakeBot = Callable[..., Awaitable[DealBot]]


@pytest.fixture
async def make_bot(tmp_path: Path, engine: Engine) -> AsyncIterator[MakeBot]:
    """Return `await make_bot(engine=None, store=None, **settings)`; bots close at teardown."""
    made: list[DealBot] = []

    async def make(engine_: Engine | None = None, store: Any = None, **settings: Any) -> DealBot:
        client = await new_bot(make_settings(tmp_path, **settings), engine_ or engine, store)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture
def harness(bot: DealBot) -> Harness:
    return Harness(bot)


# -- what users read ----------------------------------------------------------------------------


def plain(text: str) -> str:
    """Return rendered text as a reader sees it: no markdown escapes, bold, quote marks or
    mention guards, whitespace collapsed."""
    lines = []
    for line in text.replace("\u200b", "").split("\n"):
        line = line.removeprefix("> ")
        out, i = [], 0
        while i < len(line):
            if line[i] == "\\" and i + 1 < len(line):
                out.append(line[i + 1])
                i += 2
            elif line.startswith("**", i):
                i += 2
            else:
                out.append(line[i])
                i += 1
        lines.append("".join(out))
    return squash("\n".join(lines))


def squash(text: str) -> str:
    """Collapse whitespace (to compare quotes across line breaks)."""
    return " ".join(text.split())


def problems(call: Call) -> list[str]:
    """Every Discord limit broken by any message the bot sent for an interaction."""
    from bot.cogs.ui import payload_problems

    found = []
    for sent in call.shown:
        kw = sent.kwargs
        found += payload_problems(kw.get("content"), sent.embeds, kw.get("view"))
    return found


def buttons(sent: Sent) -> dict[str, str]:
    """Map each button's custom_id (or URL) to its label, in the order users see them."""
    view = sent.kwargs.get("view")
    out: dict[str, str] = {}
    for child in view.children if view is not None else ():
        item = getattr(child, "item", child)
        out[item.custom_id or item.url] = item.label or str(item.emoji or "")
    return out
