"""State of the fake Discord server: guilds, channels, roles, members, messages, and their JSON shapes.

Payloads follow the Discord API v10 as discord.py 2.x parses them (every key it reads without a
default is present). Permissions are resolved here exactly as ``Guild``/``abc.GuildChannel`` do it in
discord.py (owner, then ``@everyone`` plus member roles; no channel overwrites are ever created), so
``channel.permissions_for(member)`` in the bot agrees with what the fake server enforces.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.sandbox.changes import ChangeSignal

JsonDict = dict[str, Any]
ChannelKind = Literal["text", "forum", "thread"]

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
ADMINISTRATOR = 1 << 3
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMISSIONS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)

# Gateway intents the fake honours when it filters dispatches.
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

CHANNEL_TYPES: dict[ChannelKind, int] = {"text": 0, "thread": 11, "forum": 15}
DM_CHANNEL_TYPE = 1
EPHEMERAL_FLAG = 1 << 6


def iso_now() -> str:
    """The current time as Discord writes timestamps (ISO 8601, UTC)."""
    return dt.datetime.now(dt.UTC).isoformat()


class ApiError(Exception):
    """A REST failure, answered with Discord's JSON error shape ``{"code": N, "message": ...}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> JsonDict:
        """The body Discord sends."""
        return {"code": self.code, "message": self.message}


def unknown(what: str, code: int) -> ApiError:
    """A 404 such as ``Unknown Message`` (10008) or ``Unknown Channel`` (10003)."""
    return ApiError(404, code, f"Unknown {what}")


MISSING_PERMISSIONS = ApiError(403, 50013, "Missing Permissions")


@dataclass(slots=True)
class FakeUser:
    """A Discord user known to the fake (members, the bot itself)."""

    id: int
    username: str
    display_name: str | None = None
    bot: bool = False
    dms_open: bool = True
    dm_channel_id: int | None = None

    def to_json(self) -> JsonDict:
        """The ``User`` object."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.display_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass(slots=True)
class FakeRole:
    """A guild role; ``@everyone`` has the guild's id."""

    id: int
    name: str
    permissions: int
    position: int
    managed: bool = False
    bot_id: int | None = None

    def to_json(self) -> JsonDict:
        """The ``Role`` object."""
        role: JsonDict = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            role["tags"] = {"bot_id": str(self.bot_id)}
        return role


@dataclass(slots=True)
class FakeChannel:
    """A guild channel (text or forum) or thread, or a DM channel (``guild_id`` None)."""

    id: int
    name: str
    type: int
    guild_id: int | None
    parent_id: int | None = None
    owner_id: int | None = None
    recipient_id: int | None = None
    position: int = 0

    def to_json(self, users: dict[int, FakeUser]) -> JsonDict:
        """The ``Channel`` object."""
        if self.guild_id is None:
            recipient = users[self.recipient_id] if self.recipient_id is not None else None
            return {
                "id": str(self.id),
                "type": DM_CHANNEL_TYPE,
                "last_message_id": None,
                "recipients": [recipient.to_json()] if recipient is not None else [],
            }
        channel: JsonDict = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": str(self.parent_id) if self.parent_id is not None else None,
            "topic": None,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }
        if self.type == CHANNEL_TYPES["forum"]:
            channel |= {
                "available_tags": [],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
                "default_thread_rate_limit_per_user": 0,
            }
        if self.type == CHANNEL_TYPES["thread"]:
            channel |= {
                "owner_id": str(self.owner_id or 0),
                "message_count": 0,
                "member_count": 1,
                "total_message_sent": 0,
                "applied_tags": [],
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": iso_now(),
                    "locked": False,
                },
            }
        return channel


