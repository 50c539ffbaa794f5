r"""A fake Discord server (REST API + gateway WebSocket) on 127.0.0.1 for end-to-end tests and the demo.

The real discord.py client connects to it, so what is tested is what runs in production::

    async with FakeDiscordServer(bot_user_id=900, application_id=901, token="fake-token") as server:
        server.add_guild(1, "Dermatologie", owner_id=42)
        server.add_channel(1, 10, "cas-cliniques")
        server.add_member(1, 42, "alice", manage_messages=True)
        with server.patch_discord():          # points discord.py's Route.BASE and gateway at the fake
            client = MyClient(intents=intents, guild_ready_timeout=0.1)
            await client.login(server.token)
            task = asyncio.create_task(client.connect(reconnect=False))
            await client.wait_until_ready()
            server.post_message(10, 42, "photo", attachments=[("a.jpg", jpeg, "image/jpeg")])
            await server.wait_for("DELETE", r"/channels/10/messages/\d+")
            await client.close()

Tests inject events with :meth:`post_message`, :meth:`edit_message`, :meth:`click_button`,
:meth:`slash_command`, :meth:`forward_message`, :meth:`post_as_webhook`, :meth:`add_embeds`...;
inspect what the bot did through :attr:`calls`, :meth:`wait_for`, :meth:`messages_in`, :attr:`deleted`,
:meth:`dm_messages`, :attr:`interaction_responses`, :attr:`third_party_requests`; and make
Discord refuse with :meth:`fail_next` (429s carry the headers discord.py needs to wait and retry).
Everything runs on the caller's event loop; the injection helpers are plain functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.sandbox.fake_discord_gateway import FakeGateway
from bot.sandbox.fake_discord_media import EmbedKind, FakeMediaSites, serve
from bot.sandbox.fake_discord_rest import FakeRestApi, InteractionRecord, UploadedFile, read_request
from bot.sandbox.fake_discord_state import (
    DM_CHANNEL_TYPE,
    MANAGE_MESSAGES,
    MANAGE_WEBHOOKS,
    ApiError,
    ChannelKind,
    FakeDiscordState,
    FakeUser,
    JsonDict,
    iso_now,
)

__all__ = ["Call", "FakeDiscordServer", "UploadedFile"]

Attachment = tuple[str, bytes, str]
OptionValue = str | int | float | bool

_DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    400: (50035, "Invalid Form Body"),
    401: (0, "401: Unauthorized"),
    403: (50013, "Missing Permissions"),
    404: (0, "404: Not Found"),
    500: (0, "500: Internal Server Error"),
    502: (0, "502: Bad Gateway"),
    503: (0, "503: Service Unavailable"),
}
_COMPONENT_BUTTON = 2
_SUBCOMMAND = 1


@dataclass(frozen=True, slots=True)
class Call:
    """One REST request the server received (refused and unknown ones included).

    ``path`` is relative to the API base (``/channels/10/messages``); ``json`` is the JSON body or the
    ``payload_json`` part of a multipart body; ``at`` is ``time.monotonic()`` on arrival.
    """

    method: str
    path: str
    json: Any
    at: float
    files: tuple[UploadedFile, ...] = ()
    query: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class _Failure:
    pattern: re.Pattern[str]
    method: str
    status: int
    retry_after: float
    code: int | None
    message: str | None
    is_global: bool
    remaining: int


def _json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py decodes JSON only when the content type is exactly "application/json" (no charset).
    all_headers = {"Content-Type": "application/json"} | (headers or {})
    return web.Response(body=json.dumps(body).encode(), status=status, headers=all_headers)


def _error_response(error: ApiError) -> web.Response:
    return _json_response(error.to_json(), error.status)


def _option(name: str, value: OptionValue) -> JsonDict:
    """A slash-command option with Discord's type for the Python value."""
    if isinstance(value, bool):
        kind = 5
    elif isinstance(value, int):
        kind = 4
    elif isinstance(value, float):
        kind = 10
    else:
        kind = 3
    return {"name": name, "type": kind, "value": value}


