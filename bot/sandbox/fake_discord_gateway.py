"""The gateway (WebSocket) side of the fake Discord server, as discord.py 2.x speaks it.

HELLO, HEARTBEAT/ACK, IDENTIFY -> READY + one GUILD_CREATE per guild, REQUEST_GUILD_MEMBERS -> one
GUILD_MEMBERS_CHUNK, RESUME -> INVALID_SESSION (``d=false``: discord.py then identifies afresh).

Payloads always go out as *text* frames. discord.py asks for ``compress=zlib-stream`` (or
``zstd-stream``) in the URL but only decompresses binary frames, so uncompressed text is understood
whatever it asked for; that keeps the fake simple and its traffic readable in a debugger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from bot.sandbox.fake_discord_state import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    FakeDiscordState,
    JsonDict,
)

HELLO, HEARTBEAT, IDENTIFY, RESUME, REQUEST_MEMBERS, INVALID_SESSION, HEARTBEAT_ACK = 10, 1, 2, 6, 8, 9, 11
DISPATCH = 0
HEARTBEAT_INTERVAL_MS = 41_250
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_INVALID_SHARD = 4010
# Events about a guild whose id is the payload's own ``id`` rather than its ``guild_id``.
_GUILD_OBJECT_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})

_MESSAGE_EVENTS = frozenset({"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"})
_MEMBER_EVENTS = frozenset({"GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"})


class GatewaySession:
    """One WebSocket connection: its identify state, sequence numbers and an ordered send queue."""

    def __init__(self, ws: web.WebSocketResponse, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self.intents: int | None = None
        #: ``(id, count)`` from IDENTIFY; None when it named no shard (then it is shard 0 of 1).
        self.shard: tuple[int, int] | None = None
        self.sequence = 0
        self._outbox: asyncio.Queue[JsonDict | None] = asyncio.Queue()

    @property
    def identified(self) -> bool:
        """Whether IDENTIFY succeeded (dispatches flow only then)."""
        return self.intents is not None

    def owns(self, guild_id: int | None) -> bool:
        """Whether this connection's shard receives events of ``guild_id`` (None: a DM, shard 0's)."""
        shard_id, shard_count = self.shard or (0, 1)
        if guild_id is None:
            return shard_id == 0
        return shard_of(guild_id, shard_count) == shard_id

    def send(self, op: int, data: Any) -> None:
        """Queue a non-dispatch payload."""
        self._outbox.put_nowait({"op": op, "d": data, "s": None, "t": None})

    def dispatch(self, event: str, data: JsonDict) -> None:
        """Queue a dispatch (op 0) with the next sequence number."""
        self.sequence += 1
        self._outbox.put_nowait({"op": DISPATCH, "d": data, "s": self.sequence, "t": event})

    def stop(self) -> None:
        """Make the writer finish after what is already queued."""
        self._outbox.put_nowait(None)

    async def write_loop(self) -> None:
        """Send queued payloads in order until :meth:`stop` or the socket closes."""
        while (payload := await self._outbox.get()) is not None:
            if self.ws.closed:
                return
            with contextlib.suppress(ConnectionError):
                await self.ws.send_str(json.dumps(payload))

    def wants(self, event: str, data: JsonDict, bot_id: int) -> JsonDict | None:
        """The payload this session should receive for ``event`` (intents applied), or None."""
        intents = self.intents or 0
        if event in _MESSAGE_EVENTS:
            in_guild = "guild_id" in data
            needed = INTENT_GUILD_MESSAGES if in_guild else INTENT_DIRECT_MESSAGES
            if not intents & needed:
                return None
            if event != "MESSAGE_DELETE" and in_guild and not intents & INTENT_MESSAGE_CONTENT:
                return _without_content(data, bot_id)
        if event in _MEMBER_EVENTS and not intents & INTENT_GUILD_MEMBERS:
            return None
        if event == "GUILD_CREATE" and not intents & INTENT_GUILD_MEMBERS:
            # Without the privileged intent Discord sends only the bot's own member (voice aside).
            members = [m for m in data.get("members", []) if int(m["user"]["id"]) == bot_id]
            return data | {"members": members}
        return data


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that owns a guild, by Discord's formula (the snowflake's timestamp bits)."""
    return (guild_id >> 22) % shard_count


def guild_of(event: str, data: JsonDict) -> int | None:
    """The guild an event is about, or None (a DM, a user-level event): it decides the shard."""
    raw = data.get("id") if event in _GUILD_OBJECT_EVENTS else data.get("guild_id")
    return int(raw) if raw is not None else None


def _shard_field(value: Any) -> tuple[int, int] | None:
    """IDENTIFY's ``shard`` as ``(id, count)``, or None when it is not a valid pair (close 4010)."""
    match value:
        case [int(shard_id), int(shard_count)] if shard_count >= 1 and 0 <= shard_id < shard_count:
            return (shard_id, shard_count)
    return None


def _without_content(message: JsonDict, bot_id: int) -> JsonDict:
    """What Discord delivers without the MESSAGE_CONTENT intent (own messages and mentions excepted)."""
    author_id = int(message.get("author", {}).get("id", 0))
    mentioned = any(int(user["id"]) == bot_id for user in message.get("mentions", []))
    if author_id == bot_id or mentioned:
        return message
    blank = {"content": "", "attachments": [], "embeds": [], "components": []}
    # A forward's copy of the original is withheld the same way.
    snapshots = [{"message": s.get("message", {}) | blank} for s in message.get("message_snapshots") or []]
    return message | blank | ({"message_snapshots": snapshots} if snapshots else {})


