"""The ConsentLookup port: what the core needs from a consent registry (adapter: bot.consent.httpx_lookup).

When the registry cannot answer, an implementation raises :class:`bot.errors.ConsentLookupError`: the
pipeline then quarantines (fails closed), it never allows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.consent.model import ConsentRecord, ConsentUse, Revocation
from bot.consent.token import ConsentToken


class ConsentLookup(Protocol):
    """What the pipeline needs from a consent registry."""

    async def lookup(self, token: ConsentToken) -> ConsentRecord:
        """The registry's record for ``token`` (status unknown when it has none)."""
        ...

    async def record_use(self, token: ConsentToken, use: ConsentUse) -> None:
        """Record that an image was posted under ``token``; raise ConsentUseRefusedError if not covered."""
        ...

    async def revocations_since(self, since: datetime) -> list[Revocation]:
        """Tokens revoked since ``since``."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
