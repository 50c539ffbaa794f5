"""The Platform port: what the pipeline asks of Telegram, Discord or a test double."""

from __future__ import annotations

from typing import Protocol

from bot.consent.model import ChatRef, UserRef
from bot.domain import FetchBytes


class Platform(Protocol):
    """Actions the pipeline needs; adapters translate them to their SDK and handle rate limits."""

    name: str

    async def delete_messages(
        self, chat: ChatRef, message_ids: tuple[str, ...], thread_id: str | None = None
    ) -> None:
        """Delete messages (in ``thread_id`` when the platform keeps threads apart); gone is not an error."""
        ...

    async def send_private(self, user: UserRef, text: str) -> bool:
        """Message a user privately; False when refused (the user never opened a chat with the bot)."""
        ...

    async def send_group_notice(self, chat: ChatRef, text: str, ttl_s: int, thread_id: str | None) -> None:
        """Post a short notice in the group and delete it after ``ttl_s`` seconds."""
        ...

    async def notify_moderators(
        self, chat: ChatRef, review_chat: ChatRef | None, text: str, item_id: str | None
    ) -> None:
        """Tell the moderators (in ``review_chat``, else privately); with review buttons for an item."""
        ...

    def mention(self, user: UserRef, name: str) -> str:
        """How to mention ``user`` in a group message."""
        ...

    def start_link(self) -> str | None:
        """A link that opens a private chat with the bot, when the platform has one."""
        ...

    def fetcher(self, chat: ChatRef, image_id: str) -> FetchBytes:
        """Re-create the download of an image from its id (to resume work after a restart)."""
        ...
