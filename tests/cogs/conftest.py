"""Harness: the real bot, cog and CommandTree, with spec'd mocks for Discord's HTTP side."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

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


@dataclass
class Sent:
    """One thing the bot sent for an interaction."""

    kind: str  # "send_message", "defer", "followup", "edit_message", "autocomplete"
    kwargs: dict[str, Any]

    @property
    def embeds(self) -> list[discord.Embed]:
        return list(self.kwargs.get("embeds") or ([self.kwargs["embed"]] if "embed" in self.kwargs else []))

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

    @property
    def responses(self) -> list[Sent]:
        return [s for s in self.sent if s.kind in ("send_message", "defer", "edit_message", "autocomplete")]

    @property
    def visible(self) -> Sent:
        """The message the user ends up seeing (the response, or the followup after a defer)."""
        shown = [s for s in self.sent if s.kind in ("send_message", "followup", "edit_message")]
        assert shown, f"nothing was shown: {self.sent}"
        return shown[-1]


def _user(user_id: int) -> dict[str, Any]:
    return {"id": str(user_id), "username": f"user{user_id % 1000}", "discriminator": "0",
            "global_name": None, "avatar": None}


def interaction_payload(
    itype: int, data: dict[str, Any], *, locale: str = "es-ES", user_id: int = USER_ID,
    permissions: str = "0", message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return an INTERACTION_CREATE payload shaped like Discord's."""
    payload: dict[str, Any] = {
        "id": str(next(_ids)), "application_id": str(APP_ID), "type": itype,
        "token": f"tok{next(_ids)}", "version": 1, "locale": locale, "guild_locale": "es-ES",
        "guild_id": str(GUILD_ID), "channel_id": str(CHANNEL_ID),
        "channel": {"id": str(CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID), "name": "general",
                    "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None},
        "member": {"user": _user(user_id), "roles": [], "permissions": permissions,
                   "joined_at": "2024-01-01T00:00:00+00:00", "deaf": False, "mute": False,
                   "flags": 0},
        "app_permissions": "0", "entitlements": [], "authorizing_integration_owners": {},
        "context": 0, "attachment_size_limit": 8_388_608, "data": data,
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
                assert not done["value"], f"second response ({kind}) to one interaction"
                done["value"] = True
                if args:
                    kwargs["_args"] = args
                call.sent.append(Sent(kind, kwargs))
            return AsyncMock(side_effect=record)

        response.send_message = responder("send_message")
        response.defer = responder("defer")
        response.edit_message = responder("edit_message")
        response.autocomplete = responder("autocomplete")
        followup = MagicMock(spec=discord.Webhook)

        async def follow(*args: Any, **kwargs: Any) -> MagicMock:
            assert done["value"], "followup before the interaction was acknowledged"
            call.sent.append(Sent("followup", kwargs))
            return MagicMock(spec=discord.WebhookMessage)

        followup.send = AsyncMock(side_effect=follow)
        interaction._cs_response = response  # type: ignore[attr-defined]
        interaction._cs_followup = followup  # type: ignore[attr-defined]
        return call

    def command_data(self, name: str, **options: Any) -> dict[str, Any]:
        types = {str: 3, bool: 5, int: 4}
        return {
            "id": str(next(_ids)), "name": name, "type": 1,
            "options": [{"name": k, "type": types[type(v)], "value": v} for k, v in options.items()],
        }

    async def slash(self, name: str, *, locale: str = "es-ES", user_id: int = USER_ID,
                    permissions: str = "0", **options: Any) -> Call:
        call = self._mock(interaction_payload(2, self.command_data(name, **options), locale=locale,
                                              user_id=user_id, permissions=permissions))
        await self.bot.tree._call(call.interaction)
        return call

    async def autocomplete(self, typed: str, *, locale: str = "es-ES") -> Call:
        data = self.command_data("preguntar")
        data["options"] = [{"name": "pregunta", "type": 3, "value": typed, "focused": True}]
        call = self._mock(interaction_payload(4, data, locale=locale))
        await self.bot.tree._call(call.interaction)
        return call

    async def context_menu(self, content: str, *, locale: str = "es-ES") -> Call:
        msg_id = str(next(_ids))
        message = {"id": msg_id, "channel_id": str(CHANNEL_ID), "author": _user(999),
                   "content": content, "timestamp": "2025-01-22T10:00:00+00:00",
                   "edited_timestamp": None, "tts": False, "mention_everyone": False,
                   "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
                   "pinned": False, "type": 0}
        data = {"id": str(next(_ids)), "name": "Preguntar al bot", "type": 3,
                "target_id": msg_id, "resolved": {"messages": {msg_id: message}}}
        call = self._mock(interaction_payload(2, data, locale=locale))
        await self.bot.tree._call(call.interaction)
        return call

    async def press(
        self, view: discord.ui.View, custom_id: str, *, locale: str = "es-ES",
        user_id: int = USER_ID,
    ) -> Call:
        """Press a button of a message the bot sent (its components come from `view`)."""
        message = {"id": str(next(_ids)), "channel_id": str(CHANNEL_ID), "author": _user(APP_ID),
                   "content": "", "timestamp": "2025-01-22T10:00:00+00:00",
                   "edited_timestamp": None, "tts": False, "mention_everyone": False,
                   "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
                   "pinned": False, "type": 0, "components": view.to_components()}
        data = {"custom_id": custom_id, "component_type": 2}
        call = self._mock(interaction_payload(3, data, locale=locale, user_id=user_id,
                                              message=message))
        store = self.bot._connection._view_store
        store.dispatch_view(2, custom_id, call.interaction)
        # DynamicItem callbacks run as tasks: wait for them to finish.
        import asyncio

        for _ in range(200):
            if call.sent and (call.sent[-1].kind != "defer"):
                break
            await asyncio.sleep(0.005)
        return call


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: bundled knowledge, a temp data dir, no .env file."""
    values: dict[str, Any] = {"knowledge_dir": BUNDLED_KNOWLEDGE, "data_dir": tmp_path / "data"}
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load(BUNDLED_KNOWLEDGE)


@pytest.fixture
async def bot(tmp_path: Path, engine: Engine) -> DealBot:
    client = DealBot(make_settings(tmp_path), engine, MemoryStore(salt="test"))
    client._connection.user = discord.ClientUser(
        state=client._connection, data={**_user(APP_ID), "bot": True}
    )
    client._connection.application_id = APP_ID
    await client.prepare()
    yield client
    await client.close()


@pytest.fixture
def harness(bot: DealBot) -> Harness:
    return Harness(bot)
