"""Where discord.py connects: its REST base and gateway URL, for a proxy or a local server (tests, demo)."""

from __future__ import annotations

import discord
import yarl


def point_at(api_base_url: str, gateway_url: str | None) -> None:
    """Point discord.py at a REST (and gateway) proxy or a local server; discord.py reads class attributes."""
    discord.http.Route.BASE = api_base_url.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
