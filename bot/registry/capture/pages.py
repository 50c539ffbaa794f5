"""Server-rendered pages (Jinja2, autoescaped): no external asset, inline CSS and JS under a per-page nonce.

Every page forbids caching, referrers (the link's secret is in its URL) and framing.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.registry.capture.texts import Language, Texts

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def security_headers(nonce: str) -> dict[str, str]:
    """The headers of every page: a strict content security policy, no cache, no referrer, no framing."""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src data:; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


class Pages:
    """The page templates, loaded once."""

    def __init__(self, directory: Path = TEMPLATES) -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(
        self,
        template: str,
        *,
        texts: Texts,
        language: Language,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """Render ``template`` in ``language`` as a response carrying the security headers."""
        nonce = secrets.token_urlsafe(16)
        html = self._env.get_template(template).render(t=texts, lang=language.value, nonce=nonce, **context)
        return HTMLResponse(
            html, status_code=status_code, headers={**security_headers(nonce), **(headers or {})}
        )

    def notice(
        self,
        *,
        texts: Texts,
        language: Language,
        heading: str,
        text: str,
        status_code: int,
        receipt_url: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """A page that only says something (an unknown, expired or used link, a refusal)."""
        return self.render(
            "notice.html",
            texts=texts,
            language=language,
            status_code=status_code,
            headers=headers,
            heading=heading,
            text=text,
            receipt_url=receipt_url,
        )


async def read_fields(request: Request, limit: int) -> dict[str, list[str]] | None:
    """The url-encoded form fields of ``request``, or None when its body is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    try:
        return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=64)
    except ValueError:  # more fields than any form of ours has
        return None
