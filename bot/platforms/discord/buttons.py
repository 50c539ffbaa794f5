"""The review buttons of a moderator notice: persistent (the custom id carries the item id).

Apart from the review handling (review.py) so that the platform, which attaches them to notices, and the
review desk, which uses the platform to repost, do not import each other.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

import discord

from bot.messages.discord_catalog import APPROVE_LABEL, REJECT_LABEL, SHOW_LABEL


@runtime_checkable
class ReviewHandler(Protocol):
    """A client that handles review clicks (the front end)."""

    async def on_review(self, interaction: discord.Interaction[Any], action: str, item_id: str) -> None:
        """A moderator pressed Approve (``a``), Reject (``r``) or Show (``s``)."""


class ReviewButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cg:(?P<action>[ars]):(?P<item>[0-9a-f]{32})"
):
    """Approve / Reject / Show for one quarantined item; the custom id carries the item id."""

    def __init__(self, action: str, item_id: str) -> None:
        labels = {"a": (APPROVE_LABEL, discord.ButtonStyle.success),
                  "r": (REJECT_LABEL, discord.ButtonStyle.danger),
                  "s": (SHOW_LABEL, discord.ButtonStyle.secondary)}  # fmt: skip
        label, style = labels[action]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"cg:{action}:{item_id}"))
        self.action = action
        self.item_id = item_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReviewButton:
        """Rebuild the button from a click on any past notice."""
        return cls(match["action"], match["item"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the click to the front end (the client that received the interaction)."""
        if isinstance(interaction.client, ReviewHandler):
            await interaction.client.on_review(interaction, self.action, self.item_id)


def review_view(item_id: str) -> discord.ui.View:
    """The buttons of a moderator notice."""
    view = discord.ui.View(timeout=None)
    for action in ("a", "r", "s"):
        view.add_item(ReviewButton(action, item_id))
    return view
