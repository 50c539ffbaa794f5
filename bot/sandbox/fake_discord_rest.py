"""The REST side of the fake Discord server: the routes discord.py 2.x calls, with Discord's answers.

Each handler takes a decoded :class:`RestRequest` and returns a JSON value (200), ``None`` (204) or
raises :class:`~bot.sandbox.fake_discord_state.ApiError`. Requests are decoded as discord.py encodes
them: a JSON body, or ``multipart/form-data`` with a ``payload_json`` part and ``files[n]`` parts.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from bot.sandbox.fake_discord_gateway import FakeGateway
from bot.sandbox.fake_discord_state import (
    DM_CHANNEL_TYPE,
    EPHEMERAL_FLAG,
    MANAGE_MESSAGES,
    MANAGE_WEBHOOKS,
    MISSING_PERMISSIONS,
    ApiError,
    FakeChannel,
    FakeDiscordState,
    JsonDict,
    iso_now,
    unknown,
)

_MENTION = re.compile(r"<@!?(\d+)>")
# Message fields a create or an edit may set, as discord.py sends them.
_EDITABLE = ("content", "embeds", "components", "flags")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request (``files[n]``)."""

    field: str
    filename: str
    data: bytes
    content_type: str


@dataclass(slots=True)
class RestRequest:
    """One decoded REST request: the route's captured ids, the JSON payload and the uploads."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile] = field(default_factory=list)

    def int_param(self, name: str) -> int:
        """A captured path segment as an int (ids are digits by the route's pattern)."""
        return int(self.params[name])

    @property
    def body(self) -> JsonDict:
        """The JSON payload as an object (``{}`` when absent)."""
        return self.json if isinstance(self.json, dict) else {}


async def read_request(request: web.Request, path: str, params: dict[str, str]) -> RestRequest:
    """Decode a request's body (JSON or multipart) the way discord.py encodes it."""
    decoded = RestRequest(request.method, path, params, dict(request.query), None)
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            data = bytes(await part.read())
            if part.name == "payload_json":
                decoded.json = json.loads(data)
            elif part.filename is not None:
                guessed = mimetypes.guess_type(part.filename)[0]
                declared = part.headers.get("Content-Type", "application/octet-stream")
                content_type = guessed or declared
                decoded.files.append(UploadedFile(part.name or "", part.filename, data, content_type))
    else:
        raw = await request.read()
        if raw:
            try:
                decoded.json = json.loads(raw)
            except ValueError:
                raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
    return decoded


@dataclass(slots=True)
class InteractionRecord:
    """An interaction the fake dispatched, and what the bot answered to it."""

    id: int
    token: str
    type: int
    channel_id: int
    message_id: int | None
    acknowledged: bool = False
    original: JsonDict | None = None
    messages: list[JsonDict] = field(default_factory=list)


Handler = Callable[[RestRequest], Awaitable[Any]]


class FakeRestApi:
    """The REST routes; ``routes`` pairs ``(METHOD, regex over the path after /api/v10)`` with handlers."""

    def __init__(self, state: FakeDiscordState, gateway: FakeGateway, gateway_url: Callable[[], str]) -> None:
        self.state = state
        self.gateway = gateway
        self._gateway_url = gateway_url
        self.records: dict[int, InteractionRecord] = {}
        self.records_by_token: dict[str, InteractionRecord] = {}
        snowflake, token = r"(?P<{}>\d+)", r"(?P<token>[^/]+)"
        channel, message = snowflake.format("channel"), snowflake.format("message")
        webhook, guild = snowflake.format("webhook"), snowflake.format("guild")
        user, app = snowflake.format("user"), snowflake.format("app")
        webhook_message = f"/webhooks/{webhook}/{token}/messages/(?P<message>\\d+|@original)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", self.get_me),
            ("GET", f"/users/{user}", self.get_user),
            ("POST", "/users/@me/channels", self.create_dm),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway),
            ("GET", f"/channels/{channel}", self.get_channel),
            ("GET", f"/channels/{channel}/messages", self.get_history),
            ("POST", f"/channels/{channel}/messages", self.create_message),
            ("GET", f"/channels/{channel}/messages/{message}", self.get_message),
            ("PATCH", f"/channels/{channel}/messages/{message}", self.edit_message),
            ("DELETE", f"/channels/{channel}/messages/{message}", self.delete_message),
            ("POST", f"/channels/{channel}/typing", self.typing),
            ("GET", f"/channels/{channel}/webhooks", self.get_webhooks),
            ("POST", f"/channels/{channel}/webhooks", self.create_webhook),
            ("POST", f"/webhooks/{webhook}/{token}", self.execute_webhook),
            ("GET", webhook_message, self.webhook_message),
            ("PATCH", webhook_message, self.webhook_message),
            ("DELETE", webhook_message, self.webhook_message),
            ("POST", f"/interactions/{snowflake.format('interaction')}/{token}/callback", self.callback),
            ("GET", f"/applications/{app}/commands", self.get_commands),
            ("PUT", f"/applications/{app}/commands", self.put_commands),
            ("GET", f"/applications/{app}/guilds/{guild}/commands", self.get_commands),
            ("PUT", f"/applications/{app}/guilds/{guild}/commands", self.put_commands),
            ("GET", f"/guilds/{guild}", self.get_guild),
            ("GET", f"/guilds/{guild}/channels", self.get_guild_channels),
            ("GET", f"/guilds/{guild}/roles", self.get_guild_roles),
            ("GET", f"/guilds/{guild}/members/{user}", self.get_member),
        ]
        self.routes = [(method, re.compile(pattern + "$"), handler) for method, pattern, handler in table]

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler and captured ids for a request, or None (404)."""
        for route_method, pattern, handler in self.routes:
            found = pattern.match(path)
            if found is not None and route_method == method:
                return handler, found.groupdict()
        return None

    # -- users, application, gateway -------------------------------------------------------------------

    async def get_me(self, request: RestRequest) -> JsonDict:
        """``GET /users/@me``: the bot user (login)."""
        return self.state.bot.to_json() | {"verified": True, "mfa_enabled": False, "flags": 0}

    async def get_user(self, request: RestRequest) -> JsonDict:
        """``GET /users/{id}``."""
        user = self.state.users.get(request.int_param("user"))
        if user is None:
            raise unknown("User", 10013)
        return user.to_json()

    async def create_dm(self, request: RestRequest) -> JsonDict:
        """``POST /users/@me/channels``: open (or reuse) the DM channel with ``recipient_id``."""
        recipient = int(request.body.get("recipient_id", 0))
        if recipient not in self.state.users:
            raise unknown("User", 10013)
        return self.state.dm_channel(recipient).to_json(self.state.users)

    async def get_application(self, request: RestRequest) -> JsonDict:
        """``GET /oauth2/applications/@me``: the application that owns the bot."""
        state = self.state
        owner = next(iter(state.guilds.values())).owner_id if state.guilds else state.bot.id
        owner_user = state.users.get(owner, state.bot)
        return {
            "id": str(state.application_id),
            "name": state.bot.username,
            "description": "",
            "icon": None,
            "rpc_origins": [],
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": owner_user.to_json(),
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "bot": state.bot.to_json(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
        }

    async def get_gateway(self, request: RestRequest) -> JsonDict:
        """``GET /gateway`` (the URL) and ``/gateway/bot`` (also the recommended shards and start limits)."""
        answer: JsonDict = {"url": self._gateway_url()}
        if request.path == "/gateway/bot":
            limits = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 0}
            limits["max_concurrency"] = self.gateway.max_concurrency
            answer |= {"shards": self.gateway.recommended_shards, "session_start_limit": limits}
        return answer

    # -- channels and messages -------------------------------------------------------------------------

    async def get_channel(self, request: RestRequest) -> JsonDict:
        """``GET /channels/{id}``."""
        return self.state.api_channel(request.int_param("channel")).to_json(self.state.users)

    async def get_history(self, request: RestRequest) -> list[JsonDict]:
        """``GET /channels/{id}/messages``: newest first, ``limit`` (default 50) and ``before``."""
        channel = self.state.api_channel(request.int_param("channel"))
        messages = self.state.visible_messages(channel.id)
        if "before" in request.query:
            before = int(request.query["before"])
            messages = [message for message in messages if int(message["id"]) < before]
        limit = int(request.query.get("limit", 50))
        return list(reversed(messages))[:limit]

    async def get_message(self, request: RestRequest) -> JsonDict:
        """``GET /channels/{id}/messages/{mid}``."""
        return copy.deepcopy(
            self.state.api_message(request.int_param("channel"), request.int_param("message"))
        )

    def _check_can_send(self, channel: FakeChannel) -> None:
        recipient = channel.recipient_id
        if (
            channel.type == DM_CHANNEL_TYPE
            and recipient is not None
            and not self.state.user(recipient).dms_open
        ):
            raise ApiError(403, 50007, "Cannot send messages to this user")

    def _attachments(self, request: RestRequest) -> list[JsonDict]:
        return [
            self.state.store_attachment(upload.filename, upload.data, upload.content_type)
            for upload in request.files
        ]

    def _mentions(self, content: str) -> list[JsonDict]:
        ids = dict.fromkeys(int(found) for found in _MENTION.findall(content))
        return [self.state.users[user_id].to_json() for user_id in ids if user_id in self.state.users]

    def _post(
        self,
        channel: FakeChannel,
        author: JsonDict,
        request: RestRequest,
        *,
        webhook_id: int | None = None,
        extra: JsonDict | None = None,
    ) -> JsonDict:
        """Create a message from a request body and uploads, dispatch it unless ephemeral."""
        body = request.body
        content = str(body.get("content") or "")
        fields: JsonDict = {"mentions": self._mentions(content)}
        reference = body.get("message_reference")
        if isinstance(reference, dict):
            fields["type"] = 19
            fields["message_reference"] = {
                "type": 0,
                "channel_id": str(reference.get("channel_id") or channel.id),
                "message_id": str(reference.get("message_id")),
            } | ({"guild_id": str(channel.guild_id)} if channel.guild_id is not None else {})
        flags = int(body.get("flags") or 0)
        message = self.state.new_message(
            channel.id,
            author,
            content=content,
            attachments=self._attachments(request),
            components=list(body.get("components") or []),
            embeds=list(body.get("embeds") or []),
            flags=flags,
            webhook_id=webhook_id,
            extra=(extra or {}) | fields,
        )
        if flags & EPHEMERAL_FLAG:
            # Only the invoking user sees an ephemeral message: it is not in the channel's history.
            del self.state.messages[channel.id][int(message["id"])]
        else:
            self.gateway.dispatch("MESSAGE_CREATE", copy.deepcopy(message))
        return message

    async def create_message(self, request: RestRequest) -> JsonDict:
        """``POST /channels/{id}/messages`` (JSON or multipart with files; components kept as sent)."""
        channel = self.state.api_channel(request.int_param("channel"))
        self._check_can_send(channel)
        body = request.body
        if not (body.get("content") or request.files or body.get("embeds") or body.get("components")):
            raise ApiError(400, 50006, "Cannot send an empty message")
        return copy.deepcopy(self._post(channel, self.state.bot.to_json(), request))

    def _apply_edit(self, message: JsonDict, request: RestRequest, *, dispatch: bool = True) -> JsonDict:
        """Apply an edit body to a stored message (attachments: kept by id, plus new uploads)."""
        body = request.body
        for key in _EDITABLE:
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        if "content" in body:
            message["mentions"] = self._mentions(str(message["content"]))
        if "attachments" in body or request.files:
            keep = {str(item.get("id")) for item in body.get("attachments") or [] if isinstance(item, dict)}
            kept = [a for a in message["attachments"] if a["id"] in keep] if "attachments" in body else []
            message["attachments"] = kept + self._attachments(request)
        message["edited_timestamp"] = iso_now()
        if dispatch and not int(message.get("flags") or 0) & EPHEMERAL_FLAG:
            self.gateway.dispatch("MESSAGE_UPDATE", copy.deepcopy(message))
        self.state.changed()
        return message

    async def edit_message(self, request: RestRequest) -> JsonDict:
        """``PATCH /channels/{id}/messages/{mid}``: only the bot's own messages."""
        message = self.state.api_message(request.int_param("channel"), request.int_param("message"))
        if int(message["author"]["id"]) != self.state.bot.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        return copy.deepcopy(self._apply_edit(message, request))

    def remove_message(self, channel_id: int, message_id: int) -> None:
        """Mark a message deleted and dispatch MESSAGE_DELETE."""
        channel = self.state.channel(channel_id)
        self.state.deleted.add((channel_id, message_id))
        event: JsonDict = {"id": str(message_id), "channel_id": str(channel_id)}
        if channel.guild_id is not None:
            event["guild_id"] = str(channel.guild_id)
        self.gateway.dispatch("MESSAGE_DELETE", event)
        self.state.changed()

    async def delete_message(self, request: RestRequest) -> None:
        """``DELETE /channels/{id}/messages/{mid}``: others' messages need Manage Messages."""
        channel = self.state.api_channel(request.int_param("channel"))
        message = self.state.api_message(channel.id, request.int_param("message"))
        if int(message["author"]["id"]) != self.state.bot.id:
            if channel.guild_id is None:
                raise ApiError(403, 50003, "Cannot execute action on a DM channel")
            if not self.state.bot_can(channel, MANAGE_MESSAGES):
                raise MISSING_PERMISSIONS
        self.remove_message(channel.id, int(message["id"]))

    async def typing(self, request: RestRequest) -> None:
        """``POST /channels/{id}/typing``."""
        self.state.api_channel(request.int_param("channel"))

    # -- webhooks --------------------------------------------------------------------------------------

    def _webhook_channel(self, request: RestRequest) -> FakeChannel:
        channel = self.state.api_channel(request.int_param("channel"))
        if channel.guild_id is None or not self.state.bot_can(channel, MANAGE_WEBHOOKS):
            raise MISSING_PERMISSIONS
        return channel

    async def get_webhooks(self, request: RestRequest) -> list[JsonDict]:
        """``GET /channels/{id}/webhooks`` (needs Manage Webhooks)."""
        channel = self._webhook_channel(request)
        return [copy.deepcopy(w) for w in self.state.webhooks.values() if w["channel_id"] == str(channel.id)]

    async def create_webhook(self, request: RestRequest) -> JsonDict:
        """``POST /channels/{id}/webhooks`` (needs Manage Webhooks)."""
        channel = self._webhook_channel(request)
        webhook_id = self.state.snowflake()
        webhook: JsonDict = {
            "id": str(webhook_id),
            "type": 1,
            "token": f"whtoken{webhook_id}",
            "channel_id": str(channel.id),
            "guild_id": str(channel.guild_id),
            "name": str(request.body.get("name") or "Captain Hook"),
            "avatar": None,
            "application_id": str(self.state.application_id),
            "user": self.state.bot.to_json(),
        }
        self.state.webhooks[webhook_id] = webhook
        return copy.deepcopy(webhook)

    def _interaction_of(self, request: RestRequest) -> InteractionRecord | None:
        if request.int_param("webhook") != self.state.application_id:
            return None
        record = self.records_by_token.get(request.params["token"])
        if record is None:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return record

    def _webhook(self, request: RestRequest) -> JsonDict:
        webhook = self.state.webhooks.get(request.int_param("webhook"))
        if webhook is None:
            raise unknown("Webhook", 10015)
        if webhook["token"] != request.params["token"]:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return webhook

    async def execute_webhook(self, request: RestRequest) -> JsonDict | None:
        """``POST /webhooks/{id}/{token}``: a channel webhook, or an interaction followup."""
        wait = request.query.get("wait", "0").lower() in {"1", "true"}
        record = self._interaction_of(request)
        if record is not None:
            if not record.acknowledged:
                raise ApiError(404, 10015, "Unknown Webhook")
            channel = self.state.api_channel(record.channel_id)
            message = self._post(channel, self.state.bot.to_json(), request)
            record.messages.append(message)
            self.state.changed()
            return copy.deepcopy(message)
        webhook = self._webhook(request)
        channel_id = int(request.query.get("thread_id") or webhook["channel_id"])
        channel = self.state.api_channel(channel_id)
        author = {
            "id": webhook["id"],
            "username": str(request.body.get("username") or webhook["name"]),
            "discriminator": "0000",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "public_flags": 0,
        }
        message = self._post(channel, author, request, webhook_id=int(webhook["id"]))
        return copy.deepcopy(message) if wait else None

    def _find_webhook_message(self, request: RestRequest, record: InteractionRecord | None) -> JsonDict:
        target = request.params["message"]
        if record is not None:
            candidates = [record.original] if target == "@original" else record.messages
            for message in candidates:
                if message is not None and (target == "@original" or message["id"] == target):
                    return message
            raise unknown("Message", 10008)
        webhook = self._webhook(request)
        channel_id = int(request.query.get("thread_id") or webhook["channel_id"])
        message = self.state.message(channel_id, int(target)) if target.isdigit() else None
        if message is None or message.get("webhook_id") != webhook["id"]:
            raise unknown("Message", 10008)
        return message

    async def webhook_message(self, request: RestRequest) -> JsonDict | None:
        """``GET/PATCH/DELETE /webhooks/{id}/{token}/messages/{mid|@original}``."""
        record = self._interaction_of(request)
        message = self._find_webhook_message(request, record)
        if request.method == "GET":
            return copy.deepcopy(message)
        stored = self.state.message(int(message["channel_id"]), int(message["id"])) is not None
        if request.method == "DELETE":
            if stored:
                self.remove_message(int(message["channel_id"]), int(message["id"]))
            elif record is not None and message is record.original:
                record.original = None
            return None
        return copy.deepcopy(self._apply_edit(message, request, dispatch=stored))

    # -- interactions ----------------------------------------------------------------------------------

    async def callback(self, request: RestRequest) -> JsonDict:
        """``POST /interactions/{id}/{token}/callback`` (answered ``with_response``, as discord.py asks)."""
        record = self.records.get(request.int_param("interaction"))
        if record is None or record.token != request.params["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        if record.acknowledged:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = request.body
        kind = int(body.get("type", 0))
        raw_data = body.get("data")
        data: JsonDict = raw_data if isinstance(raw_data, dict) else {}
        record.acknowledged = True
        channel = self.state.api_channel(record.channel_id)
        flags = int(data.get("flags") or 0)
        resource: JsonDict = {"type": kind}
        if kind == 4:
            inner = RestRequest(
                request.method, request.path, request.params, request.query, data, request.files
            )
            record.original = self._post(channel, self.state.bot.to_json(), inner)
            resource["message"] = copy.deepcopy(record.original)
        elif kind == 5:
            placeholder = RestRequest(request.method, request.path, {}, {}, {"flags": flags | (1 << 7)})
            record.original = self._post(channel, self.state.bot.to_json(), placeholder)
        elif kind in {6, 7} and record.message_id is not None:
            record.original = self.state.message(channel.id, record.message_id)
            if kind == 7 and record.original is not None:
                inner = RestRequest(
                    request.method, request.path, request.params, request.query, data, request.files
                )
                self._apply_edit(record.original, inner)
                resource["message"] = copy.deepcopy(record.original)
        response: JsonDict = {"type": kind, "data": copy.deepcopy(data)}
        if request.files:
            response["files"] = [upload.filename for upload in request.files]
        self.state.interaction_responses[record.id] = response
        self.state.changed()
        original = record.original
        return {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "response_message_id": original["id"] if original is not None else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL_FLAG),
            },
            "resource": resource,
        }

    # -- application commands --------------------------------------------------------------------------

    async def get_commands(self, request: RestRequest) -> list[JsonDict]:
        """``GET /applications/{app}/[guilds/{g}/]commands``."""
        guild = request.int_param("guild") if "guild" in request.params else None
        return copy.deepcopy(self.state.commands.get(guild, []))

    async def put_commands(self, request: RestRequest) -> list[JsonDict]:
        """``PUT /applications/{app}/[guilds/{g}/]commands``: bulk overwrite, ids kept per name."""
        if request.int_param("app") != self.state.application_id:
            raise ApiError(403, 50001, "Missing Access")
        guild = request.int_param("guild") if "guild" in request.params else None
        previous = {command["name"]: command["id"] for command in self.state.commands.get(guild, [])}
        commands: list[JsonDict] = []
        for command in request.json if isinstance(request.json, list) else []:
            stored = {"type": 1, "description": "", "options": [], "nsfw": False} | dict(command)
            stored |= {
                "id": previous.get(command["name"], str(self.state.snowflake())),
                "application_id": str(self.state.application_id),
                "version": str(self.state.snowflake()),
                "default_member_permissions": command.get("default_member_permissions"),
                "dm_permission": command.get("dm_permission", True),
            }
            if guild is not None:
                stored["guild_id"] = str(guild)
            commands.append(stored)
        self.state.commands[guild] = commands
        return copy.deepcopy(commands)

    # -- guilds ----------------------------------------------------------------------------------------

    def _guild(self, request: RestRequest) -> int:
        guild_id = request.int_param("guild")
        if guild_id not in self.state.guilds:
            raise unknown("Guild", 10004)
        return guild_id

    async def get_guild(self, request: RestRequest) -> JsonDict:
        """``GET /guilds/{id}``."""
        guild = self.state.guild_json(self._guild(request))
        for key in ("channels", "threads", "members", "voice_states", "presences"):
            guild.pop(key)
        return guild

    async def get_guild_channels(self, request: RestRequest) -> list[JsonDict]:
        """``GET /guilds/{id}/channels`` (threads excluded, as Discord does)."""
        return list(self.state.guild_json(self._guild(request))["channels"])

    async def get_guild_roles(self, request: RestRequest) -> list[JsonDict]:
        """``GET /guilds/{id}/roles``."""
        return list(self.state.guild_json(self._guild(request))["roles"])

    async def get_member(self, request: RestRequest) -> JsonDict:
        """``GET /guilds/{id}/members/{uid}``."""
        guild_id = self._guild(request)
        user_id = request.int_param("user")
        if user_id not in self.state.guilds[guild_id].members:
            raise unknown("Member", 10007)
        return self.state.member_json(guild_id, user_id)