class FakeGateway:
    """Accepts gateway connections and sends each dispatch to the identified sessions of its shard.

    ``recommended_shards`` and ``max_concurrency`` are what ``GET /gateway/bot`` answers (Discord's
    recommended shard count and how many shards may identify at once).
    """

    def __init__(
        self,
        state: FakeDiscordState,
        token: str,
        resume_url: Callable[[], str],
        *,
        recommended_shards: int = 1,
        max_concurrency: int = 1,
    ) -> None:
        if recommended_shards < 1 or max_concurrency < 1:
            raise ValueError("recommended_shards and max_concurrency must be at least 1")
        self.state = state
        self.token = token
        self.recommended_shards = recommended_shards
        self.max_concurrency = max_concurrency
        self._resume_url = resume_url
        self.sessions: list[GatewaySession] = []
        self.received: list[JsonDict] = []
        self.identifies = 0

    @property
    def identified_sessions(self) -> int:
        """How many connected sessions have identified."""
        return sum(1 for session in self.sessions if session.identified and not session.ws.closed)

    @property
    def identify_payloads(self) -> list[JsonDict]:
        """The ``d`` of every IDENTIFY received, in order (token included: it is the fake's)."""
        return [p["d"] for p in self.received if p.get("op") == IDENTIFY and isinstance(p.get("d"), dict)]

    def dispatch(self, event: str, data: JsonDict) -> None:
        """Send a dispatch to every identified session of the shard that owns it (intents applied)."""
        guild_id = guild_of(event, data)
        for session in self.sessions:
            if session.identified and not session.ws.closed and session.owns(guild_id):
                payload = session.wants(event, data, self.state.bot.id)
                if payload is not None:
                    session.dispatch(event, payload)

    async def close_all(self, code: int = 1001) -> None:
        """Close every connection (the server is going away)."""
        for session in list(self.sessions):
            session.stop()
            await session.ws.close(code=code)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The ``/gateway`` WebSocket endpoint."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = GatewaySession(ws, f"session{self.state.snowflake()}")
        self.sessions.append(session)
        writer = asyncio.create_task(session.write_loop())
        session.send(HELLO, {"heartbeat_interval": HEARTBEAT_INTERVAL_MS})
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(frame.data)
                self.received.append(payload)
                if await self._on_payload(session, payload):
                    break
        finally:
            session.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(writer, timeout=2)
            self.sessions.remove(session)
            self.state.changed()
        return ws

    async def _on_payload(self, session: GatewaySession, payload: JsonDict) -> bool:
        """Answer one client payload; True when the connection must end."""
        op, data = payload.get("op"), payload.get("d")
        if op == HEARTBEAT:
            session.send(HEARTBEAT_ACK, None)
        elif op == IDENTIFY and isinstance(data, dict):
            if data.get("token") != self.token:
                session.stop()
                await session.ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
                return True
            if "shard" in data:
                session.shard = _shard_field(data["shard"])
                if session.shard is None:
                    session.stop()
                    await session.ws.close(code=CLOSE_INVALID_SHARD, message=b"Invalid shard.")
                    return True
            self._identify(session, int(data.get("intents", 0)))
        elif op == RESUME:
            # Sessions are not kept: discord.py then identifies again on a fresh connection.
            session.send(INVALID_SESSION, False)
        elif op == REQUEST_MEMBERS and isinstance(data, dict):
            self._members_chunk(session, data)
        self.state.changed()
        return False

    def _identify(self, session: GatewaySession, intents: int) -> None:
        state = self.state
        session.intents = intents
        self.identifies += 1
        me = state.bot.to_json() | {"verified": True, "mfa_enabled": False, "flags": 0}
        guild_ids = [guild_id for guild_id in state.guilds if session.owns(guild_id)]
        ready: JsonDict = {
            "v": 10,
            "user": me,
            "guilds": [{"id": str(guild_id), "unavailable": True} for guild_id in guild_ids],
            "session_id": session.session_id,
            "resume_gateway_url": self._resume_url(),
            "session_type": "normal",
            "application": {"id": str(state.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        if session.shard is not None:
            # Discord echoes the pair; discord.py's sharded client reads it to know which shard is ready.
            ready["shard"] = list(session.shard)
        session.dispatch("READY", ready)
        for guild_id in guild_ids:
            guild = session.wants("GUILD_CREATE", state.guild_json(guild_id), state.bot.id)
            if guild is not None:
                session.dispatch("GUILD_CREATE", guild)

    def _members_chunk(self, session: GatewaySession, data: JsonDict) -> None:
        guild_id = int(data.get("guild_id", 0))
        guild = self.state.guilds.get(guild_id)
        members = [self.state.member_json(guild_id, uid) for uid in guild.members] if guild else []
        query = str(data.get("query") or "")
        members = [m for m in members if m["user"]["username"].startswith(query)]
        if data.get("user_ids"):
            wanted = {int(uid) for uid in data["user_ids"]}
            members = [m for m in members if int(m["user"]["id"]) in wanted]
        chunk: JsonDict = {
            "guild_id": str(guild_id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
