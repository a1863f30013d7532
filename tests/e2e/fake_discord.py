"""A local fake Discord (REST API v10 + gateway) for end-to-end tests.

One aiohttp application on ``127.0.0.1`` (random free port) serves:

* REST under ``/api/v10``: the routes a slash-command bot uses (login, application info,
  gateway discovery, command sync, interaction callbacks, followups, original-response
  edits); anything else is recorded in :attr:`FakeDiscord.unknown_routes` and gets a 404.
* The gateway websocket at ``/`` (HELLO, IDENTIFY/RESUME, READY, GUILD_CREATE, heartbeats,
  ``zlib-stream`` or ``zstd-stream`` transport compression, plain text otherwise).

Every request is recorded (:class:`RecordedRequest`) and, unless ``validate=False``, its JSON
body is checked against the vendored discord-api-spec (``spec_errors``). Tests inject faults
with :meth:`FakeDiscord.fail_next`, :meth:`FakeDiscord.close_gateway` and friends, send
interactions with the ``*_interaction`` builders plus :meth:`FakeDiscord.dispatch_interaction`,
and wait for the bot's answers with :meth:`FakeDiscord.wait_for` and friends.

discord.py itself is redirected without touching the bot: in-process with
:func:`redirect_discord`, in a subprocess with :func:`write_sitecustomize`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import itertools
import json
import os
import re
import secrets
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from . import discord_rules, spec

try:  # zstd-stream is only requested by discord.py when it can decompress it itself
    import zstandard as _zstandard
except ImportError:  # pragma: no cover - depends on the environment
    _zstandard = None

T = TypeVar("T")
JSON = Any

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
EPHEMERAL = 1 << 6
LOADING = 1 << 7
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

# Permission bits (https://discord.com/developers/docs/topics/permissions).
_MEMBER_PERMISSION_BITS = (6, 10, 11, 14, 15, 16, 17, 18, 31, 38)  # react, view, send, ...
DEFAULT_MEMBER_PERMISSIONS = str(sum(1 << b for b in _MEMBER_PERMISSION_BITS))
DEFAULT_APP_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS

INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5

_ERRORS: dict[int, JSON] = {
    400: {"message": "400: Bad Request", "code": 0},
    401: {"message": "401: Unauthorized", "code": 0},
    403: {"message": "Missing Permissions", "code": 50013},
    404: {"message": "404: Not Found", "code": 0},
    500: {"message": "500: Internal Server Error", "code": 0},
    502: {"message": "502: Bad Gateway", "code": 0},
}
UNKNOWN_INTERACTION: JSON = {"message": "Unknown interaction", "code": 10062}
MISSING_ACCESS: JSON = {"message": "Missing Access", "code": 50001}
ALREADY_ACKNOWLEDGED: JSON = {
    "message": "Interaction has already been acknowledged.",
    "code": 40060,
}
UNKNOWN_WEBHOOK: JSON = {"message": "Unknown Webhook", "code": 10015}
UNKNOWN_MESSAGE: JSON = {"message": "Unknown Message", "code": 10008}

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15  # privileged
MESSAGE_REPLY = 19
UNKNOWN_CHANNEL: JSON = {"message": "Unknown Channel", "code": 10003}
EMPTY_MESSAGE: JSON = {"message": "Cannot send an empty message", "code": 50006}

_CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"  # spec template
_MESSAGE_FIELDS = ("content", "embeds", "components", "attachments", "poll", "tts")


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _embeds(embeds: list[JSON] | None) -> list[JSON]:
    """Embeds as Discord returns them (``type`` defaults to ``"rich"``)."""
    return [{"type": "rich", **e} for e in embeds or []]


def _number_components(components: list[JSON] | None) -> list[JSON]:
    """Deep-copied components with the numeric ``id`` Discord assigns when none is given."""
    copied: list[JSON] = copy.deepcopy(components or [])
    used: set[int] = set()
    todo: list[JSON] = []

    def walk(items: list[JSON]) -> None:
        for comp in items:
            if isinstance(comp.get("id"), int):
                used.add(comp["id"])
            else:
                todo.append(comp)
            for key in ("components", "accessory"):
                child = comp.get(key)
                walk(child if isinstance(child, list) else [child] if child else [])

    walk(copied)
    counter = itertools.count(1)
    for comp in todo:
        comp["id"] = next(n for n in counter if n not in used)
    return copied


def _redact(headers: Mapping[str, str]) -> dict[str, str]:
    out = dict(headers)
    for key in list(out):
        if key.lower() == "authorization":
            scheme = out[key].split(" ", 1)[0] if " " in out[key] else ""
            out[key] = f"{scheme} <redacted>".strip()
    return out


class Snowflakes:
    """Generates unique, time-ordered snowflake ids (as strings, like the API)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def __call__(self, age: float = 0.0) -> str:
        """A new id for now, or for ``age`` seconds ago."""
        ms = int((time.time() - age) * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (1 << 17) | (next(self._counter) & 0xFFF))


@dataclass
class RecordedRequest:
    """One REST request as the fake received it, plus the answer it gave."""

    time: float  # time.monotonic() at arrival
    method: str
    path: str  # relative to /api/v10, e.g. "/interactions/1/tok/callback"
    query: dict[str, str]
    headers: dict[str, str]  # Authorization redacted
    body: JSON = None  # parsed JSON (or payload_json of a multipart body)
    files: list[dict[str, Any]] = field(default_factory=list)  # multipart files
    template: str | None = None  # spec path template, if any
    status: int = 0
    response: JSON = None
    spec_errors: str | None = None  # set when the JSON body does not match the spec
    fault: bool = False  # answered by an injected fault

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} -> {self.status}>"


@dataclass
class GatewayFrame:
    """One gateway payload sent or received by the fake."""

    time: float
    conn_id: int
    direction: str  # "recv" (from the client) or "send"
    payload: JSON


@dataclass
class Fault:
    """An injected answer for the next ``times`` requests matching method and path."""

    method: str
    pattern: re.Pattern[str]
    status: int | None
    body: JSON
    headers: dict[str, str]
    times: int
    delay: float = 0.0


@dataclass
class InteractionState:
    """What the fake knows about one interaction it built or dispatched."""

    id: str
    token: str
    payload: JSON
    dispatched_at: float | None = None
    ack_type: int | None = None  # callback type of the accepted initial response
    acked_at: float | None = None
    original: JSON = None  # the current @original message (after edits)
    followups: dict[str, JSON] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    autocomplete_choices: list[JSON] | None = None
    modal: JSON = None

    @property
    def messages(self) -> list[JSON]:
        """The live messages of this interaction: original first, then followups."""
        out = [self.original] if self.original is not None else []
        return out + list(self.followups.values())


@dataclass
class GatewaySession:
    """A gateway session (survives reconnects through RESUME)."""

    session_id: str
    shard: list[int] | None
    seq: int = 0
    events: list[JSON] = field(default_factory=list)


@dataclass
class GatewayConnection:
    """One websocket connection from a client."""

    id: int
    ws: web.WebSocketResponse
    query: dict[str, str]
    compress: str | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: GatewaySession | None = None
    ready: bool = False
    open: bool = True
    closed_with: int | None = None  # close code the fake sent (close_gateway / 4004)
    zlib: Any = None
    zstd: Any = None

    @property
    def shard(self) -> list[int] | None:
        """The ``[shard_id, shard_count]`` the client identified with, if any."""
        return self.session.shard if self.session else None


