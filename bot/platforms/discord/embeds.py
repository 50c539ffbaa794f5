"""The media of a message's embeds (link previews, image links, rich embeds), fetched through Discord only.

An embed names two addresses for each medium: ``url``, the original (any site on the internet, chosen by
whoever posted the link), and ``proxy_url``, Discord's copy on its media proxy. The bot only ever fetches
``proxy_url``, and only when it is on one of Discord's media hosts (or on the API's own origin, for a REST
proxy or the fake server): fetching the original, or any host a poster controls, would let anyone make the
bot send requests to arbitrary addresses (SSRF), and would tell the third-party site when the bot looks.

An embed whose medium cannot be fetched that way is not skipped: it becomes an image that could not be
checked, so the pipeline fails closed on it (the post is held back, never let through unseen).
"""

from __future__ import annotations

from collections.abc import Sequence

import discord
import yarl

from bot.domain import PostImage

#: Discord's CDN and media proxy hosts: the only addresses an embed's medium is fetched from.
DISCORD_MEDIA_HOSTS = frozenset(
    {
        "cdn.discordapp.com",
        "media.discordapp.net",
        "images-ext-1.discordapp.net",
        "images-ext-2.discordapp.net",
    }
)
#: Embed types Discord makes from a link to a web page: their picture is the page's preview, not a medium
#: the poster posted (strict mode does not demand consent for sharing an article; what it shows is judged).
#: "image" and "gifv" (a direct link to a picture or a GIF) and "rich" (a bot's or bridge's own embed) are
#: media; so is a "video" without a provider (a direct link to a video file).
_PREVIEW_TYPES = frozenset({"article", "link"})

#: Why an embed's medium was not fetched (shown in logs and to moderators; no address in it).
NOT_ON_DISCORD = "embed medium outside Discord's media proxy (not fetched)"


def on_discord_media(url: str | None) -> bool:
    """Whether ``url`` is Discord's own copy: https on a Discord media host, or the API's own origin."""
    if not url:
        return False
    try:
        parsed = yarl.URL(url)
        api = yarl.URL(discord.http.Route.BASE)
    except ValueError:
        return False
    if not parsed.is_absolute():
        return False
    if parsed.scheme == "https" and parsed.host in DISCORD_MEDIA_HOSTS and parsed.explicit_port is None:
        return True
    # A REST proxy or the fake server serves the media itself: same scheme, host and port as the API.
    return parsed.origin() == api.origin()


def _source(embed: discord.Embed) -> str | None:
    """The proxy address to fetch; ``""`` for a medium that cannot be; None when there is no medium.

    A video's own file when Discord proxies it, else the image, else the thumbnail: the first medium that
    has a ``proxy_url``.
    """
    media = [m for m in (embed.video, embed.image, embed.thumbnail) if m]
    for medium in media:
        proxy_url = getattr(medium, "proxy_url", None)
        if proxy_url:
            return str(proxy_url)
    # A medium with an address but no proxied copy cannot be checked: "" marks it (fail closed).
    return "" if any(getattr(m, "url", None) for m in media) else None


def _is_preview(embed: discord.Embed) -> bool:
    return embed.type in _PREVIEW_TYPES or (embed.type == "video" and bool(embed.provider.name))


def embed_media(
    embeds: Sequence[discord.Embed], client: discord.Client, *, prefix: str, message_id: str
) -> list[PostImage]:
    """One image per embed that carries a medium; ``prefix`` makes the image ids (``chan:msg:...``)."""
    images: list[PostImage] = []
    for index, embed in enumerate(embeds):
        source = _source(embed)
        if source is None:
            continue
        image_id = f"{prefix}embed{index}"
        if not on_discord_media(source):
            images.append(
                PostImage(
                    image_id=image_id,
                    fetch=_refused,
                    unavailable_reason=NOT_ON_DISCORD,
                    message_id=message_id,
                    incidental=_is_preview(embed),
                )
            )
            continue

        async def fetch(url: str = source) -> bytes:
            return bytes(await client.http.get_from_cdn(url))

        images.append(
            PostImage(
                image_id=image_id,
                fetch=fetch,
                file_name=yarl.URL(source).name,
                message_id=message_id,
                incidental=_is_preview(embed),
            )
        )
    return images


async def _refused() -> bytes:
    raise LookupError(NOT_ON_DISCORD)
