"""De-identified reposts on Discord: the private offer with its confirm button, and the repost by webhook.

:class:`DiscordOfferChannel` is the :class:`~bot.core.deidentified.OfferChannel` port: it DMs the poster the
masked images with the offer and its button, and posts the masked images in the channel (and thread)
through the channel's consentguard webhook under the poster's display name, as an approved repost goes up.
:class:`OfferButton` is a dynamic item (the custom id carries the offer id: it works across restarts);
:class:`OfferDesk` hands a click to the core, which checks that the clicker is the poster and posts once.
The front end attaches both when it is given the offers service, so no offer goes out without a handler.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import discord

from bot.consent.model import UserRef
from bot.core.deidentified import ClaimedOffer, DeidentifiedOffers, Outcome
from bot.platforms.discord.mapping import PLATFORM
from bot.platforms.discord.platform import MESSAGE_LIMIT, DiscordPlatform

log = logging.getLogger(__name__)

#: The offers service once wired (the client is built before it, see DiscordFrontend.attach), else None.
OffersSource = Callable[[], DeidentifiedOffers | None]


@runtime_checkable
class OfferHandler(Protocol):
    """A client that handles clicks on an offer's confirm button (the front end)."""

    async def on_offer(self, interaction: discord.Interaction[Any], offer_id: str) -> None:
        """The poster (or anyone: the core checks) clicked confirm."""


class OfferButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cgo:(?P<offer>[0-9a-f]{32})"):
    """The confirm button of one offer; the custom id carries the offer id."""

    def __init__(self, offer_id: str, label: str = "OK") -> None:
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.primary, custom_id=f"cgo:{offer_id}")
        )
        self.offer_id = offer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> OfferButton:
        """Rebuild the button from a click on any past offer."""
        return cls(match["offer"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the click to the front end (the client that received the interaction)."""
        if isinstance(interaction.client, OfferHandler):
            await interaction.client.on_offer(interaction, self.offer_id)


def offer_view(offer_id: str, label: str) -> discord.ui.View:
    """The one button under an offer."""
    view = discord.ui.View(timeout=None)
    view.add_item(OfferButton(offer_id, label))
    return view


class DiscordOfferChannel:
    """The OfferChannel port over discord.py."""

    def __init__(self, platform: DiscordPlatform) -> None:
        self.platform = platform

    async def send_offer(
        self, user: UserRef, text: str, offer_id: str, label: str, previews: Sequence[bytes]
    ) -> bool:
        """DM the masked images with the offer and its button; False when the user's DMs are closed."""
        client = self.platform.client
        files = [discord.File(io.BytesIO(data), filename=f"image-{i}.jpg") for i, data in enumerate(previews)]
        try:
            member = client.get_user(int(user.user_id)) or await client.fetch_user(int(user.user_id))
            await member.send(text[:MESSAGE_LIMIT], files=files, view=offer_view(offer_id, label))
        except (discord.Forbidden, discord.NotFound) as exc:
            log.info("offer %s cannot be sent privately (%s)", offer_id, type(exc).__name__)
            return False
        return True

    async def post_deidentified(self, claimed: ClaimedOffer, attribution: str) -> list[str]:
        """Post the masked images by webhook under the poster's name, the attribution as the content."""
        offer = claimed.offer
        images = tuple((f"masked-{i}", data) for i, data in enumerate(claimed.images))
        repost = await self.platform.repost(
            offer.chat, offer.thread_id, offer.author_name, attribution, images
        )
        return [repost]


class OfferDesk:
    """Serves the confirm buttons: the core decides, the desk answers in Discord."""

    def __init__(self, offers: OffersSource) -> None:
        self._offers = offers

    async def on_offer(self, interaction: discord.Interaction[Any], offer_id: str) -> None:
        """Confirm ``offer_id`` for the clicker; the button goes once the offer is posted or expired."""
        offers = self._offers()
        if offers is None:
            return
        presser = UserRef(PLATFORM, str(interaction.user.id))
        locale = str(interaction.locale) if interaction.locale else None
        confirmation = await offers.confirm(offer_id, presser, locale)
        if confirmation.outcome in (Outcome.POSTED, Outcome.EXPIRED):
            await interaction.response.edit_message(content=confirmation.text, view=None)
            return
        await interaction.response.send_message(confirmation.text, ephemeral=True)