class FakeDiscord:
    """Fake Discord server; see the module docstring. Use ``async with FakeDiscord() as f``."""

    def __init__(
        self,
        *,
        heartbeat_interval_ms: int = 41_250,
        shard_count: int = 1,
        guild_count: int = 1,
        interaction_timeout: float | None = 3.0,
        validate: bool = True,
        locale: str = "es-ES",
    ) -> None:
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.shard_count = shard_count
        self.interaction_timeout = interaction_timeout  # initial-response deadline (Discord: 3 s)
        self.validate = validate
        self.locale = locale
        self.reject_token = False  # 401 on authenticated REST routes, 4004 on IDENTIFY
        self.identify_close: int | None = None  # e.g. 4004 (token reset), 4013, 4014 on IDENTIFY
        self.ack_heartbeats = True  # False simulates a zombied connection

        self.snowflake = Snowflakes()
        self.application_id = self.snowflake()
        self.owner_user = self._user(self.snowflake(), "owner")
        self.bot_user = self._user(self.application_id, "deal-bot-test", bot=True)
        self.user = self._user(self.snowflake(), "tester")
        self.guilds: list[JSON] = [self._guild(i) for i in range(guild_count)]

        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[RecordedRequest] = []
        self.gateway_log: list[GatewayFrame] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.interactions: dict[str, InteractionState] = {}
        self.commands: dict[str | None, list[JSON]] = {}  # None = global scope
        # Channel id -> message id -> message, for messages posted by users or the bot.
        self.channel_messages: dict[str, dict[str, JSON]] = {}
        self.dm_channels: dict[str, JSON] = {}  # DM channel id -> the other user
        self.threads: dict[str, JSON] = {}  # thread id -> thread channel
        self.withheld: list[JSON] = []  # MESSAGE_CREATE events the bot's intents did not cover
        self.faults: list[Fault] = []
        self.connects = self.identifies = self.resumes = self.heartbeats = 0

        self._tokens: dict[str, InteractionState] = {}
        self._command_ids: dict[tuple[str | None, str, int], str] = {}
        self._conn_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        commands = r"/applications/(?P<app>\d+)(?:/guilds/(?P<gid>\d+))?/commands"
        webhook = r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)"
        webhook_message = webhook + r"/messages/(?P<mid>@original|\d+)"
        channel_message = r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)"
        routes: list[tuple[str, str, Callable[..., tuple[int, JSON]]]] = [
            ("GET", r"/users/@me", self._get_me),
            ("GET", r"/oauth2/applications/@me", self._get_application),
            ("GET", r"/gateway", self._get_gateway),
            ("GET", r"/gateway/bot", self._get_gateway_bot),
            ("PUT", commands, self._put_commands),
            ("GET", commands, self._get_commands),
            ("POST", commands, self._post_command),
            ("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", self._post_callback),
            ("POST", webhook, self._post_followup),
            ("GET", webhook_message, self._get_webhook_message),
            ("PATCH", webhook_message, self._patch_webhook_message),
            ("DELETE", webhook_message, self._delete_webhook_message),
            ("POST", r"/channels/(?P<cid>\d+)/messages", self._post_channel_message),
            ("PATCH", channel_message, self._patch_channel_message),
            ("DELETE", channel_message, self._delete_channel_message),
            ("POST", channel_message + "/threads", self._post_message_thread),
        ]
        self._routes = [(method, re.compile(rx), handler) for method, rx, handler in routes]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeDiscord:
        """Start serving on a random free port of 127.0.0.1."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/", self._handle_gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_api)
        app.router.add_route("*", "/{tail:.*}", self._handle_stray)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        """Close every gateway connection and stop the server."""
        for conn in self.connections:
            if conn.open:
                conn.ready = False
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=1001), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT`` (what FAKE_DISCORD_URL holds)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` must be set to."""
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def guild_id(self) -> str:
        """Id of the first guild."""
        return self.guilds[0]["id"]

    @property
    def channel_id(self) -> str:
        """Id of the first guild's text channel."""
        return self.guilds[0]["channels"][0]["id"]

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        json_body: JSON = None,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` (after ``delay`` s).

        ``method`` is an HTTP method or ``"*"``; ``path_regex`` is searched in the path
        relative to ``/api/v10`` (e.g. ``r"/interactions/.*/callback"``). Without
        ``json_body`` a Discord-like body is used; for 429 the body carries ``retry_after``
        (0.05 s unless given) and the rate-limit headers discord.py needs (including ``Via``,
        without which discord.py treats a 429 as a Cloudflare ban and raises).
        """
        hdrs = dict(headers or {})
        if status == 429:
            body = {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
            body.update(json_body or {})
            hdrs = {**self._rate_limit_headers(body), **hdrs}
        elif json_body is not None:
            body = json_body
        else:
            body = _ERRORS.get(status, {"message": f"{status}: Error", "code": 0})
        fault = Fault(method.upper(), re.compile(path_regex), status, body, hdrs, times, delay)
        self.faults.append(fault)
        return fault

    def rate_limit_next(
        self,
        method: str,
        path_regex: str,
        *,
        retry_after: float = 0.05,
        is_global: bool = False,
        times: int = 1,
    ) -> Fault:
        """Shortcut for a 429 with ``retry_after`` seconds (``global`` when asked)."""
        body = {"retry_after": retry_after, "global": is_global}
        return self.fail_next(method, path_regex, 429, body, times=times)

    def delay_next(self, method: str, path_regex: str, seconds: float, *, times: int = 1) -> Fault:
        """Answer the next matching requests normally, but only after ``seconds``."""
        fault = Fault(method.upper(), re.compile(path_regex), None, None, {}, times, seconds)
        self.faults.append(fault)
        return fault

    @staticmethod
    def _rate_limit_headers(body: Mapping[str, Any]) -> dict[str, str]:
        retry_after = float(body.get("retry_after", 0.05))
        hdrs = {
            "Retry-After": str(max(1, int(retry_after + 0.999))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fakebucket",
            "X-RateLimit-Scope": "global" if body.get("global") else "user",
            "Via": "1.1 google",
        }
        if body.get("global"):
            hdrs["X-RateLimit-Global"] = "true"
        return hdrs

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method in ("*", method) and fault.pattern.search(path):
                fault.times -= 1
                return fault
        return None

    # ------------------------------------------------------------------ waiting & queries

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(
        self, condition: Callable[[], T], timeout: float = 5.0, what: str = "condition"
    ) -> T:
        """Wait until ``condition()`` is truthy and return it.

        Re-checked on every request or gateway frame the fake handles, and at least every
        20 ms (so conditions on the bot's own state work too).
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = condition()
            if result:
                return result
            event = self._changed
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                recent = ", ".join(repr(r) for r in self.requests[-8:])
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last: {recent}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.02))

    async def wait_for(
        self, predicate: Callable[[RecordedRequest], bool], timeout: float = 5.0
    ) -> RecordedRequest:
        """Wait for (or find among those already recorded) a request matching ``predicate``."""

        def find() -> RecordedRequest | None:
            return next((r for r in self.requests if predicate(r)), None)

        return await self.wait_until(find, timeout, "a matching request")

    async def wait_for_callback(self, interaction_id: str, timeout: float = 5.0) -> RecordedRequest:
        """Wait for the accepted (2xx) initial response to an interaction."""
        return await self.wait_for(
            lambda r: r.ok and r.template == _CALLBACK and r.path.split("/")[2] == interaction_id,
            timeout,
        )

    async def wait_for_message(
        self,
        interaction_id: str,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """Wait until the interaction has a live message matching ``predicate``.

        By default: any message that is not a "thinking..." placeholder (so a deferred
        response counts once it has been edited).
        """
        state = self.interaction(interaction_id)
        check = predicate or (lambda m: not m.get("flags", 0) & LOADING)

        def find() -> JSON:
            return next((m for m in state.messages if check(m)), None)

        return await self.wait_until(find, timeout, f"a message for interaction {interaction_id}")

    async def wait_connected(self, timeout: float = 10.0) -> GatewayConnection:
        """Wait for a gateway connection that has got READY (or RESUMED)."""
        return await self.wait_until(self._ready_connection, timeout, "a ready gateway connection")

    def ready_connection(self, shard_id: int | None = None) -> GatewayConnection | None:
        for conn in reversed(self.connections):
            if not (conn.open and conn.ready):
                continue
            if shard_id is None or conn.shard is None or conn.shard[0] == shard_id:
                return conn
        return None

    def interaction(self, interaction_id: str) -> InteractionState:
        """The fake's state for an interaction it built or dispatched."""
        return self.interactions[str(interaction_id)]

    def callbacks_for(self, interaction_id: str) -> list[RecordedRequest]:
        """Every callback request for the interaction (including rejected/faulted ones)."""
        iid = str(interaction_id)
        return [r for r in self.requests if r.template == _CALLBACK and r.path.split("/")[2] == iid]

    def requests_for(self, interaction_id: str) -> list[RecordedRequest]:
        """Callback plus every webhook request made with the interaction's token."""
        state = self.interaction(interaction_id)
        out = []
        for r in self.requests:
            parts = r.path.split("/")
            is_callback = r.template == _CALLBACK and parts[2] == state.id
            is_webhook = r.path.startswith("/webhooks/") and parts[3:4] == [state.token]
            if is_callback or is_webhook:
                out.append(r)
        return out

    def messages_for(self, interaction_id: str) -> list[JSON]:
        """Live messages of an interaction (original first, then followups), as edited."""
        return self.interaction(interaction_id).messages

    def spec_violations(self) -> list[RecordedRequest]:
        """Requests whose JSON body did not match the spec."""
        return [r for r in self.requests if r.spec_errors]

    def assert_no_spec_violations(self) -> None:
        """Raise AssertionError listing every request body that broke the spec."""
        bad = self.spec_violations()
        if bad:
            text = "\n".join(f"{r.method} {r.path}: {r.spec_errors}" for r in bad)
            raise AssertionError(f"{len(bad)} request(s) do not match the Discord spec:\n{text}")

    def received(self, op: int) -> list[JSON]:
        """Gateway payloads with opcode ``op`` received from clients."""
        return [
            f.payload for f in self.gateway_log if f.direction == "recv" and f.payload["op"] == op
        ]

    @property
    def identify_payloads(self) -> list[JSON]:
        """The ``d`` of every IDENTIFY received (token included; tests may check it)."""
        return [p["d"] for p in self.received(2)]

    # ------------------------------------------------------------------ data builders

    def _user(self, user_id: str, name: str, *, bot: bool = False) -> JSON:
        user: JSON = {
            "id": user_id,
            "username": name,
            "global_name": None if bot else name.title(),
            "discriminator": "0" if not bot else "1234",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if bot:
            user["bot"] = True
        return user

    def _guild(self, index: int) -> JSON:
        gid = self.snowflake()
        channel = {
            "id": self.snowflake(),
            "type": 0,
            "guild_id": gid,
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        everyone = {
            "id": gid,
            "name": "@everyone",
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": 0,
            "permissions": DEFAULT_MEMBER_PERMISSIONS,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": gid,
            "name": f"Fake Guild {index}",
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.owner_user["id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": channel["id"],
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "preferred_locale": self.locale,
            "roles": [everyone],
            "channels": [channel],
            "threads": [],
            "members": [],
            "member_count": 3,
            "presences": [],
            "voice_states": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "lazy": True,
            "joined_at": _now_iso(),
        }

    def _member(self, user: JSON, permissions: str) -> JSON:
        return {
            "user": user,
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": [],
            "joined_at": _now_iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "permissions": permissions,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }

    def _guild_by_id(self, guild_id: str) -> JSON:
        for guild in self.guilds:
            if guild["id"] == str(guild_id):
                return guild
        raise KeyError(f"no fake guild {guild_id}")

    def _base_interaction(
        self,
        itype: int,
        data: JSON | None,
        *,
        locale: str,
        guild_locale: str | None,
        user_id: str | None,
        guild_id: str | None,
        channel_id: str | None,
        permissions: str,
        dm: bool,
        user_install: bool = False,
        group_dm: bool = False,
    ) -> JSON:
        user = dict(self.user)
        if user_id is not None:
            user.update(id=str(user_id), username=f"user{user_id}", global_name=f"User {user_id}")
        iid = self.snowflake()
        payload: JSON = {
            "id": iid,
            "application_id": self.application_id,
            "type": itype,
            "token": f"fake-itoken-{iid}-{secrets.token_urlsafe(24)}",
            "version": 1,
            "locale": locale,
            "app_permissions": DEFAULT_APP_PERMISSIONS,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if data is not None:
            payload["data"] = data
        if user_install and not dm:
            # The member's own install of the app, in a server (or group DM) without the bot:
            # the bot is no member there and only the user authorized the interaction.
            cid = str(channel_id or self.snowflake())
            payload.update(
                user=user,
                authorizing_integration_owners={"1": user["id"]},
                app_permissions=str(1 << 10 | 1 << 11 | 1 << 14 | 1 << 15),  # view/send/embed/file
            )
            if group_dm:
                payload.update(
                    channel_id=cid,
                    channel={
                        "id": cid,
                        "type": 3,
                        "last_message_id": None,
                        "flags": 0,
                        "recipients": [user, self.owner_user],
                        "name": None,
                        "icon": None,
                        "owner_id": self.owner_user["id"],
                    },
                    context=2,
                )
            else:
                gid = str(guild_id or self.snowflake())
                payload.pop("user")
                payload.update(
                    guild_id=gid,
                    guild_locale=guild_locale or self.locale,
                    guild={"id": gid, "locale": guild_locale or self.locale, "features": []},
                    channel_id=cid,
                    channel={
                        "id": cid,
                        "type": 0,
                        "guild_id": gid,
                        "name": "elsewhere",
                        "position": 0,
                        "permission_overwrites": [],
                        "nsfw": False,
                        "parent_id": None,
                        "flags": 0,
                    },
                    member=self._member(user, permissions),
                    context=0,
                )
        elif dm:
            cid = str(channel_id or self.snowflake())
            payload.update(
                channel_id=cid,
                channel={
                    "id": cid,
                    "type": 1,
                    "last_message_id": None,
                    "flags": 0,
                    "recipients": [user],
                },
                user=user,
                authorizing_integration_owners={"1": user["id"]},
                context=1,
            )
        else:
            guild = self._guild_by_id(guild_id or self.guild_id)
            channel = dict(guild["channels"][0])
            if channel_id is not None:
                channel.update(id=str(channel_id))
            payload.update(
                guild_id=guild["id"],
                guild_locale=guild_locale or guild["preferred_locale"],
                guild={"id": guild["id"], "locale": guild["preferred_locale"], "features": []},
                channel_id=channel["id"],
                channel=channel,
                member=self._member(user, permissions),
                authorizing_integration_owners={"0": guild["id"]},
                context=0,
            )
        self._register(payload)
        return payload

    def _register(self, payload: JSON) -> InteractionState:
        iid = str(payload["id"])
        state = self.interactions.get(iid)
        if state is None:
            state = InteractionState(id=iid, token=payload["token"], payload=payload)
            self.interactions[iid] = state
            self._tokens[state.token] = state
        return state

    def _command_lookup(
        self, name: str, ctype: int, guild_id: str | None
    ) -> tuple[str, str | None]:
        """Id of a synced command (guild scope first) and the guild it belongs to."""
        for scope in (guild_id, None):
            for cmd in self.commands.get(scope, []):
                if cmd["name"] == name and cmd.get("type", 1) == ctype:
                    return cmd["id"], scope
        return self.snowflake(), None

    def _check_user_installable(self, name: str, context: int) -> None:
        """Discord offers a user-installed app's command only where the command allows it."""
        root = name.split()[0]
        cmd = next((c for c in self.commands.get(None, []) if c["name"] == root), None)
        if cmd is None:
            raise AssertionError(f"/{root} was not synced globally: no user install offers it")
        if 1 not in (cmd.get("integration_types") or [0]):
            raise AssertionError(f"/{root} is not offered to user installs: {cmd}")
        if cmd.get("contexts") is not None and context not in cmd["contexts"]:
            raise AssertionError(f"/{root} is not offered in context {context}: {cmd}")

    @staticmethod
    def _options(options: Mapping[str, Any] | Iterable[JSON] | None) -> list[JSON]:
        """Turn ``{"name": value}`` into option dicts (str 3, int 4, bool 5, float 10)."""
        if options is None:
            return []
        if not isinstance(options, Mapping):
            return [dict(o) for o in options]
        out = []
        for name, value in options.items():
            if isinstance(value, bool):
                otype = 5
            elif isinstance(value, int):
                otype = 4
            elif isinstance(value, float):
                otype = 10
            else:
                otype, value = 3, str(value)
            out.append({"name": name, "type": otype, "value": value})
        return out

    def _command_data(self, name: str, options: list[JSON], guild_id: str | None) -> JSON:
        """``data`` of a chat-input command; ``"group sub"`` names become subcommands."""
        root, *subs = name.split()
        for depth, sub in reversed(list(enumerate(subs))):
            kind = 1 if depth == len(subs) - 1 else 2
            options = [{"name": sub, "type": kind, "options": options}]
        cmd_id, scope = self._command_lookup(root, 1, guild_id)
        data: JSON = {"id": cmd_id, "name": root, "type": 1, "options": options}
        if scope is not None:
            data["guild_id"] = scope
        return data

    def slash_interaction(
        self,
        name: str,
        options: Mapping[str, Any] | Iterable[JSON] | None = None,
        *,
        locale: str = "es-ES",
        guild_locale: str | None = "es-ES",
        user_id: str | None = None,
        guild_id: str | None = None,
        channel_id: str | None = None,
        permissions: str = DEFAULT_MEMBER_PERMISSIONS,
        dm: bool = False,
        resolved: JSON | None = None,
        user_install: bool = False,
        group_dm: bool = False,
    ) -> JSON:
        """An APPLICATION_COMMAND (type 2) chat-input interaction for command ``name``.

        ``options`` is ``{"question": "..."}`` (types inferred) or raw option dicts; a name
        with spaces (``"deal ask"``) targets a subcommand. The command id is the synced one.
        """
        gid = None if dm or user_install else str(guild_id or self.guild_id)
        data = self._command_data(name, self._options(options), gid)
        if user_install:
            self._check_user_installable(name, 2 if group_dm else 1 if dm else 0)
        if resolved:
            data["resolved"] = resolved
        return self._base_interaction(
            INTERACTION_APPLICATION_COMMAND,
            data,
            locale=locale,
            guild_locale=guild_locale,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            dm=dm,
            user_install=user_install,
            group_dm=group_dm,
        )

    def autocomplete_interaction(
        self,
        name: str,
        focused: str,
        value: str,
        other_options: Mapping[str, Any] | Iterable[JSON] | None = None,
        *,
        option_type: int = 3,
        locale: str = "es-ES",
        guild_locale: str | None = "es-ES",
        user_id: str | None = None,
        guild_id: str | None = None,
        channel_id: str | None = None,
        permissions: str = DEFAULT_MEMBER_PERMISSIONS,
        dm: bool = False,
    ) -> JSON:
        """An APPLICATION_COMMAND_AUTOCOMPLETE (type 4) interaction, typing ``value``."""
        options = self._options(other_options)
        options.append({"name": focused, "type": option_type, "value": value, "focused": True})
        gid = None if dm else str(guild_id or self.guild_id)
        return self._base_interaction(
            INTERACTION_AUTOCOMPLETE,
            self._command_data(name, options, gid),
            locale=locale,
            guild_locale=guild_locale,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            dm=dm,
        )

    def component_interaction(
        self,
        custom_id: str,
        message: JSON | None = None,
        *,
        component_type: int = 2,
        values: list[str] | None = None,
        locale: str = "es-ES",
        guild_locale: str | None = "es-ES",
        user_id: str | None = None,
        guild_id: str | None = None,
        channel_id: str | None = None,
        permissions: str = DEFAULT_MEMBER_PERMISSIONS,
        dm: bool = False,
        user_install: bool = False,
    ) -> JSON:
        """A MESSAGE_COMPONENT (type 3) interaction: a click on ``custom_id`` of ``message``.

        ``message`` is usually one the bot sent (``fake.messages_for(iid)[0]``); by default
        a bot message with one button carrying ``custom_id``. ``values`` for select menus.
        """
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        payload = self._base_interaction(
            INTERACTION_COMPONENT,
            data,
            locale=locale,
            guild_locale=guild_locale,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            dm=dm,
            user_install=user_install,
        )
        if message is None:
            button = {"type": 2, "style": 1, "label": "Click", "custom_id": custom_id}
            message = self.make_message(
                payload["channel_id"],
                {"content": "", "components": [{"type": 1, "components": [button]}]},
            )
        payload["message"] = message
        return payload

    def message_context_interaction(
        self,
        target_message: JSON,
        name: str = "Ask about this",
        *,
        locale: str = "es-ES",
        guild_locale: str | None = "es-ES",
        user_id: str | None = None,
        guild_id: str | None = None,
        permissions: str = DEFAULT_MEMBER_PERMISSIONS,
    ) -> JSON:
        """An APPLICATION_COMMAND interaction of a message context menu (data type 3)."""
        gid = str(guild_id or self.guild_id)
        cmd_id, scope = self._command_lookup(name, 3, gid)
        data: JSON = {
            "id": cmd_id,
            "name": name,
            "type": 3,
            "target_id": target_message["id"],
            "resolved": {"messages": {target_message["id"]: target_message}},
        }
        if scope is not None:
            data["guild_id"] = scope
        return self._base_interaction(
            INTERACTION_APPLICATION_COMMAND,
            data,
            locale=locale,
            guild_locale=guild_locale,
            user_id=user_id,
            guild_id=gid,
            channel_id=target_message.get("channel_id"),
            permissions=permissions,
            dm=False,
        )

    def modal_submit_interaction(
        self,
        custom_id: str,
        values: Mapping[str, str],
        *,
        locale: str = "es-ES",
        guild_locale: str | None = "es-ES",
        user_id: str | None = None,
        guild_id: str | None = None,
        permissions: str = DEFAULT_MEMBER_PERMISSIONS,
    ) -> JSON:
        """A MODAL_SUBMIT (type 5) interaction with text inputs ``{custom_id: value}``."""
        rows = [
            {
                "type": 1,
                "id": i + 1,
                "components": [{"type": 4, "id": i + 100, "custom_id": k, "value": v}],
            }
            for i, (k, v) in enumerate(values.items())
        ]
        return self._base_interaction(
            INTERACTION_MODAL_SUBMIT,
            {"custom_id": custom_id, "components": rows},
            locale=locale,
            guild_locale=guild_locale,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=None,
            permissions=permissions,
            dm=False,
        )

    def make_message(
        self,
        channel_id: str,
        data: Mapping[str, Any],
        *,
        author: JSON | None = None,
        interaction: InteractionState | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> JSON:
        """A full message object (as REST returns it) from a create-message body."""
        msg: JSON = {
            "id": self.snowflake(),
            "type": 0,
            "channel_id": str(channel_id),
            "author": author or self.bot_user,
            "content": data.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(data.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments(data.get("attachments"), files or []),
            "embeds": _embeds(data.get("embeds")),
            "pinned": False,
            "flags": int(data.get("flags") or 0),
            "components": _number_components(data.get("components")),
        }
        if data.get("poll"):
            msg["poll"] = data["poll"]
        if interaction is not None:
            payload = interaction.payload
            user = payload.get("member", {}).get("user") or payload.get("user")
            cmd = payload.get("data", {})
            msg.update(
                type=23 if cmd.get("type") in (2, 3) else 20,
                webhook_id=self.application_id,
                application_id=self.application_id,
                interaction_metadata={
                    "id": interaction.id,
                    "type": payload["type"],
                    "user": user,
                    "authorizing_integration_owners": payload["authorizing_integration_owners"],
                },
            )
            meta = msg["interaction_metadata"]
            if payload["type"] == INTERACTION_APPLICATION_COMMAND:
                meta.update(name=cmd.get("name", ""), command_type=cmd.get("type", 1))
                if cmd.get("target_id") and cmd.get("type") == 3:
                    meta["target_message_id"] = cmd["target_id"]
            elif "message" in payload:
                meta["interacted_message_id"] = payload["message"]["id"]
        return msg

    def user_message(
        self,
        content: str,
        *,
        mention: bool = True,
        reply_to: JSON | None = None,
        dm: bool = False,
        author: JSON | None = None,
        user_id: str | None = None,
        guild_id: str | None = None,
        channel_id: str | None = None,
        age: float = 0.0,
    ) -> JSON:
        """A MESSAGE_CREATE payload a member (or ``author``) sends, as Discord delivers it.

        ``mention`` puts ``<@bot>`` first in the content; ``reply_to`` (a message, usually
        the bot's answer) makes it a reply that pings its author, as Discord's reply does by
        default; ``dm`` sends it in a DM channel with the bot. Dispatch it with
        :meth:`dispatch_message` (which applies the Message Content rules).
        """
        if author is None:
            author = dict(self.user)
            if user_id is not None:
                author.update(id=str(user_id), username=f"user{user_id}")
        mentions: list[JSON] = []
        if mention:
            content = f"<@{self.bot_user['id']}> {content}"
            mentions.append(self.bot_user)
        if reply_to is not None and reply_to["author"]["id"] not in [m["id"] for m in mentions]:
            mentions.append(reply_to["author"])
        if dm:
            cid = str(channel_id or self.snowflake())
            self.dm_channels[cid] = author
        else:
            guild = self._guild_by_id(guild_id or self.guild_id)
            cid = str(channel_id or guild["channels"][0]["id"])
        msg = self.make_message(cid, {"content": content}, author=author)
        if age:  # sent ``age`` seconds ago (the id carries the creation time)
            msg["id"] = self.snowflake(age)
            stamp = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age)
            msg["timestamp"] = stamp.isoformat(timespec="microseconds")
        msg["mentions"] = mentions
        if not dm:
            msg["guild_id"] = str(guild_id or self.guild_id)
            member = self._member(author, DEFAULT_MEMBER_PERMISSIONS)
            msg["member"] = {k: v for k, v in member.items() if k not in ("user", "permissions")}
        if reply_to is not None:
            msg["type"] = MESSAGE_REPLY
            msg["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                **({"guild_id": msg["guild_id"]} if "guild_id" in msg else {}),
            }
            msg["referenced_message"] = copy.deepcopy(reply_to)
        return msg

    def _delivered(self, msg: JSON) -> JSON | None:
        """The MESSAGE_CREATE the bot gets under its intents (None: not delivered at all).

        Without the privileged Message Content intent, Discord empties content, embeds,
        attachments and components, except in DMs, in messages that mention the bot and
        in the bot's own messages.
        """
        intents = int((self.identify_payloads or [{}])[-1].get("intents") or 0)
        dm = "guild_id" not in msg
        needed = INTENT_DIRECT_MESSAGES if dm else INTENT_GUILD_MESSAGES
        if not intents & needed:
            return None
        bot_id = self.bot_user["id"]
        addressed = (
            dm
            or msg["author"]["id"] == bot_id
            or any(m["id"] == bot_id for m in msg.get("mentions") or [])
        )
        out = copy.deepcopy(msg)
        if not addressed and not intents & INTENT_MESSAGE_CONTENT:
            out.update(content="", embeds=[], attachments=[], components=[])
        return out

    def _store_message(self, msg: JSON) -> None:
        self.channel_messages.setdefault(msg["channel_id"], {})[msg["id"]] = msg

    def _attachments(self, declared: list[JSON] | None, files: list[dict[str, Any]]) -> list[JSON]:
        out = []
        for i, f in enumerate(files):
            meta = (declared or [])[i] if declared and i < len(declared) else {}
            aid = self.snowflake()
            url = f"{self.url}/attachments/{aid}/{f['filename']}"
            out.append(
                {
                    "id": aid,
                    "filename": meta.get("filename", f["filename"]),
                    "size": f["size"],
                    "url": url,
                    "proxy_url": url,
                    "content_type": f.get("content_type") or "application/octet-stream",
                    **({"description": meta["description"]} if meta.get("description") else {}),
                }
            )
        for meta in declared or []:  # attachments kept from an earlier message
            if "size" in meta and "url" in meta:
                out.append(meta)
        return out

    def _edit(self, msg: JSON, body: Mapping[str, Any], files: list[dict[str, Any]]) -> JSON:
        for key in _MESSAGE_FIELDS:
            if key in body and key != "attachments":
                msg[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        msg["embeds"] = _embeds(msg.get("embeds"))
        msg["components"] = _number_components(msg.get("components"))
        if "attachments" in body or files:
            msg["attachments"] = self._attachments(body.get("attachments"), files)
        if body.get("flags") is not None:
            msg["flags"] = int(body["flags"]) | (msg["flags"] & EPHEMERAL)
        msg["flags"] &= ~LOADING
        msg["edited_timestamp"] = _now_iso()
        return msg

    # ------------------------------------------------------------------ HTTP plumbing

    @staticmethod
    def _json_response(
        status: int, body: JSON, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        if body is None:  # 204: no body, no content type (discord.py reads text then)
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers=headers,
        )

    async def _read_body(self, request: web.Request, record: RecordedRequest) -> None:
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":  # type: ignore[union-attr]
                    record.body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read()  # type: ignore[union-attr]
                    record.files.append(
                        {
                            "name": part.name,
                            "filename": part.filename,  # type: ignore[union-attr]
                            "content_type": part.headers.get("Content-Type"),
                            "size": len(data),
                            "data": data,
                        }
                    )
        elif request.can_read_body:
            raw = await request.read()
            if raw:
                try:
                    record.body = json.loads(raw)
                except ValueError:
                    record.body = raw.decode(errors="replace")

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API_PREFIX) :] or "/"
        record = RecordedRequest(
            time=time.monotonic(),
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=_redact(request.headers),
            template=spec.match_path(path),
        )
        self.requests.append(record)
        try:
            await self._read_body(request, record)
            status, body, headers = await self._answer(request, record)
        except Exception as exc:  # a bug in the fake: answer 500 and keep serving
            status, body, headers = 500, {"message": f"fake error: {exc!r}", "code": 0}, {}
        record.status, record.response = status, copy.deepcopy(body)  # later edits: not here
        self._check_spec(record)
        self._notify()
        return self._json_response(status, body, headers)

    async def _answer(
        self, request: web.Request, record: RecordedRequest
    ) -> tuple[int, JSON, dict[str, str]]:
        fault = self._take_fault(record.method, record.path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                record.fault = True
                headers = dict(fault.headers)
                if fault.status == 429:  # fresh reset timestamps
                    headers.update(
                        {
                            k: v
                            for k, v in self._rate_limit_headers(fault.body).items()
                            if k.startswith("X-RateLimit-Reset")
                        }
                    )
                return fault.status, fault.body, headers
        broken = discord_rules.problems(record.method, record.template, record.body)
        if broken:  # Discord checks these rules too, though the spec does not say them
            if self.validate:
                lines = [f"  - at {'/'.join(map(str, p)) or '<root>'}: {m}" for p, _c, m in broken]
                record.spec_errors = "breaks Discord's rules:\n" + "\n".join(lines)
            return 400, discord_rules.errors_body(broken), {}
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(record.path)
            if match and method == record.method:
                needs_auth = not record.path.startswith(("/interactions/", "/webhooks/"))
                if needs_auth and not self._authorized(request):
                    return 401, _ERRORS[401], {}
                status, body = handler(record, **match.groupdict())
                return status, body, self._ok_rate_limit_headers() if status < 300 else {}
        self.unknown_routes.append(record)
        return 404, _ERRORS[404], {}

    def _authorized(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        return auth.startswith("Bot ") and len(auth) > 4 and not self.reject_token

    @staticmethod
    def _ok_rate_limit_headers() -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": "fakebucket-ok",
        }

    def _check_spec(self, record: RecordedRequest) -> None:
        if not self.validate or record.template is None or not isinstance(record.body, dict | list):
            return
        op = spec.load_spec()["paths"][record.template].get(record.method.lower(), {})
        if "application/json" not in op.get("requestBody", {}).get("content", {}):
            return
        try:
            spec.validate_request(record.method, record.template, record.body)
        except spec.SpecValidationError as exc:
            record.spec_errors = "\n".join(filter(None, [record.spec_errors, str(exc)]))

    async def _handle_stray(self, request: web.Request) -> web.StreamResponse:
        record = RecordedRequest(
            time=time.monotonic(),
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=_redact(request.headers),
            status=404,
            response=_ERRORS[404],
        )
        self.requests.append(record)
        self.unknown_routes.append(record)
        self._notify()
        return self._json_response(404, _ERRORS[404])

    # ------------------------------------------------------------------ REST routes

    def _get_me(self, record: RecordedRequest) -> tuple[int, JSON]:
        return 200, {
            **self.bot_user,
            "mfa_enabled": False,
            "locale": "en-US",
            "verified": True,
            "email": None,
        }

    def _get_application(self, record: RecordedRequest) -> tuple[int, JSON]:
        return 200, {
            "id": self.application_id,
            "name": "deal-bot-test",
            "icon": None,
            "description": "Fake application for end-to-end tests",
            "type": None,
            "bot": self.bot_user,
            "summary": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 1 << 23,  # APPLICATION_COMMAND_BADGE
            "flags_new": str(1 << 23),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "owner": self.owner_user,
            "approximate_guild_count": len(self.guilds),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "team": None,
            "eligible_oauth2_scopes": [],
            "tags": [],
            "hook": True,
            "integration_public": False,
            "integration_require_code_grant": False,
        }

    def _get_gateway(self, record: RecordedRequest) -> tuple[int, JSON]:
        return 200, {"url": self.gateway_url}

    def _get_gateway_bot(self, record: RecordedRequest) -> tuple[int, JSON]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return 200, {
            "url": self.gateway_url,
            "shards": self.shard_count,
            "session_start_limit": limit,
        }

    def _command_response(self, body: JSON, gid: str | None) -> JSON:
        ctype = int(body.get("type", 1))
        key = (gid, body["name"], ctype)
        cmd_id = self._command_ids.setdefault(key, self.snowflake())
        cmd: JSON = {
            **body,
            "id": cmd_id,
            "application_id": self.application_id,
            "version": self.snowflake(),
            "type": ctype,
            "name": body["name"],
            "description": body.get("description") or "",
            "default_member_permissions": body.get("default_member_permissions"),
            "nsfw": bool(body.get("nsfw", False)),
            "integration_types": body.get("integration_types") or [0],
        }
        cmd.setdefault("contexts", None)
        if gid is not None:
            cmd["guild_id"] = gid
        return cmd

    def _put_commands(
        self, record: RecordedRequest, app: str, gid: str | None = None
    ) -> tuple[int, JSON]:
        if app != self.application_id or not self._app_in_guild(gid):
            return 403, MISSING_ACCESS
        if not isinstance(record.body, list):
            return 400, {"message": "Invalid Form Body", "code": 50035}
        self.commands[gid] = [self._command_response(c, gid) for c in record.body]
        return 200, self.commands[gid]

    def _app_in_guild(self, gid: str | None) -> bool:
        """Guild commands need a server that added the app (``applications.commands`` scope)."""
        return gid is None or any(g["id"] == gid for g in self.guilds)

    def _get_commands(
        self, record: RecordedRequest, app: str, gid: str | None = None
    ) -> tuple[int, JSON]:
        if app != self.application_id or not self._app_in_guild(gid):
            return 403, MISSING_ACCESS
        return 200, self.commands.get(gid, [])

    def _post_command(
        self, record: RecordedRequest, app: str, gid: str | None = None
    ) -> tuple[int, JSON]:
        if app != self.application_id or not self._app_in_guild(gid):
            return 403, MISSING_ACCESS
        cmd = self._command_response(record.body, gid)
        scope = [c for c in self.commands.get(gid, []) if c["id"] != cmd["id"]]
        self.commands[gid] = [*scope, cmd]
        return 200, cmd

    def _post_callback(self, record: RecordedRequest, iid: str, token: str) -> tuple[int, JSON]:
        state = self._tokens.get(token)
        if state is None or state.id != iid:
            return 404, UNKNOWN_INTERACTION
        if state.ack_type is not None:
            return 400, ALREADY_ACKNOWLEDGED
        if (
            self.interaction_timeout is not None
            and state.dispatched_at is not None
            and record.time - state.dispatched_at > self.interaction_timeout
        ):
            return 404, UNKNOWN_INTERACTION
        body = record.body if isinstance(record.body, dict) else {}
        ctype = body.get("type")
        data = body.get("data") or {}
        payload = state.payload
        channel_id = payload.get("channel_id", "0")
        info: JSON = {"id": state.id, "type": payload["type"]}
        resource: JSON = None
        if ctype == 4:
            state.original = self.make_message(
                channel_id, data, interaction=state, files=record.files
            )
            resource = {"type": 4, "message": state.original}
        elif ctype == 5:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            state.original = self.make_message(channel_id, {"flags": flags}, interaction=state)
            info["response_message_loading"] = True
        elif ctype in (6, 7):
            if "message" not in payload:
                return 400, {"message": "Interaction is not on a message", "code": 50035}
            state.original = copy.deepcopy(payload["message"])
            if ctype == 7:
                self._edit(state.original, data, record.files)
                resource = {"type": 7, "message": state.original}
        elif ctype == 8:
            state.autocomplete_choices = list(data.get("choices") or [])
        elif ctype == 9:
            state.modal = data
        else:
            return 400, {"message": "Invalid interaction callback type", "code": 50035}
        state.ack_type, state.acked_at = ctype, record.time
        if state.original is not None:
            info["response_message_id"] = state.original["id"]
            info["response_message_ephemeral"] = bool(state.original["flags"] & EPHEMERAL)
            info.setdefault("response_message_loading", False)
        answer: JSON = {"interaction": info}
        if resource is not None:
            answer["resource"] = resource
        return 200, answer

    def _token_state(self, app: str, token: str) -> InteractionState | None:
        state = self._tokens.get(token)
        if app != self.application_id or state is None or state.ack_type is None:
            return None
        return state

    def _post_followup(self, record: RecordedRequest, app: str, token: str) -> tuple[int, JSON]:
        state = self._token_state(app, token)
        if state is None:
            return 404, UNKNOWN_WEBHOOK
        body = record.body if isinstance(record.body, dict) else {}
        original = state.original
        if state.ack_type == 5 and original is not None and original["flags"] & LOADING:
            # The first followup after a "thinking" defer replaces the placeholder and
            # keeps the ephemerality chosen when deferring.
            msg = self._edit(
                original, {**body, "flags": original["flags"] & EPHEMERAL}, record.files
            )
            msg["edited_timestamp"] = None
        else:
            channel_id = state.payload.get("channel_id", "0")
            msg = self.make_message(channel_id, body, interaction=state, files=record.files)
            state.followups[msg["id"]] = msg
        if record.query.get("wait", "").lower() not in ("1", "true"):
            return 204, None
        return 200, msg

    def _find_message(self, state: InteractionState, mid: str) -> JSON:
        if mid == "@original" or (state.original is not None and state.original["id"] == mid):
            return state.original
        return state.followups.get(mid)

    def _webhook_message(
        self, app: str, token: str, mid: str
    ) -> tuple[InteractionState, JSON, None] | tuple[None, None, tuple[int, JSON]]:
        """Find a message of an interaction webhook, or the 404 Discord would answer."""
        state = self._token_state(app, token)
        if state is None:
            return None, None, (404, UNKNOWN_WEBHOOK)
        msg = self._find_message(state, mid)
        if msg is None:
            return None, None, (404, UNKNOWN_MESSAGE)
        return state, msg, None

    def _get_webhook_message(
        self, record: RecordedRequest, app: str, token: str, mid: str
    ) -> tuple[int, JSON]:
        _state, msg, error = self._webhook_message(app, token, mid)
        return error or (200, msg)

    def _patch_webhook_message(
        self, record: RecordedRequest, app: str, token: str, mid: str
    ) -> tuple[int, JSON]:
        _state, msg, error = self._webhook_message(app, token, mid)
        if error:
            return error
        body = record.body if isinstance(record.body, dict) else {}
        return 200, self._edit(msg, body, record.files)

    def _delete_webhook_message(
        self, record: RecordedRequest, app: str, token: str, mid: str
    ) -> tuple[int, JSON]:
        state, msg, error = self._webhook_message(app, token, mid)
        if error:
            return error
        state.deleted.append(msg["id"])
        # The same message in its channel (a component's message, e.g. one the bot posted).
        self.channel_messages.get(msg["channel_id"], {}).pop(msg["id"], None)
        if msg is state.original:
            state.original = None
        else:
            state.followups.pop(msg["id"], None)
        return 204, None

    # ------------------------------------------------------------------ channel messages

    def _channel(self, cid: str) -> JSON | None:
        """A channel the bot can post in: a guild channel, a thread or a DM channel."""
        for guild in self.guilds:
            for channel in guild["channels"]:
                if channel["id"] == cid:
                    return channel
        if cid in self.threads:
            return self.threads[cid]
        if cid in self.dm_channels:
            return {"id": cid, "type": 1}
        return None

    def _post_channel_message(self, record: RecordedRequest, cid: str) -> tuple[int, JSON]:
        channel = self._channel(cid)
        if channel is None:
            return 404, UNKNOWN_CHANNEL
        body = record.body if isinstance(record.body, dict) else {}
        if not any(body.get(k) for k in ("content", "embeds", "components", "poll")) and not (
            record.files or body.get("sticker_ids")
        ):
            return 400, EMPTY_MESSAGE
        msg = self.make_message(cid, body, files=record.files)
        if channel.get("guild_id"):
            msg["guild_id"] = channel["guild_id"]
        ref = body.get("message_reference")
        if ref:
            ref_channel = str(ref.get("channel_id") or cid)
            target = self.channel_messages.get(ref_channel, {}).get(str(ref.get("message_id")))
            if target is None and ref.get("fail_if_not_exists", True):
                errors = {
                    "message_reference": {
                        "_errors": [
                            {
                                "code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                "message": "Unknown message",
                            }
                        ]
                    }
                }
                return 400, {"message": "Invalid Form Body", "code": 50035, "errors": errors}
            if target is not None:
                msg["type"] = MESSAGE_REPLY
                msg["message_reference"] = {
                    "type": 0,
                    "message_id": target["id"],
                    "channel_id": ref_channel,
                    **({"guild_id": msg["guild_id"]} if "guild_id" in msg else {}),
                }
                msg["referenced_message"] = copy.deepcopy(target)
        self._store_message(msg)
        self._echo(msg)
        return 200, msg

    def _echo(self, msg: JSON) -> None:
        """Send the bot its own message back as MESSAGE_CREATE, as Discord does."""
        conn = self.ready_connection()
        if conn is not None and conn.session is not None:
            delivered = self._delivered(msg)
            if delivered is not None:
                asyncio.get_running_loop().create_task(
                    self._dispatch_to(conn.session, "MESSAGE_CREATE", delivered)
                )

    def _channel_message(
        self, cid: str, mid: str
    ) -> tuple[JSON, None] | tuple[None, tuple[int, JSON]]:
        if self._channel(cid) is None:
            return None, (404, UNKNOWN_CHANNEL)
        msg = self.channel_messages.get(cid, {}).get(mid)
        if msg is None:
            return None, (404, UNKNOWN_MESSAGE)
        return msg, None

    def _patch_channel_message(
        self, record: RecordedRequest, cid: str, mid: str
    ) -> tuple[int, JSON]:
        msg, error = self._channel_message(cid, mid)
        if error:
            return error
        if msg["author"]["id"] != self.bot_user["id"]:
            return 403, {"message": "Cannot edit a message authored by another user", "code": 50005}
        body = record.body if isinstance(record.body, dict) else {}
        return 200, self._edit(msg, body, record.files)

    def _delete_channel_message(
        self, record: RecordedRequest, cid: str, mid: str
    ) -> tuple[int, JSON]:
        _msg, error = self._channel_message(cid, mid)
        if error:
            return error
        del self.channel_messages[cid][mid]
        return 204, None

    def _post_message_thread(self, record: RecordedRequest, cid: str, mid: str) -> tuple[int, JSON]:
        msg, error = self._channel_message(cid, mid)
        if error:
            return error
        parent = self._channel(cid)
        assert parent is not None
        if parent.get("type") not in (0, 5):
            return 400, {"message": "Cannot execute action on this channel type", "code": 50024}
        if msg.get("thread"):
            return 400, {
                "message": "A thread has already been created for this message",
                "code": 160004,
            }
        body = record.body if isinstance(record.body, dict) else {}
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        thread: JSON = {
            "id": mid,  # a thread started from a message has the message's id
            "type": 11,
            "guild_id": parent["guild_id"],
            "parent_id": cid,
            "owner_id": self.bot_user["id"],
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": int(body.get("auto_archive_duration") or 1440),
                "archive_timestamp": _now_iso(),
                "locked": False,
                "create_timestamp": _now_iso(),
            },
        }
        self.threads[mid] = thread
        msg["thread"] = thread
        conn = self.ready_connection()
        if conn is not None and conn.session is not None:
            asyncio.get_running_loop().create_task(
                self._dispatch_to(conn.session, "THREAD_CREATE", {**thread, "newly_created": True})
            )
        return 201, thread

    # ------------------------------------------------------------------ gateway

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return self._json_response(400, {"message": "websocket expected", "code": 0})
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        conn = GatewayConnection(next(self._conn_ids), ws, dict(request.query), compress)
        if compress == "zlib-stream":
            conn.zlib = zlib.compressobj()
        elif compress == "zstd-stream":
            if _zstandard is None:
                await ws.close(code=4000, message=b"zstd-stream unsupported by the fake")
                return ws
            conn.zstd = _zstandard.ZstdCompressor().compressobj()
        elif compress is not None:
            await ws.close(code=4000, message=b"unknown compression")
            return ws
        self.connections.append(conn)
        self.connects += 1
        self._notify()
        try:
            await self._send(
                conn,
                {
                    "op": 10,
                    "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                    "s": None,
                    "t": None,
                },
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    payload = json.loads(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    payload = json.loads(zlib.decompress(msg.data))
                else:
                    continue
                self.gateway_log.append(GatewayFrame(time.monotonic(), conn.id, "recv", payload))
                await self._on_gateway_payload(conn, payload)
                self._notify()
        finally:
            conn.open = conn.ready = False
            self._notify()
        return ws

    async def _send(self, conn: GatewayConnection, payload: JSON) -> None:
        text = json.dumps(payload)
        async with conn.lock:
            if conn.ws.closed:
                return
            self.gateway_log.append(GatewayFrame(time.monotonic(), conn.id, "send", payload))
            if conn.zlib is not None:
                data = conn.zlib.compress(text.encode()) + conn.zlib.flush(zlib.Z_SYNC_FLUSH)
                await conn.ws.send_bytes(data)
            elif conn.zstd is not None:
                data = conn.zstd.compress(text.encode())
                data += conn.zstd.flush(_zstandard.COMPRESSOBJ_FLUSH_BLOCK)  # type: ignore[union-attr]
                await conn.ws.send_bytes(data)
            else:
                await conn.ws.send_str(text)

    async def _dispatch_to(self, session: GatewaySession, event: str, data: JSON) -> float:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        sent_at = time.monotonic()
        for conn in self.connections:
            if conn.open and conn.session is session:
                await self._send(conn, payload)
        return sent_at

    def _guilds_for_shard(self, shard: list[int] | None) -> list[JSON]:
        if not shard:
            return self.guilds
        return [g for g in self.guilds if (int(g["id"]) >> 22) % shard[1] == shard[0]]

    async def _on_gateway_payload(self, conn: GatewayConnection, payload: JSON) -> None:
        op, data = payload.get("op"), payload.get("d") or {}
        if op == 1:
            self.heartbeats += 1
            if self.ack_heartbeats:
                await self._send(conn, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            self.identifies += 1
            if self.reject_token or not data.get("token"):
                conn.closed_with = 4004
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            if self.identify_close is not None:
                conn.closed_with = self.identify_close
                await conn.ws.close(code=self.identify_close, message=b"Refused by the test.")
                return
            shard = data.get("shard")
            session = GatewaySession(secrets.token_hex(16), shard)
            self.sessions[session.session_id] = session
            conn.session = session
            guilds = self._guilds_for_shard(shard)
            ready: JSON = {
                "v": 10,
                "user": {**self.bot_user, "mfa_enabled": False, "verified": True, "email": None},
                "guilds": [{"id": g["id"], "unavailable": True} for g in guilds],
                "session_id": session.session_id,
                "session_type": "normal",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": self.application_id, "flags": 1 << 23},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "user_settings": {},
                "geo_ordered_rtc_regions": [],
                "guild_join_requests": [],
                "_trace": ["fake-discord"],
            }
            if shard is not None:
                ready["shard"] = shard
            await self._dispatch_to(session, "READY", ready)
            for guild in guilds:
                await self._dispatch_to(session, "GUILD_CREATE", guild)
            conn.ready = True
        elif op == 6:
            self.resumes += 1
            session = self.sessions.get(data.get("session_id", ""))
            if self.reject_token:
                conn.closed_with = 4004
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            if session is None:
                await self._send(conn, {"op": 9, "d": False, "s": None, "t": None})
                return
            conn.session = session
            last = data.get("seq") or 0
            for event in session.events:
                if event["s"] > last:
                    await self._send(conn, event)
            await self._dispatch_to(session, "RESUMED", {"_trace": ["fake-discord"]})
            conn.ready = True

    async def dispatch(
        self, event: str, data: JSON, *, shard_id: int | None = None, timeout: float = 10.0
    ) -> float:
        """Send a DISPATCH ``event`` to the (first) ready session; returns the send time."""
        conn = await self.wait_until(
            lambda: self.ready_connection(shard_id), timeout, "a ready gateway connection"
        )
        assert conn.session is not None
        return await self._dispatch_to(conn.session, event, data)

    async def dispatch_interaction(self, data: JSON, *, timeout: float = 10.0) -> float:
        """Send INTERACTION_CREATE (to the shard of its guild) and return ``time.monotonic()``.

        Waits up to ``timeout`` for a ready gateway connection first. The interaction's
        3-second response deadline (``interaction_timeout``) starts now.
        """
        state = self._register(data)
        shard_id = None
        if self.shard_count > 1:
            shard_id = (int(data["guild_id"]) >> 22) % self.shard_count if "guild_id" in data else 0
        conn = await self.wait_until(
            lambda: self.ready_connection(shard_id), timeout, "a ready gateway connection"
        )
        assert conn.session is not None
        state.dispatched_at = time.monotonic()
        await self._dispatch_to(conn.session, "INTERACTION_CREATE", data)
        return state.dispatched_at

    async def dispatch_message(self, msg: JSON, *, timeout: float = 10.0) -> float:
        """Store a member's message and send MESSAGE_CREATE as the bot's intents allow.

        Returns ``time.monotonic()`` of the send (also when the intents withheld it, which
        :attr:`withheld` records). Dispatching the same message again replays it.
        """
        self._store_message(msg)
        conn = await self.wait_until(
            lambda: self.ready_connection(), timeout, "a ready gateway connection"
        )
        assert conn.session is not None
        delivered = self._delivered(msg)
        if delivered is None:
            self.withheld.append(msg)
            return time.monotonic()
        return await self._dispatch_to(conn.session, "MESSAGE_CREATE", delivered)

    async def dispatch_edit(self, msg: JSON, content: str, *, mention: bool = True) -> float:
        """Edit a member's message (now mentioning the bot, by default); send MESSAGE_UPDATE."""
        msg["content"] = f"<@{self.bot_user['id']}> {content}" if mention else content
        if mention and all(m["id"] != self.bot_user["id"] for m in msg["mentions"]):
            msg["mentions"] = [*msg["mentions"], self.bot_user]
        msg["edited_timestamp"] = _now_iso()
        self._store_message(msg)
        conn = await self.wait_until(lambda: self.ready_connection(), 10, "a ready connection")
        assert conn.session is not None
        delivered = self._delivered(msg)
        if delivered is None:
            self.withheld.append(msg)
            return time.monotonic()
        return await self._dispatch_to(conn.session, "MESSAGE_UPDATE", delivered)

    def replies_to(self, message_id: str) -> list[JSON]:
        """Messages (in any channel or thread) that reply to ``message_id``."""
        return [
            m
            for channel in self.channel_messages.values()
            for m in channel.values()
            if (m.get("message_reference") or {}).get("message_id") == message_id
        ]

    def thread_messages(self, thread_id: str) -> list[JSON]:
        """Messages posted in a thread, oldest first."""
        return list(self.channel_messages.get(thread_id, {}).values())

    async def close_gateway(self, code: int = 4000, reason: str = "") -> int:
        """Close every open gateway connection with ``code``; returns how many were closed."""
        closed = 0
        for conn in self.connections:
            if conn.open:
                conn.ready, conn.closed_with = False, code
                await conn.ws.close(code=code, message=reason.encode())
                closed += 1
        return closed

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT on every ready connection (client should RESUME)."""
        for conn in self.connections:
            if conn.open and conn.ready:
                await self._send(conn, {"op": 7, "d": None, "s": None, "t": None})

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; non-resumable sessions are forgotten."""
        for conn in self.connections:
            if conn.open and conn.ready:
                if not resumable and conn.session is not None:
                    self.sessions.pop(conn.session.session_id, None)
                conn.ready = False
                await self._send(conn, {"op": 9, "d": resumable, "s": None, "t": None})


# ---------------------------------------------------------------------- redirecting discord.py


def redirect_discord(monkeypatch: Any, url: str) -> None:
    """Point the in-process discord.py at ``url`` (``http://127.0.0.1:PORT``)."""
    import discord.gateway
    import discord.http
    import yarl

    monkeypatch.setattr(discord.http.Route, "BASE", url.rstrip("/") + API_PREFIX)
    ws_url = yarl.URL("ws" + url.rstrip("/")[len("http") :] + "/")
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", ws_url)


SITECUSTOMIZE = '''\
"""Generated by tests/e2e/fake_discord.py: point discord.py at FAKE_DISCORD_URL."""
import os
import sys

_url = os.environ.get("FAKE_DISCORD_URL")
if _url:
    try:
        import discord.gateway
        import discord.http
        import yarl

        discord.http.Route.BASE = _url.rstrip("/") + "/api/v10"
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
            "ws" + _url.rstrip("/")[len("http"):] + "/"
        )
    except Exception as exc:  # never let the process talk to the real Discord
        sys.stderr.write(f"fake-discord sitecustomize failed: {exc!r}\\n")
        os._exit(87)
'''


def write_sitecustomize(tmp_path: Path, port: int) -> dict[str, str]:
    """Write a ``sitecustomize.py`` redirecting discord.py; return an env for a subprocess.

    The returned dict is a copy of ``os.environ`` with the directory first on PYTHONPATH
    and ``FAKE_DISCORD_URL`` set; use it for ``python -m bot``.
    """
    directory = Path(tmp_path) / "fake_discord_site"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    env = dict(os.environ)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(directory) + (os.pathsep + old if old else "")
    env["FAKE_DISCORD_URL"] = f"http://127.0.0.1:{port}"
    return env
