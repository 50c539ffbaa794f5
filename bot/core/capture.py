"""Consent capture in chat, whichever the front end: open a form, follow it, hand over the token once.

A clinician asks the bot (``/consent`` in a private chat on Telegram, ``/consentguard consent`` on
Discord); :class:`CaptureDesk` opens a one-time consent form with the registry (the CaptureLinks port),
the front end sends the link privately, and the desk asks the registry every ``poll_s`` seconds until the
link is signed (the token is then delivered, once) or expires. ``/withdraw`` goes through here too. Nothing
here logs a URL or a token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.consent.capture import CaptureLink, CaptureLinkError, CaptureLinks, LinkStatus, WithdrawOutcome
from bot.consent.model import ChatRef, UserRef
from bot.consent.token import ConsentToken
from bot.domain import Clock, utc_now

log = logging.getLogger(__name__)

#: Called once per link: the new consent's token, or None when the link expired unsigned.
Deliver = Callable[[ConsentToken | None], Awaitable[None]]


class CaptureDesk:
    """Opens consent forms for clinicians, follows them, and withdraws consents on their behalf."""

    def __init__(self, links: CaptureLinks, *, clock: Clock = utc_now, poll_s: float = 3.0) -> None:
        self._links = links
        self._clock = clock
        self._poll_s = poll_s
        self._following: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"CaptureDesk(following={len(self._following)})"

    async def open(
        self, *, clinician: UserRef, chat: ChatRef, language: str, chat_title: str | None
    ) -> CaptureLink:
        """Open a form (raises CaptureRateLimitedError, CaptureLinkError)."""
        link = await self._links.create(
            clinician=clinician, chat=chat, language=language, chat_title=chat_title
        )
        log.info("capture link %s opened for a clinician of %s", link.link_id, chat)
        return link

    def minutes_left(self, link: CaptureLink) -> int:
        """Whole minutes until the link expires (at least 1), for the message that carries it."""
        left = link.expires_at - self._clock()
        return max(1, -(-int(left.total_seconds()) // 60))

    def follow(self, link: CaptureLink, deliver: Deliver) -> None:
        """Ask for the link's status until it is signed or expires, then ``deliver`` (in the background)."""
        task = asyncio.create_task(self._follow(link, deliver), name=f"capture-{link.link_id}")
        self._following.add(task)
        task.add_done_callback(self._following.discard)

    async def withdraw(self, token: ConsentToken, *, on_behalf_of: UserRef) -> WithdrawOutcome:
        """Ask the registry to revoke ``token``'s consent for the clinician (raises CaptureLinkError)."""
        outcome = await self._links.withdraw(token, on_behalf_of=on_behalf_of)
        log.info("withdrawal asked in chat: %s", outcome.value)
        return outcome

    async def aclose(self) -> None:
        """Stop following links (a clinician asks again; the registry keeps the signed consent)."""
        tasks = list(self._following)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, link: CaptureLink, deliver: Deliver) -> None:
        # One more look after the expiry time: a form signed in its last second is still collected.
        deadline = link.expires_at + timedelta(seconds=self._poll_s)
        while True:
            await asyncio.sleep(self._poll_s)
            try:
                state = await self._links.status(link.link_id)
            except CaptureLinkError as exc:  # the registry is down for a while: ask again next time
                log.warning("capture link %s: status unavailable (%s)", link.link_id, type(exc).__name__)
                state = None
            if state is not None and state.status is LinkStatus.SIGNED and state.token is not None:
                log.info("capture link %s signed; token delivered privately", link.link_id)
                await _deliver(deliver, state.token, link)
                return
            if state is not None and state.status in (LinkStatus.EXPIRED, LinkStatus.COLLECTED):
                # Collected without us: another process took the token; nothing to deliver from here.
                if state.status is LinkStatus.EXPIRED:
                    await _deliver(deliver, None, link)
                return
            if self._clock() > deadline:
                await _deliver(deliver, None, link)
                return


async def _deliver(deliver: Deliver, token: ConsentToken | None, link: CaptureLink) -> None:
    try:
        await deliver(token)
    except Exception as exc:  # the platform: logged (never the token), the follow ends either way
        log.warning("capture link %s: the clinician could not be told (%s)", link.link_id, type(exc).__name__)