@dataclass(slots=True)
class FakeGuild:
    """A guild: its roles, channels and members (user id -> role ids)."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, list[int]] = field(default_factory=dict)
    joined_at: str = field(default_factory=iso_now)
    moderator_role_id: int = 0
    bot_role_id: int = 0


@dataclass(slots=True)
class StoredAttachment:
    """Bytes the fake serves under ``/attachments/<id>/<filename>``."""

    id: int
    filename: str
    data: bytes
    content_type: str


class FakeDiscordState(ChangeSignal):
    """All mutable state of one fake server, with the change signal its waiters sleep on.

    Everything runs on the event loop that serves HTTP and the gateway, so no lock is needed; every
    mutation calls :meth:`changed` so that ``wait_for`` / ``wait_until`` wake at once.
    """

    def __init__(self, *, bot_user_id: int, application_id: int, bot_username: str) -> None:
        super().__init__()
        self.bot = FakeUser(bot_user_id, bot_username, bot=True)
        self.application_id = application_id
        self.users: dict[int, FakeUser] = {bot_user_id: self.bot}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, dict[int, JsonDict]] = {}
        self.deleted: set[tuple[int, int]] = set()
        self.attachments: dict[int, StoredAttachment] = {}
        self.webhooks: dict[int, JsonDict] = {}
        self.commands: dict[int | None, list[JsonDict]] = {}
        self.interactions: dict[int, JsonDict] = {}
        self.interaction_responses: dict[int, JsonDict] = {}
        self.base_url = ""
        self._counter = itertools.count(1)

    # -- ids -------------------------------------------------------------------------------------------

    def snowflake(self) -> int:
        """A fresh, increasing snowflake whose timestamp is now (as Discord's ids are)."""
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (now_ms << 22) | (next(self._counter) & 0x3FFFFF)

    # -- lookups ---------------------------------------------------------------------------------------

    def guild(self, guild_id: int) -> FakeGuild:
        """A known guild, or ValueError (a test bug)."""
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise ValueError(f"unknown guild {guild_id}: call add_guild() first") from None

    def user(self, user_id: int) -> FakeUser:
        """A known user, or ValueError (a test bug)."""
        try:
            return self.users[user_id]
        except KeyError:
            raise ValueError(f"unknown user {user_id}: call add_member() first") from None

    def channel(self, channel_id: int) -> FakeChannel:
        """A known channel, or ValueError (a test bug)."""
        try:
            return self.channels[channel_id]
        except KeyError:
            raise ValueError(f"unknown channel {channel_id}: call add_channel() first") from None

    def api_channel(self, channel_id: int) -> FakeChannel:
        """A known channel, or the 404 Discord answers (``Unknown Channel``)."""
        channel = self.channels.get(channel_id)
        if channel is None:
            raise unknown("Channel", 10003)
        return channel

    def message(self, channel_id: int, message_id: int) -> JsonDict | None:
        """A visible message (the stored dict itself), or None when unknown or deleted."""
        if (channel_id, message_id) in self.deleted:
            return None
        return self.messages.get(channel_id, {}).get(message_id)

    def api_message(self, channel_id: int, message_id: int) -> JsonDict:
        """A visible message, or the 404 Discord answers (``Unknown Message``)."""
        self.api_channel(channel_id)
        message = self.message(channel_id, message_id)
        if message is None:
            raise unknown("Message", 10008)
        return message

    def find_message(self, message_id: int) -> JsonDict | None:
        """A visible message by id alone, in any channel."""
        for channel_id, messages in self.messages.items():
            if message_id in messages and (channel_id, message_id) not in self.deleted:
                return messages[message_id]
        return None

    # -- guild structure -------------------------------------------------------------------------------

    def add_guild(self, guild_id: int, name: str, owner_id: int) -> FakeGuild:
        """Create a guild with ``@everyone``, a moderators role and the bot's managed role."""
        guild = FakeGuild(guild_id, name, owner_id)
        guild.roles[guild_id] = FakeRole(guild_id, "@everyone", EVERYONE_PERMISSIONS, 0)
        guild.moderator_role_id = self.snowflake()
        guild.roles[guild.moderator_role_id] = FakeRole(
            guild.moderator_role_id, "Moderators", MANAGE_MESSAGES, 1
        )
        guild.bot_role_id = self.snowflake()
        guild.roles[guild.bot_role_id] = FakeRole(
            guild.bot_role_id,
            self.bot.username,
            MANAGE_MESSAGES | MANAGE_WEBHOOKS,
            2,
            managed=True,
            bot_id=self.bot.id,
        )
        guild.members[self.bot.id] = [guild.bot_role_id]
        self.guilds[guild_id] = guild
        return guild

    def add_channel(
        self, guild_id: int, channel_id: int, name: str, kind: ChannelKind, parent_id: int | None
    ) -> FakeChannel:
        """Create a text channel, forum or thread (a thread needs its parent's id)."""
        guild = self.guild(guild_id)
        if channel_id in self.channels:
            raise ValueError(f"channel {channel_id} already exists")
        if kind == "thread":
            if parent_id is None or self.channels.get(parent_id) is None:
                raise ValueError("a thread needs the id of an existing parent channel")
        elif parent_id is not None:
            raise ValueError("only threads take a parent_id here")
        channel = FakeChannel(
            channel_id,
            name,
            CHANNEL_TYPES[kind],
            guild_id,
            parent_id=parent_id,
            owner_id=guild.owner_id if kind == "thread" else None,
            position=len(guild.channel_ids),
        )
        self.channels[channel_id] = channel
        guild.channel_ids.append(channel_id)
        return channel

    def dm_channel(self, user_id: int) -> FakeChannel:
        """The DM channel between the bot and a user, created on first use."""
        user = self.user(user_id)
        if user.dm_channel_id is None:
            user.dm_channel_id = self.snowflake()
            self.channels[user.dm_channel_id] = FakeChannel(
                user.dm_channel_id, "", DM_CHANNEL_TYPE, None, recipient_id=user_id
            )
        return self.channels[user.dm_channel_id]

    # -- permissions -----------------------------------------------------------------------------------

    def permissions(self, guild_id: int, user_id: int) -> int:
        """Guild-level permissions as discord.py computes them (owner: all; administrator: all)."""
        guild = self.guild(guild_id)
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        bits = guild.roles[guild_id].permissions
        for role_id in guild.members.get(user_id, []):
            role = guild.roles.get(role_id)
            if role is not None:
                bits |= role.permissions
        return ALL_PERMISSIONS if bits & ADMINISTRATOR else bits

    def bot_can(self, channel: FakeChannel, permission: int) -> bool:
        """Whether the bot holds ``permission`` where ``channel`` lives (DMs: never moderation rights)."""
        if channel.guild_id is None:
            return False
        return bool(self.permissions(channel.guild_id, self.bot.id) & permission)

    # -- JSON shapes -----------------------------------------------------------------------------------

    def member_json(self, guild_id: int, user_id: int, *, with_user: bool = True) -> JsonDict:
        """The ``GuildMember`` object (``user`` omitted inside messages, as Discord does)."""
        guild = self.guild(guild_id)
        member: JsonDict = {
            "roles": [str(role_id) for role_id in guild.members[user_id]],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": guild.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = self.user(user_id).to_json()
        return member

    def guild_json(self, guild_id: int) -> JsonDict:
        """The full ``GUILD_CREATE`` payload: channels, threads, roles and members (the bot's included)."""
        guild = self.guild(guild_id)
        channels = [self.channels[channel_id] for channel_id in guild.channel_ids]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "owner_id": str(guild.owner_id),
            "unavailable": False,
            "large": False,
            "member_count": len(guild.members),
            "features": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "system_channel_flags": 0,
            "preferred_locale": "fr",
            "joined_at": guild.joined_at,
            "roles": [role.to_json() for role in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.to_json(self.users) for c in channels if c.type != CHANNEL_TYPES["thread"]],
            "threads": [c.to_json(self.users) for c in channels if c.type == CHANNEL_TYPES["thread"]],
            "members": [self.member_json(guild.id, user_id) for user_id in guild.members],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def store_attachment(self, filename: str, data: bytes, content_type: str) -> JsonDict:
        """Keep bytes to serve and return the ``Attachment`` object pointing at them."""
        attachment_id = self.snowflake()
        self.attachments[attachment_id] = StoredAttachment(attachment_id, filename, data, content_type)
        url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    def new_message(
        self,
        channel_id: int,
        author: JsonDict,
        *,
        content: str = "",
        attachments: list[JsonDict] | None = None,
        components: list[JsonDict] | None = None,
        embeds: list[JsonDict] | None = None,
        flags: int = 0,
        webhook_id: int | None = None,
        extra: JsonDict | None = None,
    ) -> JsonDict:
        """Store a new message by ``author`` (a ``User`` object) and return it (the stored dict)."""
        channel = self.channel(channel_id)
        message: JsonDict = {
            "id": str(self.snowflake()),
            "channel_id": str(channel_id),
            "type": 0,
            "author": author,
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments or [],
            "embeds": embeds or [],
            "components": components or [],
            "pinned": False,
            "flags": flags,
        }
        if channel.guild_id is not None:
            message["guild_id"] = str(channel.guild_id)
            user_id = int(author["id"])
            if webhook_id is None and user_id in self.guild(channel.guild_id).members:
                message["member"] = self.member_json(channel.guild_id, user_id, with_user=False)
        if webhook_id is not None:
            message["webhook_id"] = str(webhook_id)
        if extra:
            message.update(extra)
        self.messages.setdefault(channel_id, {})[int(message["id"])] = message
        return message

    def visible_messages(self, channel_id: int) -> list[JsonDict]:
        """Copies of a channel's visible messages, oldest first."""
        return [
            copy.deepcopy(message)
            for message_id, message in self.messages.get(channel_id, {}).items()
            if (channel_id, message_id) not in self.deleted
        ]