def _custom_ids(components: list[JsonDict]) -> Iterator[str]:
    for component in components:
        if "custom_id" in component:
            yield str(component["custom_id"])
        yield from _custom_ids(list(component.get("components") or []))


class FakeDiscordServer:
    """A fake Discord REST API and gateway with their state; an async context manager on 127.0.0.1."""

    def __init__(
        self,
        bot_user_id: int = 900,
        application_id: int = 901,
        token: str = "fake-token",  # noqa: S107 - a fake token for a fake server
        *,
        bot_username: str = "ConsentGuard",
        shards: int = 1,
        max_concurrency: int = 1,
    ) -> None:
        """``shards``: the count ``GET /gateway/bot`` recommends; ``max_concurrency``: its identify limit."""
        self.token = token
        self.state = FakeDiscordState(
            bot_user_id=bot_user_id, application_id=application_id, bot_username=bot_username
        )
        self.gateway = FakeGateway(
            self.state,
            token,
            lambda: self.gateway_url,
            recommended_shards=shards,
            max_concurrency=max_concurrency,
        )
        self.rest = FakeRestApi(self.state, self.gateway, lambda: self.gateway_url)
        self.media = FakeMediaSites()
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._internal_errors: list[Exception] = []
        self._root_url: str | None = None
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        # The token is a secret in production habits, even a fake one.
        return f"FakeDiscordServer(url={self._root_url!r}, bot_user_id={self.state.bot.id})"

    # -- lifecycle -------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._runner is not None:
            raise RuntimeError("this FakeDiscordServer is already running")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle_rest)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{attachment_id:\\d+}/{filename}", self._handle_attachment)
        app.router.add_get("/external/{file_id:\\d+}/{filename}", self.media.proxy)
        runner, port = await serve(app, "127.0.0.1", shutdown_timeout=2.0)
        self._root_url = f"http://127.0.0.1:{port}"
        self.state.base_url = self._root_url
        self._runner = runner
        try:
            await self.media.start(self._root_url)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await self.gateway.close_all()
            await runner.cleanup()
        await self.media.stop()
        if self._internal_errors and exc is None:
            raise RuntimeError("the fake Discord server failed on a request") from self._internal_errors[0]

    @property
    def url(self) -> str:
        """The server's root URL, ``http://127.0.0.1:PORT``."""
        if self._root_url is None:
            raise RuntimeError("the server is not running: use 'async with FakeDiscordServer(...)'")
        return self._root_url

    @property
    def api_base(self) -> str:
        """For ``discord.http.Route.BASE``: ``http://127.0.0.1:PORT/api/v10``."""
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """For ``DiscordWebSocket.DEFAULT_GATEWAY`` (as a ``yarl.URL``): ``ws://127.0.0.1:PORT/gateway``."""
        return f"ws{self.url.removeprefix('http')}/gateway"

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this server; restore them on exit."""
        import discord.gateway  # only callers that drive discord.py need it
        import discord.http
        import yarl

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    @property
    def bot_user_id(self) -> int:
        """The bot's user id."""
        return self.state.bot.id

    @property
    def application_id(self) -> int:
        """The application id (interactions and slash commands)."""
        return self.state.application_id

    @property
    def connected(self) -> int:
        """How many gateway sessions are connected and identified now."""
        return self.gateway.identified_sessions

    # -- guilds, channels, members, rights -------------------------------------------------------------

    def add_guild(self, guild_id: int, name: str, owner_id: int) -> None:
        """Create a guild (the owner becomes a member; the bot is in it with Manage Messages/Webhooks)."""
        if guild_id in self.state.guilds:
            raise ValueError(f"guild {guild_id} already exists")
        self.state.users.setdefault(owner_id, FakeUser(owner_id, f"owner{owner_id}"))
        guild = self.state.add_guild(guild_id, name, owner_id)
        guild.members.setdefault(owner_id, [])
        self.gateway.dispatch("GUILD_CREATE", self.state.guild_json(guild_id))
        self.state.changed()

    def add_channel(
        self,
        guild_id: int,
        channel_id: int,
        name: str,
        *,
        kind: ChannelKind = "text",
        parent_id: int | None = None,
    ) -> None:
        """Create a text channel, a forum, or a thread (``kind="thread"`` with its ``parent_id``)."""
        channel = self.state.add_channel(guild_id, channel_id, name, kind, parent_id)
        payload = channel.to_json(self.state.users)
        if kind == "thread":
            self.gateway.dispatch("THREAD_CREATE", payload | {"newly_created": True})
        else:
            self.gateway.dispatch("CHANNEL_CREATE", payload)
        self.state.changed()

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        username: str,
        *,
        display_name: str | None = None,
        manage_messages: bool = False,
    ) -> None:
        """Add a user to a guild (again: update them); Manage Messages comes from the Moderators role."""
        guild = self.state.guild(guild_id)
        user = self.state.users.get(user_id)
        if user is None:
            self.state.users[user_id] = user = FakeUser(user_id, username, display_name)
        else:
            user.username, user.display_name = username, display_name
        known = user_id in guild.members
        guild.members[user_id] = [guild.moderator_role_id] if manage_messages else []
        event = "GUILD_MEMBER_UPDATE" if known else "GUILD_MEMBER_ADD"
        self.gateway.dispatch(event, self.state.member_json(guild_id, user_id) | {"guild_id": str(guild_id)})
        self.state.changed()

    def set_bot_permissions(
        self, guild_id: int, *, manage_messages: bool, manage_webhooks: bool = True
    ) -> None:
        """Set the bot role's rights (a GUILD_ROLE_UPDATE keeps discord.py's cache consistent)."""
        guild = self.state.guild(guild_id)
        role = guild.roles[guild.bot_role_id]
        role.permissions = (MANAGE_MESSAGES if manage_messages else 0) | (
            MANAGE_WEBHOOKS if manage_webhooks else 0
        )
        self.gateway.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": role.to_json()})
        self.state.changed()

    def add_bot(self, guild_id: int, user_id: int, username: str) -> None:
        """Add another bot (an integration with a bot user) to a guild; Discord refuses DMs to bots."""
        self.state.users[user_id] = FakeUser(user_id, username, bot=True, dms_open=False)
        self.add_member(guild_id, user_id, username)

    def add_webhook(self, channel_id: int, name: str, *, creator_id: int | None = None) -> JsonDict:
        """A webhook someone else made in a channel (a bridge, an integration); returns the Webhook object.

        ``creator_id`` is the user who made it (Discord's ``user`` field; default: the guild's owner).
        """
        channel = self.state.channel(channel_id)
        if channel.guild_id is None:
            raise ValueError("webhooks live in guild channels")
        creator = self.state.user(creator_id or self.state.guild(channel.guild_id).owner_id)
        webhook_id = self.state.snowflake()
        webhook: JsonDict = {
            "id": str(webhook_id),
            "type": 1,
            "token": f"whtoken{webhook_id}",
            "channel_id": str(channel_id),
            "guild_id": str(channel.guild_id),
            "name": name,
            "avatar": None,
            "application_id": None,
            "user": creator.to_json(),
        }
        self.state.webhooks[webhook_id] = webhook
        self.state.changed()
        return copy.deepcopy(webhook)

    def open_dms(self, user_id: int, open: bool) -> None:
        """Whether the bot may message a user privately (closed: 403 code 50007 on send)."""
        self.state.user(user_id).dms_open = open

    def permissions(self, guild_id: int, user_id: int) -> int:
        """A member's guild-level permission bits, as the server enforces them."""
        return self.state.permissions(guild_id, user_id)

    # -- injected events -------------------------------------------------------------------------------

    def _attachments(self, attachments: list[Attachment] | None) -> list[JsonDict]:
        return [self.state.store_attachment(name, data, kind) for name, data, kind in attachments or []]

    def post_message(
        self,
        channel_id: int,
        user_id: int,
        content: str = "",
        attachments: list[Attachment] | None = None,
        *,
        embeds: list[JsonDict] | None = None,
        extra: JsonDict | None = None,
        dispatch: bool = True,
    ) -> JsonDict:
        """A user posts in a channel or thread (MESSAGE_CREATE); attachments are ``(name, bytes, type)``.

        Any name and content type (``video/mp4``, ``application/octet-stream``...); attachment URLs point at
        this server, so ``await attachment.read()`` returns the bytes. ``embeds`` as Discord sends them
        (see :meth:`link_embed`); ``extra`` adds message fields. ``dispatch=False``: the message exists
        but no MESSAGE_CREATE goes out (posted while the bot was away: never in its cache).
        """
        channel = self.state.channel(channel_id)
        user = self.state.user(user_id)
        if channel.guild_id is not None and user_id not in self.state.guild(channel.guild_id).members:
            raise ValueError(f"user {user_id} is not a member of guild {channel.guild_id}")
        if channel.type == DM_CHANNEL_TYPE and channel.recipient_id != user_id:
            raise ValueError(f"channel {channel_id} is not the DM channel of user {user_id}")
        message = self.state.new_message(
            channel_id,
            user.to_json(),
            content=content,
            attachments=self._attachments(attachments),
            embeds=copy.deepcopy(embeds),
            extra=extra,
        )
        message["mentions"] = self.rest._mentions(content)
        if dispatch:
            self.gateway.dispatch("MESSAGE_CREATE", copy.deepcopy(message))
        self.state.changed()
        return copy.deepcopy(message)

    def forward_message(
        self, channel_id: int, user_id: int, source_channel_id: int, source_message_id: int
    ) -> JsonDict:
        """A user forwards a message (MESSAGE_CREATE): Discord's forward shape.

        The new message has no content nor attachments of its own; ``message_reference`` has ``type: 1``
        (forward) and ``message_snapshots`` holds ``{"message": ...}`` with the original's content,
        attachments and embeds (as Discord copies them, author and ids left out).
        """
        source = self.state.message(source_channel_id, source_message_id)
        if source is None:
            raise ValueError(f"no visible message {source_message_id} in channel {source_channel_id}")
        snapshot = {
            key: copy.deepcopy(source.get(key, default))
            for key, default in (
                ("type", 0),
                ("content", ""),
                ("embeds", []),
                ("attachments", []),
                ("timestamp", iso_now()),
                ("edited_timestamp", None),
                ("flags", 0),
                ("mentions", []),
                ("mention_roles", []),
                ("components", []),
            )
        }
        reference: JsonDict = {
            "type": 1,
            "channel_id": str(source_channel_id),
            "message_id": str(source_message_id),
        }
        source_guild = self.state.channel(source_channel_id).guild_id
        if source_guild is not None:
            reference["guild_id"] = str(source_guild)
        extra = {"message_reference": reference, "message_snapshots": [{"message": snapshot}]}
        return self.post_message(channel_id, user_id, "", None, extra=extra)

    def post_as_webhook(
        self,
        webhook_id: int,
        content: str = "",
        attachments: list[Attachment] | None = None,
        *,
        username: str | None = None,
        embeds: list[JsonDict] | None = None,
    ) -> JsonDict:
        """A webhook posts (MESSAGE_CREATE), as a bridge or integration does: the author is the webhook.

        The ``author`` has the webhook's id, ``bot: true`` and ``username`` (default: the webhook's name);
        the message has ``webhook_id`` and no ``member``.
        """
        webhook = self.state.webhooks.get(webhook_id)
        if webhook is None:
            raise ValueError(f"unknown webhook {webhook_id}: call add_webhook() first")
        author = {
            "id": webhook["id"],
            "username": username or webhook["name"],
            "discriminator": "0000",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "public_flags": 0,
        }
        channel_id = int(webhook["channel_id"])
        message = self.state.new_message(
            channel_id,
            author,
            content=content,
            attachments=self._attachments(attachments),
            embeds=copy.deepcopy(embeds),
            webhook_id=webhook_id,
        )
        message["mentions"] = self.rest._mentions(content)
        self.gateway.dispatch("MESSAGE_CREATE", copy.deepcopy(message))
        self.state.changed()
        return copy.deepcopy(message)

    def link_embed(
        self, name: str, data: bytes, content_type: str, kind: EmbedKind = "image", *, proxied: bool = True
    ) -> JsonDict:
        """The embed Discord makes of a link to a file on another site (see :mod:`.fake_discord_media`).

        ``url`` is on the third-party site (:attr:`third_party_requests` records who fetched it);
        ``proxy_url`` on this server's media proxy, or (``proxied=False``) the third-party site itself.
        """
        hosted = self.media.host(self.state.snowflake(), name, data, content_type)
        return self.media.embed(hosted, kind, proxied=proxied)

    @property
    def third_party_requests(self) -> list[str]:
        """The paths the third-party site of :meth:`link_embed` was asked for, in order."""
        return list(self.media.third_party_requests)

    def add_embeds(self, channel_id: int, message_id: int, embeds: list[JsonDict]) -> JsonDict:
        """Discord unfurls links of a message into embeds (MESSAGE_UPDATE), e.g. :meth:`link_embed`'s."""
        message = self.state.message(channel_id, message_id)
        if message is None:
            raise ValueError(f"no visible message {message_id} in channel {channel_id}")
        message.setdefault("embeds", []).extend(copy.deepcopy(embeds))
        self.gateway.dispatch("MESSAGE_UPDATE", copy.deepcopy(message))
        self.state.changed()
        return copy.deepcopy(message)

    def post_dm(
        self, user_id: int, content: str = "", attachments: list[Attachment] | None = None
    ) -> JsonDict:
        """A user writes to the bot privately (in their DM channel, created if needed)."""
        return self.post_message(self.state.dm_channel(user_id).id, user_id, content, attachments)

    def edit_message(
        self,
        channel_id: int,
        message_id: int,
        *,
        content: str | None = None,
        attachments: list[Attachment] | None = None,
    ) -> JsonDict:
        """The author edits a message (MESSAGE_UPDATE); ``attachments`` replaces them all when given."""
        message = self.state.message(channel_id, message_id)
        if message is None:
            raise ValueError(f"no visible message {message_id} in channel {channel_id}")
        if content is not None:
            message["content"] = content
            message["mentions"] = self.rest._mentions(content)
        if attachments is not None:
            message["attachments"] = self._attachments(attachments)
        message["edited_timestamp"] = iso_now()
        self.gateway.dispatch("MESSAGE_UPDATE", copy.deepcopy(message))
        self.state.changed()
        return copy.deepcopy(message)

    def unfurl_image(self, channel_id: int, message_id: int, name: str, data: bytes, kind: str) -> JsonDict:
        """Discord turns an image link in a message into an image embed (MESSAGE_UPDATE).

        That is what happens when a user pastes the link of a previously uploaded file; the embed's URLs
        serve ``data``.
        """
        message = self.state.message(channel_id, message_id)
        if message is None:
            raise ValueError(f"no visible message {message_id} in channel {channel_id}")
        stored = self.state.store_attachment(name, data, kind)
        media = {"url": stored["url"], "proxy_url": stored["proxy_url"], "width": 64, "height": 64}
        message.setdefault("embeds", []).append({"type": "image", "url": stored["url"], "thumbnail": media})
        self.gateway.dispatch("MESSAGE_UPDATE", copy.deepcopy(message))
        self.state.changed()
        return copy.deepcopy(message)

    def delete_message(self, channel_id: int, message_id: int) -> None:
        """The author (or a moderator) deletes a message (MESSAGE_DELETE)."""
        if self.state.message(channel_id, message_id) is None:
            raise ValueError(f"no visible message {message_id} in channel {channel_id}")
        self.rest.remove_message(channel_id, message_id)

    def _interaction(
        self, kind: int, channel_id: int, user_id: int, data: JsonDict, message: JsonDict | None
    ) -> JsonDict:
        state = self.state
        channel = state.channel(channel_id)
        interaction_id = state.snowflake()
        token = f"itoken{interaction_id}"
        payload: JsonDict = {
            "id": str(interaction_id),
            "application_id": str(state.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "channel_id": str(channel_id),
            "channel": channel.to_json(state.users),
            "locale": "fr",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if channel.guild_id is not None:
            guild_id = channel.guild_id
            if user_id not in state.guild(guild_id).members:
                raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
            member = state.member_json(guild_id, user_id) | {
                "permissions": str(state.permissions(guild_id, user_id))
            }
            payload |= {
                "guild_id": str(guild_id),
                "guild": {"id": str(guild_id), "locale": "fr", "features": []},
                "guild_locale": "fr",
                "member": member,
                "app_permissions": str(state.permissions(guild_id, state.bot.id)),
                "context": 0,
                "authorizing_integration_owners": {"0": str(guild_id)},
            }
        else:
            payload |= {
                "user": state.user(user_id).to_json(),
                "app_permissions": "0",
                "context": 1,
                "authorizing_integration_owners": {"0": str(state.bot.id)},
            }
        if message is not None:
            payload["message"] = copy.deepcopy(message)
        record = InteractionRecord(
            interaction_id, token, kind, channel_id, int(message["id"]) if message is not None else None
        )
        self.rest.records[interaction_id] = record
        self.rest.records_by_token[token] = record
        state.interactions[interaction_id] = payload
        self.gateway.dispatch("INTERACTION_CREATE", copy.deepcopy(payload))
        state.changed()
        return copy.deepcopy(payload)

    def click_button(self, channel_id: int, message_id: int, user_id: int, custom_id: str) -> JsonDict:
        """A user clicks a button of a bot message (INTERACTION_CREATE type 3); returns the interaction."""
        message = self.state.message(channel_id, message_id)
        if message is None:
            raise ValueError(f"no visible message {message_id} in channel {channel_id}")
        # Discord only delivers ids that are on the message; clicking anything else is a test bug.
        if custom_id not in set(_custom_ids(list(message.get("components") or []))):
            raise ValueError(f"message {message_id} has no component with custom_id {custom_id!r}")
        data = {"custom_id": custom_id, "component_type": _COMPONENT_BUTTON}
        return self._interaction(3, channel_id, user_id, data, message)

    def slash_command(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        subcommand: str | None = None,
        options: dict[str, OptionValue] | None = None,
    ) -> JsonDict:
        """A user runs ``/name [subcommand] option:value...`` (INTERACTION_CREATE type 2)."""
        channel = self.state.channel(channel_id)
        if channel.guild_id != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        registered = self.state.commands.get(guild_id, []) + self.state.commands.get(None, [])
        command_id = next((c["id"] for c in registered if c["name"] == name), str(self.state.snowflake()))
        values = [_option(key, value) for key, value in (options or {}).items()]
        if subcommand is not None:
            values = [{"name": subcommand, "type": _SUBCOMMAND, "options": values}]
        data: JsonDict = {
            "id": command_id,
            "name": name,
            "type": 1,
            "options": values,
            "guild_id": str(guild_id),
        }
        return self._interaction(2, channel_id, user_id, data, None)

    async def kick_gateway(self, code: int = 4000) -> None:
        """Close every gateway connection with ``code`` (a client with ``reconnect=True`` comes back)."""
        await self.gateway.close_all(code)

    # -- failures --------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 429,
        *,
        times: int = 1,
        retry_after: float = 0.5,
        code: int | None = None,
        message: str | None = None,
        is_global: bool = False,
    ) -> None:
        """Refuse the next ``times`` requests of ``method`` whose path fully matches ``path_regex``.

        429 carries ``retry_after`` in the body and the ``Retry-After``/``X-RateLimit-*``/``Via``
        headers, so discord.py sleeps and retries. Prefer 4xx for refusals: discord.py retries 5xx
        with sleeps of seconds. ``code``/``message`` set the JSON error (e.g. 50013 Missing Permissions).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures.append(
            _Failure(
                re.compile(path_regex), method.upper(), status, retry_after, code, message, is_global, times
            )
        )

    def _injected_failure(self, method: str, path: str) -> web.Response | None:
        for failure in self._failures:
            if failure.method == method and failure.pattern.fullmatch(path):
                break
        else:
            return None
        failure.remaining -= 1
        if failure.remaining == 0:
            self._failures.remove(failure)
        if failure.status == 429:
            body = {
                "message": failure.message or "You are being rate limited.",
                "retry_after": failure.retry_after,
                "global": failure.is_global,
                "code": failure.code or 0,
            }
            headers = {
                "Retry-After": str(math.ceil(failure.retry_after)),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + failure.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{failure.retry_after:.3f}",
                "X-RateLimit-Bucket": f"fake-{abs(hash((method, failure.pattern.pattern))):x}",
                "X-RateLimit-Scope": "global" if failure.is_global else "user",
                # discord.py treats a 429 without Via as coming from Cloudflare, not Discord.
                "Via": "1.1 google",
            }
            if failure.is_global:
                headers["X-RateLimit-Global"] = "true"
            return _json_response(body, 429, headers)
        default_code, default_message = _DEFAULT_ERRORS.get(failure.status, (0, "Error"))
        error = ApiError(
            failure.status,
            failure.code if failure.code is not None else default_code,
            failure.message or default_message,
        )
        return _error_response(error)

    # -- inspection ------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every REST request received so far, in order (a copy)."""
        return list(self._calls)

    def calls_of(self, method: str, path_prefix: str = "") -> list[Call]:
        """The requests of one HTTP method whose path starts with ``path_prefix``."""
        wanted = method.upper()
        return [call for call in self._calls if call.method == wanted and call.path.startswith(path_prefix)]

    async def wait_for(
        self,
        method: str,
        path_regex: str,
        predicate: Callable[[Call], bool] | None = None,
        # A parameter rather than asyncio.timeout() around the call, so the error can list what came.
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        since: int = 0,
    ) -> Call:
        """The first request of ``method`` whose path fully matches ``path_regex`` and ``predicate``.

        Searches :attr:`calls` from index ``since``. Already-received requests count, so there is no race
        with the bot; waits without polling, and raises ``TimeoutError`` listing the requests seen.
        """
        wanted = method.upper()
        pattern = re.compile(path_regex)
        checked = since
        try:
            async with asyncio.timeout(timeout):
                while True:
                    signal = self.state.signal
                    for call in self._calls[checked:]:
                        if (
                            call.method == wanted
                            and pattern.fullmatch(call.path)
                            and (predicate is None or predicate(call))
                        ):
                            return call
                    checked = max(checked, len(self._calls))
                    await signal.wait()
        except TimeoutError:
            seen = [f"{call.method} {call.path}" for call in self._calls[since:]]
            raise TimeoutError(
                f"no matching {wanted} {path_regex} within {timeout}s; received {seen}"
            ) from None

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait, without polling, until ``condition()`` holds (it is re-checked on every change)."""
        await self.state.wait_until(condition, timeout)

    def message(self, channel_id: int, message_id: int) -> JsonDict | None:
        """A visible message (a copy), or None when unknown or deleted."""
        message = self.state.message(channel_id, message_id)
        return copy.deepcopy(message) if message is not None else None

    def messages_in(self, channel_id: int) -> list[JsonDict]:
        """The visible (not deleted) messages of a channel, the bot's included, oldest first (copies)."""
        return self.state.visible_messages(channel_id)

    @property
    def deleted(self) -> frozenset[tuple[int, int]]:
        """Every deleted ``(channel_id, message_id)``."""
        return frozenset(self.state.deleted)

    def dm_channel_id(self, user_id: int) -> int | None:
        """The id of a user's DM channel with the bot, once it exists."""
        return self.state.user(user_id).dm_channel_id

    def dm_messages(self, user_id: int) -> list[JsonDict]:
        """What the bot sent privately to a user and has not deleted, oldest first."""
        channel_id = self.state.user(user_id).dm_channel_id
        if channel_id is None:
            return []
        bot_id = str(self.state.bot.id)
        return [m for m in self.state.visible_messages(channel_id) if m["author"]["id"] == bot_id]

    def webhook_messages(self, channel_id: int) -> list[JsonDict]:
        """The visible messages a webhook posted in a channel or thread, oldest first."""
        return [m for m in self.state.visible_messages(channel_id) if "webhook_id" in m]

    @property
    def webhooks(self) -> list[JsonDict]:
        """Every webhook the bot created."""
        return copy.deepcopy(list(self.state.webhooks.values()))

    @property
    def interaction_responses(self) -> dict[int, JsonDict]:
        """The callback body (``type``, ``data``, uploaded ``files`` names) by interaction id."""
        return copy.deepcopy(self.state.interaction_responses)

    def interaction_messages(self, interaction_id: int) -> list[JsonDict]:
        """The messages an interaction produced: its original response then followups (ephemeral too)."""
        record = self.rest.records.get(interaction_id)
        if record is None:
            return []
        messages = ([record.original] if record.original is not None else []) + record.messages
        return copy.deepcopy(messages)

    def commands(self, guild_id: int | None = None) -> list[JsonDict]:
        """The slash commands registered globally (``None``) or for a guild."""
        return copy.deepcopy(self.state.commands.get(guild_id, []))

    @property
    def identify_payloads(self) -> list[JsonDict]:
        """The ``d`` of every IDENTIFY the client sent, in order (``shard`` says which connection)."""
        return copy.deepcopy(self.gateway.identify_payloads)

    @property
    def gateway_payloads(self) -> list[JsonDict]:
        """Every payload the client sent on the gateway (heartbeats, IDENTIFY, ...)."""
        return copy.deepcopy(self.gateway.received)

    # -- HTTP ------------------------------------------------------------------------------------------

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        matched = self.rest.match(method, path)
        try:
            decoded = await read_request(request, path, matched[1] if matched else {})
        except ApiError as exc:
            self._calls.append(Call(method, path, None, time.monotonic()))
            self.state.changed()
            return _error_response(exc)
        query = tuple(request.query.items())
        self._calls.append(Call(method, path, decoded.json, time.monotonic(), tuple(decoded.files), query))
        self.state.changed()
        if matched is None:
            return _error_response(ApiError(404, 0, "404: Not Found"))
        interaction_route = path.startswith(("/webhooks/", "/interactions/"))
        if not interaction_route and request.headers.get("Authorization") != f"Bot {self.token}":
            return _error_response(ApiError(401, 0, "401: Unauthorized"))
        failure = self._injected_failure(method, path)
        if failure is not None:
            return failure
        try:
            result = await matched[0](decoded)
        except ApiError as exc:
            return _error_response(exc)
        except Exception as exc:
            # A bug of the fake itself: refuse with a 4xx (discord.py would retry a 5xx for seconds),
            # and fail the test on exit.
            self._internal_errors.append(exc)
            return _error_response(ApiError(400, 0, f"fake Discord server bug: {exc!r}"))
        if result is None:
            return web.Response(status=204)
        return _json_response(result)

    async def _handle_attachment(self, request: web.Request) -> web.StreamResponse:
        stored = self.state.attachments.get(int(request.match_info["attachment_id"]))
        if stored is None or stored.filename != request.match_info["filename"]:
            return web.Response(status=404, text="not found")
        return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})
