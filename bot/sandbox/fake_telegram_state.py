"""What the fake Telegram server knows: users, groups, rights, files, messages and the update queue."""

from __future__ import annotations

import copy
import functools
import io
import itertools
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image

from bot.sandbox.changes import ChangeSignal
from bot.sandbox.fake_telegram_wire import JsonDict, bad_request

BotStatus = Literal["administrator", "member", "left", "kicked"]
FileKind = Literal[
    "photos", "documents", "animations", "stickers", "videos", "video_notes", "voice", "thumbnails"
]

GET_FILE_LIMIT = 20 * 1024 * 1024
"""getFile refuses files over 20 MB, as the public Bot API server does."""

# Telegram's own service account: the author of changes whose actor a test did not name.
SERVICE_USER: JsonDict = {"id": 777000, "is_bot": False, "first_name": "Telegram"}

# PhotoSize edges Telegram produces (s, m, x); the original is the largest size.
_THUMBNAIL_EDGES = (90, 320, 800)


@dataclass(slots=True)
class FakeUser:
    """A person who can post in groups and may have started a private chat with the bot."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "fr"
    started_bot: bool = False
    blocked_bot: bool = False

    def to_json(self) -> JsonDict:
        """The Bot API ``User`` object."""
        user: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def private_chat(self) -> JsonDict:
        """The Bot API ``Chat`` object of this user's private chat with the bot."""
        chat: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass(frozen=True, slots=True)
class AdminRights:
    """A human administrator of a group (or its owner)."""

    can_delete_messages: bool = True
    owner: bool = False


@dataclass(slots=True)
class FakeGroup:
    """A group or supergroup, optionally a forum with topics."""

    id: int
    title: str
    supergroup: bool = True
    forum: bool = False
    admins: dict[int, AdminRights] = field(default_factory=dict)
    #: Known users who are not members (every other known user is).
    outsiders: set[int] = field(default_factory=set)
    # A moderation bot is normally added as an administrator allowed to delete messages.
    bot_status: BotStatus = "administrator"
    bot_can_delete: bool = True

    def to_json(self) -> JsonDict:
        """The Bot API ``Chat`` object."""
        chat: JsonDict = {
            "id": self.id,
            "type": "supergroup" if self.supergroup else "group",
            "title": self.title,
        }
        if self.forum:
            chat["is_forum"] = True
        return chat

    @property
    def kind(self) -> str:
        """``supergroup`` or ``group``, as Telegram words its errors."""
        return "supergroup" if self.supergroup else "group"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """Bytes the server holds, reachable by file_id and, after getFile, by file_path."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None

    def __repr__(self) -> str:
        return f"StoredFile(file_id={self.file_id!r}, file_path={self.file_path!r}, size={len(self.data)})"

    def reference(self) -> JsonDict:
        """The id fields every Bot API file object starts with."""
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": len(self.data)}


def chat_member_json(user: JsonDict, status: str, *, can_delete_messages: bool = False) -> JsonDict:
    """A Bot API ``ChatMember`` with every field PTB requires for that status."""
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": can_delete_messages,
            "can_manage_video_chats": False,
            "can_restrict_members": False,
            "can_promote_members": False,
            "can_change_info": False,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
        }
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    return {"status": status, "user": user}


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height when ``data`` is an image Pillow reads, else None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # tests post arbitrary bytes as photos; they get nominal sizes
        return None


def prepare_thumbnails(data: bytes) -> None:
    """Make the thumbnails of ``data`` now, so that posting it later costs no image work.

    A load benchmark posts a burst from the event loop the bot shares: 30 ms of Pillow per photo would hold
    the first posts of the burst back from the bot while the last ones are still being made.
    """
    for edge in _THUMBNAIL_EDGES:
        _thumbnail(data, edge)


@functools.lru_cache(maxsize=128)
def _thumbnail(data: bytes, edge: int) -> bytes | None:
    """A JPEG no larger than ``edge`` pixels, like Telegram's smaller PhotoSizes, or None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (edge, edge))  # JPEG decoders skip work at reduced scale
            small = image.convert("RGB")
        small.thumbnail((edge, edge))
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=80)
        return out.getvalue()
    except Exception:
        return None


def _with_thumbnail(media: JsonDict, thumbnail: JsonDict | None) -> JsonDict:
    return media if thumbnail is None else {**media, "thumbnail": thumbnail}


