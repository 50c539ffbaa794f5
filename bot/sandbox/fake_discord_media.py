"""Link previews for the fake Discord server: a third-party site and Discord's media proxy in front of it.

When someone posts a link to an image on another site, Discord fetches it once and shows it through its
media proxy (``images-ext-1.discordapp.net/external/...``): the embed's ``url`` is the original address and
its ``proxy_url`` Discord's copy. Here the third-party site listens on another loopback address
(``127.0.0.2``: another host, as far as a URL check is concerned) and records every request it gets, so a
test can prove the bot never fetched the original; the proxy is served by the fake server itself under
``/external/<id>/<name>``, on the API's origin, as the fake already serves Discord's CDN (attachments).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from bot.sandbox.fake_discord_state import JsonDict

EmbedKind = Literal["image", "gifv", "video", "link", "article", "rich"]
#: Where the third-party site listens: a loopback address that is not the fake Discord's host.
THIRD_PARTY_HOST = "127.0.0.2"


async def serve(app: web.Application, host: str, *, shutdown_timeout: float) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on a free port of ``host``; the runner (to clean up) and the port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    try:
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return runner, int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class HostedFile:
    """A file the third-party site (and Discord's proxy copy of it) serves."""

    id: int
    filename: str
    data: bytes
    content_type: str


class FakeMediaSites:
    """The third-party site (its own listener) and the media-proxy route of the fake Discord server."""

    def __init__(self) -> None:
        self.files: dict[int, HostedFile] = {}
        #: Every path the third-party site was asked for (the bot must never be among the askers).
        self.third_party_requests: list[str] = []
        self._runner: web.AppRunner | None = None
        self.third_party_url = ""
        self.proxy_base = ""

    async def start(self, proxy_base: str) -> None:
        """Start the third-party site; ``proxy_base`` is the fake Discord's root URL (the proxy's origin)."""
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._third_party)
        self._runner, port = await serve(app, THIRD_PARTY_HOST, shutdown_timeout=1.0)
        self.third_party_url = f"http://{THIRD_PARTY_HOST}:{port}"
        self.proxy_base = proxy_base

    async def stop(self) -> None:
        """Stop the third-party site."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def host(self, file_id: int, filename: str, data: bytes, content_type: str) -> HostedFile:
        """Put a file on the third-party site (Discord's proxy serves the same bytes)."""
        hosted = HostedFile(file_id, filename, data, content_type)
        self.files[file_id] = hosted
        return hosted

    def original_url(self, hosted: HostedFile) -> str:
        """The file's address on the third-party site (an embed's ``url``)."""
        return f"{self.third_party_url}/files/{hosted.id}/{hosted.filename}"

    def proxy_url(self, hosted: HostedFile) -> str:
        """Discord's media-proxy copy (an embed's ``proxy_url``)."""
        return f"{self.proxy_base}/external/{hosted.id}/{hosted.filename}"

    def embed(self, hosted: HostedFile, kind: EmbedKind, *, proxied: bool) -> JsonDict:
        """The embed Discord makes of a link to ``hosted``; not ``proxied``: ``proxy_url`` is the original.

        ``video``: the video's own file under ``video`` with a thumbnail (Discord proxies both);
        ``link``/``article``: a preview with the file as thumbnail; else the file under ``image`` (``rich``)
        or ``thumbnail`` (``image``/``gifv``, as Discord unfurls a bare image link).
        """
        original = self.original_url(hosted)
        media = {
            "url": original,
            "proxy_url": self.proxy_url(hosted) if proxied else original,
            "width": 320,
            "height": 240,
            "content_type": hosted.content_type,
        }
        embed: JsonDict = {"type": kind, "url": original}
        if kind == "video":
            embed |= {"video": media, "thumbnail": media}
        elif kind == "rich":
            embed |= {"image": media}
        else:
            embed |= {"thumbnail": media}
        if kind in ("link", "article"):
            embed["title"] = hosted.filename
        return embed

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        """``GET /external/<id>/<name>`` on the fake Discord: the media proxy's copy."""
        hosted = self.files.get(int(request.match_info["file_id"]))
        if hosted is None or hosted.filename != request.match_info["filename"]:
            return web.Response(status=404, text="not found")
        return web.Response(body=hosted.data, headers={"Content-Type": hosted.content_type})

    async def _third_party(self, request: web.Request) -> web.StreamResponse:
        self.third_party_requests.append(request.path)
        parts = request.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "files" and parts[1].isdigit():
            hosted = self.files.get(int(parts[1]))
            if hosted is not None and hosted.filename == parts[2]:
                return web.Response(body=hosted.data, headers={"Content-Type": hosted.content_type})
        return web.Response(status=404, text="not found")