class FakeTelegramState(ChangeSignal):
    """All mutable state of one fake server, with the change signal its waiters sleep on.

    Everything runs on the event loop that serves HTTP, so no lock is needed; every mutation calls
    :meth:`changed` so that long polls and ``wait_for`` wake at once instead of polling.
    """

    def __init__(
        self,
        *,
        bot_id: int,
        bot_username: str,
        bot_first_name: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        #: Telegram's clock in Unix seconds (injected: tests move it past the 48-hour deletion limit).
        self.clock = clock
        self.bot_user: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.users: dict[int, FakeUser] = {}
        self.groups: dict[int, FakeGroup] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.messages: dict[int, dict[int, JsonDict]] = {}
        self.deleted: set[tuple[int, int]] = set()
        self.updates: list[JsonDict] = []
        self.open_callback_queries: dict[str, JsonDict] = {}
        self.callback_answers: dict[str, JsonDict] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_max_connections = 40
        #: (Unix time, message) of the last failed webhook delivery, as getWebhookInfo reports it.
        self.webhook_last_error: tuple[int, str] | None = None
        self.allowed_updates: list[str] = []
        self.closing = False
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}

    # -- ids -------------------------------------------------------------------------------------------

    def next_id(self) -> int:
        """A fresh number for identifiers (files, callback queries, albums)."""
        return next(self._ids)

    # -- chats -----------------------------------------------------------------------------------------

    def user(self, user_id: int) -> FakeUser:
        """A known user, or ValueError (a test forgot ``add_user``)."""
        try:
            return self.users[user_id]
        except KeyError:
            raise ValueError(f"unknown user {user_id}: call add_user() first") from None

    def group(self, chat_id: int) -> FakeGroup:
        """A known group, or ValueError (a test forgot ``add_group``)."""
        try:
            return self.groups[chat_id]
        except KeyError:
            raise ValueError(f"unknown group {chat_id}: call add_group() first") from None

    def chat_json(self, chat_id: int) -> JsonDict:
        """The ``Chat`` object of a group or of a user's private chat, or ValueError."""
        if chat_id in self.groups:
            return self.groups[chat_id].to_json()
        if chat_id in self.users:
            return self.users[chat_id].private_chat()
        raise ValueError(f"unknown chat {chat_id}: call add_group() or add_user() first")

    def api_chat_json(self, chat_id: int) -> JsonDict:
        """As :meth:`chat_json`, but an unknown chat is the Bot API's 400."""
        try:
            return self.chat_json(chat_id)
        except ValueError:
            raise bad_request("chat not found") from None

    def member_json(self, chat_id: int, user_id: int) -> JsonDict:
        """The ``ChatMember`` of a user (or the bot) in a group.

        Simplification: every known user is a member of every group (unless made an administrator, or
        left out with ``FakeTelegramServer.remove_member``).
        """
        group = self.groups[chat_id]
        if user_id == self.bot_user["id"]:
            return chat_member_json(self.bot_user, group.bot_status, can_delete_messages=group.bot_can_delete)
        if user_id not in self.users:
            raise bad_request("user not found")
        user = self.users[user_id].to_json()
        rights = group.admins.get(user_id)
        if rights is None:
            return chat_member_json(user, "left" if user_id in group.outsiders else "member")
        status = "creator" if rights.owner else "administrator"
        return chat_member_json(user, status, can_delete_messages=rights.can_delete_messages)

    # -- files -----------------------------------------------------------------------------------------

    def store_file(
        self, data: bytes, kind: FileKind, *, file_name: str | None = None, mime_type: str | None = None
    ) -> StoredFile:
        """Keep bytes under a new file_id and file_path."""
        number = self.next_id()
        extension = (
            (mimetypes.guess_extension(mime_type) if mime_type else None)
            or (mimetypes.guess_extension(mimetypes.guess_type(file_name)[0] or "") if file_name else None)
            or (".jpg" if kind == "photos" else "")
        )
        stored = StoredFile(
            file_id=f"fake-{kind[:-1]}-{number:06d}",
            file_unique_id=f"fakeu{number:06d}",
            data=data,
            file_path=f"{kind}/file_{number}{extension}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def photo_sizes(self, data: bytes) -> list[JsonDict]:
        """A ``PhotoSize`` list of increasing size whose last entry holds ``data`` itself.

        Smaller sizes are real JPEG thumbnails when Pillow reads the image, else the same bytes.
        Unlike Telegram, the largest size is not recompressed: its EXIF survives.
        """
        size = _image_size(data)
        width, height = size or (1280, 960)
        sizes: list[JsonDict] = []
        for edge in _THUMBNAIL_EDGES:
            if max(width, height) <= edge:
                break
            small = _thumbnail(data, edge) if size else None
            scale = edge / max(width, height)
            stored = self.store_file(small or data, "photos", mime_type="image/jpeg")
            sizes.append(
                {**stored.reference(), "width": round(width * scale), "height": round(height * scale)}
            )
        original = self.store_file(data, "photos", mime_type="image/jpeg")
        sizes.append({**original.reference(), "width": width, "height": height})
        return sizes

    def document(self, data: bytes, file_name: str | None, mime_type: str | None) -> JsonDict:
        """A ``Document`` object for new bytes."""
        stored = self.store_file(data, "documents", file_name=file_name, mime_type=mime_type)
        return self.document_of(stored)

    @staticmethod
    def document_of(stored: StoredFile) -> JsonDict:
        """The ``Document`` object of stored bytes."""
        document = stored.reference()
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def thumbnail(self, data: bytes | None) -> JsonDict | None:
        """The ``thumbnail`` PhotoSize of a media: the given bytes as is (the test chooses the frame)."""
        if data is None:
            return None
        stored = self.store_file(data, "thumbnails", mime_type="image/jpeg")
        width, height = _image_size(data) or (320, 240)
        return {**stored.reference(), "width": width, "height": height}

    def animation(
        self, data: bytes, file_name: str, mime_type: str, *, thumbnail: bytes | None = None
    ) -> JsonDict:
        """An ``Animation`` object for new bytes (a GIF gets its real size)."""
        stored = self.store_file(data, "animations", file_name=file_name, mime_type=mime_type)
        width, height = _image_size(data) or (320, 240)
        animation = {**self.document_of(stored), "width": width, "height": height, "duration": 1}
        return _with_thumbnail(animation, self.thumbnail(thumbnail))

    def video(
        self,
        data: bytes,
        *,
        file_name: str | None,
        mime_type: str,
        thumbnail: bytes | None,
        width: int,
        height: int,
        duration: int,
    ) -> JsonDict:
        """A ``Video`` object for new bytes."""
        stored = self.store_file(data, "videos", file_name=file_name, mime_type=mime_type)
        video = {**self.document_of(stored), "width": width, "height": height, "duration": duration}
        return _with_thumbnail(video, self.thumbnail(thumbnail))

    def video_note(self, data: bytes, *, thumbnail: bytes | None, length: int, duration: int) -> JsonDict:
        """A ``VideoNote`` object (a round video: square, no name or MIME type) for new bytes."""
        stored = self.store_file(data, "video_notes", mime_type="video/mp4")
        note = {**stored.reference(), "length": length, "duration": duration}
        return _with_thumbnail(note, self.thumbnail(thumbnail))

    def sticker(
        self, data: bytes, *, emoji: str, is_animated: bool, is_video: bool, thumbnail: bytes | None = None
    ) -> JsonDict:
        """A regular ``Sticker`` object for new bytes."""
        mime = "video/webm" if is_video else "application/x-tgsticker" if is_animated else "image/webp"
        stored = self.store_file(data, "stickers", mime_type=mime)
        width, height = _image_size(data) or (512, 512)
        sticker = {
            **stored.reference(),
            "type": "regular",
            "width": width,
            "height": height,
            "is_animated": is_animated,
            "is_video": is_video,
            "emoji": emoji,
        }
        return _with_thumbnail(sticker, self.thumbnail(thumbnail))

    # -- messages and updates --------------------------------------------------------------------------

    def new_message(
        self, chat_id: int, sender: JsonDict, *, message_thread_id: int | None = None, **content: Any
    ) -> JsonDict:
        """Store a message with the next id of its chat and return it (the stored object itself)."""
        chat = self.chat_json(chat_id)
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message: JsonDict = {
            "message_id": next(counter),
            "from": sender,
            "chat": chat,
            "date": int(self.clock()),
        }
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
            if chat.get("is_forum"):
                message["is_topic_message"] = True
        message.update({key: value for key, value in content.items() if value is not None})
        self.messages.setdefault(chat_id, {})[message["message_id"]] = message
        self.changed()
        return message

    def message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """A visible (not deleted) message, or None."""
        if (chat_id, message_id) in self.deleted:
            return None
        return self.messages.get(chat_id, {}).get(message_id)

    def is_from_bot(self, message: JsonDict) -> bool:
        """Whether the bot sent ``message``."""
        return bool(message["from"]["id"] == self.bot_user["id"])

    def push_update(self, kind: str, payload: JsonDict) -> JsonDict:
        """Queue an update of ``kind`` (``message``, ``callback_query``...) carrying a copy of ``payload``."""
        update: JsonDict = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
        self.updates.append(update)
        self.changed()
        return update

    def acknowledge(self, offset: int) -> None:
        """Forget updates confirmed by ``offset`` (a negative offset keeps only the last ``-offset``)."""
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [update for update in self.updates if update["update_id"] >= offset]

    def forget_update(self, update_id: int) -> None:
        """Forget one delivered update (a webhook answered 2xx for it)."""
        self.updates = [update for update in self.updates if update["update_id"] != update_id]
        self.changed()

    def pending_updates(self, limit: int) -> list[JsonDict]:
        """Up to ``limit`` queued updates of the allowed types, oldest first."""
        wanted = set(self.allowed_updates)
        selected = [update for update in self.updates if not wanted or wanted & update.keys()]
        return copy.deepcopy(selected[:limit])
